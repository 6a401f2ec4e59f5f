"""The connector's partition readers on the real broker (connector/kafka.py): a long partition of
single-record batches (what the publisher writes under a steady load) is read to its end without
an empty page before it, and a reader parked while idle resumes exactly where it stopped, with
no stale idea of where its partition ends."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_io.readers import ReaderPool

pytestmark = pytest.mark.timeout(180)

LONG_PARTITION = 5000  # records, one batch each: the embedded broker lists them all on every fetch


def new_topic(bootstrap: str, partitions: int = 1) -> str:
    name = f"readers-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    return name


def produce(bootstrap: str, topic: str, count: int, start: int = 0, per_batch: int = 1) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": True})
    for i in range(start, start + count):
        producer.produce(topic, f"record-{i}".encode() * 20, partition=0)
        if (i + 1) % per_batch == 0:
            producer.flush(30)  # one batch per flush
    producer.flush(30)


@pytest.fixture(scope="module")
def long_partition(broker):
    topic = new_topic(broker.bootstrap_servers)
    produce(broker.bootstrap_servers, topic, LONG_PARTITION)
    return topic


def read_pages(pool: ReaderPool, topic: str, offset: int, until: int) -> list[tuple[int, int]]:
    """(first offset, count) of each page read from `offset` until a page is empty."""
    pages = []
    while True:
        reader = pool.acquire(topic, 0, offset)
        try:
            page = reader.read(1000, 0.05)
        finally:
            pool.release(reader)
        if not page:
            return pages
        assert [m.offset() for m in page] == list(range(offset, offset + len(page)))
        pages.append((offset, len(page)))
        offset += len(page)
        assert offset <= until


def test_a_long_partition_is_read_to_its_end_without_an_early_empty_page(broker, long_partition):
    """Twice: once with the partition's size unknown to the pool, once known (as after a first
    read); also from the middle of the partition, and from close to its end."""
    pool = ReaderPool(broker.bootstrap_servers, size=4)
    try:
        for start in (0, 0, 2500, LONG_PARTITION - 300):
            pages = read_pages(pool, long_partition, start, LONG_PARTITION)
            assert sum(n for _, n in pages) == LONG_PARTITION - start, pages
        assert pool.starved == 0
    finally:
        pool.close()


def test_the_wait_of_a_reader_follows_what_the_pool_learned_of_its_partition(broker, long_partition):
    pool = ReaderPool(broker.bootstrap_servers, size=4)
    try:
        first = pool.acquire(long_partition, 0, 0)
        first.read(10, 0.05)
        pool.release(first)
        assert pool.ends[(long_partition, 0)] == LONG_PARTITION
        second = pool.acquire(long_partition, 0, 10)
        assert second.fetch_wait == 16  # 2 ms per 1,000 records, rounded up to a power of two
        pool.release(second)
    finally:
        pool.close()


def test_a_reader_whose_wait_is_outdated_is_replaced_not_kept(broker, long_partition):
    """A partition's fetch wait grows with what the pool learns of it; the reader made with the old
    wait is closed when its replacement is made, so a growing stream keeps one reader per partition
    (a 10-minute soak piled up a consumer, ~8 descriptors, every few minutes before)."""
    pool = ReaderPool(broker.bootstrap_servers, size=8)
    try:
        first = pool.acquire(long_partition, 0, 0)
        first.read(10, 0.05)
        pool.release(first)
        pool.wait_floors[(long_partition, 0)] = 4 * first.fetch_wait  # as after starved reads
        second = pool.acquire(long_partition, 0, 10)
        assert second is not first and second.fetch_wait == 4 * first.fetch_wait
        assert pool.count == 1
        with pytest.raises(RuntimeError):  # the outdated reader's consumer is closed
            first.consumer.assignment()
        pool.release(second)
        assert list(pool.idle.values()) == [second]
    finally:
        pool.close()


def test_an_outdated_reader_is_closed_also_when_a_sibling_partition_s_reader_takes_its_place(broker):
    """Two partitions whose waits grew: the reader of partition 1 made with the new wait may move to
    partition 0 (a reader is reused within its topic); partition 0's outdated reader is closed then,
    so the pool keeps one reader per partition (the soak piled up ~8 descriptors at each growth)."""
    topic = new_topic(broker.bootstrap_servers, partitions=2)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    for i in range(40):
        producer.produce(topic, b"r%d" % i, partition=i % 2)
    producer.flush(30)
    pool = ReaderPool(broker.bootstrap_servers, size=8)
    try:
        first, second = pool.acquire(topic, 0, 0), pool.acquire(topic, 1, 0)
        for reader in (first, second):
            reader.read(5, 0.05)
            pool.release(reader)
        wait = first.fetch_wait
        for partition in (0, 1):
            pool.wait_floors[(topic, partition)] = 4 * wait  # as after starved reads
        renewed = pool.acquire(topic, 1, 5)  # replaces partition 1's reader
        pool.release(renewed)
        moved = pool.acquire(topic, 0, 5)  # takes the renewed reader: same wait, same topic
        assert moved is renewed and moved.fetch_wait == 4 * wait
        with pytest.raises((RuntimeError, KafkaException)):  # partition 0's outdated reader is closed
            first.consumer.assignment()
        again = pool.acquire(topic, 1, 5)
        assert pool.count == 2
        pool.release(moved)
        pool.release(again)
    finally:
        pool.close()


def test_an_idle_reader_is_parked_and_resumes_exactly_where_it_stopped(broker):
    topic = new_topic(broker.bootstrap_servers)
    produce(broker.bootstrap_servers, topic, 10)
    pool = ReaderPool(broker.bootstrap_servers, size=2, idle_park_s=0.2)
    try:
        assert read_pages(pool, topic, 0, 10) == [(0, 10)]
        deadline = time.monotonic() + 5
        while pool.parks == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        parked, readers = list(pool.idle.values()), pool.count
        assert parked and pool.parks == len(parked) == readers
        assert all(r.parked and r.consumer.assignment() == [] for r in parked)  # no partition: no fetches

        # Nothing new: the resumed reader says so, quickly, rather than trusting its old watermark.
        started = time.monotonic()
        assert read_pages(pool, topic, 10, 10) == []
        assert time.monotonic() - started < 0.9
        assert pool.count == readers  # a parked reader came back: no new consumer

        produce(broker.bootstrap_servers, topic, 5, start=10)
        time.sleep(0.5)  # parked again meanwhile: its old watermark says 10, the partition holds 15
        assert read_pages(pool, topic, 10, 15) == [(10, 5)]
    finally:
        pool.close()
