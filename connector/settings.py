"""The connector's settings, from the environment (the command line sets them too)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field

log = logging.getLogger("cdc_bridge.connector")


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def iterator_secret() -> bytes:
    configured = env("CDC_BRIDGE_ITERATOR_SECRET")
    if configured:
        return configured.encode()
    log.info("CDC_BRIDGE_ITERATOR_SECRET is not set: shard iterators are valid on this instance only")
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class Settings:
    region: str = field(default_factory=lambda: env("CDC_BRIDGE_REGION", env("AWS_DEFAULT_REGION", "us-east-1")))
    kafka_bootstrap_servers: str | None = field(default_factory=lambda: env("KAFKA_BOOTSTRAP_SERVERS"))
    # HMAC key of shard iterators: instances that share it accept each other's iterators.
    iterator_secret: bytes = field(default_factory=iterator_secret)
    # DynamoDB Streams iterators expire after 15 minutes.
    streams_iterator_ttl_s: float = field(default_factory=lambda: float(env("CDC_BRIDGE_STREAMS_ITERATOR_TTL_SECONDS", "900")))
    readers: int = field(default_factory=lambda: int(env("CDC_BRIDGE_CONNECTOR_READERS", "64")))
    account_id: str = field(default_factory=lambda: env("CDC_BRIDGE_ACCOUNT_ID", "000000000000"))
    # Kinesis shard iterators expire after 5 minutes.
    kinesis_iterator_ttl_s: float = field(default_factory=lambda: float(env("CDC_BRIDGE_KINESIS_ITERATOR_TTL_SECONDS", "300")))
    # The shortest RetentionPeriodHours accepted (AWS: 24); lower it to test the retention trim.
    kinesis_min_retention_hours: int = field(default_factory=lambda: int(env("CDC_BRIDGE_KINESIS_MIN_RETENTION_HOURS", "24")))
    # Open shards of all Kinesis streams together (AWS's default account limit is 500 in us-east-1).
    kinesis_shard_limit: int = field(default_factory=lambda: int(env("CDC_BRIDGE_KINESIS_SHARD_LIMIT", "500")))
    # How long a Kinesis stream change waits for every instance to see it before acting on Kafka:
    # old shards still take records from instances that have not seen UpdateShardCount's new
    # generation; instances close their readers of a DELETING stream's topics before they go.
    kinesis_grace_s: float = field(default_factory=lambda: float(env("CDC_BRIDGE_KINESIS_GRACE_SECONDS", "2")))
