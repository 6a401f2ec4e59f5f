"""The Kinesis Data Streams API over Kafka, records: PutRecord, PutRecords, GetShardIterator,
GetRecords.

A record is a Kafka record of the stream's current topic generation: the data is the value byte
for byte, the partition key the key (UTF-8), an ExplicitHashKey rides in the header
`kinesis-explicit-hash-key`; the partition is the shard whose hash key range holds MD5(partition
key) (or the ExplicitHashKey). The sequence number is made from the shard and the offset the
broker acknowledged, so PutRecord(s) answer after the delivery report. ApproximateArrivalTimestamp
is the Kafka record's timestamp. Shard iterators are HMAC-signed (topic, partition, offset, issue
time) and expire after 5 minutes.
"""

from __future__ import annotations

import asyncio
import binascii
from email.utils import formatdate

from connector.context import ConnectorContext
from connector.ids import (
    HASH_KEYS,
    InvalidIdentifier,
    ShardIterator,
    hash_key,
    kinesis_sequence_number,
    kinesis_shard_id,
    parse_kinesis_sequence_number,
    parse_kinesis_shard_id,
)
from connector.kinesis_shards import (
    MAX_RECORDS,
    Shard,
    children,
    find_shard,
    now_ms,
    read_page,
    retention_ms,
    route,
    shards_of,
    stream_of_topic,
)
from connector.operations.kinesis_streams import SERVICE, E, find_stream, not_found, timestamp_ms

MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024
EXPLICIT_HASH_KEY_HEADER = "kinesis-explicit-hash-key"


# -- PutRecord, PutRecords --------------------------------------------------------------------------


async def writable_stream(ctx: ConnectorContext, req: dict) -> dict:
    if req.get("DryRun"):
        raise E.DryRunOperationException("Request would have succeeded, but the DryRun flag is set.")
    stream = await find_stream(ctx, req)
    if stream["StreamStatus"] not in ("ACTIVE", "UPDATING"):
        raise not_found(ctx, stream["StreamName"])
    return stream


def outgoing(stream: dict, entry: dict, path: str) -> tuple[str, int, int, tuple]:
    """(topic, shard number, data size, the Kafka record) of one PutRecord(s) entry."""
    key = entry.get("PartitionKey")
    if key is None:
        raise E.ValidationException(
            f"1 validation error detected: Value null at '{path}partitionKey' failed to satisfy constraint: "
            "Member must not be null"
        )
    data = binascii.a2b_base64(entry["Data"])  # the protocol layer has checked it is base64
    limit = stream["MaxRecordSizeInKiB"] * 1024
    if len(data) > limit:
        raise E.ValidationException(
            f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]' "
            f"at '{path}data' failed to satisfy constraint: Member must have length less than or equal to {limit}"
        )
    explicit = entry.get("ExplicitHashKey")
    headers = None
    if explicit is None:
        hashed = hash_key(key)
    else:
        hashed = int(explicit)
        if hashed >= HASH_KEYS:
            raise E.InvalidArgumentException(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                f"Specified value was {explicit}"
            )
        headers = [(EXPLICIT_HASH_KEY_HEADER, explicit.encode())]
    topic, partition, shard = route(stream, hashed)
    encoded_key = key.encode()
    return topic, shard, len(data) + len(encoded_key), (partition, encoded_key, data, headers)


@SERVICE.operation("PutRecord")
async def put_record(ctx: ConnectorContext, req: dict) -> dict:
    stream = await writable_stream(ctx, req)
    ordering = req.get("SequenceNumberForOrdering")
    if ordering is not None:
        try:
            parse_kinesis_sequence_number(ordering)
        except InvalidIdentifier:
            raise E.InvalidArgumentException(
                f"ExclusiveMinimumSequenceNumber {ordering} used in PutRecord on stream {stream['StreamName']} "
                f"under account {ctx.settings.account_id} is invalid."
            ) from None
    # Ordering holds anyway: records with one partition key share a partition, and one producer
    # keeps a partition in produce order.
    topic, shard, _, record = outgoing(stream, req, "")
    [offset] = await ctx.producer.send(topic, [record])
    if not isinstance(offset, int):
        raise E.InternalFailure()
    return {"ShardId": kinesis_shard_id(shard), "SequenceNumber": kinesis_sequence_number(shard, offset),
            "EncryptionType": "NONE"}


@SERVICE.operation("PutRecords")
async def put_records(ctx: ConnectorContext, req: dict) -> dict:
    stream = await writable_stream(ctx, req)
    topics, shards, records, total = set(), [], [], 0
    for i, entry in enumerate(req["Records"], start=1):
        topic, shard, size, record = outgoing(stream, entry, f"records.{i}.member.")
        topics.add(topic)
        shards.append(shard)
        records.append(record)
        total += size
    if total > MAX_PUT_RECORDS_BYTES:
        raise E.InvalidArgumentException(
            f"Records size exceeds 5 MB limit: the records' data and partition keys add up to {total} bytes."
        )
    [topic] = topics  # every record goes to the current generation
    offsets = await ctx.producer.send(topic, records)
    results, failed = [], 0
    for shard, offset in zip(shards, offsets):
        if isinstance(offset, int):
            results.append({"SequenceNumber": kinesis_sequence_number(shard, offset), "ShardId": kinesis_shard_id(shard)})
        else:
            failed += 1
            results.append({"ErrorCode": "InternalFailure", "ErrorMessage": f"Internal service failure: {offset}"})
    return {"FailedRecordCount": failed, "Records": results, "EncryptionType": "NONE"}


# -- GetShardIterator, GetRecords -------------------------------------------------------------------

SEQUENCE_NUMBER_RULE = (
    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
    "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {} and {} StartingSequenceNumber."
)


@SERVICE.operation("GetShardIterator")
async def get_shard_iterator(ctx: ConnectorContext, req: dict) -> dict:
    if req.get("DryRun"):
        raise E.DryRunOperationException("Request would have succeeded, but the DryRun flag is set.")
    stream = await find_stream(ctx, req)
    shard = shard_named(ctx, stream, req["ShardId"])
    kind, sequence = req["ShardIteratorType"], req.get("StartingSequenceNumber")
    if kind in ("TRIM_HORIZON", "LATEST") and sequence is not None:
        raise E.InvalidArgumentException(SEQUENCE_NUMBER_RULE.format(kind, "also a"))
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence is None:
        raise E.InvalidArgumentException(SEQUENCE_NUMBER_RULE.format(kind, "no"))
    offset = await asyncio.to_thread(start_offset, ctx, stream, shard, req)
    if shard.closed:
        offset = min(offset, shard.end_offset)
    iterator = ShardIterator(shard.topic, shard.partition, offset, now_ms())
    return {"ShardIterator": iterator.encode(ctx.settings.iterator_secret)}


def shard_named(ctx: ConnectorContext, stream: dict, text: str) -> Shard:
    shard = None
    if stream["StreamStatus"] != "CREATING":
        try:
            shard = find_shard(stream, parse_kinesis_shard_id(text))
        except InvalidIdentifier:
            pass
    if shard is None:
        raise E.ResourceNotFoundException(
            f"Shard {text} in stream {stream['StreamName']} under account {ctx.settings.account_id} does not exist"
        )
    return shard


def start_offset(ctx: ConnectorContext, stream: dict, shard: Shard, req: dict) -> int:
    """The offset an iterator type starts at (blocking: Kafka lookups)."""
    kind, offsets = req["ShardIteratorType"], ctx.shards.offsets
    cutoff = now_ms() - retention_ms(stream)
    if kind == "TRIM_HORIZON":
        return offsets.first_at_or_after(shard.topic, shard.partition, cutoff)
    if kind == "LATEST":
        return shard.end_offset if shard.closed else offsets.end(shard.topic, shard.partition)
    if kind == "AT_TIMESTAMP":
        if req.get("Timestamp") is None:
            raise E.InvalidArgumentException(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                "Current request has no timestamp parameter."
            )
        moment, now = timestamp_ms(req["Timestamp"]), now_ms()
        if moment > now:
            raise E.InvalidArgumentException(
                "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                f"timestampInMillis: {moment}, currentTimestampInMillis: {now}"
            )
        return offsets.first_at_or_after(shard.topic, shard.partition, max(moment, cutoff))
    sequence = req["StartingSequenceNumber"]
    try:
        number, offset = parse_kinesis_sequence_number(sequence)
    except InvalidIdentifier:
        raise E.InvalidArgumentException(
            f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shard.id} in stream "
            f"{stream['StreamName']} under account {ctx.settings.account_id} is invalid."
        ) from None
    if number != shard.number:
        raise E.InvalidArgumentException(
            f"Invalid StartingSequenceNumber. It encodes {kinesis_shard_id(number)}, while it was used in a call "
            f"to a shard with {shard.id}"
        )
    # A position older than the retention is not an error: reading skips to the trim horizon.
    return offset + (kind == "AFTER_SEQUENCE_NUMBER")


@SERVICE.operation("GetRecords")
async def get_records(ctx: ConnectorContext, req: dict) -> dict:
    if req.get("DryRun"):
        raise E.DryRunOperationException("Request would have succeeded, but the DryRun flag is set.")
    iterator = decode_iterator(ctx, req["ShardIterator"])
    name = stream_of_topic(iterator.stream)
    stream = ctx.kinesis.get(name) or await asyncio.to_thread(ctx.kinesis.lookup, name)
    shard = None
    if stream is not None and stream["StreamStatus"] != "DELETING":  # its readers are being closed
        shard = next((s for s in shards_of(stream) if (s.topic, s.partition) == (iterator.stream, iterator.partition)), None)
    if shard is None:
        raise E.ResourceNotFoundException(
            f"Shard {kinesis_shard_id(iterator.partition)} in stream {name} under account "
            f"{ctx.settings.account_id} does not exist"
        )
    limit = req.get("Limit", MAX_RECORDS)
    now = now_ms()
    page = await asyncio.to_thread(read_page, ctx.shards.pool, shard, iterator.offset, limit, now - retention_ms(stream))
    behind = 0 if page.at_end or page.last_timestamp_ms is None else max(0, now - page.last_timestamp_ms)
    result: dict = {"Records": page.records, "MillisBehindLatest": behind}
    if shard.closed and page.next_offset >= shard.end_offset:
        result["ChildShards"] = [child_shard(c) for c in children(stream, shard)]
    else:
        following = ShardIterator(shard.topic, shard.partition, page.next_offset, now_ms())
        result["NextShardIterator"] = following.encode(ctx.settings.iterator_secret)
    return result


def child_shard(shard: Shard) -> dict:
    return {
        "ShardId": shard.id,
        "ParentShards": [kinesis_shard_id(p) for p in shard.parents],
        "HashKeyRange": {"StartingHashKey": str(shard.starting_hash_key), "EndingHashKey": str(shard.ending_hash_key)},
    }


def decode_iterator(ctx: ConnectorContext, token: str) -> ShardIterator:
    try:
        iterator = ShardIterator.decode(token, ctx.settings.iterator_secret)
    except InvalidIdentifier:
        raise E.InvalidArgumentException("Invalid ShardIterator.") from None
    if not (isinstance(iterator.stream, str) and iterator.stream.startswith("kinesis.")):
        raise E.InvalidArgumentException("Invalid ShardIterator.")  # e.g. a DynamoDB Streams iterator
    now, ttl_ms = now_ms(), int(ctx.settings.kinesis_iterator_ttl_s * 1000)
    if now - iterator.issued_ms > ttl_ms:
        raise E.ExpiredIteratorException(
            f"Iterator expired. The iterator was created at time {amz_time(iterator.issued_ms)} while right now it "
            f"is {amz_time(now)} which is further in the future than the tolerated delay of {ttl_ms} milliseconds."
        )
    return iterator


def amz_time(ms: int) -> str:
    """Kinesis's time format in this message: `Thu Jan 22 01:22:02 UTC 2015`."""
    day, date, month, year, clock = formatdate(ms / 1000, usegmt=True).replace(",", "").split()[:5]
    return f"{day} {month} {date} {clock} UTC {year}"
