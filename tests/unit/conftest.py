"""Fixtures shared by the unit tests."""

from __future__ import annotations

import datetime as dt

import pytest

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp()


class Clock:
    """A clock that stands still until a test moves it (`clock.now += seconds`)."""

    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
