"""Send the requests of `request_fuzzer` to a live server and judge the answers: any 5xx, or a
connection the server dropped without an answer (except while a body over the limit was still
being sent, which it may cut off), is a failure, reported with the request that caused it.
Used by `python -m bench fuzz` and tests/integration/test_fuzz.py."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson

from bench.harness.request_fuzzer import SERVICES, FuzzRequest, RequestFuzzer, content_type, model, target_of

BODY_LIMIT = 16 * 1024 * 1024  # the server's (aws_json/limits.py): it may drop a connection still sending more
DROPPED = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, http.client.BadStatusLine)


@dataclass
class Failure:
    request: FuzzRequest
    status: int | None  # None: the connection was dropped without an answer
    answer: str

    def describe(self) -> str:
        what = f"HTTP {self.status}" if self.status is not None else "no answer (connection dropped)"
        return f"{what}: {self.answer[:400]}\n  request: {self.request.describe()}"


@dataclass
class Outcome:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)       # (kind, status) -> count
    failures: list[Failure] = field(default_factory=list)
    cut_off: int = 0                                       # bodies over the limit dropped while being sent
    seconds: float = 0.0

    def merge(self, other: Outcome) -> None:
        self.sent += other.sent
        self.statuses.update(other.statuses)
        self.kinds.update(other.kinds)
        self.failures += other.failures
        self.cut_off += other.cut_off


class Sender:
    """One keep-alive connection; a new one after the server closes it (400s of the HTTP layer, 413)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = 60.0):
        self.port, self.host, self.timeout_s = port, host, timeout_s
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)

    def send(self, request: FuzzRequest) -> tuple[int, bytes]:
        headers = dict(request.headers)
        if request.target is not None:
            headers["X-Amz-Target"] = request.target
        try:
            self.conn.request("POST", "/", request.body, headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (*DROPPED, OSError):
            self.conn.close()
            self.conn = self._connect()
            raise

    def close(self) -> None:
        self.conn.close()


def run(port: int, fuzzer: RequestFuzzer, indexes: range, threads: int = 4, stop: threading.Event | None = None,
        max_failures: int = 20) -> Outcome:
    """Send requests `indexes` of `fuzzer` over `threads` connections (request i on thread i % threads)."""
    outcomes = [Outcome() for _ in range(threads)]
    started = time.monotonic()

    def work(n: int) -> None:
        sender, outcome = Sender(port), outcomes[n]
        try:
            for i in indexes[n::threads]:
                if (stop is not None and stop.is_set()) or len(outcome.failures) >= max_failures:
                    break
                judge(sender, fuzzer.request(i), outcome)
        finally:
            sender.close()

    workers = [threading.Thread(target=work, args=(n,), name=f"fuzz-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total = Outcome(seconds=time.monotonic() - started)
    for outcome in outcomes:
        total.merge(outcome)
    return total


def judge(sender: Sender, request: FuzzRequest, outcome: Outcome) -> None:
    outcome.sent += 1
    kind = request.kind.split(":")[0]
    try:
        status, answer = sender.send(request)
    except (*DROPPED, OSError) as exc:
        if len(request.body) > BODY_LIMIT:
            outcome.cut_off += 1
            outcome.kinds[(kind, "cut off")] += 1
            return
        outcome.failures.append(Failure(request, None, f"{type(exc).__name__}: {exc}"))
        return
    outcome.statuses[status] += 1
    outcome.kinds[(kind, status)] += 1
    if status >= 500:
        outcome.failures.append(Failure(request, status, answer.decode("utf-8", "replace")))


# -- what valid requests name: real tables, streams, shards and iterators ------------------------------

TABLES = {"fuzz-a": [("pk", "S", "HASH")], "fuzz-b": [("pk", "S", "HASH"), ("sk", "N", "RANGE")]}
KINESIS_STREAM = "fuzz-k"


def call(port: int, service: str, operation: str, request: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", orjson.dumps(request), {"Content-Type": content_type(service),
                                                           "X-Amz-Target": target_of(service, operation)})
        response = conn.getresponse()
        body = orjson.loads(response.read() or b"{}")
        if response.status != 200:
            raise RuntimeError(f"{operation}: HTTP {response.status}: {body}")
        return body
    finally:
        conn.close()


def prepare(port: int) -> dict[str, list]:
    """Tables with items (one with a stream), a Kinesis stream with records; returns the names,
    ARNs, shard ids and iterators the fuzzer puts in valid requests half of the time."""
    for name, key in TABLES.items():
        call(port, "dynamodb", "CreateTable", {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": a, "KeyType": k} for a, _, k in key],
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t, _ in key],
            **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
               if name == "fuzz-a" else {})})
        for i in range(10):
            item = {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}, **({"sk": {"N": str(i)}} if len(key) > 1 else {})}
            call(port, "dynamodb", "PutItem", {"TableName": name, "Item": item})
    call(port, "kinesis", "CreateStream", {"StreamName": KINESIS_STREAM, "ShardCount": 2})
    stream = wait_active(port)
    call(port, "kinesis", "PutRecords", {"StreamName": KINESIS_STREAM, "Records": [
        {"Data": "aGVsbG8=", "PartitionKey": str(i)} for i in range(20)]})
    table_arns = [call(port, "dynamodb", "DescribeTable", {"TableName": t})["Table"]["TableArn"] for t in TABLES]
    stream_arn = call(port, "dynamodb", "DescribeTable", {"TableName": "fuzz-a"})["Table"]["LatestStreamArn"]
    described = call(port, "dynamodbstreams", "DescribeStream", {"StreamArn": stream_arn})
    ddb_shards = described["StreamDescription"]["Shards"]
    kinesis_shards = [s["ShardId"] for s in stream["Shards"]]
    iterators = [call(port, "dynamodbstreams", "GetShardIterator", {
        "StreamArn": stream_arn, "ShardId": s["ShardId"], "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        for s in ddb_shards]
    iterators += [call(port, "kinesis", "GetShardIterator", {
        "StreamName": KINESIS_STREAM, "ShardId": s, "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        for s in kinesis_shards]
    return {
        "operations": registered_operations(port),
        "TableName": list(TABLES), "ResourceArn": table_arns, "StreamArn": [stream_arn],
        "StreamName": [KINESIS_STREAM], "StreamARN": [stream["StreamARN"]], "ResourceARN": [stream["StreamARN"]],
        "ShardId": [s["ShardId"] for s in ddb_shards] + kinesis_shards, "ShardIterator": iterators,
    }


def registered_operations(port: int) -> list[tuple[str, str]]:
    """The operations the server serves: those that do not answer UnknownOperationException."""
    found = []
    for service in SERVICES:
        for operation in model(service)["operations"]:
            try:
                call(port, service, operation, {})
            except RuntimeError as exc:
                if "UnknownOperationException" in str(exc):
                    continue
            found.append((service, operation))
    return found


def wait_active(port: int, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        stream = call(port, "kinesis", "DescribeStream", {"StreamName": KINESIS_STREAM})["StreamDescription"]
        if stream["StreamStatus"] == "ACTIVE" or time.monotonic() > deadline:
            return stream
        time.sleep(0.1)
