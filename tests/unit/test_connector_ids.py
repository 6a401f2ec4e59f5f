"""The connector's identifiers (connector/ids.py): sequence numbers, shard ids and signed shard
iterators round-trip, and everything that is not one of ours is rejected with InvalidIdentifier.

Sequence numbers are DynamoDB's shape (decimal strings of 21 to 40 digits) and their string order
within a shard is the Kafka offset order; shard ids are `shardId-<20 digits>-<8 hex>`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from connector.ids import (
    InvalidIdentifier,
    ShardIterator,
    offset_of,
    parse_shard_id,
    sequence_number,
    shard_id,
)

KAFKA_OFFSETS = st.integers(min_value=0, max_value=2**63 - 1)  # a Kafka offset is a signed 64-bit int
# Every offset whose sequence number still fits DynamoDB's 40 digits.
ENCODABLE_OFFSETS = st.integers(min_value=0, max_value=10**40 - 1 - 10**20)
CREATION_MS = st.integers(min_value=0, max_value=10**20 - 1)
PARTITIONS = st.integers(min_value=0, max_value=2**32 - 1)
SECRET = b"a shared secret"
OTHER_SECRET = b"another secret"
DIGITS_21_40 = re.compile(r"[0-9]{21,40}")
SHARD_SHAPE = re.compile(r"shardId-[0-9]{20}-[0-9a-f]{8}")

iterators = st.builds(
    ShardIterator,
    stream=st.text(max_size=120),
    partition=PARTITIONS,
    offset=KAFKA_OFFSETS,
    issued_ms=st.integers(min_value=0, max_value=2**53),
)


# -- sequence numbers ------------------------------------------------------------------------------


def test_the_first_sequence_number():
    assert sequence_number(0) == "100000000000000000000"
    assert offset_of("100000000000000000000") == 0
    assert sequence_number(1) == "100000000000000000001"


@given(ENCODABLE_OFFSETS)
@example(0)
@example(2**63 - 1)
@example(10**40 - 1 - 10**20)
def test_sequence_numbers_round_trip(offset):
    sequence = sequence_number(offset)
    assert DIGITS_21_40.fullmatch(sequence), sequence
    assert offset_of(sequence) == offset


@given(KAFKA_OFFSETS)
def test_every_kafka_offset_has_a_21_digit_sequence_number(offset):
    assert len(sequence_number(offset)) == 21


@given(KAFKA_OFFSETS, KAFKA_OFFSETS)
@example(0, 1)
@example(9, 10)
@example(99, 100)
@example(2**63 - 2, 2**63 - 1)
def test_string_order_is_offset_order(a, b):
    assert (sequence_number(a) < sequence_number(b)) == (a < b)
    assert (sequence_number(a) == sequence_number(b)) == (a == b)


@given(st.lists(KAFKA_OFFSETS, min_size=2, max_size=30))
def test_sorting_sequence_numbers_as_strings_sorts_offsets(offsets):
    assert [offset_of(s) for s in sorted(sequence_number(o) for o in offsets)] == sorted(offsets)


@pytest.mark.parametrize("text", [
    "",
    "1",
    "1" * 20,                              # too short
    "1" * 41,                              # too long
    "0" * 21,                              # below the first sequence number
    "099999999999999999999",               # offset -1
    "10000000000000000000a",
    "-10000000000000000000",
    "+100000000000000000000",
    " 100000000000000000000",
    "100000000000000000000 ",
    "100000000000000000000\n",
    "1000000000_00000000000",
    "1e+20000000000000000000",
    "100000000000000000000.0",
    "١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠",               # Arabic-Indic digits: not ASCII
    "１００００００００００００００００００００００",     # full-width digits
])
def test_sequence_numbers_rejected(text):
    with pytest.raises(InvalidIdentifier):
        offset_of(text)


@given(st.text(max_size=45))
def test_offset_of_accepts_only_ascii_decimal_strings_of_21_to_40_digits(text):
    try:
        offset = offset_of(text)
    except InvalidIdentifier:
        return
    assert DIGITS_21_40.fullmatch(text)
    assert offset >= 0


# -- shard ids ---------------------------------------------------------------------------------------


def test_shard_id_shape():
    assert shard_id(1414562045508, 0x2bac9cd2) == "shardId-00000001414562045508-2bac9cd2"
    assert shard_id(0, 0) == "shardId-00000000000000000000-00000000"
    assert parse_shard_id("shardId-00000001414562045508-2bac9cd2") == (1414562045508, 0x2bac9cd2)


@given(CREATION_MS, PARTITIONS)
@example(0, 0)
@example(10**20 - 1, 2**32 - 1)
def test_shard_ids_round_trip(created_ms, partition):
    text = shard_id(created_ms, partition)
    assert SHARD_SHAPE.fullmatch(text), text
    assert 28 <= len(text) <= 65  # the length the Streams API model allows
    assert parse_shard_id(text) == (created_ms, partition)


@given(CREATION_MS, st.integers(min_value=0, max_value=999))
def test_shard_ids_of_one_stream_sort_by_partition(created_ms, partition):
    assert shard_id(created_ms, partition) < shard_id(created_ms, partition + 1)


@pytest.mark.parametrize("text", [
    "",
    "shardId-",
    "shardId-00000001414562045508",
    "shardId-00000001414562045508-",
    "shardId-0000000141456204550-2bac9cd2",     # 19 digits
    "shardId-000000014145620455080-2bac9cd2",   # 21 digits
    "shardId-00000001414562045508-2bac9cd",     # 7 hex
    "shardId-00000001414562045508-2bac9cd20",   # 9 hex
    "shardId-00000001414562045508-2BAC9CD2",    # upper-case hex
    "shardId-00000001414562045508-2bac9cdg",
    "shardid-00000001414562045508-2bac9cd2",
    "ShardId-00000001414562045508-2bac9cd2",
    "shardId_00000001414562045508_2bac9cd2",
    " shardId-00000001414562045508-2bac9cd2",
    "shardId-00000001414562045508-2bac9cd2 ",
    "shardId-00000001414562045508-2bac9cd2\n",
    "xshardId-00000001414562045508-2bac9cd2",
    "shardId-00000001414562045508-2bac9cd2-00000000",
])
def test_shard_ids_rejected(text):
    with pytest.raises(InvalidIdentifier):
        parse_shard_id(text)


@pytest.mark.parametrize("text", [
    "shardId-" + "٠" * 20 + "-00000000",                      # Arabic-Indic digits
    "shardId-" + "０" * 20 + "-00000000",                     # full-width digits
    "shardId-0000000141456204550" + "٨" + "-2bac9cd2",         # one non-ASCII digit
])
def test_shard_ids_with_non_ascii_digits_rejected(text):
    """DynamoDB's shape has ASCII digits only (as offset_of insists for sequence numbers)."""
    with pytest.raises(InvalidIdentifier):
        parse_shard_id(text)


@given(st.text(max_size=70))
def test_parse_shard_id_accepts_only_dynamodbs_shape(text):
    try:
        parse_shard_id(text)
    except InvalidIdentifier:
        return
    assert SHARD_SHAPE.fullmatch(text), text


# -- shard iterators --------------------------------------------------------------------------------


@given(iterators)
def test_iterators_round_trip(position):
    token = position.encode(SECRET)
    assert isinstance(token, str) and token.isascii()
    assert ShardIterator.decode(token, SECRET) == position


@given(iterators)
def test_iterators_fit_the_api_and_urls(position):
    token = position.encode(SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", token), token  # no padding, no '+' or '/'
    if len(position.stream) <= 100:  # a stream ARN of 100 characters at most
        assert 1 <= len(token) <= 2048  # the ShardIterator length the Streams API model allows


@given(iterators)
def test_iterators_signed_with_another_secret_rejected(position):
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(position.encode(OTHER_SECRET), SECRET)


@given(iterators, st.data())
def test_any_changed_character_is_rejected(position, data):
    token = position.encode(SECRET)
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="at")
    replacement = data.draw(st.sampled_from("AZaz09-_.=+/x!é"), label="replacement")
    assume(replacement != token[at])
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(token[:at] + replacement + token[at + 1:], SECRET)


@given(iterators, st.data())
def test_truncated_or_extended_iterators_are_rejected(position, data):
    token = position.encode(SECRET)
    cut = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="cut")
    suffix = data.draw(st.text(min_size=1, max_size=8), label="suffix")
    for forged in (token[:cut], token + suffix, suffix + token):
        with pytest.raises(InvalidIdentifier):
            ShardIterator.decode(forged, SECRET)


def test_tampered_position_keeps_no_signature():
    """Moving an iterator to another offset, partition or stream needs the secret."""
    genuine = ShardIterator("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000", 0, 5, 1)
    signature = genuine.encode(SECRET).partition(".")[2]
    for moved in (
        ShardIterator(genuine.stream, 0, 4, 1),
        ShardIterator(genuine.stream, 1, 5, 1),
        ShardIterator(genuine.stream + "x", 0, 5, 1),
        ShardIterator(genuine.stream, 0, 5, 2**40),  # a fresh issue time: a never-expiring iterator
    ):
        body = moved.encode(SECRET).partition(".")[0]
        with pytest.raises(InvalidIdentifier):
            ShardIterator.decode(f"{body}.{signature}", SECRET)
    # and the bodies of two genuine iterators cannot be swapped under each other's signatures
    other = ShardIterator(genuine.stream, 1, 0, 1).encode(SECRET)
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(other.partition(".")[0] + "." + signature, SECRET)


@pytest.mark.parametrize("token", [
    "",
    ".",
    "..",
    "garbage",
    "garbage.garbage",
    "a.b.c",
    "=.=",
    "\x00",
    "é.é",
    "WyJhIiwwLDAsMF0",                         # a valid body without a signature
    "WyJhIiwwLDAsMF0.",
    ".WyJhIiwwLDAsMF0",
    "AAAA" * 512,
])
def test_garbage_iterators_rejected(token):
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(token, SECRET)


@given(st.text(max_size=300))
def test_arbitrary_text_is_never_an_iterator(token):
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(token, SECRET)


@pytest.mark.parametrize("body", [b"[]", b"[1,2,3]", b"{}", b"null", b"not json", b"\xff\xfe", b"[\"a\",0,0,0,0]"])
def test_signed_bodies_that_are_not_positions_rejected(body):
    """Even a correctly signed body must be a position (a bug elsewhere must not become a 500)."""
    from connector.ids import _b64, _signature

    encoded = _b64(body)
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(f"{encoded}.{_signature(SECRET, encoded)}", SECRET)
