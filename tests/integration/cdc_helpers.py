"""What the change-event tests share: reading a live server's change events back from Kafka the
way any Kafka consumer would, without asking the server how it did it.

`CdcProbe` is built from the endpoint's own `/health` (Kafka bootstrap servers and schema
registry URL) and offers: the topic of a table's stream, every record of a topic read to its true
end (PARTITION_EOF after a fetch, never ListOffsets, see shared/kafka-broker-notes.md), the stream
catalog topic, topic configs, and `/metrics`. Records are decoded here with the same framing and
schemas a stock consumer uses; `stock_value` / `stock_key` turn what a stock `AvroDeserializer`
returns into DynamoDB wire form independently of the server's codec.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from schemas import codec
from tests.api.helpers import create_table
from tests.conftest import client_kwargs
from tests.integration.kafka_reading import read_to_end

CATALOG_TOPIC = "_cdc_bridge_dynamodb_streams"
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
# The embedded broker joins a group in ~3 s with these instead of ~23 s with librdkafka's defaults.
FAST_GROUP = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "max.poll.interval.ms": 7000}
LABEL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def is_stream_topic(topic: str, table: str, label: str) -> bool:
    """Whether `topic` is the topic of the table's stream with this label:
    `dynamodb.<table>.<the label's timestamp>` (separators in the timestamp aside)."""
    prefix = f"dynamodb.{table}."
    return topic.startswith(prefix) and digits(topic[len(prefix):]) == digits(label)


@dataclass
class Event:
    """One Kafka record of a stream topic, decoded."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    timestamp_type: int
    headers: dict[str, bytes]
    key_schema_id: int
    value_schema_id: int
    key: dict  # the primary key, wire form
    value: dict  # the change event, DynamoDB Streams shape, wire form

    @property
    def name(self) -> str:
        return self.value["eventName"]

    @property
    def record(self) -> dict:
        return self.value["dynamodb"]

    @property
    def seq(self) -> int:
        return int.from_bytes(self.headers["cdc-bridge-seq"], "big")


class CdcProbe:
    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url
        self.http = httpx.Client(base_url=endpoint_url, timeout=30)
        health = self.http.get("/health").json()
        part = health.get("parts", {}).get("table_api", {})
        self.bootstrap_servers = part.get("kafka_bootstrap_servers")
        self.registry_url = part.get("schema_registry_url")
        if not self.bootstrap_servers or not self.registry_url:
            pytest.skip(f"{endpoint_url} publishes no change events to Kafka (health: {health})")
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})

    def close(self) -> None:
        self.http.close()

    # -- the server's own view -----------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        text = self.http.get("/metrics").text
        return {name: float(value) for name, value in
                (line.split() for line in text.splitlines() if line and not line.startswith("#"))}

    def wait_drained(self, timeout_s: float = 20.0) -> dict[str, float]:
        """Wait until the server's outbox is empty: every committed change is on Kafka (acked)."""
        deadline = time.monotonic() + timeout_s
        while True:
            metrics = self.metrics()
            if metrics.get("cdc_bridge_outbox_rows") == 0:
                return metrics
            if time.monotonic() > deadline:
                raise AssertionError(f"outbox not drained after {timeout_s}s: {metrics}")
            time.sleep(0.02)

    # -- topics ----------------------------------------------------------------------------------

    def topics(self) -> dict[str, int]:
        """Existing topics and their partition counts. (Metadata is asked for all topics: asking
        for one by name may create it on a broker that auto-creates topics.)"""
        metadata = self.admin.list_topics(timeout=10)
        return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}

    def partitions(self, topic: str) -> int:
        return self.topics().get(topic, 0)

    def stream_topic(self, table: str, label: str) -> str:
        """The topic of the table's stream with this label, once the server has created it."""
        self.wait_drained()
        found = [topic for topic in self.topics() if is_stream_topic(topic, table, label)]
        assert len(found) == 1, f"topics of stream {label} of {table}: {found}"
        return found[0]

    def table_topics(self, table: str) -> list[str]:
        return sorted(topic for topic in self.topics() if topic.startswith(f"dynamodb.{table}."))

    def topic_config(self, topic: str) -> dict[str, str]:
        resource = ConfigResource("topic", topic)
        config = self.admin.describe_configs([resource], request_timeout=10)[resource].result(10)
        return {name: entry.value for name, entry in config.items()}

    def read_raw(self, topic: str, timeout_s: float = 15.0) -> list:
        """Every record of every partition of `topic`, in partition then offset order."""
        count = self.partitions(topic)
        assert count > 0, f"topic {topic} does not exist"
        return read_to_end(self.bootstrap_servers, topic, list(range(count)), timeout_s)

    def events(self, topic: str, drain: bool = True) -> list[Event]:
        """The stream topic's events, decoded; by default after the outbox has drained, so this is
        everything committed so far."""
        if drain:
            self.wait_drained()
        return [decode(m) for m in self.read_raw(topic)]

    def catalog(self) -> dict[str, dict]:
        """The stream catalog: the latest metadata of each stream, by stream ARN."""
        self.wait_drained()
        latest = {}
        for message in self.read_raw(CATALOG_TOPIC):
            key = message.key().decode()
            latest[key] = None if message.value() is None else json.loads(message.value())
        return latest

    def subjects(self) -> list[str]:
        response = httpx.get(f"{self.registry_url.rstrip('/')}/subjects", timeout=10)
        response.raise_for_status()
        return response.json()

    def latest_schema_id(self, subject: str) -> int:
        response = httpx.get(f"{self.registry_url.rstrip('/')}/subjects/{subject}/versions/latest", timeout=10)
        response.raise_for_status()
        return response.json()["id"]


def decode(message) -> Event:
    key_id, key_body = codec.unframe(message.key())
    value_id, value_body = codec.unframe(message.value())
    timestamp_type, timestamp = message.timestamp()
    return Event(message.topic(), message.partition(), message.offset(), timestamp, timestamp_type,
                 dict(message.headers() or ()), key_id, value_id,
                 codec.decode_key(key_body), codec.decode_event(value_body))


# -- tables with streams -------------------------------------------------------------------------


def stream_spec(view_type: str | None) -> dict:
    return {"StreamEnabled": False} if view_type is None else {"StreamEnabled": True, "StreamViewType": view_type}


def create_stream_table(dynamodb, name: str, view_type: str | None = "NEW_AND_OLD_IMAGES",
                        hash_key=("pk", "S"), range_key=None) -> dict:
    """Create a table (with a stream of `view_type`); return its description."""
    create_table(dynamodb, name, hash_key, range_key, StreamSpecification=stream_spec(view_type))
    return dynamodb.describe_table(TableName=name)["Table"]


def latest_label(dynamodb, name: str) -> str:
    return dynamodb.describe_table(TableName=name)["Table"]["LatestStreamLabel"]


class Tables:
    """Tables created by one test, deleted after it."""

    def __init__(self, dynamodb):
        self.dynamodb = dynamodb
        self.names: list[str] = []

    def create(self, prefix: str = "cdc", view_type: str | None = "NEW_AND_OLD_IMAGES", **kwargs) -> str:
        name = unique_name(prefix)
        create_stream_table(self.dynamodb, name, view_type, **kwargs)
        self.names.append(name)
        return name

    def delete_all(self) -> None:
        for name in self.names:
            try:
                self.dynamodb.delete_table(TableName=name)
            except self.dynamodb.exceptions.ResourceNotFoundException:
                pass


def new_client(endpoint_url: str):
    return boto3.client("dynamodb", **client_kwargs(endpoint_url))


# -- items: wire form and comparison -------------------------------------------------------------


def wire(value: Any) -> Any:
    """An item or value as boto3's client takes it (bytes for B and BS) -> DynamoDB wire form
    (base64 strings), which is what events carry."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def comparable(value: Any) -> Any:
    """Wire form with sets sorted: the order of a set's members carries no meaning."""
    if isinstance(value, dict):
        out = {}
        for kind, inner in value.items():
            if kind in ("SS", "NS", "BS") and isinstance(inner, list):
                out[kind] = sorted(inner)
            else:
                out[kind] = comparable(inner)
        return out
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def same_item(a: dict | None, b: dict | None) -> bool:
    return comparable(a) == comparable(b)


def every_type_item(pk: str, version: int, **extra) -> dict:
    """An item (boto3 client form) holding every AttributeValue type, numbers in canonical form."""
    return {
        "pk": {"S": pk},
        "version": {"N": str(version)},
        "s": {"S": f"héllo wörld ✓ 𝄞 v{version}"},
        "empty": {"S": ""},
        "n38": {"N": "12345678901234567890123456789012345678"},
        "n38neg": {"N": "-0.00000000000000000000000000000000000012345678901234567890123456789012345678"},
        "nbig": {"N": "9" * 38 + "0" * 87},
        "b": {"B": bytes(range(256))},
        "bempty": {"B": b""},
        "t": {"BOOL": True},
        "f": {"BOOL": False},
        "nul": {"NULL": True},
        "m": {"M": {"inner": {"S": "x"}, "empty": {"M": {}},
                    "deep": {"M": {"l": {"L": [{"N": "1"}, {"B": b"\x00\xff"}, {"NULL": True}]}}}}},
        "l": {"L": [{"S": "a"}, {"N": "-2.5"}, {"BOOL": False}, {"L": []}, {"SS": ["q"]},
                    {"NS": ["1", "2"]}, {"BS": [b"\x01"]}, {"M": {"k": {"S": ""}}}]},
        "ss": {"SS": ["a", "b", "ü"]},
        "ns": {"NS": ["1", "-2.5", "12345678901234567890123456789012345678"]},
        "bs": {"BS": [b"\x00", b"\xff\xfe", b"abc"]},
        **extra,
    }


def created_ms(dt: datetime) -> int:
    return round((dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)


# -- what a stock AvroDeserializer returns -> wire form (independent of the server's codec) ------


def stock_attribute(record: dict) -> dict:
    present = [(kind, value) for kind, value in record.items() if value is not None]
    assert len(present) == 1, f"an AttributeValue record must have exactly one field set: {record}"
    kind, value = present[0]
    if kind == "M":
        return {"M": {name: stock_attribute(v) for name, v in value.items()}}
    if kind == "L":
        return {"L": [stock_attribute(v) for v in value]}
    if kind == "B":
        return {"B": base64.b64encode(value).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode("ascii") for v in value]}
    return {kind: value}


def stock_item(record: dict | None) -> dict | None:
    return None if record is None else {name: stock_attribute(v) for name, v in record.items()}
