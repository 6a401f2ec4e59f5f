"""`cdc-bridge tail`: print a stream's records as JSON lines as they arrive, like kcat.

Everything goes through the public APIs with boto3, so it works against any endpoint that speaks
them (another cdc-bridge, AWS itself): a table name is resolved with DescribeTable to its latest
stream ARN and read with DynamoDB Streams; a Kinesis stream (name or ARN) is read with Kinesis
ListShards / GetShardIterator / GetRecords. A name that is both a table and a Kinesis stream is
read as the table.

Every shard is followed, and the shard list is asked again every few seconds, so shards that
appear later (a Kinesis reshard) are read from their first record; a child shard waits until its
parent is read to its end, so an item's records keep their order across a reshard.

One line per record on stdout, the record as the API returns it (the AWS CLI's rendering: bytes
in base64, timestamps in ISO 8601). On stderr, while a backlog is being caught up (a GetRecords
page came back full, or Kinesis says MillisBehindLatest > 0), a progress line every couple of
seconds, and one line once it has caught up. Ctrl-C (or SIGTERM) ends it with status 0; so does
the end of every shard (a DynamoDB stream disabled: its shards close).
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RESHARD_CHECK_S = 5.0  # how often the shard list is asked again
IDLE_WAIT_S = 0.5  # pause after a round over every shard that brought nothing
PROGRESS_EVERY_S = 2.0
THROTTLE_WAIT_S = 1.0
FROM = {"latest": "LATEST", "trim-horizon": "TRIM_HORIZON"}


class TailError(Exception):
    """What stops `tail` before it reads anything (no such table or stream, no stream on the table)."""


@dataclass
class Shard:
    shard_id: str
    parent_id: str | None
    start: str  # the iterator type of its first read: LATEST / TRIM_HORIZON
    iterator: str | None = None
    last_sequence: str | None = None
    finished: bool = False  # read to the end of a closed shard


@dataclass
class Page:
    records: list[dict]
    next_iterator: str | None
    behind: bool  # more records are already waiting after this page


class DynamoDBStream:
    """A DynamoDB stream through the DynamoDB Streams API."""

    def __init__(self, client, arn: str, limit: int):
        self.client, self.arn, self.limit = client, arn, limit
        self.expired = client.exceptions.ExpiredIteratorException
        self.throttled = client.exceptions.LimitExceededException

    def shards(self) -> list[tuple[str, str | None]]:
        found, start = [], None
        while True:
            extra = {"ExclusiveStartShardId": start} if start else {}
            description = self.client.describe_stream(StreamArn=self.arn, **extra)["StreamDescription"]
            found += [(s["ShardId"], s.get("ParentShardId")) for s in description["Shards"]]
            start = description.get("LastEvaluatedShardId")
            if not start:
                return found

    def iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        extra = {"SequenceNumber": sequence} if sequence else {}
        return self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id, ShardIteratorType=kind,
                                              **extra)["ShardIterator"]

    def read(self, iterator: str) -> Page:
        response = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
        records = response["Records"]
        return Page(records, response.get("NextShardIterator"), len(records) >= self.limit)

    @staticmethod
    def sequence(record: dict) -> str:
        return record["dynamodb"]["SequenceNumber"]


class KinesisStream:
    """A Kinesis data stream through the Kinesis API."""

    def __init__(self, client, arn: str, limit: int):
        self.client, self.arn, self.limit = client, arn, limit
        self.expired = client.exceptions.ExpiredIteratorException
        self.throttled = client.exceptions.ProvisionedThroughputExceededException

    def shards(self) -> list[tuple[str, str | None]]:
        found, token = [], None
        while True:
            response = self.client.list_shards(**({"NextToken": token} if token else {"StreamARN": self.arn}))
            found += [(s["ShardId"], s.get("ParentShardId")) for s in response["Shards"]]
            token = response.get("NextToken")
            if not token:
                return found

    def iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        extra = {"StartingSequenceNumber": sequence} if sequence else {}
        return self.client.get_shard_iterator(StreamARN=self.arn, ShardId=shard_id, ShardIteratorType=kind,
                                              **extra)["ShardIterator"]

    def read(self, iterator: str) -> Page:
        response = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
        records = response["Records"]
        behind = len(records) >= self.limit or response.get("MillisBehindLatest", 0) > 0
        return Page(records, response.get("NextShardIterator"), behind)

    @staticmethod
    def sequence(record: dict) -> str:
        return record["SequenceNumber"]


def resolve(target: str, session, endpoint_url: str, limit: int) -> DynamoDBStream | KinesisStream:
    """The stream `target` names: a DynamoDB stream ARN, a Kinesis stream ARN, a table, a Kinesis stream."""
    def client(service: str):
        return session.client(service, endpoint_url=endpoint_url)

    if target.startswith("arn:") and ":dynamodb:" in target:
        return DynamoDBStream(client("dynamodbstreams"), target, limit)
    if target.startswith("arn:") and ":kinesis:" in target:
        return KinesisStream(client("kinesis"), target, limit)
    table = describe_table(client("dynamodb"), target)
    if table is not None:
        if not table.get("StreamSpecification", {}).get("StreamEnabled") or "LatestStreamArn" not in table:
            raise TailError(f"table {target} has no stream enabled (UpdateTable with a StreamSpecification)")
        return DynamoDBStream(client("dynamodbstreams"), table["LatestStreamArn"], limit)
    kinesis = client("kinesis")
    try:
        arn = kinesis.describe_stream_summary(StreamName=target)["StreamDescriptionSummary"]["StreamARN"]
    except kinesis.exceptions.ResourceNotFoundException:
        raise TailError(f"{target}: no table and no Kinesis stream of that name at {endpoint_url}") from None
    return KinesisStream(kinesis, arn, limit)


def describe_table(dynamodb, name: str) -> dict | None:
    """The table's description; None when there is no such table, or the name cannot be a table's
    (DynamoDB wants 3 to 255 characters of [a-zA-Z0-9_.-]; a Kinesis stream may be called "s")."""
    from botocore.exceptions import ClientError, ParamValidationError

    try:
        return dynamodb.describe_table(TableName=name)["Table"]
    except ParamValidationError:
        return None
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("ResourceNotFoundException", "ValidationException"):
            return None
        raise


def as_json(value: Any) -> Any:
    """The AWS CLI's rendering of what botocore parsed: bytes in base64, timestamps in ISO 8601."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set):  # not produced by the low-level client, but harmless to allow
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass
class Progress:
    """The stderr line while a backlog is caught up: at most one per PROGRESS_EVERY_S."""

    say: Callable[[str], None]
    printed: int = 0
    catching_up: bool = False
    last_said: float = field(default=float("-inf"))

    def record_printed(self) -> None:
        self.printed += 1

    def after_round(self, behind: bool, now: float) -> None:
        if behind and now - self.last_said >= PROGRESS_EVERY_S:
            self.say(f"catching up: {self.printed} records so far")
            self.last_said = now
        if behind:
            self.catching_up = True
        elif self.catching_up:
            self.say(f"caught up: {self.printed} records; following")
            self.catching_up = False


class Tail:
    """Follows every shard of one stream and hands each record, rendered, to `out`."""

    def __init__(self, stream: DynamoDBStream | KinesisStream, start: str, out: Callable[[str], None],
                 progress: Progress, clock: Callable[[], float] = time.monotonic):
        self.stream, self.start, self.out, self.progress, self.clock = stream, start, out, progress, clock
        self.shards: dict[str, Shard] = {}
        self.listed_at = float("-inf")

    def discover(self) -> None:
        """Add the shards not seen yet: at `start` when tail begins, from their first record later on."""
        first = not self.shards
        for shard_id, parent_id in self.stream.shards():
            if shard_id not in self.shards:
                self.shards[shard_id] = Shard(shard_id, parent_id, self.start if first else "TRIM_HORIZON")
        self.listed_at = self.clock()

    def readable(self) -> Iterator[Shard]:
        for shard in list(self.shards.values()):
            parent = self.shards.get(shard.parent_id) if shard.parent_id else None
            if not shard.finished and (parent is None or parent.finished):
                yield shard

    def run_round(self) -> tuple[int, bool]:
        """One GetRecords on every readable shard: (records printed, whether a backlog is waiting)."""
        if self.clock() - self.listed_at >= RESHARD_CHECK_S:
            self.discover()
        printed, behind = 0, False
        for shard in self.readable():
            page = self.read(shard)
            if page is None:
                continue
            for record in page.records:
                self.out(json.dumps(record, default=as_json, separators=(",", ":")))
                self.progress.record_printed()
                shard.last_sequence = self.stream.sequence(record)
            printed += len(page.records)
            behind = behind or page.behind
            shard.iterator = page.next_iterator
            shard.finished = page.next_iterator is None
        return printed, behind

    def read(self, shard: Shard) -> Page | None:
        """One page of the shard; None when throttled (tried again next round)."""
        try:
            if shard.iterator is None:
                shard.iterator = self.position(shard)
            return self.stream.read(shard.iterator)
        except self.stream.expired:  # tail was paused (^Z) past the iterator's lifetime
            shard.iterator = None
            return None
        except self.stream.throttled:
            time.sleep(THROTTLE_WAIT_S)
            return None

    def position(self, shard: Shard) -> str:
        if shard.last_sequence:
            return self.stream.iterator(shard.shard_id, "AFTER_SEQUENCE_NUMBER", shard.last_sequence)
        return self.stream.iterator(shard.shard_id, shard.start)

    def begin(self) -> None:
        """List the shards and take their first iterators, a child's too (with --from latest, what is
        written to it while its parent is still being read is not missed)."""
        self.discover()
        for shard in self.shards.values():
            shard.iterator = self.position(shard)

    def ended(self) -> bool:
        """Every shard is read to its end, also after listing them again (a reshard's children are
        listed by the time their parent is closed): the stream was disabled or is being deleted."""
        if not self.shards or not all(shard.finished for shard in self.shards.values()):
            return False
        self.discover()
        return all(shard.finished for shard in self.shards.values())

    def follow(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Read until `stop()` or until the stream has ended."""
        while not stop() and not self.ended():
            printed, behind = self.run_round()
            self.progress.after_round(behind, self.clock())
            if not printed:
                time.sleep(IDLE_WAIT_S)


def session_for(region: str | None):
    """boto3's usual credential chain; without any credentials, placeholder keys (a server without a
    credentials file accepts any caller on loopback)."""
    import boto3

    session = boto3.Session(region_name=region)
    region = session.region_name or "us-east-1"
    if session.get_credentials() is None:
        return boto3.Session(aws_access_key_id="cdc-bridge", aws_secret_access_key="cdc-bridge", region_name=region)
    return boto3.Session(region_name=region)


def run(args) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    # Installed here, as `broker` does: a process started from a background job inherits SIGINT
    # ignored, and Ctrl-C would then be lost.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def say(line: str) -> None:
        print(f"cdc-bridge tail: {line}", file=sys.stderr, flush=True)

    def out(line: str) -> None:
        print(line, flush=True)

    try:
        stream = resolve(args.target, session_for(args.region), args.endpoint_url, int(args.page_size))
        tail = Tail(stream, FROM[args.start], out, Progress(say))
        tail.begin()
        say(f"following {stream.arn} from {args.start}")
        tail.follow()
        say(f"every shard of {stream.arn} has ended: the stream was disabled or deleted")
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `tail ... | head`: the reader is gone
        sys.stderr.close()
        return 0
    except TailError as exc:
        say(str(exc))
        return 2
    except (ClientError, BotoCoreError) as exc:
        say(str(exc))
        return 1
    return 0
