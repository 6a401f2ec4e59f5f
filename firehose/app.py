"""The Firehose-style delivery stream as a part of the server: the Firehose API on the shared port,
the delivery stream catalog on Kafka, and the deliverers that archive each stream's records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from firehose.authorization import firehose_checks
from firehose.catalog import DeliveryCatalog, KinesisSources
from firehose.context import FirehoseContext
from firehose.delivery import Deliveries
from firehose.operations import records, streams, tags
from firehose.service import SERVICE
from firehose.settings import Settings
from firehose.sinks import LocalArchive, S3Bucket
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from kafka_io.schema_registry import KafkaSchemaRegistry, RemoteSchemaRegistry

log = logging.getLogger("cdc_bridge.firehose")
OPERATION_MODULES = (streams, records, tags)  # each registers its operations on SERVICE
SERVICE.authorization = firehose_checks


class FirehosePart:
    name = "firehose"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = [SERVICE]
        self.context: FirehoseContext | None = None
        self.registry = None
        self.registry_lock = threading.Lock()

    def sink(self):
        s = self.settings
        if s.s3_endpoint_url:
            return S3Bucket(s.s3_endpoint_url, s.s3_access_key_id or "", s.s3_secret_access_key or "",
                            s.s3_region or s.region)
        return LocalArchive(s.archive_dir)

    def schemas(self):
        """The schema registry, opened on first use (only Avro conversion of CDC records needs it)."""
        with self.registry_lock:
            if self.registry is None:
                url = self.settings.schema_registry_url
                self.registry = RemoteSchemaRegistry(url) if url else KafkaSchemaRegistry(self.context.kafka)
                if not url:
                    self.registry.start()
            return self.registry

    def start(self, env: dict[str, Any]) -> None:
        servers = self.settings.kafka_bootstrap_servers or env.get("kafka_bootstrap_servers")
        if not servers:
            raise RuntimeError("the Firehose part needs Kafka: set KAFKA_BOOTSTRAP_SERVERS")
        kafka = Kafka(servers)
        producer = RecordProducer(kafka)
        sources = KinesisSources(kafka)
        deliveries = Deliveries(kafka, self.sink(), sources.get, self.schemas, self.settings.instance_id)
        sources.on_change = deliveries.source_changed
        # In `up`, the connector calls this when a Kinesis stream turns DELETING, before its topics go.
        env.setdefault("kinesis_deleting", []).append(deliveries.release_topics)
        sources.start()
        catalog = DeliveryCatalog(kafka, producer, deliveries.on_change, self.settings.data_dir)
        self.context = FirehoseContext(self.settings, kafka, catalog, sources, producer, deliveries)
        catalog.start()  # its tail starts a deliverer for each ACTIVE stream it reads
        self.finish_interrupted()

    def finish_interrupted(self) -> None:
        """Streams a stopped process left CREATING or DELETING: the task that would have finished
        them died with it, so finish them now, before the part says ready (in an event loop of this
        start thread; the locks it made belong to that loop and are dropped with it)."""
        ctx = self.context
        pending = [s for s in ctx.catalog.streams() if s["DeliveryStreamStatus"] in ("CREATING", "DELETING")]
        if not pending:
            return

        async def finish() -> None:
            for stream in pending:
                log.warning("finishing an interrupted state change", extra={
                    "stream": stream["DeliveryStreamName"], "status": stream["DeliveryStreamStatus"]})
                if stream["DeliveryStreamStatus"] == "CREATING":
                    await streams.activate(ctx, stream)
                else:
                    await streams.finish_deleting(ctx, stream)

        asyncio.run(finish())
        ctx.work.locks.clear()

    def stop(self) -> None:
        if self.context is None:
            return
        for task in list(self.context.work.tasks):
            with contextlib.suppress(RuntimeError):
                task.get_loop().call_soon_threadsafe(task.cancel)
        self.context.deliveries.close()
        self.context.catalog.stop()
        self.context.sources.stop()
        self.context.producer.close()
        if self.registry is not None:
            self.registry.stop()

    def health(self) -> dict[str, Any]:
        return {"delivery_streams": len(self.context.catalog.values),
                "delivering": len(self.context.deliveries.running),
                "destination": self.settings.s3_endpoint_url or str(self.settings.archive_dir)}

    def metrics(self) -> dict[str, float]:
        """Per stream: records and bytes delivered, objects written, data freshness (age of the
        oldest record read but not delivered yet) and the last object's delivery lag."""
        out: dict[str, float] = {}
        for name, stats in list(self.context.deliveries.stats.items()):
            label = f'{{delivery_stream="{name}"}}'
            out[f"cdc_bridge_firehose_records_delivered_total{label}"] = stats.records
            out[f"cdc_bridge_firehose_bytes_delivered_total{label}"] = stats.bytes
            out[f"cdc_bridge_firehose_object_bytes_total{label}"] = stats.object_bytes
            out[f"cdc_bridge_firehose_objects_total{label}"] = stats.objects
            out[f"cdc_bridge_firehose_failed_records_total{label}"] = stats.failed_records
            out[f"cdc_bridge_firehose_write_errors_total{label}"] = stats.write_errors
            out[f"cdc_bridge_firehose_data_freshness_seconds{label}"] = round(stats.freshness_s(), 3)
            out[f"cdc_bridge_firehose_delivery_lag_seconds{label}"] = round(stats.last_lag_s, 3)
        return out
