"""DynamoDB streams of a table, mapped onto Kafka: one topic per stream, one partition per shard.

A table's streams live in its stored description under the internal key `Streams` (never shown
by DescribeTable): every enable creates a new stream with a new label, ARN and topic; disabling
marks it DISABLED and keeps it (its topic stays until its retention has passed). Each stream
change is also an outbox row of kind "stream", so the publisher creates the topic and publishes
the stream's metadata to the catalog topic, in order with the events.

When Kafka has lost a stream's topic (an in-memory broker restarted), the stream stays what it was
(ARN, label, shards, view type, retention) and its `Epoch` is raised by one (`next_epoch`): the
topic is made again under the same name, and sequence numbers of the old data are recognised as
trimmed (see contracts/stream_catalog.py).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time

from contracts.stream_catalog import stream_epoch, stream_label, topic_name
from table_api.errors import ValidationException
from table_api.keys import KeySchema, encode_key_value
from table_api.values import Item, item_size

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
INVALID = "One or more parameter values were invalid: "


def active_stream(description: dict) -> dict | None:
    streams = description.get("Streams") or ()
    return streams[-1] if streams and streams[-1]["StreamStatus"] == "ENABLED" else None


def check_specification(spec: dict, table: str, current: dict | None, creating: bool) -> bool | None:
    """Validate a StreamSpecification against the table's current stream.
    Returns True to enable a stream, False to disable it, None when nothing changes
    (StreamEnabled=false at CreateTable)."""
    view_type = spec.get("StreamViewType")
    if spec["StreamEnabled"]:
        if view_type is None:
            raise ValidationException(INVALID + "You must specify a StreamViewType when enabling a stream")
        if current is not None:
            raise ValidationException(f"Table already has an enabled stream: TableName: {table}")
        return True
    if current is not None:
        return False
    if creating:
        return None
    raise ValidationException(f"Table has no stream to disable: TableName: {table}")


def new_stream(arn_prefix: str, table: str, key_schema: list, view_type: str, shards: int,
               retention_ms: int, previous: list[dict]) -> dict:
    now = time.time()
    label = stream_label(now, previous)
    return {
        "StreamArn": f"{arn_prefix}/stream/{label}",
        "StreamLabel": label,
        "StreamViewType": view_type,
        "StreamStatus": "ENABLED",
        "CreationRequestDateTime": now,
        "TableName": table,
        "KeySchema": key_schema,
        "Topic": topic_name(table, label),
        "Shards": shards,
        "RetentionMs": retention_ms,
        "Epoch": 0,
    }


def disabled(stream: dict) -> dict:
    return {**stream, "StreamStatus": "DISABLED", "DisabledDateTime": time.time()}


# Internal to the table service (stored, never published): a disabled stream whose topic the broker
# lost and that was published again without one (a disabled stream takes no more records, so its
# topic is not made again); its topic is then no longer expected to exist.
TOPIC_LOST = "TopicLost"


def next_epoch(stream: dict) -> dict:
    """The stream after Kafka lost its topic: the same stream, its data one epoch later."""
    stream = {**stream, "Epoch": stream_epoch(stream) + 1}
    if stream["StreamStatus"] == "DISABLED":
        stream[TOPIC_LOST] = True
    return stream


def within_retention(stream: dict, now: float) -> bool:
    """Enabled, or disabled less than its retention ago (the connector still lists it)."""
    disabled_at = stream.get("DisabledDateTime")
    return disabled_at is None or disabled_at * 1000 + stream["RetentionMs"] >= now * 1000


def published(stream: dict) -> dict:
    """The stream as the catalog topic gets it (without what only the table service keeps)."""
    return {k: v for k, v in stream.items() if k != TOPIC_LOST}


def partition_of(stream: dict, schema: KeySchema, key: Item) -> int:
    """A stable hash of the partition-key value: every change of an item, and of all items that
    share its partition key, lands in one ordered shard."""
    return partition_of_encoded(stream, encode_key_value(key[schema.hash_name]))


def partition_of_encoded(stream: dict, partition_key: bytes) -> int:
    """`partition_of` from the partition key value's `encode_key_value` bytes (a write has them
    already: the storage keys the item by them)."""
    digest = hashlib.md5(partition_key).digest()
    return int.from_bytes(digest[:8], "big") % stream["Shards"]


# eventIDs: 32 hex digits like DynamoDB's, unique without a random draw per event (os.urandom
# is a system call, ~30 us here): a random prefix per process and a counter.
_EVENT_ID_PREFIX = os.urandom(8).hex()
_event_numbers = itertools.count()


def next_event_id() -> str:
    return f"{_EVENT_ID_PREFIX}{next(_event_numbers):016x}"


def change_event(table: str, key: Item, old: Item | None, new: Item | None, view_type: str,
                 region: str, created_ms: int, user_identity: dict | None = None,
                 new_size: int | None = None, old_size: int | None = None) -> dict:
    """The DynamoDB Streams record of one item change, with images as the view type says.
    `new_size`, `old_size`: item_size(new), item_size(old), when the caller has them already."""
    record: dict = {"ApproximateCreationDateTime": created_ms, "Keys": key}
    if new is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["NewImage"] = new
    if old is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        record["OldImage"] = old
    sizes = {"NewImage": new_size, "OldImage": old_size}
    record["SizeBytes"] = sum(sizes.get(part) or item_size(record[part])
                              for part in ("Keys", "NewImage", "OldImage") if part in record)
    record["StreamViewType"] = view_type
    event = {
        "eventID": next_event_id(),
        "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "tableName": table,
        "dynamodb": record,
    }
    if user_identity is not None:
        event["userIdentity"] = user_identity
    return event
