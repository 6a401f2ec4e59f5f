"""Kinesis positions of an older data epoch (connector/operations/kinesis_records.py).

A stream's epoch is raised when the broker lost its topics and they were made again (offsets start
at 0 again). A sequence number or shard iterator of an older epoch names data that is gone; Kinesis
treats a position older than its trim horizon by reading on from the trim horizon, so ours read on
from the trim horizon of the data there is now, never from the offset the old position named.
A position of a later epoch than the stream's was never given out: InvalidArgumentException.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from connector.errors import Kinesis as E
from connector.ids import ShardIterator, kinesis_sequence_number
from connector.kinesis_shards import Page, Shard
from connector.operations import kinesis_records

TRIM_HORIZON = 3  # the first offset inside the retention window of the current data
END = 10


class Offsets:
    def __init__(self):
        self.asked: list[tuple] = []

    def first_at_or_after(self, topic, partition, cutoff):
        self.asked.append((topic, partition))
        return TRIM_HORIZON

    def end(self, topic, partition):
        return END


def context() -> SimpleNamespace:
    return SimpleNamespace(shards=SimpleNamespace(offsets=Offsets(), pool=None),
                           settings=SimpleNamespace(account_id="000000000000"))


STREAM = {"StreamName": "s", "RetentionPeriodHours": 24}


def shard(epoch: int) -> Shard:
    return Shard(number=2, topic="kinesis.s.0", partition=2, starting_hash_key=0, ending_hash_key=2**128 - 1,
                 parents=(), opened_ms=0, closed_ms=None, end_offset=None, epoch=epoch)


@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_a_sequence_number_of_an_older_epoch_starts_at_the_trim_horizon(kind):
    ctx = context()
    old = kinesis_sequence_number(0, 2, 7)  # offset 7 of the lost data, not of today's
    req = {"ShardIteratorType": kind, "StartingSequenceNumber": old}
    assert kinesis_records.start_offset(ctx, STREAM, shard(1), req) == TRIM_HORIZON


@pytest.mark.parametrize("kind, expected", [("AT_SEQUENCE_NUMBER", 7), ("AFTER_SEQUENCE_NUMBER", 8)])
def test_a_sequence_number_of_the_current_epoch_starts_where_it_says(kind, expected):
    req = {"ShardIteratorType": kind, "StartingSequenceNumber": kinesis_sequence_number(1, 2, 7)}
    assert kinesis_records.start_offset(context(), STREAM, shard(1), req) == expected


def test_a_sequence_number_of_a_later_epoch_is_an_invalid_argument():
    req = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": kinesis_sequence_number(2, 2, 7)}
    with pytest.raises(E.InvalidArgumentException, match="did not come from this stream"):
        kinesis_records.start_offset(context(), STREAM, shard(1), req)


def test_an_iterator_of_an_older_epoch_reads_on_from_the_trim_horizon(monkeypatch):
    read_at = []
    monkeypatch.setattr(kinesis_records, "read_page",
                        lambda pool, shard, offset, limit, cutoff: read_at.append(offset) or Page([], offset, True, None))
    ctx = context()
    kinesis_records.read_from(ctx, shard(1), ShardIterator("kinesis.s.0", 2, 7, 0, epoch=0), 100, 0)
    kinesis_records.read_from(ctx, shard(1), ShardIterator("kinesis.s.0", 2, 7, 0, epoch=1), 100, 0)
    assert read_at == [TRIM_HORIZON, 7]
