"""Value types of the Streams APIs: sequence numbers, shard ids, shard iterators.

Each has an encode/decode pair (round-trip tested in tests/unit/test_connector_ids.py).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import datetime

import orjson

# Kinesis' partition key hashing lives with the Kinesis catalog contract (the table service routes a
# table's streaming destination records with it too); re-exported for the connector's modules.
from contracts.kinesis_streams import HASH_KEYS, equal_slices, hash_key, slice_of  # noqa: F401

# A DynamoDB stream's sequence number: "1", the stream's data epoch (5 digits), the partition
# (5 digits) and the Kafka offset (20 digits), 31 digits in all (DynamoDB allows 21 to 40):
#   10**30 + epoch * 10**25 + partition * 10**20 + offset
# Fixed width, so string order is numeric order: sorted by (epoch, partition, offset). Unique across
# the shards of a stream (the partition is part of it), increasing within a shard (the offset), and
# higher in a later epoch (the stream's topic was made again after the broker lost it: a number of
# an older epoch names data that is gone). A function of where the record is in Kafka and of the
# epoch kept in the data directory, so it is the same after a restart.
SEQUENCE_DIGITS = 31
SEQUENCE_LEAD = 10**30
EPOCH_UNIT = 10**25
PARTITION_UNIT = 10**20
MAX_EPOCHS = 10**5
MAX_PARTITIONS = 10**5
MAX_OFFSET = 10**20  # a Kafka offset is a signed 64-bit integer: below 10**19
MAX_TIMESTAMP_S = 253_402_300_799  # 9999-12-31T23:59:59Z, the last moment ISO 8601 and datetime can write
SHARD_ID = re.compile(r"shardId-([0-9]{20})-([0-9a-f]{8})")


class InvalidIdentifier(ValueError):
    """A malformed sequence number, shard id or iterator; operations turn it into AWS's error."""


def sequence_number(epoch: int, partition: int, offset: int) -> str:
    if not (0 <= epoch < MAX_EPOCHS and 0 <= partition < MAX_PARTITIONS and 0 <= offset < MAX_OFFSET):
        raise ValueError(f"no sequence number for epoch {epoch}, partition {partition}, offset {offset}")
    return str(SEQUENCE_LEAD + epoch * EPOCH_UNIT + partition * PARTITION_UNIT + offset)


def parse_sequence_number(sequence: str) -> tuple[int, int, int]:
    """(epoch, partition, offset) of one of our sequence numbers; InvalidIdentifier for anything else."""
    if not (len(sequence) == SEQUENCE_DIGITS and sequence.isascii() and sequence.isdigit() and sequence[0] == "1"):
        raise InvalidIdentifier(sequence)
    rest = int(sequence) - SEQUENCE_LEAD
    return rest // EPOCH_UNIT, rest // PARTITION_UNIT % MAX_PARTITIONS, rest % PARTITION_UNIT


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
    epoch: int = 0  # the stream's data epoch when it was issued: an older one points at lost data
    # Issued by a GetRecords that found nothing: its holder is tailing the shard, so the next
    # GetRecords may wait longer for a write (connector.operations.dynamodb_streams.IDLE_WAIT_S).
    idle: bool = False

    def encode(self, secret: bytes) -> str:
        fields = [self.stream, self.partition, self.offset, self.issued_ms, self.epoch]
        body = _b64(orjson.dumps(fields + [1] if self.idle else fields))
        return f"{body}.{_signature(secret, body)}"

    @classmethod
    def decode(cls, token: str, secret: bytes) -> ShardIterator:
        """Raises InvalidIdentifier for anything not signed by us (tampered, forged, garbage).
        A body without an epoch (issued before epochs existed) is of epoch 0."""
        body, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(signature.encode(), _signature(secret, body).encode()):
            raise InvalidIdentifier("bad signature")
        try:
            stream, partition, offset, issued_ms, *rest = orjson.loads(_unb64(body))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidIdentifier("bad body") from None
        if rest[1:] not in ([], [1]):  # [epoch] or [epoch, 1] (idle) after the position
            raise InvalidIdentifier("bad body")
        return cls(stream, partition, offset, issued_ms, *rest[:1], idle=bool(rest[1:]))


def timestamp_ms(value: float | str) -> int:
    """A JSON timestamp (epoch seconds, or an ISO 8601 string, as botocore sends either) in epoch
    milliseconds; InvalidIdentifier for a string that is neither."""
    try:
        seconds = _seconds(value)
    except (ValueError, OverflowError, OSError):  # not a time, or one no clock can hold
        raise InvalidIdentifier(str(value)) from None
    if not math.isfinite(seconds) or abs(seconds) > MAX_TIMESTAMP_S:
        raise InvalidIdentifier(str(value))
    return round(seconds * 1000)


def _seconds(value: float | str) -> float:
    if not isinstance(value, str):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value).timestamp()


def _signature(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest()[:20])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- Kinesis ----------------------------------------------------------------------------------------
# Shard ids have Kinesis's shape, `shardId-<12 digits>`: the shard's number within its stream, which
# keeps counting across the stream's topic generations (UpdateShardCount opens new shards).
# A sequence number is 49 plus the stream's data epoch, the shard number (12 digits) and the Kafka
# offset (20 digits): (49 + epoch) * 10**32 + shard * 10**20 + offset. At epoch 0 (a stream whose
# topics the broker never lost) that is "49" + shard + offset, 34 digits, as before epochs existed;
# unique per stream, within a shard increasing with the offset, and higher in a later epoch
# (numerically; epochs 0 to 50 keep 34 digits, so string order too).

KINESIS_SHARD_ID = re.compile(r"shardId-([0-9]{12})")
KINESIS_SEQUENCE_LEAD = 49
KINESIS_SHARD_UNIT = 10**20
KINESIS_EPOCH_UNIT = 10**32
KINESIS_MAX_SHARDS = 10**12
KINESIS_SEQUENCE_DIGITS = 34  # at epochs 0 to 50
KINESIS_MAX_SEQUENCE_DIGITS = 129  # Kinesis's SequenceNumber pattern: 0|([1-9]\d{0,128})


def kinesis_shard_id(number: int) -> str:
    return f"shardId-{number:012d}"


def parse_kinesis_shard_id(text: str) -> int:
    match = KINESIS_SHARD_ID.fullmatch(text)
    if match is None:
        raise InvalidIdentifier(text)
    return int(match[1])


def kinesis_sequence_base(epoch: int, shard: int) -> int:
    """The sequence number of offset 0 of a shard, as an integer: add an offset, then str()."""
    if not (0 <= epoch and 0 <= shard < KINESIS_MAX_SHARDS):
        raise ValueError(f"no sequence number for epoch {epoch}, shard {shard}")
    return (KINESIS_SEQUENCE_LEAD + epoch) * KINESIS_EPOCH_UNIT + shard * KINESIS_SHARD_UNIT


def kinesis_sequence_number(epoch: int, shard: int, offset: int) -> str:
    if not 0 <= offset < MAX_OFFSET:
        raise ValueError(f"no sequence number for offset {offset}")
    return str(kinesis_sequence_base(epoch, shard) + offset)


def parse_kinesis_sequence_number(sequence: str) -> tuple[int, int, int]:
    """(epoch, shard number, Kafka offset) of one of our sequence numbers."""
    if not (KINESIS_SEQUENCE_DIGITS <= len(sequence) <= KINESIS_MAX_SEQUENCE_DIGITS and sequence.isascii()
            and sequence.isdigit() and sequence[0] != "0"):
        raise InvalidIdentifier(sequence)
    value = int(sequence)
    lead, rest = divmod(value, KINESIS_EPOCH_UNIT)
    if lead < KINESIS_SEQUENCE_LEAD:
        raise InvalidIdentifier(sequence)
    return lead - KINESIS_SEQUENCE_LEAD, rest // KINESIS_SHARD_UNIT, rest % KINESIS_SHARD_UNIT


def kinesis_stream_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kinesis:{region}:{account}:stream/{name}"


def parse_kinesis_stream_arn(arn: str) -> tuple[str, str, str]:
    """(region, account, stream name)."""
    match = re.fullmatch(r"arn:aws[a-z-]*:kinesis:([^:]*):([0-9]{12}):stream/([a-zA-Z0-9_.-]{1,128})", arn)
    if match is None:
        raise InvalidIdentifier(arn)
    return match[1], match[2], match[3]


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
