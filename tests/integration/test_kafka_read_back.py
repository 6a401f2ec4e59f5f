"""`Kafka.last_record_where` on the session's broker: the read-back of a publisher whose partition other
producers write to as well (a table's Kinesis streaming destination shares its Kinesis stream's
partitions with PutRecord): the last wanted record, however many others follow it."""

from __future__ import annotations

import uuid

from kafka_io.client import Kafka

OURS = ("origin", b"ours")


def produce(kafka: Kafka, topic: str, values: list[tuple[bytes, bool]]) -> None:
    producer = kafka.producer()
    for value, ours in values:
        producer.produce(topic, value=value, partition=0, headers=[OURS] if ours else None)
    assert producer.flush(30) == 0


def wanted(record) -> bool:
    return record.headers.get("origin") == b"ours"


def test_the_last_wanted_record_is_found_behind_more_than_a_window_of_others(broker):
    kafka = Kafka(broker.bootstrap_servers)
    topic = f"read-back-{uuid.uuid4().hex[:8]}"
    kafka.ensure_topic(topic, 1, {})
    assert kafka.last_record_where(topic, 0, wanted, window=10) is None  # empty
    produce(kafka, topic, [(b"ours-0", True), (b"ours-1", True)] + [(b"other-%d" % i, False) for i in range(35)])
    found = kafka.last_record_where(topic, 0, wanted, window=10)
    assert found is not None and found.value == b"ours-1" and found.offset == 1
    produce(kafka, topic, [(b"ours-2", True), (b"other", False)])
    assert kafka.last_record_where(topic, 0, wanted, window=10).value == b"ours-2"
    assert kafka.last_record_where(topic, 0, lambda r: False, window=10) is None  # none at all: the whole partition read
    assert kafka.last_record_where(f"missing-{uuid.uuid4().hex[:8]}", 0, wanted) is None
