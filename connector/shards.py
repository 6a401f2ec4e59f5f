"""The shared core of both Streams APIs: where an iterator type starts, reading one page of a
shard with exact retention, and the shard ends of closed streams."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.errors import TrimmedDataAccessException
from kafka_io.client import Kafka, Message
from kafka_io.delivered import DeliveredTail
from kafka_io.readers import Offsets, ReaderPool

READ_WAIT_S = 0.05  # the longest a GetRecords waits for a shard that has records coming


@dataclass
class Shards:
    kafka: Kafka
    pool: ReaderPool
    offsets: Offsets
    # Records Kafka acknowledged to this process's publisher (`cdc-bridge up`), else None.
    delivered: DeliveredTail | None = None
    # The end of a shard that takes no more records (a disabled stream's), once known.
    closed_ends: dict[tuple[str, int], int] = field(default_factory=dict)
    # Each partition's first record (offset, timestamp ms), once read: it stays the first until
    # it leaves the retention window (a broker deletes only records older than the retention).
    firsts: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)

    def trim_horizon(self, topic: str, partition: int, retention_ms: int, born_ms: int | None = None) -> int:
        """The oldest record inside the retention window (the end when there is none).

        A topic made (`born_ms`) less than a retention ago has lost nothing: neither Kafka nor
        our read filter has trimmed any of it, so its trim horizon is offset 0, known without a
        read (a first DescribeStream then costs no broker round trip).

        Usually the partition's first record is inside the window. It is read once and
        remembered, so DescribeStream does not read every shard each time: on the embedded
        broker, readers fetching side by side slow each other down several times over (a drain
        of four shards ran at ~10,000 records/s with all four fetching, ~15,000 without).
        Otherwise the offset is searched by time."""
        cutoff = now_ms() - retention_ms
        if born_ms is not None and born_ms >= cutoff:
            return 0
        first = self.firsts.get((topic, partition))
        if first is None:
            first = self._first_record(topic, partition)
        if first is not None and first[1] >= cutoff:
            return first[0]
        return self.offsets.first_at_or_after(topic, partition, cutoff)

    def _first_record(self, topic: str, partition: int) -> tuple[int, int] | None:
        reader = self.pool.acquire(topic, partition, 0)  # offset 0 resets to the first record kept
        try:
            messages = reader.read(1, READ_WAIT_S)
            reader.unread(messages)
            if messages:
                # Parked at the first record: a GetRecords there resumes it with one fetch. Left
                # running, it would read the whole shard ahead alongside the shard being read.
                reader.park()
        finally:
            self.pool.release(reader)
        if not messages:
            return None
        first = self.firsts[(topic, partition)] = (messages[0].offset(), messages[0].timestamp()[1])
        return first

    async def wait_for_records(self, topic: str, partition: int, offset: int, timeout_s: float) -> bool:
        """In `cdc-bridge up`: wait (at most `timeout_s`) until the publisher of this process has
        seen Kafka acknowledge a record of the partition at `offset` or later. A reader at the
        end of a shard is woken by the write itself instead of polling for it. True when woken;
        False at once without a publisher in this process."""
        if self.delivered is None:
            return False
        loop = asyncio.get_running_loop()
        arrived = loop.create_future()

        def wake() -> None:  # in the publisher's thread
            with contextlib.suppress(RuntimeError):  # the event loop has closed
                loop.call_soon_threadsafe(_resolve, arrived)

        self.delivered.when_held(topic, partition, offset, wake)
        try:
            done, _ = await asyncio.wait({arrived}, timeout=timeout_s)
        finally:
            self.delivered.unwait(topic, partition, wake)
        return bool(done)

    def forget(self, topics: list[str]) -> None:
        """Topics about to be deleted: their readers go first (see ReaderPool.discard), then
        what is known of them."""
        self.pool.discard(topics)
        if self.delivered is not None:
            self.delivered.forget(topics)
        for known in (self.closed_ends, self.firsts):
            for where in [w for w in list(known) if w[0] in topics]:
                known.pop(where, None)

    def end(self, topic: str, partition: int, closed: bool = False) -> int:
        if closed and (topic, partition) in self.closed_ends:
            return self.closed_ends[(topic, partition)]
        end = self.offsets.end(topic, partition)
        if closed:
            self.closed_ends[(topic, partition)] = end
        return end

    def read(self, topic: str, partition: int, offset: int, limit: int, retention_ms: int,
             fits: Callable[[Message], bool], delivered_only: bool = False) -> tuple[list[Message], int] | None:
        """Records from `offset` on, at most `limit`, as many as `fits` accepts (response size
        caps); returns them and the next offset. A position older than the retention window, or
        one the broker has already deleted, is TrimmedDataAccessException.

        Records the publisher of this process has just seen acknowledged are taken from its
        tail; the pooled reader left at `offset` then skips them, so a poller at the end of a
        shard keeps its reader (see kafka_io.delivered.DeliveredTail); where the tail knows the
        shard ends at `offset` (only this process writes its stream topics: every record after an
        end it learned passes through it), no reader is needed. With `delivered_only`,
        None instead of a read from Kafka when the tail does not hold `offset`."""
        delivered = self.delivered.read(topic, partition, offset, limit) if self.delivered else []
        if delivered:
            kept = _page(delivered, offset, retention_ms, fits)
            self.pool.skip(topic, partition, offset, offset + kept)
            return delivered[:kept], offset + kept
        if self.delivered is not None and self.delivered.ends_at(topic, partition, offset):
            # A poller at the end of the shard: answered without its reader, which is parked once
            # idle instead of fetching an empty partition over and over (on the embedded broker,
            # ~7 % of a core for each shard polled).
            return [], offset
        if delivered_only:
            return None
        reader = self.pool.acquire(topic, partition, offset)
        try:
            messages = reader.read(limit, READ_WAIT_S)
            try:
                kept = _page(messages, offset, retention_ms, fits)
            except TrimmedDataAccessException:
                reader.unread(messages)
                # The broker may have deleted the remembered first record (its clock, not ours).
                self.firsts.pop((topic, partition), None)
                raise
            reader.unread(messages[kept:])
            if not messages and self.delivered is not None and reader.at_end([]):
                self.delivered.learn_end(topic, partition, reader.position)
            return messages[:kept], reader.position
        finally:
            self.pool.release(reader)


def _page(messages: list[Message], offset: int, retention_ms: int, fits: Callable[[Message], bool]) -> int:
    """How many of `messages`, read from `offset`, one response takes: the first whatever its
    size, then as many as `fits` accepts. TrimmedDataAccessException when the first is not the
    one asked for (deleted by the broker) or is older than the retention window."""
    if messages and (messages[0].offset() != offset or messages[0].timestamp()[1] < now_ms() - retention_ms):
        raise TrimmedDataAccessException()
    kept = 0
    for message in messages:
        if not fits(message) and kept:
            break
        kept += 1
    return kept


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def now_ms() -> int:
    return int(time.time() * 1000)
