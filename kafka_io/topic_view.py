"""An in-memory view of a compacted, one-partition Kafka topic, kept current by tailing it: the
shape of both stream catalogs. Subclasses apply records in `_apply`, guarded by `_newer`: a
record reaches the view from the tail and may also come sooner from this process's own producer
(`take_delivered`), in either order, and an older value must never replace a newer one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import orjson

from kafka_io.client import Kafka, Message, Record, record_of


class TopicView:
    what = "topic"  # for error messages

    def __init__(self, kafka: Kafka, topic: str):
        self.kafka = kafka
        self.topic = topic
        self.offset = -1  # of the last record read
        self.tail_offset = -1  # of the last record the tail read
        self.offsets: dict = {}  # key -> offset of the value applied
        self.lock = threading.Lock()
        self.caught_up = threading.Event()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        self.kafka.ensure_topic(self.topic, 1, {"cleanup.policy": "compact"})
        self.thread = self.kafka.tail(self.topic, self._on_tailed, self.caught_up.set, self.stop_event)
        if not self.caught_up.wait(timeout_s):
            raise TimeoutError(f"the {self.what} {self.topic} could not be read")

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(5)

    def _on_record(self, record: Record) -> None:
        self.offset = max(self.offset, record.offset)
        self._apply(record)

    def _on_tailed(self, record: Record) -> None:
        """A record the tail read. Its offsets only grow, unless the topic was made again (a
        memory broker restarted): then what was applied by offset no longer compares."""
        if record.offset <= self.tail_offset:
            with self.lock:
                self.offsets.clear()
            self.offset = -1
        self.tail_offset = record.offset
        self._on_record(record)

    def take_delivered(self, message: Message) -> None:
        """A record of the topic that a producer of this process saw Kafka acknowledge."""
        self._on_record(record_of(message))

    def _newer(self, key, offset: int) -> bool:
        """Note `offset` as the newest value of `key`, unless one as new was applied already.
        Call with `lock` held."""
        if offset <= self.offsets.get(key, -1):
            return False
        self.offsets[key] = offset
        return True

    def _apply(self, record: Record) -> None:
        raise NotImplementedError

    def sync(self, timeout_s: float = 2.0) -> None:
        """Wait until every record on Kafka now has been read (a change made a moment ago, by any
        instance, must be visible to the next request)."""
        end = self.kafka.last_record(self.topic, 0)
        if end is None:
            return
        deadline = time.monotonic() + timeout_s
        while self.offset < end.offset and time.monotonic() < deadline:
            time.sleep(0.005)


class JsonView(TopicView):
    """A compacted topic of JSON values by string key."""

    def __init__(self, kafka: Kafka, topic: str, on_change: Callable[[str, dict | None], None] | None = None):
        super().__init__(kafka, topic)
        self.values: dict[str, dict] = {}
        self.on_change = on_change

    def _apply(self, record: Record) -> None:
        if record.key is not None:
            self._apply_value(record.key.decode(), orjson.loads(record.value) if record.value else None, record.offset)

    def _apply_value(self, key: str, value: dict | None, offset: int) -> bool:
        """Apply a value unless a newer one was applied already; whether it was."""
        with self.lock:
            if not self._newer(key, offset):
                return False
            if value is None:
                self.values.pop(key, None)
            else:
                self.values[key] = value
        if self.on_change is not None:
            self.on_change(key, value)
        return True

    def get(self, key: str) -> dict | None:
        return self.values.get(key)
