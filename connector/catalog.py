"""Stream metadata, rebuilt from the compacted catalog topic that the table service writes
(key: stream ARN, value: the stream as JSON; see contracts/stream_catalog.py). Any number of connector
instances build the same catalog: Kafka is the only state."""

from __future__ import annotations

import time

import orjson

from contracts.stream_catalog import CATALOG_TOPIC
from kafka_io.client import Kafka, Record
from kafka_io.topic_view import TopicView


class StreamCatalog(TopicView):
    what = "stream catalog"

    def __init__(self, kafka: Kafka, topic: str = CATALOG_TOPIC):
        super().__init__(kafka, topic)
        self.streams: dict[str, dict] = {}

    def _apply(self, record: Record) -> None:
        if record.value is not None:
            stream = orjson.loads(record.value)
            with self.lock:
                if self._newer(stream["StreamArn"], record.offset):
                    self.streams[stream["StreamArn"]] = stream

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
        """Streams newest first; a disabled stream stays until its retention has passed. From
        memory: the tail keeps it current (and in `cdc-bridge up` the publisher hands over each
        stream change as soon as Kafka has it)."""
        alive = [s for s in self.streams.values() if not expired(s, now_ms)]
        return sorted(alive, key=lambda s: (s["CreationRequestDateTime"], s["StreamArn"]), reverse=True)


def expired(stream: dict, now_ms: int) -> bool:
    disabled_at = stream.get("DisabledDateTime")
    return disabled_at is not None and disabled_at * 1000 + stream["RetentionMs"] < now_ms
