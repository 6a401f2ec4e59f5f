"""What every connector operation gets."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_json.background import BackgroundWork
from connector.catalog import StreamCatalog
from connector.kinesis_catalog import KinesisCatalog
from connector.settings import Settings
from connector.shards import Shards
from kafka_io.producer import RecordProducer
from monitoring.handles import DynamoDBSeries, KinesisSeries
from monitoring.store import MetricStore


@dataclass
class ConnectorContext:
    settings: Settings
    catalog: StreamCatalog
    shards: Shards
    kinesis: KinesisCatalog | None = None  # Kinesis stream metadata
    producer: RecordProducer | None = None  # Kinesis PutRecord(s) and catalog writes
    work: BackgroundWork = field(default_factory=BackgroundWork)  # per-stream locks, background state changes
    # CloudWatch's series (connector/metrics.py): GetRecords of DynamoDB streams, Kinesis streams
    store: MetricStore = field(default_factory=MetricStore)
    dynamodb_metrics: DynamoDBSeries = field(init=False)
    kinesis_metrics: KinesisSeries = field(init=False)

    def __post_init__(self) -> None:
        self.dynamodb_metrics = DynamoDBSeries(self.store)
        self.kinesis_metrics = KinesisSeries(self.store)
