"""What every Firehose operation gets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field

from firehose.catalog import DeliveryCatalog, KinesisSources
from firehose.delivery import Deliveries
from firehose.settings import Settings
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer

log = logging.getLogger("cdc_bridge.firehose")


@dataclass
class FirehoseContext:
    settings: Settings
    kafka: Kafka
    catalog: DeliveryCatalog
    sources: KinesisSources
    producer: RecordProducer
    deliveries: Deliveries
    tasks: set[asyncio.Task] = field(default_factory=set)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, name: str) -> asyncio.Lock:
        """Serialises this instance's read-modify-write of one stream's metadata."""
        return self.locks.setdefault(name, asyncio.Lock())

    def spawn(self, work: Coroutine) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
