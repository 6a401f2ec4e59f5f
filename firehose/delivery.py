"""Delivery: one thread per ACTIVE delivery stream reads its source topics from its checkpoints,
buffers records until BufferingHints say so (SizeInMBs of record bytes, or IntervalInSeconds since
the first buffered record), writes one object (sinks.py: never partial under its final name), and
only then commits the buffer's offsets as the stream's checkpoint (kafka_io.checkpoints).

At-least-once: a crash after an object is complete and before its commit writes those records
again, in a new object, after the restart (docs/firehose.md). A failed write is retried with the
same buffer until it succeeds; nothing is committed meanwhile."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from contracts.kinesis_streams import is_live, stream_name_of_arn, stream_topics
from firehose import prefixes
from firehose.formats import FORMAT_CONVERSION_FAILED, Encoder, encoder, error_lines
from firehose.sinks import Sink, bucket_of
from kafka_io.checkpoints import CheckpointedReader
from kafka_io.client import Kafka, Record

log = logging.getLogger("cdc_bridge.firehose")

MIB = 1024 * 1024
POLL_RECORDS = 5000
SOURCE_REFRESH_S = 1.0  # how often a Kinesis source's generations are looked at again
RETRY_S = 1.0
# At a stop, records acknowledged before it are read and delivered too: reading goes on until a read
# finds nothing for STOP_READ_S, for STOP_DRAIN_S at most (a producer that never pauses cannot hold a stop up).
STOP_READ_S = 0.5
STOP_DRAIN_S = 5.0


@dataclass
class Stats:
    """One stream's delivery figures, for /metrics."""

    records: int = 0
    bytes: int = 0  # record bytes delivered (before compression)
    object_bytes: int = 0
    objects: int = 0
    failed_records: int = 0  # written to the error output
    write_errors: int = 0  # object writes that failed (and were retried)
    oldest_pending_ms: int | None = None  # arrival of the oldest record read, not yet delivered
    last_lag_s: float = 0.0  # the last object's delivery time minus its oldest record's arrival

    def freshness_s(self) -> float:
        return 0.0 if self.oldest_pending_ms is None else max(0.0, time.time() - self.oldest_pending_ms / 1000)


def source_topics(stream: dict, kinesis: Callable[[str], dict | None]) -> list[str]:
    """The topics a stream reads: its own DirectPut topic, or every generation of its Kinesis source."""
    if "Topic" in stream:
        return [stream["Topic"]]
    source = kinesis(stream_name_of_arn(stream["Source"]["KinesisStreamARN"]) or "")
    return stream_topics(source) if is_live(source) else []


class Deliverer:
    def __init__(self, stream: dict, kafka: Kafka, sink: Sink, kinesis: Callable[[str], dict | None],
                 schemas: Callable[[], object], stats: Stats):
        self.stream = stream
        self.name = stream["DeliveryStreamName"]
        self.config = stream["Destination"]
        self.kafka, self.sink, self.kinesis, self.stats = kafka, sink, kinesis, stats
        self.encode: Encoder = encoder(self.config, schemas)
        hints = self.config["BufferingHints"]
        self.size_limit = hints["SizeInMBs"] * MIB
        self.interval_s = hints["IntervalInSeconds"]
        self.stop_event = threading.Event()
        self.sources_changed = threading.Event()  # the Kinesis catalog changed: look at the topics now
        self.reassigned = threading.Event()  # set each time the topics were looked at again
        self.gone: set[str] = set()  # topics about to be deleted: never (re)assigned
        self.thread = threading.Thread(target=self._run, name=f"firehose-{self.name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def release(self, topics: list[str], timeout_s: float = 1.0) -> None:
        """Stop reading these topics (about to be deleted); returns once the reader let go of them
        (or after `timeout_s`, e.g. while an object is being written)."""
        self.gone.update(topics)
        self.reassigned.clear()
        self.sources_changed.set()
        if threading.current_thread() is not self.thread and self.thread.is_alive():
            self.reassigned.wait(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Deliver what is buffered, commit, and stop."""
        self.stop_event.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout_s)

    def _run(self) -> None:
        try:
            reader = CheckpointedReader(self.kafka, self.stream["Group"])
        except Exception:
            log.exception("delivery could not start", extra={"stream": self.name})
            return
        try:
            self._deliver(reader)
        except Exception:
            log.exception("delivery stopped", extra={"stream": self.name})
        finally:
            reader.close()

    def _deliver(self, reader: CheckpointedReader) -> None:
        buffer: list[Record] = []
        size, started, refreshed = 0, 0.0, 0.0
        drain_until: float | None = None
        while True:
            now = time.monotonic()
            refreshed = self._refresh(reader, now, refreshed)
            wait = 0.2 if not buffer else max(0.0, min(0.2, started + self.interval_s - now))
            stopping = self.stop_event.is_set()
            if stopping and drain_until is None:
                drain_until = time.monotonic() + STOP_DRAIN_S
            draining = stopping and time.monotonic() < drain_until
            records = reader.poll(POLL_RECORDS, STOP_READ_S if stopping else wait) if not stopping or draining else []
            if records:
                if not buffer:
                    started = time.monotonic()
                    self.stats.oldest_pending_ms = min(r.timestamp_ms for r in records)
                buffer += records
                size += sum(len(r.value or b"") for r in records)
            finished = stopping and (not records or not draining)
            due = size >= self.size_limit or time.monotonic() - started >= self.interval_s or finished
            if buffer and due:
                if not self._flush(reader, buffer, size):
                    if stopping:
                        return  # not committed: delivered again after a restart
                    time.sleep(RETRY_S)
                    continue
                buffer, size = [], 0
                self.stats.oldest_pending_ms = None
            if finished:
                return

    def _refresh(self, reader: CheckpointedReader, now: float, refreshed: float) -> float:
        """Assign the source's topics again when due; returns when they were last looked at. A DirectPut
        topic never changes once assigned; a Kinesis source gains generations and may go."""
        due = now - refreshed >= SOURCE_REFRESH_S and ("Source" in self.stream or not reader.assigned)
        if not due and not self.sources_changed.is_set():
            return refreshed
        self.sources_changed.clear()
        reader.assign([t for t in source_topics(self.stream, self.kinesis) if t not in self.gone])
        self.reassigned.set()
        return now

    def _flush(self, reader: CheckpointedReader, records: list[Record], size: int) -> bool:
        """Write the buffer as one object (and its failed records to the error output), then commit."""
        oldest = min(r.timestamp_ms for r in records)
        when = prefixes.utc(oldest)
        try:
            encoded = self.encode(records)
            bucket = bucket_of(self.config["BucketARN"])
            unique = str(uuid.uuid4())
            if len(encoded.failed) < len(records):
                key = prefixes.object_prefix(self.config.get("Prefix"), when) + prefixes.object_name(
                    self.name, int(self.stream["VersionId"]), when, unique, encoded.extension)
                self.sink.put(bucket, key, encoded.data)
            if encoded.failed:
                error_key = prefixes.error_object_prefix(
                    self.config.get("Prefix"), self.config.get("ErrorOutputPrefix"), FORMAT_CONVERSION_FAILED, when,
                ) + prefixes.object_name(self.name, int(self.stream["VersionId"]), when, unique)
                self.sink.put(bucket, error_key, error_lines(encoded.failed, "DataFormatConversion.Malformed",
                                                             int(time.time() * 1000)))
            reader.commit(next_offsets(records))
        except Exception as exc:  # noqa: BLE001 -- retried: the records stay uncommitted
            self.stats.write_errors += 1
            log.warning("object delivery failed, retrying", extra={"stream": self.name, "error": repr(exc)})
            return False
        self.stats.records += len(records) - len(encoded.failed)
        self.stats.failed_records += len(encoded.failed)
        self.stats.bytes += size
        self.stats.object_bytes += len(encoded.data)
        self.stats.objects += 1
        self.stats.last_lag_s = max(0.0, time.time() - oldest / 1000)
        return True


def next_offsets(records: list[Record]) -> dict[tuple[str, int], int]:
    offsets: dict[tuple[str, int], int] = {}
    for r in records:
        offsets[(r.topic, r.partition)] = max(offsets.get((r.topic, r.partition), 0), r.offset + 1)
    return offsets


def start_at_latest(kafka: Kafka, stream: dict, kinesis: Callable[[str], dict | None]) -> None:
    """A KinesisStreamAsSource stream starts reading at LATEST, as Firehose does: checkpoint the
    source's current ends before the stream turns ACTIVE (generations made later start at their beginning)."""
    reader = CheckpointedReader(kafka, stream["Group"])
    try:
        reader.commit(reader.ends(source_topics(stream, kinesis)))
    finally:
        reader.close()


class Deliveries:
    """The running deliverers, one per ACTIVE stream, started and stopped as the catalog changes."""

    def __init__(self, kafka: Kafka, sink: Sink, kinesis: Callable[[str], dict | None], schemas: Callable[[], object],
                 instance_id: str = ""):
        self.kafka, self.sink, self.kinesis, self.schemas = kafka, sink, kinesis, schemas
        self.instance_id = instance_id
        self.running: dict[str, Deliverer] = {}
        self.stopping: dict[str, list[Deliverer]] = {}  # told to stop, maybe still delivering
        self.stats: dict[str, Stats] = {}
        self.lock = threading.Lock()
        self.closed = False

    def on_change(self, name: str, stream: dict | None) -> None:
        """A catalog change (from the tail thread or the event loop): never blocks."""
        with self.lock:
            current = self.running.get(name)
            active = stream is not None and stream["DeliveryStreamStatus"] == "ACTIVE" and self.owns(stream)
            if current is not None and (not active or current.stream["Group"] != stream["Group"]):
                current.stop_event.set()
                self.stopping.setdefault(name, []).append(self.running.pop(name))
            if active and name not in self.running and not self.closed:
                stats = self.stats.setdefault(name, Stats())
                deliverer = self.running[name] = Deliverer(stream, self.kafka, self.sink, self.kinesis,
                                                           self.schemas, stats)
                deliverer.start()
            if stream is None:
                self.stats.pop(name, None)

    def owns(self, stream: dict) -> bool:
        """Whether this instance delivers `stream`: the one that created it. Every instance on the
        cluster reads the catalog; were each to deliver every stream, objects would be written once
        per instance, and a stream deleted through one would have its topic deleted under the
        others' consumers (librdkafka crashes when a consumer stays assigned to a deleted topic)."""
        return not self.instance_id or stream.get("Instance", "") in ("", self.instance_id)

    def source_changed(self, name: str, stream: dict | None) -> None:
        """A Kinesis stream changed (e.g. turned DELETING): readers of its topics must let go of them
        before they are deleted (librdkafka crashes when a consumer stays assigned to a topic the
        embedded broker deletes), so every Kinesis-sourced deliverer looks at its topics at once."""
        with self.lock:
            for deliverer in self.running.values():
                if "Source" in deliverer.stream:
                    deliverer.sources_changed.set()

    def release_topics(self, topics: list[str]) -> None:
        """A Kinesis stream turned DELETING (the connector of this process tells, before the grace
        period after which it deletes the topics): every Kinesis-sourced deliverer lets go of them now,
        not when this part's own view of the Kinesis catalog catches up."""
        with self.lock:
            deliverers = [d for d in self.running.values() if "Source" in d.stream]
        for deliverer in deliverers:
            deliverer.release(topics)

    def stop(self, name: str) -> None:
        """Stop a stream's deliverer after it delivered its buffer (blocking)."""
        with self.lock:
            deliverers = [*self.stopping.pop(name, ()), *([self.running.pop(name)] if name in self.running else [])]
        for deliverer in deliverers:
            deliverer.stop()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            deliverers = [*self.running.values(), *(d for ds in self.stopping.values() for d in ds)]
            self.running, self.stopping = {}, {}
        for deliverer in deliverers:
            deliverer.stop_event.set()
        for deliverer in deliverers:
            deliverer.stop()
