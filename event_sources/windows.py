"""Tumbling windows (TumblingWindowInSeconds) of one shard: Lambda's aggregation over fixed windows
of arrival time. Every invocation in a window carries the `state` the function returned last in that
window; when the window has passed, a final invocation (`isFinalInvokeForWindow`, no records) hands
over the last state. The open window and its state travel with the shard's checkpoint, so a restart
goes on with the state it had."""

from __future__ import annotations

from itertools import groupby

from event_sources.destinations import iso_ms

Window = tuple[int, int]  # [start, end) in epoch ms


class TumblingWindows:
    def __init__(self, seconds: int, shard_id: str, source_arn: str, saved: dict | None = None):
        self.length_ms = seconds * 1000
        self.shard_id = shard_id
        self.source_arn = source_arn
        self.current: Window | None = tuple(saved["Window"]) if saved else None
        self.state: dict = saved["State"] if saved else {}

    def window_of(self, arrival_ms: int) -> Window:
        start = arrival_ms - arrival_ms % self.length_ms
        return start, start + self.length_ms

    def groups(self, items: list) -> list[tuple[Window, list]]:
        """Consecutive items of one window each (arrival times only grow within a shard)."""
        return [(window, list(group)) for window, group in groupby(items, key=lambda i: self.window_of(i.arrival_ms))]

    def due(self, now_ms: int) -> bool:
        return self.current is not None and now_ms >= self.current[1]

    def envelope(self, final: bool = False) -> dict:
        start, end = self.current
        return {"window": {"start": iso_ms(start), "end": iso_ms(end)}, "state": self.state,
                "shardId": self.shard_id, "eventSourceARN": self.source_arn,
                "isFinalInvokeForWindow": final, "isWindowTerminatedEarly": False}

    def open(self, window: Window) -> None:
        if window != self.current:
            self.current, self.state = window, {}

    def close(self) -> None:
        self.current, self.state = None, {}

    def take(self, answer) -> None:
        """The function's answer: its `state` is the window's state from now on."""
        if isinstance(answer, dict) and isinstance(answer.get("state"), dict):
            self.state = answer["state"]

    def saved(self) -> dict | None:
        return {"Window": list(self.current), "State": self.state} if self.current is not None else None
