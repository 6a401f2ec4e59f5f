"""The contract between the table service, which writes DynamoDB streams, and the connector,
which serves them: topic names, stream labels and the catalog topic.

Every stream change (enable, disable) is a record of the compacted topic CATALOG_TOPIC: key the
stream ARN, value the stream's description as JSON (`catalog_payload`): StreamArn, StreamLabel,
StreamViewType, StreamStatus, CreationRequestDateTime (epoch seconds), TableName, KeySchema,
Topic, Shards (partition count), RetentionMs, DisabledDateTime once disabled, and Epoch.

Epoch (an integer, 0 when absent: catalogs written before it existed still read) counts the times
the stream's data was lost: when the broker no longer has the stream's topic (an in-memory broker
restarted), the table service makes the topic again under the same name and publishes the stream
again with Epoch raised by one. ARN, label, shards, view type and retention stay. The connector puts
the epoch into every sequence number and shard iterator, so a position from before the loss is
recognised (TrimmedDataAccessException) instead of naming whatever record now has its offset.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import orjson

CATALOG_TOPIC = "_cdc_bridge_dynamodb_streams"
MAX_TOPIC_LENGTH = 249


def stream_label(now: float, previous: list[dict]) -> str:
    """DynamoDB's label shape (an ISO timestamp with milliseconds), unique per table."""
    millis = int(now * 1000)
    if previous:
        millis = max(millis, label_millis(previous[-1]["StreamLabel"]) + 1)
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}"


def label_millis(label: str) -> int:
    # fromisoformat, not strptime: the first strptime of a process imports and compiles its locale
    # tables (a first DescribeStream took ~4 ms instead of ~1 ms)
    moment = datetime.fromisoformat(label).replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def topic_name(table: str, label: str) -> str:
    """`dynamodb.<table>.<label digits>`; table names are valid topic characters already.
    Kafka allows 249 characters: a longer table name is cut and made unique by a hash."""
    stamp = label.replace("-", "").replace(":", "").replace(".", "")
    name = f"dynamodb.{table}.{stamp}"
    if len(name) > MAX_TOPIC_LENGTH:
        digest = hashlib.sha256(table.encode()).hexdigest()[:12]
        name = f"dynamodb.{table[: MAX_TOPIC_LENGTH - len(stamp) - 24]}.{digest}.{stamp}"
    return name


def stream_epoch(stream: dict) -> int:
    """The epoch of a stream's data (see above); 0 for a stream published before epochs existed."""
    return stream.get("Epoch", 0)


def catalog_payload(stream: dict) -> bytes:
    return orjson.dumps(stream)
