"""The Kinesis stream catalog as other parts read it (the connector writes it): the compacted topic,
one JSON value per stream name, and the members a reader may rely on: `StreamARN`, `StreamStatus`,
`Deleted` (a marker of a deleted name), `Generations[].Topic` (every topic that holds the stream's
records, oldest generation first; a record's value is the Kinesis data byte for byte)."""

from __future__ import annotations

import bisect
import hashlib

CATALOG_TOPIC = "_cdc_bridge_kinesis_streams"


def stream_topics(stream: dict) -> list[str]:
    return [generation["Topic"] for generation in stream.get("Generations", ())]


def is_live(stream: dict | None) -> bool:
    return stream is not None and not stream.get("Deleted") and stream.get("StreamStatus") != "DELETING"


def stream_name_of_arn(arn: str) -> str | None:
    """`arn:aws:kinesis:<region>:<account>:stream/<name>` -> name (None: not a Kinesis stream ARN)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
        return None
    return parts[5].removeprefix("stream/") or None


# -- which shard a partition key goes to (Kinesis' rule; PutRecord and a table's destination share it)

HASH_KEYS = 2**128  # the hash key space: MD5 of a partition key as a 128-bit big-endian integer


def hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def equal_slices(count: int) -> list[int]:
    """Starting hash keys of `count` shards, as Kinesis splits a new stream: shard i starts at
    i * (2**128 // count); each ends one below the next start, the last at 2**128 - 1."""
    width = HASH_KEYS // count
    return [i * width for i in range(count)]


def slice_of(starts: list[int], key: int) -> int:
    """Index of the shard (in a list of starting hash keys) whose range holds `key`."""
    return bisect.bisect_right(starts, key) - 1


def generation_starts(generation: dict) -> list[int]:
    """The starting hash keys of a topic generation's shards (`Starts`, strings since JSON numbers
    cannot hold 128 bits, when they are not the equal slices)."""
    explicit = generation.get("Starts")
    return [int(s) for s in explicit] if explicit else equal_slices(generation["Shards"])


def partition_for(stream: dict, partition_key: str) -> tuple[str, int]:
    """(topic, partition) that PutRecord would write a record with `partition_key` to: the shard of
    the current generation whose hash key range holds MD5(partition key)."""
    generation = stream["Generations"][-1]
    return generation["Topic"], slice_of(generation_starts(generation), hash_key(partition_key))
