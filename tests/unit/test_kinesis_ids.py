"""Kinesis identifiers (connector/ids.py): sequence numbers, shard ids, stream ARNs, hash key
slices and signed page tokens round-trip; anything that is not one of ours is rejected."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connector.ids import (
    HASH_KEYS,
    InvalidIdentifier,
    ending_hash_keys,
    equal_slices,
    hash_key,
    kinesis_sequence_number,
    kinesis_shard_id,
    kinesis_stream_arn,
    parse_kinesis_sequence_number,
    parse_kinesis_shard_id,
    parse_kinesis_stream_arn,
    rescaled_slices,
    sign,
    slice_of,
    unsign,
)

SHARDS = st.integers(min_value=0, max_value=10**12 - 1)
OFFSETS = st.integers(min_value=0, max_value=2**63 - 1)  # a Kafka offset is a signed 64-bit int
EPOCHS = st.integers(min_value=0, max_value=10**6)  # raised once per loss of the stream's topics
EARLY_EPOCHS = st.integers(min_value=0, max_value=50)  # those that keep 34 digits


@given(SHARDS, OFFSETS)
@example(0, 0)
@example(10**12 - 1, 2**63 - 1)
def test_epoch_0_sequence_numbers_are_the_34_digits_they_were_before_epochs(shard, offset):
    """"49", the shard (12 digits), the offset (20 digits): a stream whose topics the broker never
    lost keeps the sequence numbers it had before epochs existed."""
    sequence = kinesis_sequence_number(0, shard, offset)
    assert sequence == f"49{shard:012d}{offset:020d}"
    assert parse_kinesis_sequence_number(sequence) == (0, shard, offset)


@given(EPOCHS, SHARDS, OFFSETS)
@example(0, 0, 0)
@example(50, 10**12 - 1, 2**63 - 1)
@example(51, 0, 0)
@example(10**6, 10**12 - 1, 2**63 - 1)
def test_sequence_numbers_round_trip(epoch, shard, offset):
    sequence = kinesis_sequence_number(epoch, shard, offset)
    assert sequence.isdigit() and sequence[0] != "0" and 34 <= len(sequence) <= 129  # Kinesis's pattern
    assert parse_kinesis_sequence_number(sequence) == (epoch, shard, offset)


@given(EARLY_EPOCHS, SHARDS, OFFSETS)
def test_epochs_0_to_50_keep_a_fixed_width_of_34_digits(epoch, shard, offset):
    assert len(kinesis_sequence_number(epoch, shard, offset)) == 34


@given(EPOCHS, SHARDS, OFFSETS, OFFSETS)
def test_within_a_shard_and_epoch_sequence_number_order_is_offset_order(epoch, shard, a, b):
    x, y = kinesis_sequence_number(epoch, shard, a), kinesis_sequence_number(epoch, shard, b)
    assert (int(x) < int(y)) == (a < b)
    assert (x < y) == (a < b)  # one epoch has one width: string order too


@given(EPOCHS, EPOCHS, SHARDS, OFFSETS, OFFSETS)
def test_a_later_epoch_is_numerically_higher(e1, e2, shard, a, b):
    """After the broker lost a stream's topics its offsets start again at 0: the raised epoch
    keeps every new sequence number above every old one."""
    if e1 < e2:
        assert int(kinesis_sequence_number(e1, shard, a)) < int(kinesis_sequence_number(e2, shard, b))


@given(EPOCHS, SHARDS, SHARDS, OFFSETS)
def test_sequence_numbers_are_unique_per_stream(epoch, a, b, offset):
    if a != b:
        assert kinesis_sequence_number(epoch, a, offset) != kinesis_sequence_number(epoch, b, offset)


@pytest.mark.parametrize("args", [(-1, 0, 0), (0, -1, 0), (0, 10**12, 0), (0, 0, -1), (0, 0, 10**20)])
def test_positions_without_a_sequence_number(args):
    with pytest.raises(ValueError):
        kinesis_sequence_number(*args)


@pytest.mark.parametrize("text", ["", "0", "100000000000000000000", "48" + "9" * 32, "0" + "49" + "0" * 32,
                                  "49" + "0" * 31, "49" + "x" * 32, "４９" + "0" * 32, " 49" + "0" * 32,
                                  "49" + "0" * 32 + "\n", "-49" + "0" * 32, "1" * 130])
def test_anything_else_is_not_a_sequence_number(text):
    with pytest.raises(InvalidIdentifier):
        parse_kinesis_sequence_number(text)


@given(SHARDS)
def test_shard_ids_have_kinesis_shape_and_round_trip(number):
    shard = kinesis_shard_id(number)
    assert len(shard) == len("shardId-000000000000")
    assert parse_kinesis_shard_id(shard) == number


@pytest.mark.parametrize("text", ["shardId-1", "shardId-00000000000a", "shardId-" + "\u0660" * 12, "shardId-00000000000000000000-00000001", "x"])
def test_anything_else_is_not_a_shard_id(text):
    with pytest.raises(InvalidIdentifier):
        parse_kinesis_shard_id(text)


def test_stream_arns_round_trip():
    arn = kinesis_stream_arn("eu-west-1", "123456789012", "my.stream-1_x")
    assert arn == "arn:aws:kinesis:eu-west-1:123456789012:stream/my.stream-1_x"
    assert parse_kinesis_stream_arn(arn) == ("eu-west-1", "123456789012", "my.stream-1_x")
    with pytest.raises(InvalidIdentifier):
        parse_kinesis_stream_arn("arn:aws:kinesis:eu-west-1:123:stream/x")


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 64, 500])
def test_a_new_stream_is_split_into_equal_slices_as_kinesis_does(count):
    starts = equal_slices(count)
    ends = ending_hash_keys(starts)
    assert starts[0] == 0 and ends[-1] == HASH_KEYS - 1
    assert starts == [i * (HASH_KEYS // count) for i in range(count)]
    assert all(ends[i] + 1 == starts[i + 1] for i in range(count - 1))


def test_two_shards_split_the_key_space_at_two_to_the_127():
    assert equal_slices(2) == [0, 2**127]
    assert ending_hash_keys(equal_slices(2)) == [2**127 - 1, 2**128 - 1]


@given(st.text(min_size=1, max_size=256), st.integers(min_value=1, max_value=64))
def test_a_partition_key_goes_to_the_slice_holding_its_md5(partition_key, count):
    key = int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")
    assert hash_key(partition_key) == key
    starts = equal_slices(count)
    i = slice_of(starts, key)
    assert starts[i] <= key <= ending_hash_keys(starts)[i]


@pytest.mark.parametrize("before, after", [(6, 3), (6, 12), (4, 2), (3, 6), (10, 5), (5, 10)])
def test_halving_or_doubling_gives_children_that_cover_whole_parents(before, after):
    old = equal_slices(before)
    new = rescaled_slices(after, old)
    if after < before:
        assert new == old[:: before // after]
    else:
        assert new[:: after // before] == old


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=400))
def test_rescaled_slices_stay_sorted_and_near_equal(before, after):
    new = rescaled_slices(after, equal_slices(before))
    assert new[0] == 0 and new == sorted(set(new))
    width = HASH_KEYS // after
    assert all(abs(start - i * width) < 2**64 for i, start in enumerate(new))


def test_tokens_round_trip_and_refuse_tampering():
    token = sign(b"secret", ["stream", "shardId-000000000001", None, 1234])
    assert unsign(b"secret", token) == ["stream", "shardId-000000000001", None, 1234]
    for bad in (token[:-2], token.replace(".", "x"), "garbage", sign(b"other", ["stream"])):
        with pytest.raises(InvalidIdentifier):
            unsign(b"secret", bad)
