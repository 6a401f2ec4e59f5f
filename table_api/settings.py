"""The table service's settings: one object, read from the environment (the CLI sets them too)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(env("CDC_BRIDGE_DATA_DIR", "./data")))
    region: str = field(default_factory=lambda: env("CDC_BRIDGE_REGION", env("AWS_DEFAULT_REGION", "us-east-1")))
    account_id: str = field(default_factory=lambda: env("CDC_BRIDGE_ACCOUNT_ID", "000000000000"))
    kafka_bootstrap_servers: str | None = field(default_factory=lambda: env("KAFKA_BOOTSTRAP_SERVERS"))
    public_url: str | None = None  # where clients reach this server (set by the command line)
    schema_registry_url: str | None = field(default_factory=lambda: env("SCHEMA_REGISTRY_URL"))
    stream_shards: int = field(default_factory=lambda: int(env("CDC_BRIDGE_STREAM_SHARDS", "4")))
    stream_retention_hours: float = field(default_factory=lambda: float(env("CDC_BRIDGE_STREAM_RETENTION_HOURS", "24")))
    # NORMAL: durable across a crash of the process; FULL: also across a power loss.
    sqlite_synchronous: str = field(default_factory=lambda: env("CDC_BRIDGE_SQLITE_SYNCHRONOUS", "NORMAL"))
    # DynamoDB's limit on an item collection of a table with an LSI (10 GB); lower it to reach it.
    item_collection_limit_bytes: int = field(
        default_factory=lambda: int(env("CDC_BRIDGE_ITEM_COLLECTION_LIMIT_BYTES", str(10 * 1024**3))))
    # A GSI added by UpdateTable is back-filled in batches of this many items, with at least this
    # pause between them so that writes go on meanwhile (a longer pause makes CREATING observable).
    backfill_batch_items: int = field(default_factory=lambda: int(env("CDC_BRIDGE_BACKFILL_BATCH_ITEMS", "200")))
    backfill_pause_seconds: float = field(
        default_factory=lambda: float(env("CDC_BRIDGE_BACKFILL_PAUSE_SECONDS", "0.001")))

    # Throttling (docs/design.md, "Capacity and throttling"): off unless asked for. On-demand tables
    # throttle past these units per second (DynamoDB's default per-table quotas) unless their
    # OnDemandThroughput sets a lower maximum.
    enforce_capacity: bool = field(default_factory=lambda: env("CDC_BRIDGE_ENFORCE_CAPACITY", "false").lower()
                                   in ("1", "true", "yes"))
    on_demand_read_limit: int = field(default_factory=lambda: int(env("CDC_BRIDGE_ON_DEMAND_READ_LIMIT", "40000")))
    on_demand_write_limit: int = field(default_factory=lambda: int(env("CDC_BRIDGE_ON_DEMAND_WRITE_LIMIT", "40000")))
    # Time to live: the sweeper's pass every this many seconds (a change of the setting settles at
    # the next pass), each pass deleting in transactions of at most this many items; and the
    # interval within which a table's TTL setting may not change again (DynamoDB: one hour).
    ttl_sweep_interval_s: float = field(default_factory=lambda: float(env("CDC_BRIDGE_TTL_SWEEP_INTERVAL", "30")))
    ttl_batch_items: int = field(default_factory=lambda: int(env("CDC_BRIDGE_TTL_BATCH_ITEMS", "25")))
    ttl_cooldown_s: float = field(default_factory=lambda: float(env("CDC_BRIDGE_TTL_COOLDOWN_SECONDS", "3600")))

    # This data directory's identity (cdc_bridge.data_dir.instance_id): names its outbox on the Kinesis
    # records of streaming destinations, whose partitions other writers share ("": the database path).
    instance_id: str = ""

    @property
    def stream_retention_ms(self) -> int:
        return int(self.stream_retention_hours * 3600 * 1000)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "tables.sqlite3"

    def table_arn(self, name: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{name}"
