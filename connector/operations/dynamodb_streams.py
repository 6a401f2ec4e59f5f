"""The DynamoDB Streams API over Kafka: ListStreams, DescribeStream, GetShardIterator,
GetRecords. A stream is a topic (its metadata from the catalog), a shard a partition, a
sequence number the record's offset."""

from __future__ import annotations

import asyncio
import re

import orjson

from aws_json.protocol import Service
from connector import errors
from connector.context import ConnectorContext
from connector.errors import ExpiredIteratorException, ResourceNotFoundException, ValidationException
from connector.ids import InvalidIdentifier, ShardIterator, offset_of, parse_shard_id, sequence_number, shard_id
from connector.shards import now_ms
from contracts.stream_catalog import label_millis
from schemas import codec

SERVICE = Service("dynamodbstreams", "2012-08-10", errors)
MAX_RECORDS = 1000
MAX_RESPONSE_BYTES = 1024 * 1024
NEW_STREAM_GRACE_MS = 3000
ENVELOPE_BYTES = 1024  # {"Records":[...],"NextShardIterator":"..."} around the records, with room
STREAM_ARN = re.compile(
    r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}/stream/"
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}"
)


@SERVICE.operation("ListStreams")
def list_streams(ctx: ConnectorContext, req: dict) -> dict:
    limit = checked_limit(req, 100)
    start = req.get("ExclusiveStartStreamArn")
    if start is not None:
        check_stream_arn(start, "exclusiveStartStreamArn")
    streams = [s for s in ctx.catalog.listed(now_ms()) if s["TableName"] == req.get("TableName", s["TableName"])]
    if start is not None:
        arns = [s["StreamArn"] for s in streams]
        streams = streams[arns.index(start) + 1:] if start in arns else []
    page = streams[:limit]
    result: dict = {"Streams": [{k: s[k] for k in ("StreamArn", "TableName", "StreamLabel")} for s in page]}
    if len(streams) > limit:
        result["LastEvaluatedStreamArn"] = page[-1]["StreamArn"]
    return result


@SERVICE.operation("DescribeStream")
async def describe_stream(ctx: ConnectorContext, req: dict) -> dict:
    limit = checked_limit(req, 100)
    start = req.get("ExclusiveStartShardId")
    if start is not None:
        check_shard_id(start, "exclusiveStartShardId")
    stream = await asyncio.to_thread(find_stream, ctx, req["StreamArn"])
    partitions = list(range(stream["Shards"]))
    if start is not None:
        partitions = [p for p in partitions if p > shard_partition(stream, start)]
    page = partitions[:limit]
    # Side by side: each shard's trim horizon is a read on its own reader (~10-40 ms after a seek).
    shards = await asyncio.gather(*(asyncio.to_thread(describe_shard, ctx, stream, p) for p in page))
    description = {
        "StreamArn": stream["StreamArn"],
        "StreamLabel": stream["StreamLabel"],
        "StreamStatus": stream["StreamStatus"],
        "StreamViewType": stream["StreamViewType"],
        "CreationRequestDateTime": stream["CreationRequestDateTime"],
        "TableName": stream["TableName"],
        "KeySchema": stream["KeySchema"],
        "Shards": shards,
    }
    if len(partitions) > limit:
        description["LastEvaluatedShardId"] = shards[-1]["ShardId"]
    return {"StreamDescription": description}


@SERVICE.operation("GetShardIterator")
async def get_shard_iterator(ctx: ConnectorContext, req: dict) -> dict:
    check_shard_id(req["ShardId"], "shardId")
    stream = await asyncio.to_thread(find_stream, ctx, req["StreamArn"])
    partition = shard_partition(stream, req["ShardId"])
    offset = await asyncio.to_thread(iterator_offset, ctx, stream, partition, req)
    iterator = ShardIterator(stream["StreamArn"], partition, offset, now_ms())
    return {"ShardIterator": iterator.encode(ctx.settings.iterator_secret)}


@SERVICE.operation("GetRecords")
async def get_records(ctx: ConnectorContext, req: dict) -> dict:
    limit = checked_limit(req, MAX_RECORDS)
    iterator = decode_iterator(ctx, req["ShardIterator"])
    return await asyncio.to_thread(read_records, ctx, iterator, limit)


def read_records(ctx: ConnectorContext, iterator: ShardIterator, limit: int) -> dict:
    stream = find_stream(ctx, iterator.stream)
    topic, size = stream["Topic"], ENVELOPE_BYTES
    records: list[orjson.Fragment] = []

    def fits(message) -> bool:
        nonlocal size
        record = orjson.dumps(stream_record(message))  # once: measured here, embedded as is in the response
        size += len(record) + 1  # and its comma
        if size > MAX_RESPONSE_BYTES and records:
            return False
        records.append(orjson.Fragment(record))
        return True

    _, next_offset = ctx.shards.read(topic, iterator.partition, iterator.offset, limit, stream["RetentionMs"], fits)
    result: dict = {"Records": records}
    closed = stream["StreamStatus"] == "DISABLED"
    if not (closed and next_offset >= ctx.shards.end(topic, iterator.partition, closed=True)):
        following = ShardIterator(stream["StreamArn"], iterator.partition, next_offset, now_ms())
        result["NextShardIterator"] = following.encode(ctx.settings.iterator_secret)
    return result


def stream_record(message) -> dict:
    """A Kafka record as DynamoDB Streams shows it."""
    event = codec.decode_event(codec.unframe(message.value())[1])
    data = event["dynamodb"]
    # Epoch seconds "rounded down to the closest second", as DynamoDB Streams documents it.
    data["ApproximateCreationDateTime"] = data["ApproximateCreationDateTime"] // 1000
    data["SequenceNumber"] = sequence_number(message.offset())
    record = {k: event[k] for k in ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion")}
    record["dynamodb"] = data
    if "userIdentity" in event:
        identity = event["userIdentity"]
        record["userIdentity"] = {"PrincipalId": identity["principalId"], "Type": identity["type"]}
    return record


def check_stream_arn(arn: str, member: str = "streamArn") -> None:
    if not STREAM_ARN.fullmatch(arn):
        raise ValidationException(f"Invalid {member[0].upper()}{member[1:]}: {arn} is not a DynamoDB stream ARN")


def check_shard_id(text: str, member: str) -> None:
    try:
        parse_shard_id(text)
    except InvalidIdentifier:
        raise ValidationException(f"Invalid {member[0].upper()}{member[1:]}: {text} is not a shard id") from None


def find_stream(ctx: ConnectorContext, arn: str) -> dict:
    check_stream_arn(arn)
    stream = ctx.catalog.get(arn)
    if stream is None and now_ms() - label_millis(arn.rpartition("/")[2]) < NEW_STREAM_GRACE_MS:
        # Enabled a moment ago: its metadata may still be on its way to the catalog topic.
        stream = ctx.catalog.get(arn, wait_s=NEW_STREAM_GRACE_MS / 1000)
    if stream is None:
        raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")
    return stream


def shard_partition(stream: dict, text: str) -> int:
    try:
        created_ms, partition = parse_shard_id(text)
    except InvalidIdentifier:
        raise ResourceNotFoundException(f"Requested resource not found: Shard: {text} in Stream: {stream['StreamArn']} not found") from None
    if created_ms != label_millis(stream["StreamLabel"]) or partition >= stream["Shards"]:
        raise ResourceNotFoundException(f"Requested resource not found: Shard: {text} in Stream: {stream['StreamArn']} not found")
    return partition


def describe_shard(ctx: ConnectorContext, stream: dict, partition: int) -> dict:
    topic, closed = stream["Topic"], stream["StreamStatus"] == "DISABLED"
    start = ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"])
    numbers = {"StartingSequenceNumber": sequence_number(start)}
    if closed:
        end = ctx.shards.end(topic, partition, closed=True)
        numbers["EndingSequenceNumber"] = sequence_number(max(start, end - 1))
    return {"ShardId": shard_id(label_millis(stream["StreamLabel"]), partition), "SequenceNumberRange": numbers}


def iterator_offset(ctx: ConnectorContext, stream: dict, partition: int, req: dict) -> int:
    kind, topic = req["ShardIteratorType"], stream["Topic"]
    closed = stream["StreamStatus"] == "DISABLED"
    if kind == "TRIM_HORIZON":
        return ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"])
    if kind == "LATEST":
        return ctx.shards.end(topic, partition, closed)
    if kind not in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        raise ValidationException(f"Invalid ShardIteratorType: {kind}")
    if "SequenceNumber" not in req:
        raise ValidationException(f"SequenceNumber is required for ShardIteratorType {kind}")
    try:
        offset = offset_of(req["SequenceNumber"])
    except InvalidIdentifier:
        raise ValidationException(f"Invalid SequenceNumber: {req['SequenceNumber']}") from None
    if offset >= ctx.shards.end(topic, partition, closed):
        raise ValidationException(
            f"Invalid SequenceNumber {req['SequenceNumber']}: beyond the last record of shard {req['ShardId']}"
        )
    if offset < ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"]):
        raise errors.TrimmedDataAccessException()
    return offset + (kind == "AFTER_SEQUENCE_NUMBER")


def decode_iterator(ctx: ConnectorContext, token: str) -> ShardIterator:
    try:
        iterator = ShardIterator.decode(token, ctx.settings.iterator_secret)
    except InvalidIdentifier:
        raise ValidationException("Invalid ShardIterator") from None
    age_s = (now_ms() - iterator.issued_ms) / 1000
    if age_s > ctx.settings.streams_iterator_ttl_s:
        raise ExpiredIteratorException(
            f"Iterator expired: it was issued {age_s:.0f} s ago; iterators are valid for "
            f"{ctx.settings.streams_iterator_ttl_s:.0f} s"
        )
    return iterator


def checked_limit(req: dict, maximum: int) -> int:
    """The request's Limit (`maximum` when absent); above it, AWS's ValidationException (the
    model's own check covers the minimum of 1)."""
    limit = req.get("Limit", maximum)
    if limit > maximum:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}"
        )
    return limit
