"""What every connector operation gets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field

from connector.catalog import StreamCatalog
from connector.kinesis_catalog import KinesisCatalog
from connector.settings import Settings
from connector.shards import Shards
from kafka_io.producer import RecordProducer

log = logging.getLogger("cdc_bridge.connector")


@dataclass
class ConnectorContext:
    settings: Settings
    catalog: StreamCatalog
    shards: Shards
    kinesis: KinesisCatalog | None = None  # Kinesis stream metadata
    producer: RecordProducer | None = None  # Kinesis PutRecord(s) and catalog writes
    tasks: set[asyncio.Task] = field(default_factory=set)  # background work (stream state changes)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)  # one per Kinesis stream name

    def lock(self, name: str) -> asyncio.Lock:
        """Serialises this instance's read-modify-write of one stream's metadata."""
        return self.locks.setdefault(name, asyncio.Lock())

    def spawn(self, work: Coroutine) -> None:
        """Run `work` in the background, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
