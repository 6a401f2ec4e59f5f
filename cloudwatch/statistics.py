"""Minutes -> CloudWatch datapoints: requests' time ranges, periods and statistics, checked with
CloudWatch's errors, and the aggregation of a series' 1-minute figures into periods."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cloudwatch.errors import CloudWatch as E
from monitoring.store import MINUTE, Minute, Series

MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


@dataclass(frozen=True)
class Window:
    start: int  # the first period begins here (StartTime rounded down to the minute)
    end: float
    period: int

    def periods(self) -> int:
        return max(0, int(-(-(self.end - self.start) // self.period)))


def timestamp(value, member: str) -> float:
    """A request timestamp: epoch seconds (JSON, CBOR) or ISO 8601 (the query protocol)."""
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = dt.datetime.fromisoformat(str(value))  # Python 3.11 reads a trailing Z
    except ValueError:
        raise E.InvalidParameterValueException(f"The parameter {member} must be a valid ISO 8601 date.") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def window(req: dict, period: int, period_member: str = "Period") -> Window:
    start, end = timestamp(req["StartTime"], "StartTime"), timestamp(req["EndTime"], "EndTime")
    if start >= end:
        raise E.InvalidParameterValueException("The parameter StartTime must be less than the parameter EndTime.")
    if period % MINUTE:
        raise E.InvalidParameterValueException(f"The parameter {period_member} must be a multiple of 60.")
    return Window(int(start // MINUTE) * MINUTE, end, period)


def aggregate(series: Series, win: Window, now: float) -> list[tuple[int, Minute]]:
    """The series' figures per period of `win` (only periods with samples), oldest first."""
    buckets: dict[int, list[Minute]] = {}
    for minute in series.between(win.start, win.end, now):
        begin = win.start + (minute.start - win.start) // win.period * win.period
        buckets.setdefault(begin, []).append(minute)
    return [(begin, merge(begin, minutes)) for begin, minutes in sorted(buckets.items())]


def merge(start: int, minutes: list[Minute]) -> Minute:
    return Minute(start, sum(m.count for m in minutes), sum(m.sum for m in minutes),
                  min(m.minimum for m in minutes), max(m.maximum for m in minutes))


def statistic(figures: Minute, name: str) -> float:
    if name == "SampleCount":
        return figures.count
    if name == "Average":
        return figures.sum / figures.count
    if name == "Sum":
        return figures.sum
    if name == "Minimum":
        return figures.minimum
    return figures.maximum
