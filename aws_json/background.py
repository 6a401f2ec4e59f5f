"""What a part's operations share for work that outlives a request: a lock per named resource
(the read-modify-write of one stream's metadata) and background tasks (a stream's state change
that settles later), kept referenced until done and logged when they fail."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger("cdc_bridge.background")


class BackgroundWork:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()
        self.locks: dict[str, asyncio.Lock] = {}

    def lock(self, name: str) -> asyncio.Lock:
        """Serialises this instance's read-modify-write of one resource's metadata."""
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
