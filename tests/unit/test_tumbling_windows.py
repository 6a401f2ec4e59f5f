"""Tumbling windows of a shard (event_sources/windows.py): epoch-aligned windows, grouping, the state
a function returns, and the round trip through a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from event_sources.windows import TumblingWindows


@dataclass
class Item:
    arrival_ms: int


def test_windows_are_aligned_to_the_epoch_and_group_consecutive_items():
    windows = TumblingWindows(30, "shardId-1", "arn")
    assert windows.window_of(61_000) == (60_000, 90_000)
    groups = windows.groups([Item(60_000), Item(89_999), Item(90_000)])
    assert [(w, len(g)) for w, g in groups] == [((60_000, 90_000), 2), ((90_000, 120_000), 1)]


def test_the_state_a_function_returns_stays_with_its_window_and_survives_a_checkpoint():
    windows = TumblingWindows(30, "shardId-1", "arn")
    windows.open((60_000, 90_000))
    windows.take({"state": {"count": 2}})
    windows.take({"batchItemFailures": []})  # no state in the answer: kept
    envelope = windows.envelope()
    assert envelope["state"] == {"count": 2} and envelope["window"] == {"start": "1970-01-01T00:01:00.000Z",
                                                                          "end": "1970-01-01T00:01:30.000Z"}
    restored = TumblingWindows(30, "shardId-1", "arn", windows.saved())
    assert (restored.current, restored.state) == ((60_000, 90_000), {"count": 2})
    assert restored.due(90_000) and not restored.due(89_999)
    assert restored.envelope(final=True)["isFinalInvokeForWindow"] is True
    restored.open((90_000, 120_000))
    assert restored.state == {}  # a new window starts empty
