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
