"""The connector as a part of the server: serves the DynamoDB Streams API from Kafka alone."""

from __future__ import annotations

from typing import Any

from connector.catalog import StreamCatalog
from connector.context import ConnectorContext
from connector.kafka import Offsets, ReaderPool
from connector.operations import dynamodb_streams
from connector.settings import Settings
from connector.shards import Shards
from table_api.kafka import Kafka


class Connector:
    name = "connector"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = [dynamodb_streams.SERVICE]
        self.context: ConnectorContext | None = None
        self.kafka_servers: str | None = None

    def start(self, env: dict[str, Any]) -> None:
        self.kafka_servers = self.settings.kafka_bootstrap_servers or env.get("kafka_bootstrap_servers")
        if not self.kafka_servers:
            raise RuntimeError("the connector needs Kafka: set KAFKA_BOOTSTRAP_SERVERS")
        kafka = Kafka(self.kafka_servers)
        catalog = StreamCatalog(kafka)
        catalog.start()
        shards = Shards(kafka, ReaderPool(self.kafka_servers, self.settings.readers), Offsets(kafka))
        self.context = ConnectorContext(self.settings, catalog, shards)

    def stop(self) -> None:
        if self.context is not None:
            self.context.catalog.stop()
            self.context.shards.pool.close()

    def health(self) -> dict[str, Any]:
        pool = self.context.shards.pool
        return {
            "kafka_bootstrap_servers": self.kafka_servers,
            "streams": len(self.context.catalog.streams),
            "readers": pool.count,
            "reader_reuses": pool.hits,
            "reader_seeks": pool.seeks,
        }
