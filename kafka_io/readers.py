"""Positioned partition readers, kept and reused across GetRecords calls, and the offset lookups
iterators need (the Streams and Kinesis APIs of the connector read through them).

Measured on the embedded broker (../shared/kafka-broker-notes.md, docs/design.md): a read that
continues where the last one stopped costs ~0.2 ms, a repositioned one ~10 ms. So readers stay
assigned where the last GetRecords stopped and the pool hands a reader back to the caller whose
iterator continues there. An empty shard must answer at once: a reader never waits when its
position has reached the high watermark that its own background fetches keep up to date.

The embedded broker lists all of a partition's batches on every fetch and answers an empty fetch
when that listing takes longer than the fetch's `fetch.wait.max.ms`; and it answers every fetch,
with records or not, only once that wait has passed. So a reader's wait follows the size of its
partition: the shortest that is safely longer than the listing (1 ms up to ~500 records, 2 ms up
to ~1,000, 16 ms at 5,000: see `fetch_wait_ms`), raised for a partition where a reader went
without an answer. The size is what the last fetch or end lookup said; before a reader is
positioned, a size learned more than END_FRESH_S ago is looked up again (ListOffsets), since a
wait sized for a partition that has grown since would starve. On Apache Kafka the wait only
bounds an idle fetch (records are answered at once). A reader left idle is parked (unassigned):
its fetches would otherwise keep the broker busy for nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from kafka_io.client import MISSING, READER_CONFIG, Kafka, new_consumer, read_to_end, watermark_offsets

log = logging.getLogger("cdc_bridge.kafka.readers")

POLL_SLICE_S = 0.002
MIN_FETCH_WAIT_MS, MAX_FETCH_WAIT_MS = 1, 256
FETCH_WAIT_MS_PER_1000_RECORDS = 2  # about twice the embedded broker's listing time per 1,000 batches
UNKNOWN_SIZE_FETCH_WAIT_MS = 64  # a partition no read has sized yet
IDLE_PARK_S = 2.0  # an idle reader stops fetching after this long (it keeps its position)
END_FRESH_S = 1.0  # a partition end older than this is looked up again before a reader is positioned


def fetch_wait_ms(partition_end: int | None, floor_ms: int = MIN_FETCH_WAIT_MS) -> int:
    """The fetch wait for a reader of a partition that ends at `partition_end` (None: unknown):
    a power of two, so that readers of similar partitions share one wait and can be reused."""
    if partition_end is None:
        wanted = UNKNOWN_SIZE_FETCH_WAIT_MS
    else:
        wanted = partition_end * FETCH_WAIT_MS_PER_1000_RECORDS / 1000
    wait = MIN_FETCH_WAIT_MS
    while wait < max(wanted, floor_ms) and wait < MAX_FETCH_WAIT_MS:
        wait *= 2
    return wait


class PartitionReader:
    """One consumer assigned to one partition, positioned at `position` (the next offset).

    `synced` tells whether a fetch since the last (re)assignment has answered: only then does the
    cached high watermark say where the partition ends (before, it is unknown, or stale)."""

    def __init__(self, bootstrap_servers: str, fetch_wait: int):
        self.fetch_wait = fetch_wait
        self.consumer = new_consumer({
            "bootstrap.servers": bootstrap_servers,
            "group.id": "cdc-bridge-connector",  # never joined or committed: partitions are assigned
            **READER_CONFIG,
            "fetch.wait.max.ms": fetch_wait,
        })
        self.where: tuple[str, int] | None = None
        self.position = -1
        self.buffer: deque[Message] = deque()  # fetched but not yet returned, from `position` on
        self.synced = False
        self.parked = False
        self.starved = False  # the last read waited its whole patience for records said to be there
        self.released_at = time.monotonic()

    def seek(self, topic: str, partition: int, offset: int) -> None:
        self.consumer.assign([TopicPartition(topic, partition, offset)])
        self.where, self.position = (topic, partition), offset
        self.buffer.clear()
        self.synced = self.parked = False

    def park(self) -> None:
        """Stop fetching; `position` stays, and the next `seek` there resumes."""
        self.consumer.unassign()
        self.buffer.clear()
        self.synced, self.parked = False, True

    def read(self, limit: int, wait_s: float, patience_s: float = 1.0) -> list[Message]:
        """Up to `limit` records from `position`; returns at once at the end of the partition.
        After `wait_s` it returns what it has; but while it has nothing and records are there, or
        may be (no fetch has answered yet), it waits up to `patience_s` for them, so that an
        empty answer means an empty shard."""
        out: list[Message] = []
        while self.buffer and len(out) < limit:
            out.append(self.buffer.popleft())
        started = time.monotonic()
        timeout = 0.0  # first take what is queued: the cached watermark may be ahead of the queue
        while len(out) < limit:
            # consume() waits its whole timeout unless `limit` records come: short slices let the
            # watermark check below end the read as soon as the shard is drained.
            for message in self.consumer.consume(limit - len(out), timeout=timeout):
                error = message.error()
                if error is None:
                    if message.offset() >= self.position:  # below it: skipped (`skip_to`)
                        out.append(message)
                    self.synced = True
                elif error.code() in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    # An EOF event may be stale (records fetched after it follow it in the
                    # queue); it does make the cached high watermark known, which at_end reads.
                    self.synced = True
                else:
                    raise KafkaException(error)
            elapsed = time.monotonic() - started
            if self.at_end(out) or elapsed >= patience_s or (elapsed >= wait_s and (out or not self.records_ahead())):
                break
            timeout = min(patience_s - elapsed, POLL_SLICE_S)
        self.starved = not out and self.records_ahead()
        return self._advance(out)

    def wait_for_more(self, timeout_s: float) -> bool:
        """Block until a record at or past `position` arrives (at most `timeout_s`) and keep it for
        the next `read`: a follower at the end of a partition sleeps until there is work."""
        arrived = [m for m in self.consumer.consume(1, timeout=timeout_s)
                   if m.error() is None and m.offset() >= self.position]
        if arrived:
            self.synced = True
            self.unread(arrived)
        return bool(arrived)

    def skip_to(self, offset: int) -> None:
        """Move ahead to `offset`: the records before it were served without this reader. Those
        already fetched are dropped now, those still coming as they arrive."""
        while self.buffer and self.buffer[0].offset() < offset:
            self.buffer.popleft()
        if offset > self.high_watermark():
            # Past the end its last fetch saw: until a fetch answers again (with the skipped
            # records, or records someone else wrote), an empty read here would prove nothing.
            self.synced = False
        self.position = offset

    def unread(self, messages: list[Message]) -> None:
        """Give back records a caller fetched but could not return (the 1 MB response cap)."""
        self.buffer.extendleft(reversed(messages))
        if messages:
            self.position = messages[0].offset()

    def high_watermark(self) -> int:
        """Where the partition ends, as the last fetch said; -1 while unknown."""
        if not self.synced:
            return -1
        topic, partition = self.where
        return self.consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)[1]

    def records_ahead(self) -> bool:
        """Records are beyond our position, or may be (no fetch has answered yet)."""
        high = self.high_watermark()
        return high < 0 or self.position < high

    def at_end(self, pending: list[Message]) -> bool:
        next_offset = pending[-1].offset() + 1 if pending else self.position
        high = self.high_watermark()
        return high >= 0 and next_offset >= high

    def _advance(self, out: list[Message]) -> list[Message]:
        if out:
            self.position = out[-1].offset() + 1
        return out

    def close(self) -> None:
        self.consumer.close()


class ReaderPool:
    """At most `size` readers; the least recently used idle one is repositioned when needed.
    Readers differ in their fetch wait, chosen from what the pool last learned of the size of
    their partition (see the module's docstring)."""

    def __init__(self, bootstrap_servers: str, size: int = 64, idle_park_s: float = IDLE_PARK_S):
        self.bootstrap_servers = bootstrap_servers
        self.size = size
        self.idle_park_s = idle_park_s
        self.idle: OrderedDict[int, PartitionReader] = OrderedDict()
        self.count = 0
        self.lock = threading.Lock()
        self.hits = self.seeks = self.parks = self.starved = 0
        self.discarded: set[str] = set()  # deleted topics: their readers are closed, not kept
        self.ends: dict[tuple[str, int], int] = {}  # the highest end each partition was seen to have
        self.ends_seen: dict[tuple[str, int], float] = {}  # when (monotonic) that end was last confirmed
        self.lookup = new_consumer({"bootstrap.servers": bootstrap_servers, "group.id": "cdc-bridge-connector",
                                    **READER_CONFIG})  # ListOffsets only: never assigned
        self.wait_floors: dict[tuple[str, int], int] = {}  # raised where a reader went unanswered
        self.stopping = threading.Event()
        self.parker = threading.Thread(target=self._park_idle, name="reader-parker", daemon=True)
        self.parker.start()

    def note_end(self, topic: str, partition: int, end: int) -> None:
        with self.lock:
            self._raise_end((topic, partition), end)

    def _raise_end(self, where: tuple[str, int], end: int) -> None:
        if end < 0:
            return
        self.ends_seen[where] = time.monotonic()
        if end > self.ends.get(where, -1):
            self.ends[where] = end

    def fetch_wait(self, topic: str, partition: int) -> int:
        where = (topic, partition)
        return fetch_wait_ms(self.ends.get(where), self.wait_floors.get(where, MIN_FETCH_WAIT_MS))

    def acquire(self, topic: str, partition: int, offset: int) -> PartitionReader:
        """A reader at `offset`: the one the previous read left there, else an idle reader of the
        same topic repositioned, else a new one. A reader is never moved to another topic:
        librdkafka needs about a second to learn a topic it has not read before, while a new
        consumer takes ~10 ms; when the pool is full the least recently used reader is replaced.
        Before positioning a reader, a partition end learned long ago is looked up again: a
        fetch wait sized for a partition that has grown since would starve (see `fetch_wait_ms`)."""
        where = (topic, partition)
        with self.lock:
            wait = self.fetch_wait(topic, partition)
            reader = self._take(lambda r: r.fetch_wait == wait and r.where == where and r.position == offset and not r.parked)
            if reader is not None:
                self.hits += 1
                return reader
            stale = time.monotonic() - self.ends_seen.get(where, float("-inf")) > END_FRESH_S
        if stale:
            self._look_up_end(topic, partition)
        with self.lock:
            self.seeks += 1
            wait = self.fetch_wait(topic, partition)
            # Idle readers of this partition with another wait are outdated (a partition's wait only
            # grows): closed now, whether or not one is replaced here. Kept, they would idle until the
            # pool is full — also when a reader of a sibling partition with the new wait comes here.
            retired = self._take_all(lambda r: r.where == where and r.fetch_wait != wait)
            self.count -= len(retired)
            reader = (self._take(lambda r: r.fetch_wait == wait and r.where == where and r.position == offset)
                      or self._take(lambda r: r.fetch_wait == wait and r.where[0] == topic))
            if reader is None:
                if self.count >= self.size and self.idle:
                    retired.append(self.idle.popitem(last=False)[1])
                    self.count -= 1
                self.count += 1
        for outdated in retired:
            outdated.close()
        reader = reader or PartitionReader(self.bootstrap_servers, wait)
        reader.seek(topic, partition, offset)
        return reader

    def watermarks(self, topic: str, partition: int, timeout_s: float = 10.0) -> tuple[int, int]:
        """(low, high) as ListOffsets tells them; on the embedded broker the high one can be low
        (the last batch's base offset + 1)."""
        return watermark_offsets(self.lookup, topic, partition, timeout_s)

    def _look_up_end(self, topic: str, partition: int) -> None:
        """The partition's end as ListOffsets tells it: close enough to size a fetch wait."""
        try:
            _, high = self.watermarks(topic, partition, timeout_s=5)
        except KafkaException:
            return  # a deleted topic, or no answer: the wait follows what was known
        self.note_end(topic, partition, high)

    def skip(self, topic: str, partition: int, offset: int, to: int) -> None:
        """Records [offset, to) of a partition were served without a reader: the idle reader
        left at `offset` moves on to `to`, so the next read there continues with it."""
        with self.lock:
            for reader in self.idle.values():
                if reader.where == (topic, partition) and reader.position == offset:
                    reader.skip_to(to)
                    return

    def _take_all(self, wanted) -> list[PartitionReader]:
        taken = [key for key, reader in self.idle.items() if wanted(reader)]
        return [self.idle.pop(key) for key in taken]

    def _take(self, wanted) -> PartitionReader | None:
        for key, reader in self.idle.items():
            if wanted(reader):
                del self.idle[key]
                return reader
        return None

    def release(self, reader: PartitionReader) -> None:
        """Take back a reader `acquire` gave out (so a positioned one: `where` is set)."""
        high = reader.high_watermark()
        with self.lock:
            self._raise_end(reader.where, high)
            if reader.starved:
                # The broker let a whole read go by without records it has: a longer wait.
                self.starved += 1
                floor = self.wait_floors[reader.where] = min(reader.fetch_wait * 2, MAX_FETCH_WAIT_MS)
                log.info("partition reads starved; longer fetch wait", extra={
                    "topic": reader.where[0], "partition": reader.where[1], "fetch_wait_ms": floor})
            if reader.where[0] in self.discarded:
                self.count -= 1
                reader.close()
                return
            reader.released_at = time.monotonic()
            self.idle[id(reader)] = reader

    def _park_idle(self) -> None:
        while not self.stopping.wait(self.idle_park_s / 4):
            now = time.monotonic()
            with self.lock:
                for reader in self.idle.values():
                    if not reader.parked and now - reader.released_at >= self.idle_park_s:
                        reader.park()
                        self.parks += 1

    def discard(self, topics: list[str]) -> None:
        """Close the readers of topics about to be deleted: librdkafka 2.16 crashes (SIGSEGV) when
        a consumer stays assigned to a topic the embedded broker has deleted. A reader in use is
        closed when it comes back."""
        with self.lock:
            self.discarded.update(topics)
            for known in (self.ends, self.ends_seen, self.wait_floors):
                for where in [w for w in known if w[0] in self.discarded]:
                    del known[where]
            for key, reader in list(self.idle.items()):
                if reader.where[0] in self.discarded:
                    del self.idle[key]
                    self.count -= 1
                    reader.close()

    def close(self) -> None:
        self.stopping.set()
        self.parker.join(2)
        with self.lock:
            for reader in self.idle.values():
                reader.close()
            self.idle.clear()
        self.lookup.close()


class Offsets:
    """Where TRIM_HORIZON, LATEST and AT_TIMESTAMP start, found by reading (never trusting
    ListOffsets alone: the embedded broker's LATEST can be low and its offsets_for_times answers 0
    for a time after the last record). Each end found tells `pool` how long the partition is."""

    def __init__(self, kafka: Kafka, pool: ReaderPool):
        self.kafka = kafka
        self.pool = pool

    def end(self, topic: str, partition: int) -> int:
        """The true end: the offset the next record will get."""
        record = self.kafka.last_record(topic, partition)
        if record is not None:
            end = record.offset + 1
        else:
            end = max(self._watermarks(topic, partition)[0], 0)
        self.pool.note_end(topic, partition, end)
        return end

    def first_at_or_after(self, topic: str, partition: int, timestamp_ms: int) -> int:
        """The offset of the first record with a timestamp >= `timestamp_ms` (the end if none)."""
        last = self.kafka.last_record(topic, partition)
        if last is None:
            # Empty: where its first record will go. Not `end`, which looks again and would
            # step over a record written since.
            return max(self._watermarks(topic, partition)[0], 0)
        if last.timestamp_ms < timestamp_ms:
            return last.offset + 1
        reader = self.kafka.reader()
        try:
            found = reader.offsets_for_times([TopicPartition(topic, partition, timestamp_ms)], timeout=10)[0]
            reader.assign([TopicPartition(topic, partition, max(found.offset, 0))])
            for message in read_to_end(reader, 10):
                if message.timestamp()[1] >= timestamp_ms:
                    return message.offset()
            return last.offset + 1
        finally:
            reader.close()

    def _watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        try:
            return self.pool.watermarks(topic, partition)
        except KafkaException as exc:
            if exc.args[0].code() in MISSING:
                return 0, 0  # the topic is gone: an empty shard
            raise
