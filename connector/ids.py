"""Value types of the Streams APIs: sequence numbers, shard ids, shard iterators.

Each has an encode/decode pair (round-trip tested in tests/unit/test_connector_ids.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

import orjson

SEQUENCE_BASE = 10**20  # offset 0 -> "100000000000000000000": 21 digits, string order = offset order
SHARD_ID = re.compile(r"shardId-(\d{20})-([0-9a-f]{8})")


class InvalidIdentifier(ValueError):
    """A malformed sequence number, shard id or iterator; operations turn it into AWS's error."""


def sequence_number(offset: int) -> str:
    return str(SEQUENCE_BASE + offset)


def offset_of(sequence: str) -> int:
    if not (sequence.isdigit() and sequence.isascii() and 21 <= len(sequence) <= 40):
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
