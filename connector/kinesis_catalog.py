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

With a data directory, every instance also mirrors the view into `<data-dir>/kinesis-streams.json`
(kafka_io/view_file.py: rewritten whole, atomically, by a thread of its own a moment after each change
it applies once it has caught up), because a
memory broker loses the catalog topic on a restart. The topic stays the source of truth while it
exists: at start, only a stream the catalog has no record of (the broker lost it) is restored from
the file: its topics made again (same names, shards, hash key ranges, retention, tags), its data
`Epoch` raised by one (positions from before read on from the trim horizon), published again. A
stream that was DELETING finishes deleting; one CREATING or UPDATING is ACTIVE again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import orjson

from connector.kinesis_shards import topic_config
from contracts.kinesis_streams import CATALOG_TOPIC as KINESIS_CATALOG_TOPIC
from kafka_io.client import Kafka, Record
from kafka_io.producer import RecordProducer
from kafka_io.topic_view import TopicView
from kafka_io.view_file import Mirrored

CATALOG_TOPIC = KINESIS_CATALOG_TOPIC
STORE_FILE = "kinesis-streams.json"
STORE_FORMAT = 1  # of the file's own layout: {"Format": 1, "Streams": {name: value}}

log = logging.getLogger("cdc_bridge.connector")


class CatalogWriteFailed(RuntimeError):
    pass


class KinesisCatalog(Mirrored, TopicView):
    what = "Kinesis catalog"

    def __init__(self, kafka: Kafka, producer: RecordProducer, on_deleting: Callable[[list[str]], None],
                 topic: str = CATALOG_TOPIC, data_dir: Path | None = None):
        super().__init__(kafka, topic)
        self.producer = producer
        self.on_deleting = on_deleting  # called with a DELETING stream's topics, before they go
        self.streams: dict[str, dict] = {}  # name -> latest value, deleted markers included
        self.mirror_to(data_dir, STORE_FILE, STORE_FORMAT, "the Kinesis stream definitions")
        self.restored: list[str] = []  # names restored from the data directory at start

    def start(self, timeout_s: float = 30.0) -> None:
        super().start(timeout_s)
        self.start_mirror()

    def snapshot(self) -> dict[str, dict]:
        with self.lock:
            return dict(self.streams)

    def _apply(self, record: Record) -> None:
        if record.key is not None:
            self._apply_value(record.key.decode(), orjson.loads(record.value) if record.value else None, record.offset)

    def _apply_value(self, name: str, stream: dict | None, offset: int) -> None:
        with self.lock:
            applied = self._newer(name, offset)
            if applied:
                if stream is None:
                    self.streams.pop(name, None)
                else:
                    self.streams[name] = stream
        if applied:
            self.mirror_changed()
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

    # -- the copy in the data directory ----------------------------------------------------------

    def restore(self) -> None:
        """Bring back the streams the data directory knows and the catalog topic does not (the
        broker lost them): see the module's docstring. Runs at start, before the part is ready."""
        known = self.store.load()
        lost = {name: stream for name, stream in sorted(known.items()) if name not in self.streams}
        if not lost:
            return
        existing = self.kafka.topics()
        values = []
        for name, stream in lost.items():
            if stream.get("Deleted"):
                values.append(stream)
                continue
            topics = [g["Topic"] for g in stream["Generations"]]
            if stream["StreamStatus"] == "DELETING":
                self.kafka.delete_topics([t for t in topics if t in existing])
                values.append({"StreamName": name, "Deleted": True, "NextGeneration": stream["Generations"][-1]["Number"] + 1})
                continue
            kept = all(t in existing for t in topics)  # only the catalog was lost: the data is there
            value = self.reopened(stream) if kept else renewed(stream)
            for generation in value["Generations"]:
                self.kafka.ensure_topic(generation["Topic"], generation["Shards"], topic_config(value))
            values.append(value)
        asyncio.run(self._publish_all(values))
        self.restored = list(lost)
        log.warning("Kinesis streams restored from the data directory: the catalog topic did not have them",
                    extra={"streams": {v["StreamName"]: v.get("Epoch", 0) for v in values if not v.get("Deleted")},
                           "finished_deleting": [v["StreamName"] for v in values if v.get("Deleted")]})

    async def _publish_all(self, values: list[dict]) -> None:
        for value in values:
            await self.publish(value)

    def reopened(self, stream: dict) -> dict:
        """A stream whose topics are all there (only the catalog topic was lost): as it was, a
        change left half done (CREATING, UPDATING) finished."""
        generations = []
        for generation in stream["Generations"]:
            if generation["ClosedMs"] is not None and generation["Ends"] is None:
                ends = []
                for partition in range(generation["Shards"]):
                    last = self.kafka.last_record(generation["Topic"], partition)
                    ends.append(0 if last is None else last.offset + 1)
                generation = {**generation, "Ends": ends}
            generations.append(generation)
        return {**stream, "StreamStatus": "ACTIVE", "Generations": generations}


def renewed(stream: dict) -> dict:
    """The same stream after the broker lost its topics: its data one epoch later, every closed
    shard empty (its topic is made again without records), ACTIVE."""
    generations = [g if g["ClosedMs"] is None else {**g, "Ends": [0] * g["Shards"]} for g in stream["Generations"]]
    return {**stream, "StreamStatus": "ACTIVE", "Generations": generations, "Epoch": stream.get("Epoch", 0) + 1}
