"""Kinesis shards over Kafka: the shards of a stream (from its topic generations), routing a
record to its shard, lineage, and reading one page of a shard with the exact retention trim.

A stream is one topic per *generation*: `kinesis.<name>.<generation>`, one partition per shard.
CreateStream opens generation 0 with N shards numbered 0..N-1, each owning the i-th equal slice
of the 128-bit hash key space. UpdateShardCount opens the next generation (Kafka cannot take
partitions away, and the embedded broker cannot add any): new shards, numbered on from the last,
slice the key space anew; each names as parents the old shards whose ranges it overlaps; the old
shards close at the end offsets their partitions have once producers have moved on, and stay
readable until the stream's retention has passed since they closed.
"""

from __future__ import annotations

import binascii
import time
from dataclasses import dataclass

from connector.ids import (
    ending_hash_keys,
    equal_slices,
    kinesis_sequence_base,
    kinesis_sequence_number,
    kinesis_shard_id,
    slice_of,
)
from contracts.kinesis_streams import generation_starts
from kafka_io.client import MAX_MESSAGE_BYTES
from kafka_io.readers import ReaderPool

READ_WAIT_S = 0.05  # the longest a GetRecords waits for a shard that has records coming
MAX_RECORDS = 10_000
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
HOUR_MS = 3_600_000


def topic_name(stream: str, generation: int) -> str:
    return f"kinesis.{stream}.{generation}"


def stream_of_topic(topic: str) -> str:
    return topic[len("kinesis."):].rsplit(".", 1)[0]


def new_generation(stream: str, number: int, first_shard: int, starts: list[int], now_ms: int) -> dict:
    generation = {"Number": number, "Topic": topic_name(stream, number), "FirstShard": first_shard,
                  "Shards": len(starts), "OpenedMs": now_ms, "ClosedMs": None, "Ends": None}
    if starts != equal_slices(len(starts)):
        generation["Starts"] = [str(s) for s in starts]  # JSON numbers cannot hold 128 bits
    return generation


_starts: dict[tuple, list[int]] = {}  # a generation's starting hash keys (they never change)


def starts_of(generation: dict) -> list[int]:
    key = (generation["Topic"], generation["Shards"], generation["OpenedMs"])
    starts = _starts.get(key)
    if starts is None:
        starts = _starts[key] = generation_starts(generation)
    return starts


def current_generation(stream: dict) -> tuple[str, int, list[int]]:
    """(topic, first shard number, starting hash keys) of the generation records go to."""
    generation = stream["Generations"][-1]
    return generation["Topic"], generation["FirstShard"], starts_of(generation)


def route(stream: dict, key: int) -> tuple[str, int, int]:
    """(topic, partition, shard number) of the open shard whose hash key range holds `key`."""
    topic, first_shard, starts = current_generation(stream)
    partition = slice_of(starts, key)
    return topic, partition, first_shard + partition


@dataclass(frozen=True)
class Shard:
    number: int
    topic: str
    partition: int
    starting_hash_key: int
    ending_hash_key: int
    parents: tuple[int, ...]
    opened_ms: int
    closed_ms: int | None  # when its generation was replaced (None: open)
    end_offset: int | None  # one past its last record, known once producers have moved on
    epoch: int = 0  # the stream's data epoch (kinesis_epoch), part of every sequence number

    @property
    def id(self) -> str:
        return kinesis_shard_id(self.number)

    @property
    def closed(self) -> bool:
        return self.end_offset is not None

    def describe(self) -> dict:
        numbers = {"StartingSequenceNumber": kinesis_sequence_number(self.epoch, self.number, 0)}
        if self.closed:
            numbers["EndingSequenceNumber"] = kinesis_sequence_number(self.epoch, self.number, max(self.end_offset - 1, 0))
        shard = {"ShardId": self.id}
        if self.parents:
            shard["ParentShardId"] = kinesis_shard_id(self.parents[0])
        if len(self.parents) > 1:
            shard["AdjacentParentShardId"] = kinesis_shard_id(self.parents[1])
        shard["HashKeyRange"] = {"StartingHashKey": str(self.starting_hash_key), "EndingHashKey": str(self.ending_hash_key)}
        shard["SequenceNumberRange"] = numbers
        return shard


_shards: dict[str, tuple[dict, list[Shard]]] = {}  # stream name -> (the stream value, its shards)


def shards_of(stream: dict) -> list[Shard]:
    """Every shard the stream has had, in shard id order (expired ones too)."""
    cached = _shards.get(stream["StreamName"])
    if cached is not None and cached[0] is stream:
        return cached[1]
    shards: list[Shard] = []
    previous: list[Shard] = []
    epoch = kinesis_epoch(stream)
    for generation in stream["Generations"]:
        starts = starts_of(generation)
        ends = generation["Ends"]
        current = []
        for partition, (start, end) in enumerate(zip(starts, ending_hash_keys(starts))):
            parents = tuple(p.number for p in previous if p.starting_hash_key <= end and start <= p.ending_hash_key)
            current.append(Shard(generation["FirstShard"] + partition, generation["Topic"], partition, start, end,
                                 parents, generation["OpenedMs"], generation["ClosedMs"],
                                 ends[partition] if ends else None, epoch))
        shards += current
        previous = current
    _shards[stream["StreamName"]] = (stream, shards)
    return shards


def kinesis_epoch(stream: dict) -> int:
    """The epoch of the stream's data: raised whenever its topics had to be made again after the
    broker lost them (0 when absent). Part of every sequence number and shard iterator, so that a
    position from before such a loss reads on from the trim horizon instead of naming another
    record. Raised when a connector restores the stream from its data directory (KinesisCatalog.restore)."""
    return stream.get("Epoch", 0)


def retention_ms(stream: dict) -> int:
    return stream["RetentionPeriodHours"] * HOUR_MS


def expired(stream: dict, shard: Shard, now: int) -> bool:
    """A closed shard whose newest possible record is older than the retention period."""
    return shard.closed_ms is not None and shard.closed_ms + retention_ms(stream) < now


def visible_shards(stream: dict, now: int) -> list[Shard]:
    return [s for s in shards_of(stream) if not expired(stream, s, now)]


def find_shard(stream: dict, number: int) -> Shard | None:
    for shard in shards_of(stream):
        if shard.number == number:
            return shard
    return None


def children(stream: dict, shard: Shard) -> list[Shard]:
    return [s for s in shards_of(stream) if shard.number in s.parents]


def open_shards(stream: dict) -> list[Shard]:
    return [s for s in shards_of(stream) if s.closed_ms is None]


@dataclass
class Page:
    records: list[dict]
    next_offset: int
    at_end: bool  # the reader reached the end of what the partition holds now
    last_timestamp_ms: int | None
    data_bytes: int = 0  # of the records' data: GetRecords.Bytes


def read_page(pool: ReaderPool, shard: Shard, offset: int, limit: int, cutoff_ms: int) -> Page:
    """Records of `shard` from `offset` on: at most `limit` records and 10 MiB of data (the first
    record always), none at or past a closed shard's end. Records older than `cutoff_ms` (the
    retention trim) are skipped, not an error: Kinesis reads on from the trim horizon."""
    end = shard.end_offset
    if end is not None and offset >= end:
        return Page([], offset, True, None)
    reader = pool.acquire(shard.topic, shard.partition, offset)
    try:
        messages = reader.read(limit, READ_WAIT_S)
        base = kinesis_sequence_base(shard.epoch, shard.number)
        records: list[dict] = []
        size, returned, last_ts, stop = 0, 0, None, len(messages)
        for i, message in enumerate(messages):
            position = message.offset()
            if position < offset:  # the broker reset a position past its end to the earliest
                continue
            if end is not None and position >= end:
                stop = i
                break
            ts = message.timestamp()[1]
            if ts < cutoff_ms:
                continue
            value = message.value() or b""
            key = message.key()
            size += len(value)  # "up to 10 MiB of data"
            if size > MAX_RESPONSE_BYTES and records:
                stop = i
                break
            records.append({
                "SequenceNumber": str(base + position),
                "ApproximateArrivalTimestamp": ts / 1000,
                "Data": binascii.b2a_base64(value, newline=False).decode(),
                # A record from a plain Kafka producer may have no key: "" (or undecodable bytes, U+FFFD).
                "PartitionKey": key.decode("utf-8", "replace") if key else "",
            })
            returned += len(value)
            last_ts = ts
        reader.unread(messages[stop:])
        next_offset = max(reader.position, offset)
        if end is not None:
            next_offset = min(next_offset, end)
        return Page(records, next_offset, reader.at_end([]), last_ts, returned)
    finally:
        pool.release(reader)


def now_ms() -> int:
    return int(time.time() * 1000)


def topic_config(stream: dict) -> dict[str, str]:
    """A generation topic's configs. No segment.ms: with it the memory broker (Tansu) returns
    fewer 1 MiB records per fetch (test_get_records_returns_at_most_10_mib_and_continues); Kafka
    deletes expired active segments too, and the broker's log.roll.ms bounds segment age."""
    record_bytes = stream["MaxRecordSizeInKiB"] * 1024
    retention = retention_ms(stream)
    return {"retention.ms": str(retention),
            "max.message.bytes": str(max(MAX_MESSAGE_BYTES, record_bytes + 65536))}
