"""GetRecords at the end of a shard in `cdc-bridge up` (connector.shards.Shards): it waits a
bounded time for the publisher's next acknowledged record of the shard; a connector without a
publisher in its process does not wait. And a young stream's trim horizon is known without a read."""

from __future__ import annotations

import asyncio
import threading
import time

from connector.shards import Shards, now_ms
from kafka_io.delivered import DeliveredTail
from tests.unit.test_delivered_tail import Delivered


class NoReads:
    """A pool or offset lookup that must not be used."""

    def __getattr__(self, name):
        raise AssertionError(f"{name} was called")


def shards(delivered: DeliveredTail | None) -> Shards:
    return Shards(NoReads(), NoReads(), NoReads(), delivered)


def test_a_record_acknowledged_during_the_wait_ends_it():
    tail = DeliveredTail()

    async def scenario():
        timer = threading.Timer(0.02, tail.add, [Delivered("t", 1, 0)])  # the publisher's thread
        timer.start()
        started = time.monotonic()
        woken = await shards(tail).wait_for_records("t", 1, 0, timeout_s=5)
        return woken, time.monotonic() - started

    woken, waited = asyncio.run(scenario())
    assert woken and waited < 4


def test_the_wait_is_bounded_when_nothing_comes():
    woken = asyncio.run(shards(DeliveredTail()).wait_for_records("t", 0, 0, timeout_s=0.01))
    assert woken is False


def test_a_connector_without_a_publisher_does_not_wait():
    async def scenario():
        started = time.monotonic()
        woken = await shards(None).wait_for_records("t", 0, 0, timeout_s=5)
        return woken, time.monotonic() - started

    woken, waited = asyncio.run(scenario())
    assert woken is False and waited < 1


def test_a_topic_younger_than_its_retention_starts_at_offset_0_without_a_read():
    hour_ms = 3_600_000
    assert shards(None).trim_horizon("t", 3, retention_ms=24 * hour_ms, born_ms=now_ms() - hour_ms) == 0
