"""TRIM_HORIZON of a shard that is empty when it is looked up (kafka_io.readers.Offsets): the
first record written while the lookup runs must not be stepped over. Pure logic: the Kafka
client is replaced by a stand-in whose partition gets its first record between two calls."""

from __future__ import annotations

from kafka_io.client import Record
from kafka_io.readers import Offsets


class FirstRecordArrivesDuringTheLookup:
    """A partition that is empty for the first `last_record` and holds one record afterwards."""

    def __init__(self):
        self.calls = 0

    def last_record(self, topic: str, partition: int):
        self.calls += 1
        if self.calls == 1:
            return None
        return Record(topic, partition, 0, None, b"first", {}, 1_000)


class Pool:
    """The pool's ListOffsets, on the same partition."""

    def __init__(self, kafka: FirstRecordArrivesDuringTheLookup):
        self.kafka = kafka

    def watermarks(self, _topic, _partition):
        written = self.kafka.calls > 1
        return 0, 1 if written else 0

    def note_end(self, *_):
        pass


def test_an_empty_shard_starts_where_its_first_record_goes():
    kafka = FirstRecordArrivesDuringTheLookup()
    offsets = Offsets(kafka, Pool(kafka))
    assert offsets.first_at_or_after("t", 0, timestamp_ms=0) == 0
