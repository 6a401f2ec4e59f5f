"""Bounded cost per request: the body size every part accepts, and how deep a JSON request may nest.

A body is refused with HTTP 413 before it is read whole: a Content-Length over the limit is refused
from the headers alone, and a chunked body is counted while it is read and cut off at the limit.
So a client can never make the server hold more than MAX_BODY_BYTES of one request.

The request line and header limits are enforced by the HTTP protocol (`http_protocol.py`): they are
about bytes before any ASGI scope exists.
"""

from __future__ import annotations

from typing import Any

# DynamoDB, DynamoDB Streams and Kinesis refuse requests over 16 MB (DynamoDB's documented HTTP
# request limit; a Kinesis PutRecords of 500 x 1 MB records is 5 MB, base64 included ~6.7 MB).
MAX_BODY_BYTES = 16 * 1024 * 1024

# DynamoDB allows 32 levels of nested attribute values. Each level is two JSON levels ({"M": {..}}
# or {"L": [..]}) and the deepest wrapper around an item (BatchWriteItem: request, RequestItems,
# the table's list, a write, PutRequest, Item, the attribute) is 7, so no valid request of any of
# our APIs nests deeper than 7 + 2 * 32 + 1 = 72 levels. 100 leaves room, and stays far below
# Python's recursion limit for the code that walks a request.
MAX_JSON_DEPTH = 100
CONTAINERS = (dict, list)  # what orjson decodes JSON objects and arrays to


class BodyTooLarge(Exception):
    """The request body is over MAX_BODY_BYTES; nothing more of it is read."""


def declared_length(scope) -> int | None:
    """The body's Content-Length (None: not given, or chunked)."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # uvicorn's parser refuses a malformed Content-Length before we see it
    return None


async def read_body(scope, receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body, or BodyTooLarge as soon as it is known to be over `limit`."""
    length = declared_length(scope)
    if length is not None and length > limit:
        raise BodyTooLarge()
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # chunked (or lying about its length): cut off here
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive):
    """An ASGI `receive` that hands over an already read body, then waits as `receive` does
    (for the client's disconnect)."""
    delivered = False

    async def receive_again():
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


def nesting_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than `limit` containers. Iterative, so that the
    check itself cannot hit the recursion limit; one level at a time, its containers gathered
    by a comprehension (half the cost of a stack of (node, depth) pairs: a BatchWriteItem of 25
    items has some 200 containers)."""
    level = [value] if isinstance(value, CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        deeper: list = []
        for node in level:
            deeper += [child for child in (node.values() if isinstance(node, dict) else node)
                       if isinstance(child, CONTAINERS)]
        level = deeper
    return False


def may_nest_deeper(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """A cheap first test on the raw body: with no more opening brackets than `limit`, it cannot
    nest deeper (counting runs in C; most requests stop here)."""
    return body.count(b"{") + body.count(b"[") > limit
