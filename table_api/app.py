"""The table service as a part of the server: its start opens the storage, the publisher and
the schema registry, and hands every operation one `Context`."""

from __future__ import annotations

import logging
from typing import Any

from contracts.kinesis_streams import CATALOG_TOPIC as KINESIS_CATALOG_TOPIC, stream_topics
from kafka_io.client import Kafka
from kafka_io.delivered import DeliveredTail
from kafka_io.schema_registry import KafkaSchemaRegistry, RemoteSchemaRegistry
from kafka_io.schema_registry_http import registry_router
from kafka_io.topic_view import JsonView
from monitoring.handles import DynamoDBSeries, KinesisSeries
from table_api.backfill import resume_backfills
from table_api.capacity import Throttle
from table_api.context import Context
from table_api.kinesis_destinations import stream_gone
from table_api.metrics import observe
from table_api.operations import SERVICE
from table_api.operations.tables import active_topics, renew_lost_streams
from table_api.outbox import Publisher
from table_api.settings import Settings
from table_api.storage.sqlite import SqliteStorage
from table_api.sweeper import Sweeper

log = logging.getLogger("cdc_bridge.table_api")
SERVICE.observe = observe  # each call's outcome in CloudWatch's AWS/DynamoDB metrics (table_api/metrics.py)


class TableApi:
    name = "table_api"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = [SERVICE]
        self.context: Context | None = None
        self.kafka_servers: str | None = None
        self.registry: KafkaSchemaRegistry | RemoteSchemaRegistry | None = None
        self.publisher: Publisher | None = None
        self.sweeper: Sweeper | None = None
        self.kinesis: JsonView | None = None
        # Without SCHEMA_REGISTRY_URL we serve a Confluent-compatible registry on our port.
        self.routers = [] if settings.schema_registry_url else [registry_router(self.own_registry)]

    def start(self, env: dict[str, Any]) -> None:
        storage = SqliteStorage(self.settings.db_path, self.settings.sqlite_synchronous)
        self.context = ctx = Context(self.settings, storage)
        if "metrics" in env:  # the server's store: /metrics and the CloudWatch API read it
            ctx.metrics = DynamoDBSeries(env["metrics"])
        self.kinesis_metrics = KinesisSeries(ctx.metrics.store)  # Kinesis streaming destinations' records
        self.kinesis_names: dict[str, str] = {}  # a destination's Kafka topic -> its Kinesis stream's name
        if self.settings.enforce_capacity:
            ctx.throttle = Throttle(self.settings.on_demand_read_limit, self.settings.on_demand_write_limit)
        resume_backfills(ctx)  # index back-fills a stop interrupted go on where they were
        # Deletes expired items, its first pass one interval from now (by then the publisher below is
        # woken by its events; without Kafka they wait in the outbox like any others).
        self.sweeper = Sweeper(ctx)
        self.sweeper.start()
        self.kafka_servers = self.settings.kafka_bootstrap_servers or env.get("kafka_bootstrap_servers")
        if not self.kafka_servers:
            return  # no Kafka configured: tables work, change events are not published
        kafka = Kafka(self.kafka_servers)
        url = self.settings.schema_registry_url
        self.registry = RemoteSchemaRegistry(url) if url else KafkaSchemaRegistry(kafka)
        # What Kafka acknowledged, for a connector in this process (see DeliveredTail).
        tail = env["delivered_tail"] = DeliveredTail()

        def lost(topics: set[str]) -> None:
            tail.forget(topics)
            renew_lost_streams(ctx, topics)

        self.kinesis = ctx.kinesis = JsonView(kafka, KINESIS_CATALOG_TOPIC)
        try:  # where Kinesis streaming destinations send records (the connector writes this catalog)
            self.kinesis.start()
        except Exception as exc:  # noqa: BLE001 -- Kafka unreachable: the tail goes on reading once it can
            log.warning("could not read the Kinesis catalog at start", extra={"error": str(exc)})
        self.publisher = Publisher(
            kafka, storage, self.registry,
            active_topics=lambda: active_topics(ctx), on_lost_topics=lost, on_delivered=tail.add,
            origin=self.settings.instance_id,
            kinesis_stream_gone=lambda topic: stream_gone(list(self.kinesis.values.values()), topic),
            on_kinesis_delivered=self.count_kinesis_record,
        )
        try:  # before we say ready, so that DescribeTable and the connector know the renewed streams
            self.publisher.check_topics()
            self.publisher.publish_stream_definitions()
        except Exception as exc:  # Kafka unreachable: the publisher checks again when it connects
            log.warning("could not check stream topics at start", extra={"error": str(exc)})
        self.publisher.start()

    def count_kinesis_record(self, message) -> None:
        """A Kinesis streaming destination's record is in its stream: IncomingRecords and IncomingBytes
        of that stream, as AWS counts the records DynamoDB puts there."""
        name = self.kinesis_stream_of_topic(message.topic())
        if name is not None:
            stream = self.kinesis_metrics.stream(name)
            stream.incoming_records.add(1)
            stream.incoming_bytes.add(len(message.value() or b""))

    def kinesis_stream_of_topic(self, topic: str) -> str | None:
        name = self.kinesis_names.get(topic)
        if name is None:  # a topic not seen yet (few: one per shard generation of each destination)
            name = next((s.get("StreamName") for s in self.kinesis.values.values() if topic in stream_topics(s)), None)
            if name is not None:
                self.kinesis_names[topic] = name
        return name

    def own_registry(self) -> KafkaSchemaRegistry | None:
        """The embedded registry once the publisher has started it (None: answer 503)."""
        ready = self.publisher is not None and self.publisher.registry_started
        return self.registry if ready and isinstance(self.registry, KafkaSchemaRegistry) else None

    def stop(self) -> None:
        if self.sweeper is not None:  # before the storage closes under it
            self.sweeper.stop()
        if self.publisher is not None:
            self.publisher.stop()
            self.publisher.close()
        if self.kinesis is not None:
            self.kinesis.stop()
        if self.context is not None:
            self.context.storage.close()

    def health(self) -> dict[str, Any]:
        health = {
            "region": self.settings.region,
            "database": str(self.settings.db_path),
            "kafka_bootstrap_servers": self.kafka_servers,
            "schema_registry_url": self.settings.schema_registry_url or self.settings.public_url,
        }
        if self.publisher is not None:
            rows, _ = self.publisher.outbox_backlog()
            health.update(publisher_connected=self.publisher.connected, outbox_rows=rows)
        return health

    def metrics(self) -> dict[str, float]:
        return self.publisher.metrics() if self.publisher is not None else {}
