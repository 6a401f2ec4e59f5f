"""Stream metadata, rebuilt from the compacted catalog topic that the table service writes
(key: stream ARN, value: the stream as JSON; see table_api/streams.py). Any number of connector
instances build the same catalog: Kafka is the only state."""

from __future__ import annotations

import threading
import time

import orjson

from table_api.kafka import Kafka, Record
from table_api.streams import CATALOG_TOPIC


class StreamCatalog:
    def __init__(self, kafka: Kafka, topic: str = CATALOG_TOPIC):
        self.kafka = kafka
        self.topic = topic
        self.streams: dict[str, dict] = {}
        self.caught_up = threading.Event()
        self.stop_event = threading.Event()
        self.offset = -1  # of the last record read

    def start(self, timeout_s: float = 30.0) -> None:
        self.kafka.ensure_topic(self.topic, 1, {"cleanup.policy": "compact"})
        self.thread = self.kafka.tail(self.topic, self._on_record, self.caught_up.set, self.stop_event)
        if not self.caught_up.wait(timeout_s):
            raise TimeoutError(f"the stream catalog {self.topic} could not be read")

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(5)

    def _on_record(self, record: Record) -> None:
        self.offset = record.offset
        if record.value is not None:
            stream = orjson.loads(record.value)
            self.streams[stream["StreamArn"]] = stream

    def sync(self, timeout_s: float = 2.0) -> None:
        """Wait until every catalog record on Kafka now has been read (a stream enabled a moment
        ago must be visible to the next request)."""
        end = self.kafka.last_record(self.topic, 0)
        if end is None:
            return
        deadline = time.monotonic() + timeout_s
        while self.offset < end.offset and time.monotonic() < deadline:
            time.sleep(0.005)

    def get(self, arn: str, wait_s: float = 0.0) -> dict | None:
        """The stream, syncing to the catalog's end on a miss; with `wait_s`, keep syncing that
        long for a stream whose metadata has not reached the catalog yet."""
        deadline = time.monotonic() + wait_s
        stream = self.streams.get(arn)
        while stream is None:
            self.sync()
            stream = self.streams.get(arn)
            if stream is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        return stream

    def listed(self, now_ms: int) -> list[dict]:
        """Streams newest first; a disabled stream stays until its retention has passed."""
        self.sync()
        alive = [s for s in self.streams.values() if not expired(s, now_ms)]
        return sorted(alive, key=lambda s: (s["CreationRequestDateTime"], s["StreamArn"]), reverse=True)


def expired(stream: dict, now_ms: int) -> bool:
    disabled_at = stream.get("DisabledDateTime")
    return disabled_at is not None and disabled_at * 1000 + stream["RetentionMs"] < now_ms
