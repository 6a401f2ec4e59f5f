"""PutRecords' delivery bookkeeping (connector/kafka.py `Delivery`): only the first and last record
of each partition's run report; consecutive offsets fill in the rest, a gap is read back, and a
failed report fails the whole run."""

from __future__ import annotations

import asyncio

from confluent_kafka import KafkaError

from kafka_io.producer import Delivery


class Report:
    def __init__(self, partition: int, offset: int):
        self._partition, self._offset = partition, offset

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


def settle(runs: dict[int, list[int]], reports: list[tuple], read_back=None) -> list:
    async def main():
        delivery = Delivery(runs, asyncio.get_running_loop(), read_back or (lambda *a: None))
        for error, partition, offset in reports:
            delivery.done(error, Report(partition, offset))
        return await asyncio.wait_for(delivery.future, 5)

    return asyncio.run(main())


def test_only_the_ends_of_each_run_report_and_consecutive_offsets_fill_the_rest():
    runs = {0: [0, 2, 3], 1: [1], 2: [4, 5]}
    assert Delivery(runs, asyncio.new_event_loop(), None).pending == 5
    results = settle(runs, [(None, 1, 40), (None, 0, 10), (None, 2, 7), (None, 0, 12), (None, 2, 8)])
    assert results == [10, 40, 11, 12, 7, 8]


def test_a_gap_in_a_run_is_read_back_from_kafka():
    calls = []

    def read_back(partition, first, last, run):
        calls.append((partition, first, last, run))
        return [100, 102, 104]

    assert settle({3: [0, 1, 2]}, [(None, 3, 100), (None, 3, 104)], read_back) == [100, 102, 104]
    assert calls == [(3, 100, 104, [0, 1, 2])]


def test_a_failed_report_fails_its_whole_run_only():
    error = KafkaError(KafkaError._MSG_TIMED_OUT)
    results = settle({0: [0, 1, 2], 1: [3]}, [(None, 0, 5), (error, 0, -1), (None, 1, 9)])
    assert results[:3] == [error] * 3 and results[3] == 9
