"""The Firehose part's settings (the command line fills them in)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    region: str
    account_id: str
    archive_dir: Path  # a folder per bucket, when no S3 endpoint is given
    kafka_bootstrap_servers: str | None = None
    s3_endpoint_url: str | None = None  # a real S3-compatible endpoint: objects go there instead
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None  # the region S3 requests are signed for (default: `region`)
    schema_registry_url: str | None = None  # for Avro conversion of CDC records (None: the registry topic)
    stream_limit: int = 5000  # delivery streams per account and region, as Firehose's default quota
    # The instance that delivers the streams it creates (cdc_bridge.data_dir.instance_id); "" delivers
    # every stream of the catalog.
    instance_id: str = ""
    # Where `firehose-streams.json` keeps the delivery stream definitions (restored from it when the
    # broker lost its catalog topic); None: kept in Kafka only.
    data_dir: Path | None = None
