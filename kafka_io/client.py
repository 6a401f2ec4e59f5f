"""The Kafka client: a narrow interface over confluent-kafka that both services use: create
topics, produce, read a partition's last record, and tail a topic from the beginning. The
`kafka_io` package is the only one in the project that imports confluent-kafka.

Every client of the process is made here, from the base settings below plus the connection
settings the operator gave (`use_connection_config`: SASL, SSL, client.id..., for a managed
cluster), so that no client can miss them.

Correct on Apache Kafka and on the embedded broker (../shared/kafka-broker-notes.md): the end of
a partition is found by fetching to PARTITION_EOF, never by trusting ListOffsets alone.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

log = logging.getLogger("cdc_bridge.kafka")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # an event carries up to two 400 KB images
# librdkafka's own logs are mostly connection retries, expected during a broker outage; the
# publisher and readers report what matters.
_QUIET = logging.getLogger("cdc_bridge.librdkafka")
_QUIET.setLevel(logging.CRITICAL)

# Consumers that read one partition by assignment: no group coordination, and small fetch waits
# so that the end of a partition is found fast (the embedded broker waits fetch.wait.max.ms).
READER_CONFIG = {
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "fetch.wait.max.ms": 5,
    "auto.offset.reset": "earliest",
    "logger": _QUIET,
}


TAIL_FETCH_WAIT_MS = 250

# Settings the bridge's guarantees rest on (exactly-once publishing, readers that never join a
# group or commit, one bootstrap option): an operator's connection settings may not change them.
OWN_SETTINGS = frozenset({
    "bootstrap.servers", "group.id", "enable.idempotence", "acks", "message.timeout.ms",
    "enable.auto.commit", "enable.partition.eof", "auto.offset.reset", "isolation.level",
})

# The operator's librdkafka settings, applied to every client made from now on (see module docstring).
_connection: dict[str, str] = {}


def use_connection_config(config: dict[str, str]) -> None:
    """Apply `config` to every producer, consumer and admin client made from now on. Raises
    ValueError, saying which setting and why, when librdkafka refuses it or it is one of ours."""
    ours = sorted(OWN_SETTINGS & config.keys())
    if ours:
        raise ValueError(f"{', '.join(ours)}: set by cdc-bridge itself and cannot be overridden")
    _try_every_client(config)
    _connection.clear()
    _connection.update(config)


def _try_every_client(config: dict[str, str]) -> None:
    """Make each kind of client once, unconnected: librdkafka checks names, values and files
    (certificates, keys) when a client is created, so a mistake shows at start, not at first use."""
    try:
        Producer({**config, "logger": _QUIET}).flush(0)
        Consumer({**config, "group.id": "cdc-bridge-config-check", "logger": _QUIET}).close()
        AdminClient({**config, "logger": _QUIET})
    except (KafkaException, ValueError, TypeError) as exc:
        raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None


def with_connection(config: dict) -> dict:
    """A client's settings with the operator's connection settings added."""
    return {**config, **_connection}


def new_consumer(config: dict) -> Consumer:
    return Consumer(with_connection(config))

MISSING = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION)
# A partition whose leader is being chosen (its topic just made, a broker starting) answers
# ListOffsets with these for a moment: asked again, within the caller's timeout.
LEADER_MOVING = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
LEADER_RETRY_S = 0.05


def watermark_offsets(consumer: Consumer, topic: str, partition: int, timeout_s: float) -> tuple[int, int]:
    """(low, high) as ListOffsets tells them, waiting out a leader election (an Apache Kafka topic
    made a moment ago answered GetShardIterator's end lookup with NOT_LEADER_FOR_PARTITION)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                  timeout=max(0.1, deadline - time.monotonic()))
        except KafkaException as exc:
            if exc.args[0].code() not in LEADER_MOVING or time.monotonic() + LEADER_RETRY_S >= deadline:
                raise
        time.sleep(LEADER_RETRY_S)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp_ms: int


def record_of(message: Message) -> Record:
    return Record(
        message.topic(),
        message.partition(),
        message.offset(),
        message.key(),
        message.value(),
        dict(message.headers() or ()),
        message.timestamp()[1],
    )


class Kafka:
    def __init__(self, bootstrap_servers: str):
        self.bootstrap_servers = bootstrap_servers
        self.admin = AdminClient(with_connection({"bootstrap.servers": bootstrap_servers, "logger": _QUIET}))

    def producer(self, **config) -> Producer:
        """An idempotent producer: per partition, records land once and in order, also when
        librdkafka retries across a broker outage (message.timeout.ms=0: never give up)."""
        return Producer(with_connection({
            "bootstrap.servers": self.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 1,
            "message.timeout.ms": 0,
            "message.max.bytes": MAX_MESSAGE_BYTES,
            "logger": _QUIET,
            **config,
        }))

    def reader(self, **config) -> Consumer:
        return new_consumer({"bootstrap.servers": self.bootstrap_servers,
                             "group.id": f"cdc-bridge-reader-{uuid.uuid4().hex}", **READER_CONFIG, **config})

    def topics(self, timeout_s: float = 10.0) -> dict[str, int]:
        """Existing topics and their partition counts (raises when the cluster does not answer)."""
        metadata = self.admin.list_topics(timeout=timeout_s)
        return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}

    def ensure_topic(self, name: str, partitions: int, config: dict[str, str], timeout_s: float = 30.0) -> None:
        """Create the topic; an existing one is fine (creation is retried after a crash)."""
        config = {"max.message.bytes": str(MAX_MESSAGE_BYTES), **config}
        future = self.admin.create_topics([NewTopic(name, partitions, 1, config=config)], request_timeout=timeout_s)[name]
        try:
            future.result(timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise

    def set_topic_config(self, name: str, config: dict[str, str], timeout_s: float = 30.0) -> None:
        """Set topic configs with IncrementalAlterConfigs (the embedded broker refuses the legacy
        AlterConfigs request)."""
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in config.items()]
        resource = ConfigResource("topic", name, incremental_configs=entries)
        for future in self.admin.incremental_alter_configs([resource], request_timeout=timeout_s).values():
            future.result(timeout_s)

    def delete_topics(self, topics: list[str], timeout_s: float = 30.0) -> None:
        """Delete topics; one that does not exist (any more) is fine."""
        if not topics:
            return
        for future in self.admin.delete_topics(topics, request_timeout=timeout_s).values():
            try:
                future.result(timeout_s)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise

    def last_record(self, topic: str, partition: int, timeout_s: float = 30.0) -> Record | None:
        """The partition's last record, found by fetching to the end (ListOffsets may be low)."""
        return self.last_record_where(topic, partition, lambda record: True, window=1, timeout_s=timeout_s)

    def last_record_where(self, topic: str, partition: int, wanted: Callable[[Record], bool], window: int = 1000,
                          timeout_s: float = 30.0) -> Record | None:
        """The partition's last record that is `wanted`, looking back from the end a window of
        records at a time (for a partition that other producers write to as well)."""
        reader = self.reader()
        try:
            try:
                low, high = watermark_offsets(reader, topic, partition, timeout_s)
            except KafkaException as exc:
                if exc.args[0].code() in MISSING:
                    return None
                raise
            end = None  # the first window reads to the true end (ListOffsets may be low)
            start = max(low, high - window)
            while True:
                reader.assign([TopicPartition(topic, partition, start if high > 0 else OFFSET_BEGINNING)])
                found = None
                for message in read_to_end(reader, timeout_s):
                    if end is not None and message.offset() >= end:
                        break
                    record = record_of(message)
                    if wanted(record):
                        found = record
                if found is not None or start <= low:
                    return found
                end, start = start, max(low, start - window)
        finally:
            reader.close()

    def tail(self, topic: str, on_record: Callable[[Record], None], on_caught_up: Callable[[], None],
             stop: threading.Event) -> threading.Thread:
        """Read every partition of `topic` from the beginning and keep following it in a thread.
        `on_caught_up` is called each time every partition has reached its current end."""
        thread = threading.Thread(target=self._tail, args=(topic, on_record, on_caught_up, stop),
                                  name=f"tail-{topic}", daemon=True)
        thread.start()
        return thread

    def _tail(self, topic, on_record, on_caught_up, stop) -> None:
        # An idle tail fetches once per wait: 250 ms keeps an idle embedded broker near 0.5 % of
        # a core (50 ms: ~3 % for the three catalogs). A change another instance made shows up
        # within a wait here (Apache Kafka answers a waiting fetch at once); lookups that miss
        # sync to the topic's end, and `up` hands its own changes over as Kafka acknowledges them.
        reader = self.reader(**{"fetch.wait.max.ms": TAIL_FETCH_WAIT_MS})
        try:
            partitions = self.topics().get(topic, 1)
            reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
            at_end: set[int] = set()
            while not stop.is_set():
                message = reader.poll(0.1)
                if message is None:
                    continue
                if message.error():
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(message.partition())
                        if len(at_end) == partitions:
                            on_caught_up()
                    continue
                at_end.discard(message.partition())
                on_record(record_of(message))
        except Exception:
            log.exception("tail of topic failed", extra={"topic": topic})
        finally:
            reader.close()


def read_to_end(reader: Consumer, timeout_s: float):
    """Yield the assigned partition's records until PARTITION_EOF."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = reader.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                return
            if message.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return
            raise KafkaException(message.error())
        yield message
    raise TimeoutError("reading to the end of a partition timed out")
