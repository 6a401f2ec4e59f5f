"""The connector's identifiers (connector/ids.py): sequence numbers, shard ids and signed shard
iterators round-trip, and everything that is not one of ours is rejected with InvalidIdentifier.

Sequence numbers are DynamoDB's shape (decimal strings of 21 to 40 digits: ours have 31), unique
across the shards of a stream, and their order (as strings and as numbers) is (epoch, partition,
offset): within a shard the Kafka offset order, and every number of a later epoch (the stream's
data made again after the broker lost it) above every number of an earlier one. Shard ids are
`shardId-<20 digits>-<8 hex>`.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from connector.ids import (
    InvalidIdentifier,
    ShardIterator,
    parse_sequence_number,
    parse_shard_id,
    sequence_number,
    shard_id,
    timestamp_ms,
)

KAFKA_OFFSETS = st.integers(min_value=0, max_value=2**63 - 1)  # a Kafka offset is a signed 64-bit int
# Every offset the format holds (20 digits: any Kafka offset, and more).
ENCODABLE_OFFSETS = st.integers(min_value=0, max_value=10**20 - 1)
EPOCHS = st.integers(min_value=0, max_value=10**5 - 1)
STREAM_PARTITIONS = st.integers(min_value=0, max_value=10**5 - 1)
POSITIONS = st.tuples(EPOCHS, STREAM_PARTITIONS, KAFKA_OFFSETS)
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
    epoch=EPOCHS,
    idle=st.booleans(),
)


# -- sequence numbers ------------------------------------------------------------------------------


def test_the_first_sequence_numbers():
    assert sequence_number(0, 0, 0) == "1000000000000000000000000000000"
    assert sequence_number(0, 0, 1) == "1000000000000000000000000000001"
    # "1", epoch (5 digits), partition (5 digits), offset (20 digits)
    assert sequence_number(0, 3, 7) == "1" "00000" "00003" "00000000000000000007"
    assert sequence_number(2, 3, 7) == "1" "00002" "00003" "00000000000000000007"
    assert parse_sequence_number("1" "00002" "00003" "00000000000000000007") == (2, 3, 7)


@given(EPOCHS, STREAM_PARTITIONS, ENCODABLE_OFFSETS)
@example(0, 0, 0)
@example(0, 0, 2**63 - 1)
@example(10**5 - 1, 10**5 - 1, 10**20 - 1)
def test_sequence_numbers_round_trip(epoch, partition, offset):
    sequence = sequence_number(epoch, partition, offset)
    assert DIGITS_21_40.fullmatch(sequence), sequence
    assert len(sequence) == 31
    assert parse_sequence_number(sequence) == (epoch, partition, offset)


@given(POSITIONS, POSITIONS)
@example((0, 0, 9), (0, 0, 10))
@example((0, 0, 99), (0, 0, 100))
@example((0, 0, 2**63 - 2), (0, 0, 2**63 - 1))
@example((0, 1, 0), (0, 0, 1))
@example((0, 5, 2**63 - 1), (1, 0, 0))
def test_string_order_and_number_order_are_the_order_of_epoch_partition_offset(a, b):
    x, y = sequence_number(*a), sequence_number(*b)
    assert (x < y) == (a < b)
    assert (int(x) < int(y)) == (a < b)
    assert (x == y) == (a == b)


@given(EPOCHS, STREAM_PARTITIONS, STREAM_PARTITIONS, KAFKA_OFFSETS, KAFKA_OFFSETS)
def test_unique_across_the_shards_of_a_stream(epoch, p1, p2, o1, o2):
    """Every shard of a stream starts at offset 0: the partition keeps their numbers apart."""
    if (p1, o1) != (p2, o2):
        assert sequence_number(epoch, p1, o1) != sequence_number(epoch, p2, o2)


@given(EPOCHS, EPOCHS, STREAM_PARTITIONS, KAFKA_OFFSETS, KAFKA_OFFSETS)
def test_a_later_epoch_is_higher_whatever_the_offsets(e1, e2, partition, o1, o2):
    """After the broker lost a stream's topic its offsets start again at 0; the raised epoch keeps
    every new number of a shard above every old one ("later generations higher")."""
    if e1 < e2:
        assert sequence_number(e1, partition, o1) < sequence_number(e2, partition, o2)


@given(st.lists(POSITIONS, min_size=2, max_size=30))
def test_sorting_sequence_numbers_as_strings_sorts_positions(positions):
    assert [parse_sequence_number(s) for s in sorted(sequence_number(*p) for p in positions)] == sorted(positions)


@pytest.mark.parametrize("args", [(-1, 0, 0), (10**5, 0, 0), (0, -1, 0), (0, 10**5, 0), (0, 0, -1), (0, 0, 10**20)])
def test_positions_without_a_sequence_number(args):
    with pytest.raises(ValueError):
        sequence_number(*args)


@pytest.mark.parametrize("text", [
    "",
    "1",
    "1" * 20,                              # too short
    "1" * 41,                              # too long
    "100000000000000000000",               # the format before epochs (21 digits)
    "1" * 30,                              # one digit short
    "1" * 32,                              # one digit long
    "0" * 31,                              # no leading 1
    "0100000000000000000000000000000",
    "2000000000000000000000000000000",
    "100000000000000000000000000000a",
    "-100000000000000000000000000000",
    "+1000000000000000000000000000000",
    " 1000000000000000000000000000000",
    "1000000000000000000000000000000 ",
    "1000000000000000000000000000000\n",
    "1000000000_00000000000000000000",
    "1e+2000000000000000000000000000",
    "100000000000000000000000000000.0",
    "١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠",       # Arabic-Indic digits: not ASCII
    "１" + "０" * 30,                        # full-width digits
])
def test_sequence_numbers_rejected(text):
    with pytest.raises(InvalidIdentifier):
        parse_sequence_number(text)


@given(st.text(max_size=45))
def test_parse_accepts_only_ascii_decimal_strings_of_31_digits(text):
    try:
        epoch, partition, offset = parse_sequence_number(text)
    except InvalidIdentifier:
        return
    assert DIGITS_21_40.fullmatch(text) and len(text) == 31
    assert sequence_number(epoch, partition, offset) == text


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
    """DynamoDB's shape has ASCII digits only (as parse_sequence_number insists for sequence numbers)."""
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


@pytest.mark.parametrize("body", [b"[]", b"[1,2,3]", b"{}", b"null", b"not json", b"\xff\xfe", b"[\"a\",0,0,0,0,0]"])
def test_signed_bodies_that_are_not_positions_rejected(body):
    """Even a correctly signed body must be a position (a bug elsewhere must not become a 500)."""
    from connector.ids import _b64, _signature

    encoded = _b64(body)
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(f"{encoded}.{_signature(SECRET, encoded)}", SECRET)


def test_an_iterator_without_an_epoch_is_of_epoch_0():
    """Iterators issued before epochs existed (4 members) still decode: their data is epoch 0's."""
    from connector.ids import _b64, _signature

    body = _b64(b'["arn", 2, 7, 123]')
    assert ShardIterator.decode(f"{body}.{_signature(SECRET, body)}", SECRET) == ShardIterator("arn", 2, 7, 123, 0)


def test_the_epoch_is_signed_too():
    """An iterator of an older epoch cannot be made to look current without the secret."""
    old = ShardIterator("arn", 0, 5, 1, epoch=0).encode(SECRET)
    forged_body = ShardIterator("arn", 0, 5, 1, epoch=1).encode(SECRET).partition(".")[0]
    with pytest.raises(InvalidIdentifier):
        ShardIterator.decode(f"{forged_body}.{old.partition('.')[2]}", SECRET)


@pytest.mark.parametrize("value", [1e308, -1e308, "1e999", "-inf", "nan", float("nan"), "99999-01-01", 10**30])
def test_a_timestamp_no_clock_can_hold_is_an_invalid_identifier_not_a_crash(value):
    with pytest.raises(InvalidIdentifier):
        timestamp_ms(value)


def test_timestamps_in_seconds_or_iso_8601_become_milliseconds():
    assert timestamp_ms(1_700_000_000.5) == timestamp_ms("1700000000.5") == 1_700_000_000_500
    assert timestamp_ms("2023-11-14T22:13:20+00:00") == 1_700_000_000_000
