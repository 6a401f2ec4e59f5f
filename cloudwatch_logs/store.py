"""Log groups, streams and events, kept in memory and appended to files under the data directory.

    <data-dir>/logs/<group, %-quoted>/<stream, %-quoted>.jsonl    one event a line: {"t", "i", "m"}

A stream's file is only ever appended to, so a crash loses at most a line being written (a torn last
line is skipped when the file is read back). Group and stream creation times are the files' own
(a group's directory, a stream's first event): nothing else needs storing. Everything is read back
at start; this is a local emulator's log volume, not CloudWatch's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import orjson


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Event:
    timestamp: int
    ingestion_time: int
    message: str


@dataclass
class Stream:
    name: str
    creation_time: int
    events: list[Event] = field(default_factory=list)
    stored_bytes: int = 0


@dataclass
class Group:
    name: str
    creation_time: int
    streams: dict[str, Stream] = field(default_factory=dict)


class LogStore:
    def __init__(self, root: Path):
        self.root = root
        self.groups: dict[str, Group] = {}
        self.lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        self._load()

    def append(self, group: str, stream: str, messages: list[tuple[int, str]]) -> None:
        """Add events (timestamp ms, message) to a stream, making the group and stream as needed."""
        if not messages:
            return
        ingested = now_ms()
        events = [Event(ts, ingested, message) for ts, message in messages]
        lines = b"".join(orjson.dumps({"t": e.timestamp, "i": e.ingestion_time, "m": e.message}) + b"\n"
                         for e in events)
        with self.lock:
            target = self._stream(group, stream, events[0].timestamp)
            with open(self._stream_path(group, stream), "ab") as f:
                f.write(lines)
            target.events.extend(events)
            target.stored_bytes += len(lines)

    def group(self, name: str) -> Group | None:
        return self.groups.get(name)

    def group_names(self) -> list[str]:
        with self.lock:
            return sorted(self.groups)

    def snapshot(self, group: str) -> dict[str, list[Event]] | None:
        """A group's streams and their events as they are now (lists that later appends do not change)."""
        with self.lock:
            found = self.groups.get(group)
            return None if found is None else {name: list(s.events) for name, s in found.streams.items()}

    # -- files ---------------------------------------------------------------------------------------

    def _stream(self, group: str, stream: str, first_timestamp: int) -> Stream:
        found = self.groups.get(group)
        if found is None:
            self._group_path(group).mkdir(parents=True, exist_ok=True)
            found = self.groups[group] = Group(group, now_ms())
        target = found.streams.get(stream)
        if target is None:
            target = found.streams[stream] = Stream(stream, first_timestamp)
        return target

    def _group_path(self, group: str) -> Path:
        return self.root / quote(group, safe="")

    def _stream_path(self, group: str, stream: str) -> Path:
        return self._group_path(group) / (quote(stream, safe="") + ".jsonl")

    def _load(self) -> None:
        for group_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            group = Group(unquote(group_dir.name), int(group_dir.stat().st_mtime * 1000))
            for path in sorted(group_dir.glob("*.jsonl")):
                stream = Stream(unquote(path.name[: -len(".jsonl")]), group.creation_time)
                stream.events, stream.stored_bytes = read_events(path)
                if stream.events:
                    stream.creation_time = stream.events[0].timestamp
                group.streams[stream.name] = stream
            # a directory's mtime moves with every new stream: the group is as old as its oldest stream
            group.creation_time = min([s.creation_time for s in group.streams.values()] or [group.creation_time])
            self.groups[group.name] = group


def read_events(path: Path) -> tuple[list[Event], int]:
    data = path.read_bytes()
    events = []
    for line in data.splitlines():
        try:
            record = orjson.loads(line)
            events.append(Event(record["t"], record["i"], record["m"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # a line torn by a crash while it was written
    return events, len(data)
