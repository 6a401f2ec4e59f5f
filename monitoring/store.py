"""The metric store: one `Series` per metric and dimension set, kept at 1-minute resolution for
`retention_s` (3 hours by default, `--metrics-retention-hours`).

Recording is on the request path, so a sample costs a few attribute updates on a `Series` the
caller resolved once (per table, per stream) and kept: no lookup, no lock, no clock. A `Series`
holds running totals (count and sum since the start: Prometheus's counters) and the open minute's
minimum and maximum; a roller thread closes each minute at its end, storing the minute's figures
(the totals' difference since the last close, and the minimum and maximum) when it had samples. A
sample that lands while the roller closes a minute counts in that minute or the next, never twice
or not at all; only a minimum or maximum can miss one sample then. Reads see the open minute too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MINUTE = 60
DEFAULT_RETENTION_S = 3 * 3600.0


@dataclass(frozen=True)
class Minute:
    """One minute's statistics of a series (CloudWatch's statistic set)."""

    start: int  # epoch seconds, a multiple of 60
    count: float
    sum: float
    minimum: float
    maximum: float


class Series:
    __slots__ = ("closed_count", "closed_sum", "count", "dimensions", "last", "maximum", "minimum", "minutes", "name",
                 "namespace", "sum", "unit")

    def __init__(self, namespace: str, name: str, dimensions: tuple[tuple[str, str], ...], unit: str):
        self.namespace, self.name, self.dimensions, self.unit = namespace, name, dimensions, unit
        self.count = 0
        self.sum = 0.0
        self.minimum = math.inf  # of the open minute
        self.maximum = -math.inf
        self.last = 0.0
        self.closed_count = 0  # the totals when the last minute closed
        self.closed_sum = 0.0
        self.minutes: deque[Minute] = deque()

    def add(self, value: float) -> None:
        """One sample (a request's units, a call's latency, a page's records)."""
        self.count += 1
        self.sum += value
        self.last = value
        # comparisons, not min()/max(): two function calls fewer on every request
        if value < self.minimum:  # noqa: PLR1730
            self.minimum = value
        if value > self.maximum:  # noqa: PLR1730
            self.maximum = value

    def open_minute(self, start: int) -> Minute | None:
        count, total = self.count - self.closed_count, self.sum - self.closed_sum
        if count <= 0:
            return None
        average = total / count
        low = self.minimum if self.minimum != math.inf else average  # reset by a close under way
        high = self.maximum if self.maximum != -math.inf else average
        return Minute(start, count, total, low, high)

    def close(self, start: int, keep_from: int) -> None:
        """End the minute that began at `start`; forget minutes older than `keep_from`."""
        count, total = self.count, self.sum
        minute = self.open_minute(start)
        self.minimum, self.maximum = math.inf, -math.inf
        self.closed_count, self.closed_sum = count, total
        if minute is not None:
            self.minutes.append(minute)
        while self.minutes and self.minutes[0].start < keep_from:
            self.minutes.popleft()

    def between(self, start: float, end: float, now: float) -> list[Minute]:
        """The minutes with samples that begin in [start, end), the open one included."""
        found = [m for m in list(self.minutes) if start <= m.start < end]
        current = self.open_minute(minute_of(now))
        if current is not None and start <= current.start < end and (not found or found[-1].start < current.start):
            found.append(current)
        return found

    def dimension(self, name: str) -> str | None:
        return next((v for k, v in self.dimensions if k == name), None)


class MetricStore:
    """Every series of the process, and the thread that closes their minutes."""

    def __init__(self, retention_s: float = DEFAULT_RETENTION_S, clock: Callable[[], float] = time.time):
        self.retention_s = retention_s
        self.clock = clock
        self.series_by_key: dict[tuple, Series] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.closed_until = minute_of(clock())  # the open minute's start

    def series(self, namespace: str, name: str, unit: str, **dimensions: str) -> Series:
        """The series of this metric and dimensions (made on first use). Callers keep it."""
        dims = tuple(sorted(dimensions.items()))
        key = (namespace, name, dims)
        found = self.series_by_key.get(key)
        if found is None:
            with self.lock:
                found = self.series_by_key.setdefault(key, Series(namespace, name, dims, unit))
        return found

    def all(self) -> list[Series]:
        return list(self.series_by_key.values())

    def find(self, namespace: str, name: str, dimensions: Iterable[tuple[str, str]]) -> Series | None:
        return self.series_by_key.get((namespace, name, tuple(sorted(dimensions))))

    # -- the roller ---------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="metrics-roller", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.wait(max(0.05, self.closed_until + MINUTE - self.clock())):
            self.roll()

    def roll(self) -> None:
        """Close every minute that has ended (one pass per minute, so none is skipped)."""
        now_minute = minute_of(self.clock())
        while self.closed_until < now_minute:
            keep_from = int(self.closed_until + MINUTE - self.retention_s)
            for series in self.all():
                series.close(self.closed_until, keep_from)
            self.closed_until += MINUTE


def minute_of(t: float) -> int:
    return int(t // MINUTE) * MINUTE
