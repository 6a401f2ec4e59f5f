"""Delivery stream metadata in the compacted topic `_cdc_bridge_firehose_streams` (key: the
stream's name, value: its stored form as JSON, a tombstone once deleted), rebuilt in memory by
tailing it, as the Kinesis catalog does; plus a read-only view of the Kinesis catalog, the
sources of KinesisStreamAsSource streams."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from contracts.kinesis_streams import CATALOG_TOPIC as KINESIS_CATALOG_TOPIC
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from kafka_io.topic_view import JsonView

CATALOG_TOPIC = "_cdc_bridge_firehose_streams"


class CatalogWriteFailed(RuntimeError):
    pass


class DeliveryCatalog(JsonView):
    what = "Firehose catalog"

    def __init__(self, kafka: Kafka, producer: RecordProducer, on_change: Callable[[str, dict | None], None]):
        super().__init__(kafka, CATALOG_TOPIC, on_change)
        self.producer = producer

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
