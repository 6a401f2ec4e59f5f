"""KafkaSchemaRegistry's write path over an in-memory stand-in for `kafka_io.client.Kafka`:
a registration that loses its id to a record written just before it moves on to the next id."""

import json
import threading
import time

import pytest

from kafka_io.client import Record
from kafka_io.schema_registry import SCHEMAS_TOPIC, KafkaSchemaRegistry, canonical_form, id_candidates

A = json.dumps({"type": "record", "name": "A", "fields": [{"name": "a", "type": "string"}]})
B = json.dumps({"type": "record", "name": "B", "fields": [{"name": "b", "type": "long"}]})


class Delivered:
    def __init__(self, offset: int):
        self._offset = offset

    def offset(self) -> int:
        return self._offset


class MemoryLog:
    """One partition in memory, with the parts of the `Kafka` interface the registry uses."""

    def __init__(self):
        self.records: list[tuple[bytes, bytes]] = []
        self.lock = threading.Lock()
        self.before_next_write: tuple[bytes, bytes] | None = None  # a competing writer's record
        self.topic_config = None

    def append(self, key: bytes, value: bytes) -> int:
        with self.lock:
            self.records.append((key, value))
            return len(self.records) - 1

    # -- Kafka --
    def ensure_topic(self, name, partitions, config, timeout_s=30.0):
        self.topic_config = (name, partitions, config)

    def producer(self):
        return self

    def produce(self, topic, value, key, on_delivery):
        if self.before_next_write:
            self.append(*self.before_next_write)
            self.before_next_write = None
        on_delivery(None, Delivered(self.append(key, value)))

    def flush(self, timeout_s):
        return 0

    def tail(self, topic, on_record, on_caught_up, stop):
        def follow():
            position = 0
            while not stop.is_set():
                with self.lock:
                    pending = self.records[position:]
                for key, value in pending:
                    on_record(Record(topic, 0, position, key, value, {}, 0))
                    position += 1
                if not pending:
                    on_caught_up()
                    time.sleep(0.001)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        return thread


def first_ids(schema_str: str) -> list[int]:
    return list(id_candidates(canonical_form(schema_str)))


def value(subject: str, schema_id: int, schema_str: str) -> bytes:
    return json.dumps({"subject": subject, "id": schema_id, "schema": schema_str, "schemaType": "AVRO"}).encode()


@pytest.fixture
def log():
    return MemoryLog()


@pytest.fixture
def registry(log):
    registry = KafkaSchemaRegistry(log, timeout_s=5)
    registry.start(timeout_s=5)
    yield registry
    registry.stop()


def test_start_creates_one_compacted_partition(log, registry):
    assert log.topic_config == (SCHEMAS_TOPIC, 1, {"cleanup.policy": "compact"})


def test_a_registration_writes_one_record_keyed_by_subject_and_id(log, registry):
    schema_id = registry.register("s", A)
    assert schema_id == first_ids(A)[0]
    assert registry.register("s", A) == schema_id
    [(key, written)] = log.records
    assert key.decode().startswith(f"s/{schema_id}/")
    assert json.loads(written) == {"subject": "s", "id": schema_id, "schema": A, "schemaType": "AVRO"}


def test_an_id_already_taken_is_skipped(log):
    log.append(b"other", value("other", first_ids(B)[0], A))  # A holds B's first id
    registry = KafkaSchemaRegistry(log, timeout_s=5)
    registry.start(timeout_s=5)
    try:
        assert registry.register("s", B) == first_ids(B)[1]
        assert registry.register("s", A) == first_ids(B)[0]
    finally:
        registry.stop()


def test_a_registration_that_loses_its_id_to_a_concurrent_writer_retries_with_the_next(log, registry):
    log.before_next_write = (b"other", value("other", first_ids(B)[0], A))
    assert registry.register("s", B) == first_ids(B)[1]
    assert registry.versions("s") == [1]
    assert registry.version("other", 1)["id"] == first_ids(B)[0]
    assert len(log.records) == 3  # A's record, B's losing record, B's record


def test_a_concurrent_writer_registering_the_same_schema_adds_no_version(log, registry):
    log.before_next_write = (b"s/x/other", value("s", first_ids(A)[0], A))
    assert registry.register("s", A) == first_ids(A)[0]
    assert registry.versions("s") == [1]
