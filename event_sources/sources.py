"""What a mapping reads: the shards of its source (a DynamoDB stream or a Kinesis stream, from the
connector's catalogs) and each record as Lambda puts it into the event, byte for byte: the DynamoDB
Streams record (with the same SequenceNumber GetRecords gives) plus eventSourceARN, or Lambda's
Kinesis record."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from connector.context import ConnectorContext
from connector.errors import ResourceNotFoundException, ValidationException
from connector.ids import (
    InvalidIdentifier,
    kinesis_sequence_number,
    kinesis_shard_id,
    parse_kinesis_stream_arn,
    shard_id,
)
from connector.kinesis_shards import retention_ms, visible_shards
from connector.operations.dynamodb_streams import born_ms, find_stream, stream_record
from contracts.stream_catalog import label_millis, stream_epoch
from lambda_api.errors import InvalidParameterValueException


@dataclass(frozen=True)
class Shard:
    """One shard of a source: a partition of a topic."""
    id: str
    topic: str
    partition: int
    epoch: int
    number: int  # Kinesis: the shard number in its sequence numbers; DynamoDB: the partition
    end_offset: int | None  # a closed shard's end (Kinesis, after resharding), else None
    retention_ms: int
    born_ms: int  # when its topic was made: nothing older can have been trimmed
    parents: tuple[str, ...] = ()  # the shard ids DescribeStream names as its parents (Kinesis resharding)


def is_kinesis(arn: str) -> bool:
    return ":kinesis:" in arn


def find_source(connector: ConnectorContext, arn: str) -> dict | None:
    """The stream's metadata; None when there is no such stream (any more)."""
    if is_kinesis(arn):
        try:
            return connector.kinesis.lookup(parse_kinesis_stream_arn(arn)[2])
        except InvalidIdentifier:
            return None
    return connector.catalog.get(arn)


def check_source(connector: ConnectorContext, arn: str) -> None:
    """CreateEventSourceMapping's check that the stream exists (Lambda's error when it does not).
    Blocking: a stream enabled a moment ago is waited for as the Streams API waits for it."""
    try:
        stream = find_source(connector, arn) if is_kinesis(arn) else find_stream(connector, arn)
    except (ResourceNotFoundException, ValidationException):
        stream = None
    if stream is None or (not is_kinesis(arn) and stream["StreamStatus"] == "DISABLED"):
        # Lambda's words for a stream it cannot read (it cannot tell a missing one from a forbidden one)
        actions = "GetRecords, GetShardIterator, DescribeStream, ListShards, and ListStreams" if is_kinesis(arn) \
            else "GetRecords, GetShardIterator, DescribeStream, and ListStreams"
        raise InvalidParameterValueException(f"Cannot access stream {arn}. Please ensure the role can perform the "
                                             f"{actions} Actions on your stream in IAM.")


def gone(connector: ConnectorContext, arn: str) -> bool:
    """A Kinesis stream being deleted (or deleted): its topics are about to go, and librdkafka crashes
    when a consumer stays assigned to a topic the embedded broker deletes, so its pollers must stop."""
    if not is_kinesis(arn):
        return False
    stream = find_source(connector, arn)
    return stream is None or stream.get("StreamStatus") == "DELETING"


def shards(connector: ConnectorContext, arn: str) -> list[Shard]:
    stream = find_source(connector, arn)
    if stream is None or gone(connector, arn):
        return []
    if is_kinesis(arn):
        now = int(time.time() * 1000)
        return [Shard(s.id, s.topic, s.partition, s.epoch, s.number, s.end_offset, retention_ms(stream), s.opened_ms,
                      tuple(kinesis_shard_id(p) for p in s.parents)) for s in visible_shards(stream, now)]
    created = label_millis(stream["StreamLabel"])
    return [Shard(shard_id(created, p), stream["Topic"], p, stream_epoch(stream), p, None, stream["RetentionMs"],
                  born_ms(stream)) for p in range(stream["Shards"])]


def dynamodb_record(message, shard: Shard, source_arn: str) -> dict:
    record = stream_record(message, shard.epoch, shard.partition)
    identity = record.pop("userIdentity", None)
    record["eventSourceARN"] = source_arn
    if identity is not None:  # TTL deletions; Lambda's event spells these members in lower case
        record["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
    return record


def kinesis_record(message, shard: Shard, source_arn: str, region: str, role_arn: str) -> dict:
    sequence = kinesis_sequence_number(shard.epoch, shard.number, message.offset())
    key = message.key()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": key.decode("utf-8", "replace") if key else "",
            "sequenceNumber": sequence,
            "data": base64.b64encode(message.value() or b"").decode(),
            "approximateArrivalTimestamp": message.timestamp()[1] / 1000,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard.id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": source_arn,
    }


def sequence_of(record: dict) -> str:
    return record["kinesis"]["sequenceNumber"] if "kinesis" in record else record["dynamodb"]["SequenceNumber"]


def arrival_ms(message) -> int:
    return message.timestamp()[1]
