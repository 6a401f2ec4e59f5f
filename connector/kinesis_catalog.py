"""Kinesis stream metadata, kept in the compacted topic `_cdc_bridge_kinesis_streams` (key: the
stream name, value: the stream as JSON) and rebuilt in memory by tailing it, so any number of
connector instances serve the same streams with Kafka as the only state.

Whichever instance handles a control-plane request writes the stream's new value; it applies its
own write as soon as Kafka has acknowledged it (so its answer and its next request see it), and the
tail applies everyone's writes in log order. A record is applied only if it is newer (a higher
offset) than what the name already has, so the two paths never go back in time.

Every instance closes its readers of a stream's topics when it learns that the stream is DELETING
(the instance that deletes the topics waits a grace period for that first): librdkafka crashes
when a consumer stays assigned to a topic the embedded broker deletes.

A deleted stream leaves a marker (`{"StreamName", "Deleted": true, "NextGeneration"}`) instead of
a tombstone: a stream created again under the same name continues the topic generation numbers,
so its topics never collide with the old ones (a deleted topic can linger on a real cluster).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from kafka_io.client import Kafka, Record
from kafka_io.producer import RecordProducer
from kafka_io.topic_view import TopicView

CATALOG_TOPIC = "_cdc_bridge_kinesis_streams"


class CatalogWriteFailed(RuntimeError):
    pass


class KinesisCatalog(TopicView):
    what = "Kinesis catalog"

    def __init__(self, kafka: Kafka, producer: RecordProducer, on_deleting: Callable[[list[str]], None],
                 topic: str = CATALOG_TOPIC):
        super().__init__(kafka, topic)
        self.producer = producer
        self.on_deleting = on_deleting  # called with a DELETING stream's topics, before they go
        self.streams: dict[str, dict] = {}  # name -> latest value, deleted markers included

    def _apply(self, record: Record) -> None:
        if record.key is not None:
            self._apply_value(record.key.decode(), orjson.loads(record.value) if record.value else None, record.offset)

    def _apply_value(self, name: str, stream: dict | None, offset: int) -> None:
        with self.lock:
            if self._newer(name, offset):
                if stream is None:
                    self.streams.pop(name, None)
                else:
                    self.streams[name] = stream
        if stream is not None and stream.get("StreamStatus") == "DELETING":
            self.on_deleting([g["Topic"] for g in stream["Generations"]])

    def get(self, name: str) -> dict | None:
        """The live stream called `name`, from memory (None: unknown or deleted)."""
        stream = self.streams.get(name)
        return None if stream is None or stream.get("Deleted") else stream

    def lookup(self, name: str) -> dict | None:
        """Like `get`, but a miss first reads the catalog to its current end (a stream another
        instance created a moment ago). Blocking: call it from a worker thread."""
        stream = self.get(name)
        if stream is None:
            self.sync()
            stream = self.get(name)
        return stream

    def next_generation(self, name: str) -> int:
        stream = self.streams.get(name)
        if stream is None:
            return 0
        if stream.get("Deleted"):
            return stream["NextGeneration"]
        return stream["Generations"][-1]["Number"] + 1

    def live(self) -> list[dict]:
        return sorted((s for s in list(self.streams.values()) if not s.get("Deleted")), key=lambda s: s["StreamName"])

    async def publish(self, stream: dict) -> None:
        """Write a stream's new value and apply it here once Kafka has it."""
        name = stream["StreamName"]
        [result] = await self.producer.send(self.topic, [(0, name.encode(), orjson.dumps(stream), None)])
        if not isinstance(result, int):
            raise CatalogWriteFailed(str(result))
        self._apply_value(name, stream, result)
