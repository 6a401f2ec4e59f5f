"""The table service as a part of the server: its lifespan opens the storage and hands every
operation one `Context`."""

from __future__ import annotations

from typing import Any

from table_api.context import Context
from table_api.operations import SERVICE
from table_api.settings import Settings
from table_api.storage.sqlite import SqliteStorage


class TableApi:
    name = "table_api"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.services = [SERVICE]
        self.context: Context | None = None
        self.kafka: str | None = None

    def start(self, env: dict[str, Any]) -> None:
        storage = SqliteStorage(self.settings.db_path, self.settings.sqlite_synchronous)
        self.context = Context(self.settings, storage)
        self.kafka = self.settings.kafka_bootstrap_servers or env.get("kafka_bootstrap_servers")

    def stop(self) -> None:
        if self.context is not None:
            self.context.storage.close()

    def health(self) -> dict[str, Any]:
        return {
            "region": self.settings.region,
            "database": str(self.settings.db_path),
            "kafka_bootstrap_servers": self.kafka,
        }
