"""What every Firehose operation gets."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_json.background import BackgroundWork
from firehose.catalog import DeliveryCatalog, KinesisSources
from firehose.delivery import Deliveries
from firehose.settings import Settings
from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer


@dataclass
class FirehoseContext:
    settings: Settings
    kafka: Kafka
    catalog: DeliveryCatalog
    sources: KinesisSources
    producer: RecordProducer
    deliveries: Deliveries
    work: BackgroundWork = field(default_factory=BackgroundWork)  # per-stream locks, background state changes
