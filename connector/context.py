"""What every connector operation gets."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_json.background import BackgroundWork
from connector.catalog import StreamCatalog
from connector.kinesis_catalog import KinesisCatalog
from connector.settings import Settings
from connector.shards import Shards
from kafka_io.producer import RecordProducer


@dataclass
class ConnectorContext:
    settings: Settings
    catalog: StreamCatalog
    shards: Shards
    kinesis: KinesisCatalog | None = None  # Kinesis stream metadata
    producer: RecordProducer | None = None  # Kinesis PutRecord(s) and catalog writes
    work: BackgroundWork = field(default_factory=BackgroundWork)  # per-stream locks, background state changes
