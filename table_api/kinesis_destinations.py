"""A table's Kinesis streaming destinations (Kinesis Data Streams for DynamoDB): what is stored, the
statuses DescribeKinesisStreamingDestination shows, and the record each item change becomes.

Stored in the table's description under the internal key `KinesisDestinations` (hidden from
DescribeTable, as DynamoDB keeps destinations out of it): a list, oldest first, of
`{"StreamArn", "Status": "ACTIVE" | "DISABLED", "Precision", "ChangedAt"}`. The transitional
statuses are derived from `ChangedAt` (ENABLING / DISABLING / UPDATING for TRANSITION_S after the
change), so nothing has to flip them and a restart keeps them right.

Records: every change of an item while a destination is ACTIVE (or ENABLING) is an outbox row of
kind "kinesis", appended in the item's own transaction (writes.py), for the Kinesis partition that
PutRecord would choose for our partition key (contracts/kinesis_streams.partition_for). The row's
payload is `<partition key>\\n<record JSON>`; the publisher produces the JSON as the Kafka value and
the partition key as the Kafka key, which is what a Kinesis record is here.
"""

from __future__ import annotations

import hashlib
import time

import orjson

from contracts.kinesis_streams import is_live, partition_for, stream_topics
from table_api.keys import KeySchema, encode_key_value
from table_api.streams import change_event
from table_api.values import Item

STORED = "KinesisDestinations"
PRECISIONS = ("MILLISECOND", "MICROSECOND")
DEFAULT_PRECISION = "MICROSECOND"  # DynamoDB's default for the record timestamp
TRANSITION_S = 1.0  # how long ENABLING / DISABLING / UPDATING are shown after the change
MAX_ACTIVE = 1  # one Kinesis data stream per table at a time (docs/design.md)
TRANSITIONAL = {"ACTIVE": "ENABLING", "DISABLED": "DISABLING"}


def destinations(description: dict) -> list[dict]:
    return list(description.get(STORED) or ())


def streaming(description: dict) -> list[dict]:
    """The destinations that take records now: ACTIVE ones (ENABLING included: records flow from
    the moment Enable answered, so none is lost between the answer and ACTIVE)."""
    return [d for d in description.get(STORED) or () if d["Status"] == "ACTIVE"]


def find(description: dict, stream_arn: str) -> dict | None:
    return next((d for d in destinations(description) if d["StreamArn"] == stream_arn), None)


def status(destination: dict, now: float) -> str:
    if now - destination["ChangedAt"] >= TRANSITION_S:
        return destination["Status"]
    if destination.get("Updated"):
        return "UPDATING"
    return TRANSITIONAL[destination["Status"]]


def described(destination: dict, now: float) -> dict:
    return {"StreamArn": destination["StreamArn"], "DestinationStatus": status(destination, now),
            "ApproximateCreationDateTimePrecision": destination["Precision"]}


def replaced(description: dict, destination: dict) -> dict:
    """The description with `destination` stored (replacing the entry of its stream, else added)."""
    kept = [d for d in destinations(description) if d["StreamArn"] != destination["StreamArn"]]
    return {**description, STORED: [*kept, destination]}


def new_state(stream_arn: str, status_: str, precision: str, updated: bool = False) -> dict:
    state = {"StreamArn": stream_arn, "Status": status_, "Precision": precision, "ChangedAt": time.time()}
    if updated:
        state["Updated"] = True
    return state


# -- the records ------------------------------------------------------------------------------------


def partition_key(table: str, schema: KeySchema, key: Item) -> str:
    """Ours (AWS documents none): 32 hex digits of MD5 over the table name, a NUL and the partition-key
    value's order-preserving encoding. Every change of an item, and of all items sharing its
    partition key, has one partition key, so one Kinesis shard keeps them in order."""
    digest = hashlib.md5(table.encode() + b"\0" + encode_key_value(key[schema.hash_name]))
    return digest.hexdigest()


def kinesis_record(table: str, key: Item, old: Item | None, new: Item | None, region: str, now_us: int,
                   precision: str, user_identity: dict | None, new_size: int | None) -> dict:
    """AWS's record for this feature: the DynamoDB Streams record with both images (the feature
    always sends NEW_AND_OLD_IMAGES), its timestamp in the destination's precision, and the
    members only Kinesis records have (recordFormat, userIdentity null unless a TTL deletion)."""
    created = now_us if precision == "MICROSECOND" else now_us // 1000
    event = change_event(table, key, old, new, "NEW_AND_OLD_IMAGES", region, created, user_identity, new_size)
    record = event["dynamodb"]
    del record["StreamViewType"]
    record["ApproximateCreationDateTimePrecision"] = precision
    return {"awsRegion": region, "eventID": event["eventID"], "eventName": event["eventName"],
            "userIdentity": user_identity, "recordFormat": "application/json", "tableName": table,
            "dynamodb": record, "eventSource": "aws:dynamodb"}


def outbox_rows(table: str, schema: KeySchema, key: Item, old: Item | None, new: Item | None, region: str,
                user_identity: dict | None, new_size: int | None, targets: list[tuple[dict, dict]]):
    """(topic, partition, payload, created ms) of each destination's record: `targets` pairs a
    streaming destination with its Kinesis stream's catalog value."""
    now_us = time.time_ns() // 1000
    pk = partition_key(table, schema, key)
    for destination, stream in targets:
        record = kinesis_record(table, key, old, new, region, now_us, destination["Precision"], user_identity, new_size)
        topic, partition = partition_for(stream, pk)
        yield topic, partition, pk.encode() + b"\n" + orjson.dumps(record), now_us // 1000


def split_payload(payload: bytes) -> tuple[bytes, bytes]:
    """(Kafka key = the partition key, Kafka value = the record JSON) of a "kinesis" outbox row."""
    key, _, value = payload.partition(b"\n")
    return key, value


def stream_gone(catalog: list[dict], topic: str) -> bool:
    """Whether the Kinesis stream a destination's record was routed to (by its topic) is gone for
    good: the catalog knows streams, and none live has this topic. An empty catalog proves nothing
    (a memory broker lost it; the connector restores its streams from its data directory)."""
    return bool(catalog) and not any(is_live(s) and topic in stream_topics(s) for s in catalog)
