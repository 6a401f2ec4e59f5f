"""The connector as a part of the server: serves the DynamoDB Streams API and the Kinesis Data
Streams API from Kafka alone."""

from __future__ import annotations

import contextlib
from typing import Any

from connector.authorization import kinesis_checks, streams_checks
from connector.catalog import StreamCatalog
from connector.context import ConnectorContext
from connector.kinesis_catalog import KinesisCatalog
from connector.metrics import observe_kinesis, observe_streams
from connector.operations import dynamodb_streams, kinesis_admin, kinesis_records, kinesis_service, kinesis_streams
from connector.settings import Settings
from connector.shards import Shards
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from kafka_io.readers import Offsets, ReaderPool

# One Kinesis service: these modules register their operations on kinesis_service.SERVICE.
KINESIS_MODULES = (kinesis_streams, kinesis_admin, kinesis_records)
dynamodb_streams.SERVICE.authorization = streams_checks
kinesis_service.SERVICE.authorization = kinesis_checks
dynamodb_streams.SERVICE.observe = observe_streams  # CloudWatch's metrics of each call (connector/metrics.py)
kinesis_service.SERVICE.observe = observe_kinesis


class Connector:
    name = "connector"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = [dynamodb_streams.SERVICE, kinesis_service.SERVICE]
        self.context: ConnectorContext | None = None
        self.kafka_servers: str | None = None

    def start(self, env: dict[str, Any]) -> None:
        self.kafka_servers = self.settings.kafka_bootstrap_servers or env.get("kafka_bootstrap_servers")
        if not self.kafka_servers:
            raise RuntimeError("the connector needs Kafka: set KAFKA_BOOTSTRAP_SERVERS")
        kafka = Kafka(self.kafka_servers)
        catalog = StreamCatalog(kafka)
        catalog.start()
        delivered = env.get("delivered_tail")  # in `cdc-bridge up`: what the publisher saw acknowledged
        if delivered is not None:
            delivered.follow(catalog.topic, catalog.take_delivered)
        producer = RecordProducer(kafka)
        pool = ReaderPool(self.kafka_servers, self.settings.readers)
        # In `cdc-bridge up`, the records the publisher saw acknowledged: read without a fetch.
        shards = Shards(kafka, pool, Offsets(kafka, pool), delivered)
        # Other parts of this process that read Kinesis topics (Firehose deliveries) let go of a DELETING
        # stream's topics too, before they are deleted: they add themselves to this list.
        readers_of_topics = env.setdefault("kinesis_deleting", [])

        def deleting(topics: list[str]) -> None:
            shards.forget(topics)
            for release in list(readers_of_topics):
                release(topics)

        # With a data directory, Kinesis streams the broker lost are restored from it (see KinesisCatalog).
        kinesis = KinesisCatalog(kafka, producer, on_deleting=deleting, data_dir=self.settings.data_dir)
        kinesis.start()
        self.context = ConnectorContext(self.settings, catalog, shards, kinesis, producer,
                                        **({"store": env["metrics"]} if "metrics" in env else {}))
        env["connector"] = self.context  # for the event source mappings' pollers (event_sources/)

    def stop(self) -> None:
        if self.context is not None:
            for task in list(self.context.work.tasks):
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    task.get_loop().call_soon_threadsafe(task.cancel)
            self.context.catalog.stop()
            self.context.kinesis.stop()
            self.context.producer.close()
            self.context.shards.pool.close()

    def health(self) -> dict[str, Any]:
        pool = self.context.shards.pool
        return {
            "kafka_bootstrap_servers": self.kafka_servers,
            "streams": len(self.context.catalog.streams),
            "kinesis_streams": len(self.context.kinesis.live()),
            "kinesis_restored": len(self.context.kinesis.restored),
            "data_dir": str(self.settings.data_dir) if self.settings.data_dir is not None else None,
            "readers": pool.count,
            "reader_reuses": pool.hits,
            "reader_seeks": pool.seeks,
            "reader_parks": pool.parks,
            "reader_starved_reads": pool.starved,
        }
