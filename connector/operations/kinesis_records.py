"""The Kinesis Data Streams API over Kafka, records: PutRecord, PutRecords, GetShardIterator,
GetRecords.

A record is a Kafka record of the stream's current topic generation: the data is the value byte
for byte, the partition key the key (UTF-8), an ExplicitHashKey rides in the header
`kinesis-explicit-hash-key`; the partition is the shard whose hash key range holds MD5(partition
key) (or the ExplicitHashKey). The sequence number is made from the stream's data epoch, the shard
and the offset the broker acknowledged, so PutRecord(s) answer after the delivery report.
ApproximateArrivalTimestamp is the Kafka record's timestamp. Shard iterators are HMAC-signed
(topic, partition, offset, issue time, epoch) and expire after 5 minutes. A sequence number or
iterator of an older epoch (from before the broker lost the stream's topics) reads on from the trim
horizon, as Kinesis does for a position older than its retention.
"""

from __future__ import annotations

import asyncio
import binascii
from bisect import bisect_right
from email.utils import formatdate

try:  # CPython's own MD5 is ~2.5x faster than OpenSSL's for a partition key's few bytes
    from _md5 import md5
except ImportError:  # pragma: no cover - a build without it
    from hashlib import md5

from connector.context import ConnectorContext
from connector.ids import (
    HASH_KEYS,
    InvalidIdentifier,
    ShardIterator,
    kinesis_sequence_base,
    kinesis_sequence_number,
    kinesis_shard_id,
    parse_kinesis_sequence_number,
    parse_kinesis_shard_id,
)
from connector.kinesis_shards import (
    MAX_RECORDS,
    Shard,
    children,
    current_generation,
    find_shard,
    kinesis_epoch,
    now_ms,
    read_page,
    retention_ms,
    shards_of,
    stream_of_topic,
)
from connector.metrics import record_read
from connector.operations.kinesis_service import SERVICE, E, find_stream, not_found, timestamp_ms

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


class Outgoing:
    """Turns PutRecord(s) entries into Kafka records of the stream's current topic generation."""

    def __init__(self, stream: dict):
        self.topic, self.first_shard, self.starts = current_generation(stream)
        self.limit = stream["MaxRecordSizeInKiB"] * 1024

    def record(self, entry: dict, index: int | None = None) -> tuple[int, int, tuple]:
        """(shard number, size counted against PutRecords' 5 MiB, the Kafka record) of PutRecord's
        request or of PutRecords' entry number `index` (from 1)."""
        key = entry.get("PartitionKey")
        if key is None:
            raise E.ValidationException(
                f"1 validation error detected: Value null at '{member(index, 'partitionKey')}' failed to satisfy constraint: "
                "Member must not be null"
            )
        data = entry["Data"]  # base64 checked by the protocol layer, or already decoded by its fast check
        if type(data) is str:
            data = binascii.a2b_base64(data)
        if len(data) > self.limit:
            raise E.ValidationException(
                f"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]' "
                f"at '{member(index, 'data')}' failed to satisfy constraint: Member must have length less than or "
                f"equal to {self.limit}"
            )
        explicit = entry.get("ExplicitHashKey")
        encoded_key = key.encode()
        if explicit is None:
            headers = None
            hashed = int.from_bytes(md5(encoded_key).digest(), "big")
        else:
            hashed = int(explicit)
            if hashed >= HASH_KEYS:
                raise E.InvalidArgumentException(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    f"Specified value was {explicit}"
                )
            headers = [(EXPLICIT_HASH_KEY_HEADER, explicit.encode())]
        partition = bisect_right(self.starts, hashed) - 1
        return self.first_shard + partition, len(data) + len(encoded_key), (partition, encoded_key, data, headers)


def member(index: int | None, name: str) -> str:
    """How a validation message names a member of PutRecord, or of PutRecords' entry `index`."""
    return name if index is None else f"records.{index}.member.{name}"


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
    outgoing = Outgoing(stream)
    shard, _, record = outgoing.record(req)
    [offset] = await ctx.producer.send(outgoing.topic, [record])
    if not isinstance(offset, int):
        raise E.InternalFailure()
    return {"ShardId": kinesis_shard_id(shard), "SequenceNumber": kinesis_sequence_number(kinesis_epoch(stream), shard, offset),
            "EncryptionType": "NONE"}


@SERVICE.operation("PutRecords")
async def put_records(ctx: ConnectorContext, req: dict) -> dict:
    stream = await writable_stream(ctx, req)
    outgoing = Outgoing(stream)
    shards, records, total = [], [], 0
    for i, entry in enumerate(req["Records"], start=1):
        shard, size, record = outgoing.record(entry, i)
        shards.append(shard)
        records.append(record)
        total += size
    if total > MAX_PUT_RECORDS_BYTES:
        raise E.InvalidArgumentException(
            f"Records size exceeds 5 MB limit: the records' data and partition keys add up to {total} bytes."
        )
    offsets = await ctx.producer.send(outgoing.topic, records)
    ids = {shard: kinesis_shard_id(shard) for shard in set(shards)}
    bases = {shard: kinesis_sequence_base(kinesis_epoch(stream), shard) for shard in ids}
    results, failed = [], 0
    for shard, offset in zip(shards, offsets):
        if isinstance(offset, int):
            results.append({"SequenceNumber": str(bases[shard] + offset), "ShardId": ids[shard]})
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
    if stream["StreamStatus"] == "DELETING":  # its readers are being closed
        raise not_found(ctx, stream["StreamName"])
    shard = shard_named(ctx, stream, req["ShardId"])
    kind, sequence = req["ShardIteratorType"], req.get("StartingSequenceNumber")
    if kind in ("TRIM_HORIZON", "LATEST") and sequence is not None:
        raise E.InvalidArgumentException(SEQUENCE_NUMBER_RULE.format(kind, "also a"))
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence is None:
        raise E.InvalidArgumentException(SEQUENCE_NUMBER_RULE.format(kind, "no"))
    offset = await asyncio.to_thread(start_offset, ctx, stream, shard, req)
    if shard.closed:
        offset = min(offset, shard.end_offset)
    iterator = ShardIterator(shard.topic, shard.partition, offset, now_ms(), shard.epoch)
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
        epoch, number, offset = parse_kinesis_sequence_number(sequence)
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
    if epoch < shard.epoch:
        # From before the broker lost the stream's data: as for a position older than the trim
        # horizon, Kinesis reads on from the trim horizon (of the data there is now).
        return offsets.first_at_or_after(shard.topic, shard.partition, cutoff)
    start = offset + (kind == "AFTER_SEQUENCE_NUMBER")
    end = shard.end_offset if shard.closed else offsets.end(shard.topic, shard.partition)
    if start > end or epoch > shard.epoch:  # a sequence number the shard has not given out
        raise E.InvalidArgumentException(
            f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shard.id} in stream "
            f"{stream['StreamName']} under account {ctx.settings.account_id} is invalid because it did not come "
            "from this stream."
        )
    # A position older than the retention is not an error: reading skips to the trim horizon.
    return start


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
    if iterator.epoch > shard.epoch:
        raise E.InvalidArgumentException("Invalid ShardIterator.")
    limit = req.get("Limit", MAX_RECORDS)
    now = now_ms()
    cutoff = now - retention_ms(stream)
    page = await asyncio.to_thread(read_from, ctx, shard, iterator, limit, cutoff)
    # From the last record returned to now; 0 only at the end of what the shard holds.
    behind = 0 if page.at_end else max(1, now - (page.last_timestamp_ms or now))
    result: dict = {"Records": page.records, "MillisBehindLatest": behind}
    record_read(ctx, name, len(page.records), page.data_bytes, behind)
    if shard.closed and page.next_offset >= shard.end_offset:
        result["ChildShards"] = [child_shard(c) for c in children(stream, shard)]
    else:
        following = ShardIterator(shard.topic, shard.partition, page.next_offset, now_ms(), shard.epoch)
        result["NextShardIterator"] = following.encode(ctx.settings.iterator_secret)
    return result


def read_from(ctx: ConnectorContext, shard: Shard, iterator: ShardIterator, limit: int, cutoff: int):
    """A page from the iterator's position; one of an older epoch (issued before the broker lost
    the stream's data) reads on from the trim horizon, as Kinesis does for a trimmed position."""
    offset = iterator.offset
    if iterator.epoch < shard.epoch:
        offset = ctx.shards.offsets.first_at_or_after(shard.topic, shard.partition, cutoff)
    return read_page(ctx.shards.pool, shard, offset, limit, cutoff)


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
