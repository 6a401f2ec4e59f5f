"""Reading a shard through the tail of acknowledged records (connector.shards.Shards with a
kafka_io.delivered.DeliveredTail, as `cdc-bridge up` wires them) on the real broker: whichever way
each page is read, every offset comes exactly once and in order with the bytes Kafka stored;
the pooled reader follows the pages the tail answered instead of being repositioned; a record
someone else wrote between ours is read from Kafka; the retention window still applies."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from connector.errors import TrimmedDataAccessException
from connector.shards import Shards
from kafka_io.client import Kafka
from kafka_io.delivered import DeliveredTail
from kafka_io.readers import Offsets, ReaderPool

pytestmark = pytest.mark.timeout(120)

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def shard(broker):
    """(shards, tail, producer that feeds the tail, topic)."""
    topic = f"tail-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    kafka = Kafka(broker.bootstrap_servers)
    pool = ReaderPool(broker.bootstrap_servers, size=4)
    tail = DeliveredTail(per_partition=4)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0, "enable.idempotence": True})
    yield Shards(kafka, pool, Offsets(kafka, pool), tail), tail, producer, topic
    pool.close()


def publish(producer: Producer, topic: str, values: list[bytes], tail: DeliveredTail | None) -> None:
    """One batch per record, as the publisher writes under an ordinary load."""
    def delivered(err, message):
        assert err is None
        if tail is not None:
            tail.add(message)
    for value in values:
        producer.produce(topic, value, partition=0, on_delivery=delivered)
        producer.flush(30)


def read(shards: Shards, topic: str, offset: int, limit: int, retention_ms: int = DAY_MS) -> tuple[list, int]:
    messages, following = shards.read(topic, 0, offset, limit, retention_ms, lambda m: True)
    return [(m.offset(), m.value()) for m in messages], following


def test_pages_from_kafka_and_from_the_tail_join_without_a_gap_or_a_repeat(shard):
    shards, tail, producer, topic = shard
    values = [f"record-{i}".encode() for i in range(10)]
    publish(producer, topic, values, tail)  # the tail keeps 6..9
    got, offset = [], 0
    while True:
        page, offset = read(shards, topic, offset, 3)
        if not page:
            break
        got += page
    assert got == list(enumerate(values))
    assert offset == 10
    # One reader read 0..5 from Kafka, was moved past 6..9 by the tail, and answered the end.
    assert (shards.pool.seeks, shards.pool.count) == (1, 1)


def test_a_poller_at_the_end_gets_each_new_record_from_the_tail_and_keeps_its_reader(shard):
    shards, tail, producer, topic = shard
    publish(producer, topic, [b"first"], None)
    assert read(shards, topic, 0, 10) == ([(0, b"first")], 1)
    assert read(shards, topic, 1, 10) == ([], 1)
    for i in range(1, 8):
        publish(producer, topic, [f"new-{i}".encode()], tail)
        assert read(shards, topic, i, 10) == ([(i, f"new-{i}".encode())], i + 1)  # at once: no fetch
        assert read(shards, topic, i + 1, 10) == ([], i + 1)  # the reader, moved past it, is at the end
    assert shards.pool.seeks == 1


def test_a_record_written_by_someone_else_between_ours_is_read_from_kafka(shard):
    shards, tail, producer, topic = shard
    publish(producer, topic, [b"ours-0", b"ours-1"], tail)
    publish(producer, topic, [b"foreign-2"], None)  # another producer: no delivery report for us
    publish(producer, topic, [b"ours-3"], tail)  # not next to 1: the tail starts again at 3
    assert tail.read(topic, 0, 0, 10) == [] and [m.offset() for m in tail.read(topic, 0, 3, 10)] == [3]
    assert read(shards, topic, 0, 2) == ([(0, b"ours-0"), (1, b"ours-1")], 2)
    assert read(shards, topic, 2, 2) == ([(2, b"foreign-2"), (3, b"ours-3")], 4)
    assert read(shards, topic, 4, 2) == ([], 4)


def test_records_in_the_tail_older_than_the_retention_window_are_trimmed(shard):
    shards, tail, producer, topic = shard
    publish(producer, topic, [b"old"], tail)
    time.sleep(0.05)
    assert tail.read(topic, 0, 0, 10)
    with pytest.raises(TrimmedDataAccessException):
        read(shards, topic, 0, 10, retention_ms=10)
