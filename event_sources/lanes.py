"""ParallelizationFactor N > 1 for one shard: N lanes, each a thread that delivers its own batches one
at a time, so up to N batches of the shard are in flight at once, as on Lambda. A record goes to the
lane of its key's hash (the item's key for DynamoDB, the partition key for Kinesis), so the changes
of one key are always in one lane, in order.

The shard's checkpoint may only move past records every lane has finished with: `low_water` is the
lowest offset still queued or in flight in any lane (or the reader's position when all are done). A
lane whose batch keeps failing holds the checkpoint there while the other lanes go on, as Lambda
does. The reader stops reading ahead while the lanes hold two batches per lane (at least
MIN_READ_AHEAD records: one busy key must not starve the other lanes), which bounds memory and what
a restart delivers again."""

from __future__ import annotations

import threading
import zlib
from collections import deque
from collections.abc import Callable

MIN_READ_AHEAD = 1000


def lane_of(key: bytes | None, factor: int) -> int:
    """The lane of a record key: stable across restarts and processes (crc32, not Python's hash)."""
    return zlib.crc32(key or b"") % factor


class Lanes:
    def __init__(self, factor: int, deliver: Callable[[list], None], batch_size: Callable[[], int],
                 stop: threading.Event, name: str):
        self.deliver = deliver  # blocking: returns when the batch is done with; raises to end the lane
        self.batch_size = batch_size  # the mapping's BatchSize now (an update applies at the next batch)
        self.stop = stop  # set when the shard's poller ends
        self.factor = factor
        self.queues: list[deque] = [deque() for _ in range(factor)]  # items queued or in flight, in order
        self.changed = threading.Condition()
        self.failure: BaseException | None = None  # a lane that ended: the shard must stop
        self.closing = False
        self.threads = [threading.Thread(target=self._run, args=(lane,), name=f"{name}-lane{lane}", daemon=True)
                        for lane in range(factor)]
        for thread in self.threads:
            thread.start()

    def submit(self, items: list) -> None:
        with self.changed:
            for item in items:
                self.queues[lane_of(item.message.key(), self.factor)].append(item)
            self.changed.notify_all()

    def pending(self) -> int:
        return sum(len(q) for q in self.queues)

    def low_water(self, read_to: int) -> int:
        """The lowest offset not finished with: the shard's checkpoint."""
        with self.changed:
            heads = [q[0].message.offset() for q in self.queues if q]
        return min(heads, default=read_to)

    def full(self) -> bool:
        return self.pending() >= max(2 * self.factor * self.batch_size(), MIN_READ_AHEAD)

    def wait_for_room(self, timeout_s: float) -> None:
        """Block while the lanes are full (at most `timeout_s`)."""
        with self.changed:
            if self.full() and self.failure is None:
                self.changed.wait(timeout_s)
        self.check()

    def drain(self, timeout_s: float) -> None:
        """Wait until every lane is done with what it was given (a closed shard read to its end)."""
        with self.changed:
            while self.pending() and self.failure is None and not self.stop.is_set():
                self.changed.wait(timeout_s)
        self.check()

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        """The lanes end after their batch in flight (the poller ends, or the factor changed)."""
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        for thread in self.threads:
            thread.join(5)

    def _next_batch(self, lane: int) -> list | None:
        with self.changed:
            while not self.queues[lane]:
                if self.stop.is_set() or self.closing:
                    return None
                self.changed.wait(0.1)
            queue = self.queues[lane]
            return [queue[i] for i in range(min(len(queue), self.batch_size()))]

    def _run(self, lane: int) -> None:
        try:
            while (batch := self._next_batch(lane)) is not None:
                self.deliver(batch)
                with self.changed:
                    for _ in batch:
                        self.queues[lane].popleft()
                    self.changed.notify_all()
        except BaseException as exc:  # noqa: BLE001 -- handed to the shard's poller, which ends (Stopped too)
            with self.changed:
                self.failure = self.failure or exc
                self.changed.notify_all()
