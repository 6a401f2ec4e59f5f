"""Value types of the Streams APIs: sequence numbers, shard ids, shard iterators.

Each has an encode/decode pair (round-trip tested in tests/unit/test_connector_ids.py).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import re
from dataclasses import dataclass

import orjson

SEQUENCE_BASE = 10**20  # offset 0 -> "100000000000000000000": 21 digits, string order = offset order
SHARD_ID = re.compile(r"shardId-([0-9]{20})-([0-9a-f]{8})")


class InvalidIdentifier(ValueError):
    """A malformed sequence number, shard id or iterator; operations turn it into AWS's error."""


def sequence_number(offset: int) -> str:
    return str(SEQUENCE_BASE + offset)


def offset_of(sequence: str) -> int:
    if not (sequence.isascii() and sequence.isdigit() and 21 <= len(sequence) <= 40):
        raise InvalidIdentifier(sequence)
    offset = int(sequence) - SEQUENCE_BASE
    if offset < 0:
        raise InvalidIdentifier(sequence)
    return offset


def shard_id(stream_created_ms: int, partition: int) -> str:
    """DynamoDB's shape, `shardId-<20 digits>-<8 hex>`: the stream's creation time and the
    Kafka partition."""
    return f"shardId-{stream_created_ms:020d}-{partition:08x}"


def parse_shard_id(text: str) -> tuple[int, int]:
    match = SHARD_ID.fullmatch(text)
    if match is None:
        raise InvalidIdentifier(text)
    return int(match[1]), int(match[2], 16)


@dataclass(frozen=True)
class ShardIterator:
    """A self-contained position: stream, shard (partition), offset and issue time, signed with
    a secret that every connector instance shares."""

    stream: str
    partition: int
    offset: int
    issued_ms: int

    def encode(self, secret: bytes) -> str:
        body = _b64(orjson.dumps([self.stream, self.partition, self.offset, self.issued_ms]))
        return f"{body}.{_signature(secret, body)}"

    @classmethod
    def decode(cls, token: str, secret: bytes) -> ShardIterator:
        """Raises InvalidIdentifier for anything not signed by us (tampered, forged, garbage)."""
        body, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(signature.encode(), _signature(secret, body).encode()):
            raise InvalidIdentifier("bad signature")
        try:
            stream, partition, offset, issued_ms = orjson.loads(_unb64(body))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidIdentifier("bad body") from None
        return cls(stream, partition, offset, issued_ms)


def _signature(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest()[:20])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- Kinesis ----------------------------------------------------------------------------------------
# Shard ids have Kinesis's shape, `shardId-<12 digits>`: the shard's number within its stream, which
# keeps counting across the stream's topic generations (UpdateShardCount opens new shards).
# A sequence number is "49", the shard number (12 digits) and the Kafka offset (20 digits): 34
# digits, unique per stream, and within a shard its string order is the offset order.

KINESIS_SHARD_ID = re.compile(r"shardId-([0-9]{12})")
KINESIS_SEQUENCE_PREFIX = 49 * 10**32
KINESIS_SEQUENCE_DIGITS = 34
HASH_KEYS = 2**128  # the hash key space: MD5 of a partition key as a 128-bit big-endian integer


def kinesis_shard_id(number: int) -> str:
    return f"shardId-{number:012d}"


def parse_kinesis_shard_id(text: str) -> int:
    match = KINESIS_SHARD_ID.fullmatch(text)
    if match is None:
        raise InvalidIdentifier(text)
    return int(match[1])


def kinesis_sequence_number(shard: int, offset: int) -> str:
    return str(KINESIS_SEQUENCE_PREFIX + shard * 10**20 + offset)


def parse_kinesis_sequence_number(sequence: str) -> tuple[int, int]:
    """(shard number, Kafka offset) of one of our sequence numbers."""
    if not (len(sequence) == KINESIS_SEQUENCE_DIGITS and sequence.isascii() and sequence.isdigit()
            and sequence.startswith("49")):
        raise InvalidIdentifier(sequence)
    rest = int(sequence) - KINESIS_SEQUENCE_PREFIX
    return rest // 10**20, rest % 10**20


def kinesis_stream_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kinesis:{region}:{account}:stream/{name}"


def parse_kinesis_stream_arn(arn: str) -> tuple[str, str, str]:
    """(region, account, stream name)."""
    match = re.fullmatch(r"arn:aws[a-z-]*:kinesis:([^:]*):([0-9]{12}):stream/([a-zA-Z0-9_.-]{1,128})", arn)
    if match is None:
        raise InvalidIdentifier(arn)
    return match[1], match[2], match[3]


def hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def equal_slices(count: int) -> list[int]:
    """Starting hash keys of `count` shards, as Kinesis splits a new stream: shard i starts at
    i * (2**128 // count); each ends one below the next start, the last at 2**128 - 1."""
    width = HASH_KEYS // count
    return [i * width for i in range(count)]


def rescaled_slices(count: int, previous: list[int]) -> list[int]:
    """Starting hash keys of `count` near-equal shards that replace the shards starting at
    `previous`: a boundary within 2**64 of a previous one (a rounding difference) is moved onto
    it, so halving or doubling a stream gives children that each cover one or two whole parents."""
    starts = equal_slices(count)
    for i in range(1, count):
        j = bisect.bisect_left(previous, starts[i])
        near = [b for b in previous[max(j - 1, 0):j + 1] if abs(b - starts[i]) < 2**64]
        if near:
            starts[i] = near[0]
    return starts


def ending_hash_keys(starts: list[int]) -> list[int]:
    return [s - 1 for s in starts[1:]] + [HASH_KEYS - 1]


def slice_of(starts: list[int], key: int) -> int:
    """Index of the shard (in a list of starting hash keys) whose range holds `key`."""
    return bisect.bisect_right(starts, key) - 1


def sign(secret: bytes, payload: list) -> str:
    """A self-contained token (a list of JSON values), signed like shard iterators."""
    body = _b64(orjson.dumps(payload))
    return f"{body}.{_signature(secret, body)}"


def unsign(secret: bytes, token: str) -> list:
    """The payload of a token signed with `secret`; InvalidIdentifier for anything else."""
    body, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(signature.encode(), _signature(secret, body).encode()):
        raise InvalidIdentifier("bad signature")
    try:
        payload = orjson.loads(_unb64(body))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidIdentifier("bad body") from None
    if not isinstance(payload, list):
        raise InvalidIdentifier("bad body")
    return payload
