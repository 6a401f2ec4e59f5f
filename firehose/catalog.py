"""Delivery stream metadata in the compacted topic `_cdc_bridge_firehose_streams` (key: the
stream's name, value: its stored form as JSON, a tombstone once deleted), rebuilt in memory by
tailing it, as the Kinesis catalog does; plus a read-only view of the Kinesis catalog, the
sources of KinesisStreamAsSource streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import orjson

from contracts.kinesis_streams import CATALOG_TOPIC as KINESIS_CATALOG_TOPIC
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from kafka_io.topic_view import JsonView
from kafka_io.view_file import Mirrored

CATALOG_TOPIC = "_cdc_bridge_firehose_streams"
STORE_FILE = "firehose-streams.json"
STORE_FORMAT = 1  # of the file's own layout: {"Format": 1, "Streams": {name: value}}
log = logging.getLogger("cdc_bridge.firehose")


class CatalogWriteFailed(RuntimeError):
    pass


class DeliveryCatalog(Mirrored, JsonView):
    """With a data directory the view is also kept in `<data-dir>/firehose-streams.json` (as the Kinesis
    catalog keeps `kinesis-streams.json`): when the broker lost the catalog topic (a memory broker
    restarted), the streams are restored from it at start (`restore`)."""

    what = "Firehose catalog"

    def __init__(self, kafka: Kafka, producer: RecordProducer, on_change: Callable[[str, dict | None], None],
                 data_dir: Path | None = None):
        super().__init__(kafka, CATALOG_TOPIC, on_change)
        self.producer = producer
        self.mirror_to(data_dir, STORE_FILE, STORE_FORMAT, "the Firehose delivery stream definitions")
        self.restored: list[str] = []

    def start(self, timeout_s: float = 30.0) -> None:
        lost = self.store is not None and CATALOG_TOPIC not in self.kafka.topics()
        super().start(timeout_s)
        self.start_mirror(restore=lost)

    def snapshot(self) -> dict[str, dict]:
        with self.lock:
            return dict(self.values)

    def _apply_value(self, key: str, value: dict | None, offset: int) -> bool:
        applied = super()._apply_value(key, value, offset)
        if applied:
            self.mirror_changed()
        return applied

    def restore(self) -> None:
        """The streams of the data directory's copy, published again after the broker lost the catalog
        topic (only then: with the topic there, a stream missing from it was deleted). A DirectPut
        stream's topic is made again (its records and checkpoints went with the broker: it delivers
        what is put from now on); a Kinesis-sourced one reads its source from the beginning of what the
        restored source holds. One left DELETING is not restored; one CREATING is finished by the part."""
        values = [s for _, s in sorted(self.store.load().items()) if s["DeliveryStreamStatus"] != "DELETING"]
        for stream in values:
            if "Topic" in stream:
                self.kafka.ensure_topic(stream["Topic"], 1, {})
        asyncio.run(self._publish_all(values))
        self.restored = [s["DeliveryStreamName"] for s in values]
        if values:
            log.warning("Firehose delivery streams restored from the data directory: the broker lost the catalog",
                        extra={"streams": self.restored})

    async def _publish_all(self, values: list[dict]) -> None:
        for stream in values:
            await self.publish(stream["DeliveryStreamName"], stream)

    def streams(self) -> list[dict]:
        return sorted(list(self.values.values()), key=lambda s: s["DeliveryStreamName"])

    async def publish(self, name: str, stream: dict | None) -> None:
        """Write a stream's new value (None: deleted) and apply it here once Kafka has it."""
        value = orjson.dumps(stream) if stream is not None else None
        [result] = await self.producer.send(self.topic, [(0, name.encode(), value, None)])
        if not isinstance(result, int):
            raise CatalogWriteFailed(str(result))
        self._apply_value(name, stream, result)


class KinesisSources(JsonView):
    """The Kinesis catalog, read only: which topics hold a source stream's records."""

    what = "Kinesis catalog"

    def __init__(self, kafka: Kafka):
        super().__init__(kafka, KINESIS_CATALOG_TOPIC)
