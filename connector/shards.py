"""The shared core of both Streams APIs: where an iterator type starts, reading one page of a
shard with exact retention, and the shard ends of closed streams."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import Message

from connector.errors import TrimmedDataAccessException
from connector.kafka import Offsets, ReaderPool
from table_api.kafka import Kafka

READ_WAIT_S = 0.05  # the longest a GetRecords waits for a shard that has records coming


@dataclass
class Shards:
    kafka: Kafka
    pool: ReaderPool
    offsets: Offsets
    # The end of a shard that takes no more records (a disabled stream's), once known.
    closed_ends: dict[tuple[str, int], int] = field(default_factory=dict)

    def trim_horizon(self, topic: str, partition: int, retention_ms: int) -> int:
        """The oldest record inside the retention window (the end when there is none).

        Usually the partition's first record is inside the window: a pooled reader reads it and
        stays positioned there, so the GetRecords that follows a TRIM_HORIZON iterator continues
        without a seek. Otherwise the offset is searched by time."""
        cutoff = now_ms() - retention_ms
        reader = self.pool.acquire(topic, partition, 0)  # offset 0 resets to the first record kept
        try:
            first = reader.read(1, READ_WAIT_S)
            reader.unread(first)
        finally:
            self.pool.release(reader)
        if first and first[0].timestamp()[1] >= cutoff:
            return first[0].offset()
        return self.offsets.first_at_or_after(topic, partition, cutoff)

    def end(self, topic: str, partition: int, closed: bool = False) -> int:
        if closed and (topic, partition) in self.closed_ends:
            return self.closed_ends[(topic, partition)]
        end = self.offsets.end(topic, partition)
        if closed:
            self.closed_ends[(topic, partition)] = end
        return end

    def read(self, topic: str, partition: int, offset: int, limit: int, retention_ms: int,
             fits: Callable[[Message], bool]) -> tuple[list[Message], int]:
        """Records from `offset` on, at most `limit`, as many as `fits` accepts (response size
        caps); returns them and the next offset. A position older than the retention window, or
        one the broker has already deleted, is TrimmedDataAccessException."""
        reader = self.pool.acquire(topic, partition, offset)
        try:
            messages = reader.read(limit, READ_WAIT_S)
            if messages and (messages[0].offset() != offset or messages[0].timestamp()[1] < now_ms() - retention_ms):
                reader.unread(messages)
                raise TrimmedDataAccessException()
            kept = 0
            for message in messages:  # the first record is returned whatever its size
                if not fits(message) and kept:
                    break
                kept += 1
            reader.unread(messages[kept:])
            return messages[:kept], reader.position
        finally:
            self.pool.release(reader)


def now_ms() -> int:
    return int(time.time() * 1000)
