"""The connector's settings, from the environment (the command line sets them too)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("cdc_bridge.connector")


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


ITERATOR_KEY_FILE = "iterator.key"
ITERATOR_KEY_BYTES = 32


def configured_secret() -> bytes | None:
    configured = env("CDC_BRIDGE_ITERATOR_SECRET")
    return configured.encode() if configured else None


def iterator_key(data_dir: Path | None) -> bytes:
    """The HMAC key of shard iterators when none is configured: `<data-dir>/iterator.key` (32
    random bytes, made on the first start, read on later ones), so that iterators survive a
    restart; without a data directory a random key valid for this process only."""
    if data_dir is None:
        log.info("no iterator secret and no data directory: shard iterators are valid on this instance only")
        return secrets.token_bytes(ITERATOR_KEY_BYTES)
    path = Path(data_dir) / ITERATOR_KEY_FILE
    if not path.exists():
        create_key(path)
    key = path.read_bytes()
    if len(key) != ITERATOR_KEY_BYTES:
        raise RuntimeError(f"{path} should hold {ITERATOR_KEY_BYTES} bytes, not {len(key)}: "
                           f"remove it to make a new key (iterators issued with the old one stop working)")
    return key


def create_key(path: Path) -> None:
    """Write a new key atomically, readable by its owner only: a temporary file (mode 0600) linked
    into place, so a concurrent start either makes the key or reads the one made first, never a
    partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_bytes(ITERATOR_KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another start made the key first: keep theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


@dataclass(frozen=True)
class Settings:
    region: str = field(default_factory=lambda: env("CDC_BRIDGE_REGION", env("AWS_DEFAULT_REGION", "us-east-1")))
    kafka_bootstrap_servers: str | None = field(default_factory=lambda: env("KAFKA_BOOTSTRAP_SERVERS"))
    # HMAC key of shard iterators: instances that share it accept each other's iterators. None:
    # the key in the data directory (see iterator_key), or a random one without a data directory.
    iterator_secret: bytes | None = field(default_factory=configured_secret)
    # The connector's durable state (iterator.key, kinesis-streams.json); None: nothing kept.
    data_dir: Path | None = None
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

    def __post_init__(self) -> None:
        if self.iterator_secret is None:
            object.__setattr__(self, "iterator_secret", iterator_key(self.data_dir))
