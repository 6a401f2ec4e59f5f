"""The DynamoDB Streams API over Kafka: ListStreams, DescribeStream, GetShardIterator,
GetRecords. A stream is a topic (its metadata from the catalog), a shard a partition, a
sequence number the record's offset."""

from __future__ import annotations

import asyncio
import re
import time

import orjson

from aws_json.protocol import Service
from connector import errors
from connector.context import ConnectorContext
from connector.errors import ExpiredIteratorException, ResourceNotFoundException, ValidationException
from connector.ids import (
    InvalidIdentifier,
    ShardIterator,
    parse_sequence_number,
    parse_shard_id,
    sequence_number,
    shard_id,
    timestamp_ms,
)
from connector.metrics import record_returned
from connector.shards import now_ms
from contracts.stream_catalog import label_millis, stream_epoch
from schemas import codec

SERVICE = Service("dynamodbstreams", "2012-08-10")  # DynamoDB's error namespace (aws_json.errors)
MAX_RECORDS = 1000
MAX_RESPONSE_BYTES = 1024 * 1024
NEW_STREAM_GRACE_MS = 3000
# How long a GetRecords at the end of an open shard may wait for the shard's next write (in `up`):
# briefly after a page of records (a drain's last, empty page stays cheap), longer after an empty
# page, whose caller is tailing the shard: an idle poller then costs a call per 25 ms, not one per
# round trip, and its client's CPU goes to the pollers that have records (docs/design.md).
END_OF_SHARD_WAIT_S, IDLE_WAIT_S = 0.01, 0.025
ENVELOPE_BYTES = 1024  # {"Records":[...],"NextShardIterator":"..."} around the records, with room
# DynamoDB Streams' words for a shard id the stream does not have (what AWS answers, as quoted in
# user reports, e.g. ironSource/node-dynamodb-stream#16, opensearch-project/data-prepper#4401), and
# DynamoDB Local's for a sequence number outside the shard's range.
SHARD_NOT_FOUND = "Requested resource not found: Shard does not exist"
NOT_OF_THIS_SHARD = "Invalid SequenceNumber for the shard"
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
    shard_filter = req.get("ShardFilter")
    if shard_filter is not None:
        check_shard_filter(shard_filter)
    stream = await asyncio.to_thread(find_stream, ctx, req["StreamArn"])
    partitions = list(range(stream["Shards"]))
    if shard_filter is not None:
        # CHILD_SHARDS: our shards never split (a stream is one topic, Kafka cannot split a
        # partition), so a shard of the stream has no children; one it does not have is not found.
        shard_partition(stream, shard_filter["ShardId"])
        partitions = []
    if start is not None:
        # Any shard id, as DynamoDB Streams pages (and Kinesis documents for ExclusiveStartShardId):
        # the shards whose ids sort after it; one of the stream's own ids gives the next page.
        created_ms = label_millis(stream["StreamLabel"])
        partitions = [p for p in partitions if shard_id(created_ms, p) > start]
    page = partitions[:limit]
    if known_without_reads(stream):  # the usual case: no thread hop, no broker round trip
        shards = [describe_shard(ctx, stream, p) for p in page]
    else:  # side by side: each shard's first record (or end) read on a reader of its own
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
    stream, offset = await asyncio.to_thread(iterator_offset, ctx, stream, partition, req)
    iterator = ShardIterator(stream["StreamArn"], partition, offset, now_ms(), stream_epoch(stream))
    return {"ShardIterator": iterator.encode(ctx.settings.iterator_secret)}


@SERVICE.operation("GetRecords")
async def get_records(ctx: ConnectorContext, req: dict) -> dict:
    started = time.perf_counter()
    limit = checked_limit(req, MAX_RECORDS)
    iterator = decode_iterator(ctx, req["ShardIterator"])
    result = await asyncio.to_thread(read_records, ctx, iterator, limit)
    if not result["Records"] and "NextShardIterator" in result:
        # At the end of an open shard: in `cdc-bridge up` the next write of this shard wakes us
        # (a change reaches its poller ~1 ms after Kafka acknowledged it, not a poll later).
        topic = ctx.catalog.streams[iterator.stream]["Topic"]
        wait_s = IDLE_WAIT_S if iterator.idle else END_OF_SHARD_WAIT_S
        if await ctx.shards.wait_for_records(topic, iterator.partition, iterator.offset, wait_s):
            # What woke us is in the publisher's tail: read it here, without a thread hop.
            result = (read_records(ctx, iterator, limit, delivered_only=True)
                      or await asyncio.to_thread(read_records, ctx, iterator, limit))
    record_returned(ctx, iterator.stream, len(result["Records"]), time.perf_counter() - started)
    return result


def read_records(ctx: ConnectorContext, iterator: ShardIterator, limit: int, delivered_only: bool = False) -> dict | None:
    """A GetRecords page. With `delivered_only`, only from the records this process's publisher
    has just seen acknowledged (never blocking), and None when they do not hold the position."""
    stream = stream_of_iterator(ctx, iterator)
    closed = stream["StreamStatus"] == "DISABLED"
    if delivered_only and closed:
        return None  # its end is a Kafka lookup
    topic, size = stream["Topic"], ENVELOPE_BYTES
    records: list[orjson.Fragment] = []

    def fits(message) -> bool:
        nonlocal size
        record = orjson.dumps(stream_record(message, iterator.epoch, iterator.partition))  # once: measured here, embedded as is
        size += len(record) + 1  # and its comma
        if size > MAX_RESPONSE_BYTES and records:
            return False
        records.append(orjson.Fragment(record))
        return True

    page = ctx.shards.read(topic, iterator.partition, iterator.offset, limit, stream["RetentionMs"], fits,
                           delivered_only)
    if page is None:
        return None
    result: dict = {"Records": records}
    next_offset = page[1]
    if not (closed and next_offset >= ctx.shards.end(topic, iterator.partition, closed=True)):
        following = ShardIterator(stream["StreamArn"], iterator.partition, next_offset, now_ms(), iterator.epoch,
                                  idle=not records)
        result["NextShardIterator"] = following.encode(ctx.settings.iterator_secret)
    return result


def stream_record(message, epoch: int, partition: int) -> dict:
    """A Kafka record (of `partition` of a stream whose data is of `epoch`) as DynamoDB Streams
    shows it."""
    event = codec.decode_event(codec.unframe(message.value())[1])
    data = event["dynamodb"]
    # Epoch seconds "rounded down to the closest second", as DynamoDB Streams documents it.
    data["ApproximateCreationDateTime"] = data["ApproximateCreationDateTime"] // 1000
    data["SequenceNumber"] = sequence_number(epoch, partition, message.offset())
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
        raise ResourceNotFoundException(SHARD_NOT_FOUND) from None
    if created_ms != label_millis(stream["StreamLabel"]) or partition >= stream["Shards"]:
        raise ResourceNotFoundException(SHARD_NOT_FOUND)
    return partition


def check_shard_filter(shard_filter: dict) -> None:
    """DescribeStream's ShardFilter: the model makes neither member required; CHILD_SHARDS (its
    only type) needs the parent's ShardId."""
    if shard_filter.get("Type") is None:
        raise ValidationException("Invalid ShardFilter: Type is required; the only type is CHILD_SHARDS")
    if shard_filter.get("ShardId") is None:
        raise ValidationException("Invalid ShardFilter: ShardId is required for the type CHILD_SHARDS")
    check_shard_id(shard_filter["ShardId"], "shardFilter.shardId")


def describe_shard(ctx: ConnectorContext, stream: dict, partition: int) -> dict:
    topic, closed = stream["Topic"], stream["StreamStatus"] == "DISABLED"
    start = ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"], born_ms(stream))
    epoch = stream_epoch(stream)
    # An empty shard's starting number is the one its first record will get (see iterator_offset).
    numbers = {"StartingSequenceNumber": sequence_number(epoch, partition, start)}
    if closed:
        end = ctx.shards.end(topic, partition, closed=True)
        numbers["EndingSequenceNumber"] = sequence_number(epoch, partition, max(start, end - 1))
    return {"ShardId": shard_id(label_millis(stream["StreamLabel"]), partition), "SequenceNumberRange": numbers}


def known_without_reads(stream: dict) -> bool:
    """An enabled stream younger than its retention: every shard starts at offset 0 and has no
    end (see ShardOffsets.trim_horizon), so describing it reads nothing from the broker."""
    return stream["StreamStatus"] != "DISABLED" and born_ms(stream) >= now_ms() - stream["RetentionMs"]


def born_ms(stream: dict) -> int:
    """When the stream's topic was made: at its creation (a topic made again later, when the
    broker had lost it, is younger still)."""
    return int(stream["CreationRequestDateTime"] * 1000)


def timestamp_offset(ctx: ConnectorContext, stream: dict, partition: int, timestamp) -> int:
    """AT_TIMESTAMP, as the API documents it: the first record created at or after the timestamp;
    one older than the trim horizon starts at the trim horizon; a future one is refused."""
    if timestamp is None:
        raise ValidationException("Timestamp is required for ShardIteratorType AT_TIMESTAMP")
    try:
        moment = timestamp_ms(timestamp)
    except InvalidIdentifier:
        raise ValidationException(f"Invalid Timestamp: {timestamp}") from None
    now = now_ms()
    if moment > now:
        raise ValidationException(f"Invalid Timestamp: {timestamp} is in the future")
    if moment <= now - stream["RetentionMs"]:
        return ctx.shards.trim_horizon(stream["Topic"], partition, stream["RetentionMs"], born_ms(stream))
    return ctx.shards.offsets.first_at_or_after(stream["Topic"], partition, moment)


def iterator_offset(ctx: ConnectorContext, stream: dict, partition: int, req: dict) -> tuple[dict, int]:
    """(the stream as the position was checked against, the offset the iterator starts at)."""
    kind, topic = req["ShardIteratorType"], stream["Topic"]
    closed = stream["StreamStatus"] == "DISABLED"
    if kind == "TRIM_HORIZON":
        return stream, ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"], born_ms(stream))
    if kind == "LATEST":
        return stream, ctx.shards.end(topic, partition, closed)
    if kind == "AT_TIMESTAMP":
        return stream, timestamp_offset(ctx, stream, partition, req.get("Timestamp"))
    if kind not in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        raise ValidationException(f"Invalid ShardIteratorType: {kind}")
    if "SequenceNumber" not in req:
        raise ValidationException(f"SequenceNumber is required for ShardIteratorType {kind}")
    try:
        epoch, number_partition, offset = parse_sequence_number(req["SequenceNumber"])
    except InvalidIdentifier:
        raise ValidationException(f"Invalid SequenceNumber: {req['SequenceNumber']}") from None
    if number_partition != partition:  # a number of another shard of the stream
        raise ValidationException(NOT_OF_THIS_SHARD)
    stream = at_least_epoch(ctx, stream, epoch)
    if epoch < stream_epoch(stream):  # a position in data the broker lost
        raise errors.TrimmedDataAccessException()
    if epoch > stream_epoch(stream):  # a number this stream never gave out
        raise ValidationException(NOT_OF_THIS_SHARD)
    end = ctx.shards.end(topic, partition, closed)
    horizon = ctx.shards.trim_horizon(topic, partition, stream["RetentionMs"], born_ms(stream))
    if offset < horizon:
        raise errors.TrimmedDataAccessException()
    if offset >= end:
        if offset == horizon == end:
            # The StartingSequenceNumber DescribeStream gives an empty shard: it names no record
            # yet, so both AT and AFTER start at the first record written to the shard.
            return stream, offset
        raise ValidationException(NOT_OF_THIS_SHARD)
    return stream, offset + (kind == "AFTER_SEQUENCE_NUMBER")


def at_least_epoch(ctx: ConnectorContext, stream: dict, epoch: int) -> dict:
    """The stream, synced with the catalog first when a position names a newer epoch than ours
    (another instance saw the stream published again before we did)."""
    if epoch > stream_epoch(stream):
        ctx.catalog.sync()
        stream = ctx.catalog.get(stream["StreamArn"]) or stream
    return stream


def stream_of_iterator(ctx: ConnectorContext, iterator: ShardIterator) -> dict:
    """The iterator's stream, if its position is still in the stream's data: an iterator of an
    older epoch points into data the broker lost (TrimmedDataAccessException), a newer one is
    not ours."""
    stream = at_least_epoch(ctx, find_stream(ctx, iterator.stream), iterator.epoch)
    if iterator.epoch < stream_epoch(stream):
        raise errors.TrimmedDataAccessException()
    if iterator.epoch > stream_epoch(stream) or iterator.partition >= stream["Shards"]:
        raise ValidationException("Invalid ShardIterator")
    return stream


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
