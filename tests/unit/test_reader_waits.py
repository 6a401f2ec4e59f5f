"""How the connector's reader pool picks a reader's fetch wait (connector/kafka.py): from the
size of the partition, raised for a partition whose reads starved. Pure logic: no broker."""

from __future__ import annotations

import pytest

from kafka_io.readers import MAX_FETCH_WAIT_MS, MIN_FETCH_WAIT_MS, UNKNOWN_SIZE_FETCH_WAIT_MS, ReaderPool, fetch_wait_ms


@pytest.mark.parametrize(("end", "wait"), [
    (0, 1), (400, 1), (600, 2), (1000, 2), (1500, 4), (5000, 16), (12_000, 32), (10**9, MAX_FETCH_WAIT_MS),
])
def test_the_wait_follows_the_partition_size(end, wait):
    assert fetch_wait_ms(end) == wait


def test_an_unsized_partition_gets_a_wait_long_enough_for_a_large_one():
    assert fetch_wait_ms(None) == UNKNOWN_SIZE_FETCH_WAIT_MS >= fetch_wait_ms(20_000)


@pytest.mark.parametrize("end", [None, 0, 700, 3000, 40_000, 10**7])
@pytest.mark.parametrize("floor", [MIN_FETCH_WAIT_MS, 8, 64, 1000])
def test_waits_are_powers_of_two_within_bounds_and_at_least_the_floor(end, floor):
    wait = fetch_wait_ms(end, floor)
    assert MIN_FETCH_WAIT_MS <= wait <= MAX_FETCH_WAIT_MS
    assert wait & (wait - 1) == 0
    assert wait >= min(floor, MAX_FETCH_WAIT_MS)


class ReturnedReader:
    """What the pool looks at in a reader given back to it."""

    def __init__(self, where, fetch_wait: int, starved: bool, high: int):
        self.where, self.fetch_wait, self.starved, self.high = where, fetch_wait, starved, high
        self.released_at = 0.0
        self.closed = False

    def high_watermark(self) -> int:
        return self.high

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def pool():
    pool = ReaderPool("127.0.0.1:1", size=4)  # consumers are only made on acquire: none here
    yield pool
    pool.close()


def test_a_starved_read_doubles_the_wait_of_its_partition_only(pool):
    pool.note_end("t", 0, 600)
    pool.note_end("t", 1, 600)
    assert pool.fetch_wait("t", 0) == 2
    pool.release(ReturnedReader(("t", 0), 2, starved=True, high=-1))
    assert (pool.fetch_wait("t", 0), pool.fetch_wait("t", 1), pool.starved) == (4, 2, 1)
    pool.release(ReturnedReader(("t", 0), 4, starved=True, high=-1))
    assert pool.fetch_wait("t", 0) == 8


def test_released_readers_teach_the_pool_where_partitions_end(pool):
    assert pool.fetch_wait("t", 0) == UNKNOWN_SIZE_FETCH_WAIT_MS
    pool.release(ReturnedReader(("t", 0), 64, starved=False, high=5000))
    assert pool.ends[("t", 0)] == 5000 and pool.fetch_wait("t", 0) == 16
    pool.release(ReturnedReader(("t", 0), 16, starved=False, high=-1))  # unknown: keeps what it knew
    assert pool.ends[("t", 0)] == 5000


def test_discarded_topics_are_forgotten(pool):
    pool.note_end("gone", 0, 9000)
    pool.release(ReturnedReader(("gone", 0), 2, starved=True, high=-1))
    pool.discard(["gone"])
    assert pool.fetch_wait("gone", 0) == UNKNOWN_SIZE_FETCH_WAIT_MS
