"""The publisher: ships outbox rows to Kafka exactly once and in order, off the write path.

Each row committed with an item change becomes one Kafka record carrying the row's sequence
number in the `cdc-bridge-seq` header, and the extra headers the row carries (a transaction's
id and size: writes.py). A publishing *session* starts by reading back the last
record of every partition it is about to write to: rows at or below that record's sequence
number were shipped before a crash (or before the producer was replaced) and are only removed.
Within a session the idempotent producer (acks=all, retried forever) keeps each partition in
order and free of duplicates, also across broker outages. Any delivery error ends the session;
the next one reads back again, so nothing is lost or repeated.

Rows of kind "kinesis" are the records of a table's Kinesis streaming destination
(kinesis_destinations.py): the same exactly-once, but their partitions have other writers, so the
read-back looks for the last record of this outbox (`cdc-bridge-outbox` header), not the last record.

Rows reach the publisher without being read back: the storage hands each transaction's rows to
`committed` right after its commit, in commit order. While a session runs and has nothing queued,
the committing thread produces them at once (the broker's acknowledgement is on its way before the
client has its answer); otherwise they queue for the publisher's thread. SQLite stays the truth:
a new session, a gap or an overflow of the queue reads the outbox back from where it is.

Rows of kind "stream" create the stream's topic and publish its metadata to the catalog topic
(key: the stream ARN; compacted, so repeats are harmless). A stream whose topic has vanished
(an in-memory broker restarted) is renewed through `on_lost_topics` before anything is shipped:
same ARN, its data epoch raised, its topic made again before its undelivered events are sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from contracts.stream_catalog import CATALOG_TOPIC
from kafka_io.client import Kafka, Message
from schemas import codec
from table_api.kinesis_destinations import split_payload
from table_api.storage import OutboxRow, Storage

log = logging.getLogger("cdc_bridge.outbox")

SEQ_HEADER = "cdc-bridge-seq"
ORIGIN_HEADER = "cdc-bridge-outbox"  # on Kinesis records: which outbox wrote them (a partition has other writers)
BATCH = 2000
MAX_IN_FLIGHT = 20_000
RETRY_DELAY_S = 1.0
REMOVE_BATCH = 500
REMOVE_EVERY_S = 0.05
BACKLOG_LOG_EVERY_S = 10.0
BACKLOG_WARN_AGE_S = 3.0
HANDED_MAX = 50_000  # rows queued in memory for the thread; beyond it they are read back from SQLite


@dataclass
class Session:
    """One publishing session: its producer, what it read back, and the last row it shipped."""

    producer: object
    shipped: dict[tuple[str, int], int] = field(default_factory=dict)  # last seq on Kafka per partition
    schema_ids: dict[str, tuple[int, int]] = field(default_factory=dict)  # (key, value) per topic
    cursor: int = 0  # every row up to this seq is produced (or was shipped before)


class Publisher:
    """`active_topics()` names the topics of the enabled streams; `on_lost_topics(topics)`
    replaces the streams whose topics Kafka no longer has; `on_delivered(message)` is given
    each change event and catalog record Kafka acknowledged (in the publisher's thread)."""

    def __init__(self, kafka: Kafka, storage: Storage, registry,
                 active_topics: Callable[[], set[str]], on_lost_topics: Callable[[set[str]], None],
                 on_delivered: Callable[[Message], None] | None = None, origin: str = "",
                 kinesis_stream_gone: Callable[[str], bool] = lambda topic: False,
                 on_kinesis_delivered: Callable[[Message], None] | None = None):
        self.kafka = kafka
        self.on_kinesis_delivered = on_kinesis_delivered  # a destination record Kafka acknowledged
        self.origin = origin or str(storage_path(storage))  # names this outbox in shared partitions
        self.kinesis_stream_gone = kinesis_stream_gone
        self.storage = storage
        self.outbox = storage.outbox()  # the publisher thread's reading connection
        self.backlog_outbox = storage.outbox()  # the metrics endpoint's connection
        self.backlog_lock = threading.Lock()
        self.registry = registry
        self.registry_started = False
        self.active_topics = active_topics
        self.on_lost_topics = on_lost_topics
        self.on_delivered = on_delivered
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self.lock = threading.Lock()
        self.ship_lock = threading.Lock()  # one shipper at a time: the thread, or a committing writer
        self.session: Session | None = None  # the running session, once it may take rows
        self.handed: deque[OutboxRow] = deque()  # committed rows for the thread, in seq order
        self.handed_lock = threading.Lock()
        self.read_back = True  # the outbox may hold rows `handed` does not: read them from SQLite
        storage.on_outbox_committed = self.committed
        self.delivered: list[int] = []
        self.failure: str | None = None
        self.published_total = 0
        self.sessions = 0
        self.errors = 0  # delivery failures and sessions ended by an error
        self.connected = False
        self.removed_at = 0.0
        self.checked_at = self.logged_at = self.warned_at = -BACKLOG_LOG_EVERY_S

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def notify(self) -> None:
        # Called after every committed write: Event.set takes a lock and notifies a Condition each
        # time, so skip it while a wake-up is pending. Safe: the publisher clears the event
        # before it reads the outbox, so a commit made before this check is read after it.
        if not self.wake.is_set():
            self.wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout_s)
        if getattr(self.registry, "stop", None) and self.registry_started:
            self.registry.stop()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._session()
            except Exception as exc:
                self.connected = False
                self.errors += 1
                log.warning("publishing session ended; retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.stopping.wait(RETRY_DELAY_S)

    # -- one session ---------------------------------------------------------------------------

    def _session(self) -> None:
        self.sessions += 1
        self.failure = None
        self.check_topics()
        if not self.registry_started and hasattr(self.registry, "start"):
            self.registry.start()
        self.registry_started = True
        # linger.ms=0: a lone change is on Kafka ~0.8 ms sooner (docs/design.md, visibility budget).
        producer = self.kafka.producer(**{"linger.ms": 0, "max.in.flight.requests.per.connection": 1})
        session = Session(producer)
        with self.ship_lock, self.handed_lock:
            self.handed.clear()  # all committed so far is read back from the outbox
            self.read_back = True
            self.session = session
        self.connected = True
        try:
            while not self.stopping.is_set():
                if self.failure:
                    raise RuntimeError(self.failure)
                with self.ship_lock:
                    rows = self._next_rows(session)
                    for row in rows:
                        self._ship(session, row)
                        while len(producer) > MAX_IN_FLIGHT and not self.failure:
                            producer.poll(0.05)
                            self._report_backlog()
                self._settle(producer, wait_s=0 if rows else 0.2)
        finally:
            with self.ship_lock:
                self.session = None
            self.connected = False
            producer.flush(5)  # what is still queued is re-checked by the next session
            self._remove_delivered(force=True)

    def committed(self, rows: list[OutboxRow]) -> None:
        """A transaction's outbox rows, just committed (in the writer's thread, under the storage's
        lock: calls come in seq order). Produced here when the session can take them in order
        now; the rest queue for the thread. Never raises: the write is committed already."""
        produced = 0
        if self.ship_lock.acquire(blocking=False):
            try:
                session = self.session
                if session is not None and not self.read_back and not self.handed and rows[0].seq == session.cursor + 1:
                    for row in rows:
                        if self.failure or len(session.producer) > MAX_IN_FLIGHT or not self._can_ship_now(session, row):
                            break
                        self._ship(session, row)
                        produced += 1
            except Exception:  # the thread ships what is left
                log.exception("shipping a committed row failed; the publisher's thread retries it")
            finally:
                self.ship_lock.release()
        if produced < len(rows):
            with self.handed_lock:
                self.handed.extend(rows[produced:])
                if len(self.handed) > HANDED_MAX:  # Kafka away for long: keep memory bounded
                    self.handed.clear()
                    self.read_back = True
        self.notify()  # the thread serves the delivery reports

    def _can_ship_now(self, session: Session, row: OutboxRow) -> bool:
        """Whether shipping `row` needs no broker call: its partition was read back and its schemas
        are registered (a stream's row creates a topic: always the thread's)."""
        if row.kind == "stream" or (row.topic, row.partition) not in session.shipped:
            return False
        return row.kind == "kinesis" or row.topic in session.schema_ids

    def _next_rows(self, session: Session) -> list[OutboxRow]:
        """The rows after the session's cursor: from the queue when it continues the cursor, else
        read back from the outbox (a new session, a gap, an overflow)."""
        with self.handed_lock:
            handed = self.handed
            while handed and handed[0].seq <= session.cursor:
                handed.popleft()
            if not self.read_back and handed and handed[0].seq == session.cursor + 1:
                rows = []
                while handed and len(rows) < BATCH and handed[0].seq == session.cursor + len(rows) + 1:
                    rows.append(handed.popleft())
                return rows
            if not (self.read_back or handed):
                return []
            rows = self.outbox.pending(session.cursor, BATCH)
            self.read_back = len(rows) == BATCH  # caught up: what comes next is handed
            return rows

    def _ship(self, session: Session, row: OutboxRow) -> None:
        if row.kind == "stream":
            self._ship_stream(session.producer, row)
        elif row.kind == "kinesis":
            self._ship_kinesis(session, row)
        else:
            self._ship_event(session, row)
        session.cursor = row.seq

    def _settle(self, producer, wait_s: float) -> None:
        producer.poll(0)
        self._remove_delivered()
        self._report_backlog()
        if wait_s and len(producer) == 0:
            if not self.wake.wait(wait_s):
                self.read_back = True  # idle: a look at the outbox now and then costs nothing
            self.wake.clear()
        elif wait_s:
            producer.poll(0.005)

    def check_topics(self) -> None:
        """Renew the streams whose topics Kafka no longer has (see on_lost_topics), and make their
        topics again at once: their undelivered events come first in the outbox, and a broker
        that creates topics on first use would make them with its default partition count."""
        existing = self.kafka.topics()
        pending = self._all_pending()
        to_be_created = {r.topic for r in pending if r.kind == "stream"}
        expected = self.active_topics() | {r.topic for r in pending if r.kind == "event"}
        lost = expected - set(existing) - to_be_created
        if lost:
            log.warning("stream topics are gone from Kafka; renewing their streams", extra={"topics": sorted(lost)})
            self.on_lost_topics(lost)
            for row in self._all_pending():
                if row.kind == "stream":
                    self._ensure_stream_topic(orjson.loads(row.payload))

    def publish_stream_definitions(self, timeout_s: float = 10.0) -> None:
        """Ship the pending stream definitions to the catalog topic now, before the service says
        ready: a connector starting next reads the catalog to its end and must know every stream
        that DescribeTable names (after a restart on the memory broker, each renewed stream is
        such a row). Undelivered ones stay in the outbox for the publishing thread."""
        rows = [r for r in self._all_pending() if r.kind == "stream"]
        if not rows:
            return
        producer = self.kafka.producer(**{"linger.ms": 0})
        for row in rows:
            self._ship_stream(producer, row)
        if producer.flush(timeout_s):  # Kafka slow or away: the thread ships them when it connects
            log.warning("stream definitions not yet on Kafka at start", extra={"rows": len(producer)})
            producer.purge()
            producer.flush(0)
        self._remove_delivered(force=True)

    def _all_pending(self) -> list[OutboxRow]:
        rows, cursor = [], 0
        while batch := self.outbox.pending(cursor, 10_000):
            rows += batch
            cursor = batch[-1].seq
        return rows

    def _ship_stream(self, producer, row: OutboxRow) -> None:
        stream = orjson.loads(row.payload)
        self._ensure_stream_topic(stream)
        producer.produce(CATALOG_TOPIC, value=row.payload, key=stream["StreamArn"].encode(), partition=0,
                         headers={SEQ_HEADER: seq_bytes(row.seq)},
                         on_delivery=self._delivery(row.seq, self.on_delivered))

    def _ensure_stream_topic(self, stream: dict) -> None:
        """The topic of an enabled stream, and the catalog topic (existing ones are fine)."""
        if stream["StreamStatus"] == "ENABLED":
            # Kafka deletes whole segments once their newest record is older than retention.ms:
            # segments of at most a quarter of the retention (1 h at most, 1 s at least) let
            # records age out close to on time (the broker checks every second: apache_kafka.py).
            retention_ms = int(stream["RetentionMs"])
            self.kafka.ensure_topic(stream["Topic"], stream["Shards"], {
                "cleanup.policy": "delete",
                "retention.ms": str(retention_ms),
                "segment.ms": str(max(1000, min(retention_ms // 4, 3_600_000))),
            })
        self.kafka.ensure_topic(CATALOG_TOPIC, 1, {"cleanup.policy": "compact"})

    def _ship_event(self, session: Session, row: OutboxRow) -> None:
        shipped, schema_ids = session.shipped, session.schema_ids
        where = (row.topic, row.partition)
        if where not in shipped:
            shipped[where] = self._last_shipped(*where)
        if row.seq <= shipped[where]:
            with self.lock:
                self.delivered.append(row.seq)  # shipped before a crash: only remove it
            return
        if row.topic not in schema_ids:
            schema_ids[row.topic] = (
                self.registry.register(f"{row.topic}-key", codec.key_schema_str()),
                self.registry.register(f"{row.topic}-value", codec.value_schema_str()),
            )
        key_id, value_id = schema_ids[row.topic]
        event = orjson.loads(row.payload)
        session.producer.produce(
            row.topic,
            partition=row.partition,
            key=codec.frame(key_id, codec.encode_key(event["dynamodb"]["Keys"])),
            value=codec.frame(value_id, codec.encode_event(event)),
            timestamp=row.created_ms,
            headers={SEQ_HEADER: seq_bytes(row.seq), "table": event["tableName"].encode(),
                     "eventName": event["eventName"].encode(),
                     **{name: value.encode() for name, value in (row.headers or {}).items()}},
            on_delivery=self._delivery(row.seq, self.on_delivered),
        )

    def _ship_kinesis(self, session: Session, row: OutboxRow) -> None:
        """A record of a table's Kinesis streaming destination (table_api/kinesis_destinations.py):
        exactly once as the events are, but its partition is shared with other writers (PutRecord,
        other tables' services), so the read-back looks for the last record of this outbox."""
        shipped = session.shipped
        where = (row.topic, row.partition)
        if where not in shipped:
            if not self._kinesis_topic_ready(row.topic):
                with self.lock:
                    self.delivered.append(row.seq)  # its stream was deleted: no stream to hold it
                return
            shipped[where] = self._last_shipped_here(*where)
        if row.seq <= shipped[where]:
            with self.lock:
                self.delivered.append(row.seq)
            return
        key, value = split_payload(row.payload)
        session.producer.produce(
            row.topic, partition=row.partition, key=key, value=value, timestamp=row.created_ms,
            headers={SEQ_HEADER: seq_bytes(row.seq), ORIGIN_HEADER: self.origin.encode()},
            on_delivery=self._delivery(row.seq, self.on_kinesis_delivered))

    def _kinesis_topic_ready(self, topic: str) -> bool:
        """Whether Kafka has a destination's Kinesis topic. A topic that is missing while its stream is
        known and live (a connector is restoring it after a memory broker restart) ends the session,
        so the row waits; one whose stream is deleted is dropped (False)."""
        if topic in self.kafka.topics():
            return True
        if self.kinesis_stream_gone(topic):
            log.warning("Kinesis stream of a streaming destination is gone; its records are dropped",
                        extra={"topic": topic})
            return False
        raise RuntimeError(f"waiting for the Kinesis topic {topic} of a streaming destination")

    def _last_shipped_here(self, topic: str, partition: int) -> int:
        record = self.kafka.last_record_where(
            topic, partition, lambda r: r.headers.get(ORIGIN_HEADER) == self.origin.encode() and SEQ_HEADER in r.headers)
        return 0 if record is None else int.from_bytes(record.headers[SEQ_HEADER], "big")

    def _last_shipped(self, topic: str, partition: int) -> int:
        record = self.kafka.last_record(topic, partition)
        if record is None or SEQ_HEADER not in record.headers:
            return 0
        return int.from_bytes(record.headers[SEQ_HEADER], "big")

    def _delivery(self, seq: int, on_delivered: Callable[[Message], None] | None = None):
        def done(err, message) -> None:
            if err is not None:
                self.failure = f"delivery failed: {err}"
                self.errors += 1
                return
            with self.lock:
                self.delivered.append(seq)
                self.published_total += 1
            if on_delivered is not None:
                try:
                    on_delivered(message)
                except Exception:  # a reader's shortcut must never end a publishing session
                    log.exception("delivery hook failed")

        return done

    def _report_backlog(self) -> None:
        """Once a second, look at the backlog: log it at INFO every BACKLOG_LOG_EVERY_S while
        there is one, and as a WARNING as soon as its oldest row waits longer than
        BACKLOG_WARN_AGE_S (Kafka is unreachable or too slow), again every BACKLOG_LOG_EVERY_S."""
        now = time.monotonic()
        if now - self.checked_at < 1.0:
            return
        self.checked_at = now
        rows, oldest_ms = self.outbox_backlog()
        if not rows:
            return
        age = max(0.0, time.time() - oldest_ms / 1000)
        fields = {"rows": rows, "oldest_age_seconds": round(age, 3), "published_total": self.published_total}
        if age > BACKLOG_WARN_AGE_S and now - self.warned_at >= BACKLOG_LOG_EVERY_S:
            self.warned_at = now
            log.warning("outbox backlog: events wait for Kafka", extra=fields)
        elif now - self.logged_at >= BACKLOG_LOG_EVERY_S:
            self.logged_at = now
            log.info("outbox backlog", extra=fields)

    def _remove_delivered(self, force: bool = False) -> None:
        """Delete shipped rows in batches: each removal is a transaction on the writers' connection."""
        due = force or len(self.delivered) >= REMOVE_BATCH or time.monotonic() - self.removed_at > REMOVE_EVERY_S
        if not due:
            return
        with self.lock:
            seqs, self.delivered = self.delivered, []
        self.removed_at = time.monotonic()
        if seqs:
            self.storage.remove_outbox(seqs)

    # -- observability -------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        rows, oldest_ms = self.outbox_backlog()
        age = max(0.0, time.time() - oldest_ms / 1000) if oldest_ms else 0.0
        return {
            "cdc_bridge_outbox_rows": rows,
            "cdc_bridge_outbox_oldest_age_seconds": round(age, 3),
            "cdc_bridge_events_published_total": self.published_total,
            "cdc_bridge_publisher_connected": int(self.connected),
            "cdc_bridge_publisher_sessions_total": self.sessions,
            "cdc_bridge_publisher_errors_total": self.errors,
            **self.stream_lag(),
        }

    def stream_lag(self) -> dict[str, float]:
        """Per stream topic: events waiting in the outbox, and the oldest one's age (0 for a stream
        with none waiting, so that each stream has its series)."""
        with self.backlog_lock:
            by_topic = self.backlog_outbox.backlog_by_topic()
        now = time.time()
        lag: dict[str, float] = {}
        for topic in sorted(self.active_topics() - {CATALOG_TOPIC}):
            lag[f'cdc_bridge_stream_lag_events{{topic="{topic}"}}'] = 0
            lag[f'cdc_bridge_stream_lag_seconds{{topic="{topic}"}}'] = 0.0
        for topic, rows, oldest_ms in by_topic:
            lag[f'cdc_bridge_stream_lag_events{{topic="{topic}"}}'] = rows
            lag[f'cdc_bridge_stream_lag_seconds{{topic="{topic}"}}'] = round(max(0.0, now - oldest_ms / 1000), 3)
        return lag

    def outbox_backlog(self) -> tuple[int, int | None]:
        with self.backlog_lock:
            return self.backlog_outbox.backlog()

    def close(self) -> None:
        self.outbox.close()
        self.backlog_outbox.close()


def seq_bytes(seq: int) -> bytes:
    return seq.to_bytes(8, "big")


def storage_path(storage) -> str:
    """An outbox's name when no instance id was given: its database file."""
    return str(getattr(storage, "path", "") or id(storage))
