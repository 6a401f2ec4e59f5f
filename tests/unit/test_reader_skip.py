"""A pooled reader moved past records another path served (PartitionReader.skip_to): it drops
those records as they arrive, and never answers "the shard ends here" from a watermark older
than the skip. The Kafka consumer is replaced by a stand-in that answers scripted fetches."""

from __future__ import annotations

from kafka_io.readers import PartitionReader


class Fetched:
    def __init__(self, offset: int):
        self._offset = offset

    def error(self):
        return None

    def offset(self) -> int:
        return self._offset


class ScriptedConsumer:
    """Each consume() answers the next scripted batch (then nothing); the cached high watermark
    is where the last answered batch ends."""

    def __init__(self, high: int, batches: list[list[int]]):
        self.high = high
        self.batches = batches

    def consume(self, _n, timeout=0.0):
        if not self.batches:
            return []
        batch = self.batches.pop(0)
        if batch:
            self.high = max(self.high, batch[-1] + 1)
        return [Fetched(o) for o in batch]

    def get_watermark_offsets(self, _partition, cached=False):
        return 0, self.high

    def close(self):
        pass


def reader_at(position: int, consumer: ScriptedConsumer) -> PartitionReader:
    reader = PartitionReader("127.0.0.1:1", fetch_wait=1)  # never connects: its consumer is replaced
    reader.consumer.close()
    reader.consumer = consumer
    reader.where, reader.position, reader.synced = ("t", 0), position, True
    return reader


def test_skipped_records_are_dropped_and_the_read_continues_after_them():
    reader = reader_at(5, ScriptedConsumer(high=5, batches=[[5, 6, 7, 8]]))
    reader.skip_to(7)  # 5 and 6 were served from the delivered tail
    assert [m.offset() for m in reader.read(10, wait_s=0.01)] == [7, 8]
    assert reader.position == 9


def test_a_record_written_by_someone_else_after_the_skipped_ones_is_not_hidden():
    # The reader's last fetch ended at 5; 5 was ours (served from the tail), 6 someone else's.
    # Its first consume finds nothing yet: the old watermark must not make that an empty answer.
    reader = reader_at(5, ScriptedConsumer(high=5, batches=[[], [5, 6]]))
    reader.skip_to(6)
    assert [m.offset() for m in reader.read(10, wait_s=0.01)] == [6]


def test_a_skip_within_what_the_reader_has_seen_keeps_it_synced():
    reader = reader_at(5, ScriptedConsumer(high=9, batches=[]))
    reader.skip_to(7)
    assert reader.synced and reader.position == 7
