"""What the tests of a table's Kinesis streaming destination share (tests/api/test_kinesis_destinations.py,
tests/integration/test_kinesis_destination_*.py): clients on one server, a destination made ACTIVE, and
the Kinesis stream's records read back as the JSON a consumer decodes."""

from __future__ import annotations

import json
import time

from tests.api.kinesis_helpers import shard_records

WAIT_S = 30.0  # generous: the machine may be loaded; records normally arrive within milliseconds


def stream_arn(kinesis, name: str) -> str:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def destination(ddb, table: str, arn: str) -> dict:
    found = [d for d in ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]
             if d["StreamArn"] == arn]
    assert len(found) == 1, found
    return found[0]


def wait_destination(ddb, table: str, arn: str, status: str, timeout_s: float = WAIT_S) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = destination(ddb, table, arn)
        if found["DestinationStatus"] == status:
            return found
        assert time.monotonic() < deadline, f"destination still {found['DestinationStatus']}, not {status}"
        time.sleep(0.05)


def enable_active(ddb, table: str, arn: str, **config) -> dict:
    extra = {"EnableKinesisStreamingConfiguration": config} if config else {}
    answer = ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn, **extra)
    wait_destination(ddb, table, arn, "ACTIVE")
    return answer


def all_records(kinesis, name: str) -> list[dict]:
    """Every record of the stream, shard by shard (each shard in order), as
    (shard id, Kinesis record, decoded JSON or None) dicts."""
    found = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        for record in shard_records(kinesis, name, shard["ShardId"]):
            found.append({"ShardId": shard["ShardId"], "Record": record, "Json": decoded(record["Data"])})
    return found


def decoded(data: bytes) -> dict | None:
    """A record's JSON (None: another writer's bytes)."""
    try:
        return json.loads(data)
    except ValueError:
        return None


def wait_records(kinesis, name: str, count: int, timeout_s: float = WAIT_S) -> list[dict]:
    """The stream's records once it holds at least `count` (and a moment more, to see any extra)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = all_records(kinesis, name)
        if len(found) >= count:
            time.sleep(0.3)
            return all_records(kinesis, name)
        assert time.monotonic() < deadline, f"{len(found)} records, not {count}"
        time.sleep(0.1)


def by_key(records: list[dict], attribute: str = "pk") -> dict[str, list[dict]]:
    """The decoded records per item key value, in stream order (one shard holds each key)."""
    grouped: dict[str, list[dict]] = {}
    for r in records:
        grouped.setdefault(r["Json"]["dynamodb"]["Keys"][attribute]["S"], []).append(r["Json"])
    return grouped
