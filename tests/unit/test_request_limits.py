"""Bounded requests: body size, JSON nesting, and the browser guard's Host and Origin rules (pure
parts; tests/integration/test_transport.py drives them over HTTP)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from aws_json import browser_guard
from aws_json.limits import MAX_JSON_DEPTH, BodyTooLarge, may_nest_deeper, nesting_exceeds, read_body


def nested_list(depth: int):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_at_the_limit_passes_and_one_deeper_is_refused():
    assert not nesting_exceeds(nested_list(MAX_JSON_DEPTH))
    assert nesting_exceeds(nested_list(MAX_JSON_DEPTH + 1))
    assert nesting_exceeds({"a": {"b": nested_list(MAX_JSON_DEPTH)}})


def test_nesting_check_needs_no_recursion_for_any_depth():
    assert nesting_exceeds(orjson.loads(b"[" * 1024 + b"]" * 1024))


def test_the_cheap_bracket_count_lets_small_requests_skip_the_walk():
    assert not may_nest_deeper(b'{"TableName": "t", "Key": {"pk": {"S": "a"}}}')
    assert may_nest_deeper(b"[" * (MAX_JSON_DEPTH + 1))


def test_a_dynamodb_item_nested_32_levels_is_not_too_deep_in_any_request():
    value = {"S": "x"}
    for _ in range(32):
        value = {"M": {"k": value}}
    request = {"RequestItems": {"t": [{"PutRequest": {"Item": {"a": value}}}]}}
    assert not nesting_exceeds(request)




def receiver(chunks: list[bytes]):
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    taken = []

    async def receive():
        taken.append(1)
        return messages[len(taken) - 1]

    return receive, taken


def scope(length: int | None = None) -> dict:
    return {"headers": [(b"content-length", str(length).encode())] if length is not None else []}


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read():
    receive, taken = receiver([b"x" * 10])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(scope(11), receive, limit=10))
    assert not taken


def test_a_chunked_body_is_cut_off_at_the_chunk_that_passes_the_limit():
    receive, taken = receiver([b"x" * 6, b"x" * 6, b"x" * 6])
    with pytest.raises(BodyTooLarge):
        asyncio.run(read_body(scope(), receive, limit=10))
    assert len(taken) == 2


def test_a_body_at_the_limit_is_read_whole():
    receive, _ = receiver([b"x" * 6, b"x" * 4])
    assert asyncio.run(read_body(scope(), receive, limit=10)) == b"x" * 10


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "127.0.0.1:8000", "127.1.2.3:1",
                                  "[::1]", "[::1]:8000", "app.localhost:8000"])
def test_loopback_host_headers_pass(host):
    assert browser_guard.refusal({b"host": host.encode()}, 8000) is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.1.2:8000", "[::2]:8000",
                                  "localhost.evil.example", "0.0.0.0:8000", "127.0.0.1.nip.io:8000"])
def test_other_host_headers_are_refused(host):
    assert "not a loopback name" in browser_guard.refusal({b"host": host.encode()}, 8000)


@pytest.mark.parametrize("origin", ["http://localhost:8000", "https://127.0.0.1:8000", "http://[::1]:8000"])
def test_our_own_origin_passes(origin):
    assert browser_guard.refusal({b"host": b"localhost:8000", b"origin": origin.encode()}, 8000) is None


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:9000", "http://localhost", "null",
                                    "file://", "http://127.0.0.1:99999", "chrome-extension://abc", "garbage"])
def test_a_foreign_origin_is_refused(origin):
    assert "is not allowed" in browser_guard.refusal({b"host": b"localhost:8000", b"origin": origin.encode()}, 8000)


def test_a_request_without_host_is_not_a_browser_and_passes():
    assert browser_guard.refusal({}, 8000) is None
