"""Soak: `cdc-bridge up` with authentication on, under a steady mix of every kind of call for
--seconds (10 minutes by default), its memory and open files sampled throughout.

Ours only (there is no peer: the question is whether ours stays flat). `up` runs with a credentials
file (every call below is SigV4-signed by boto3 and checked against IAM policies), on the pass's
broker (`--broker`, default kafka: what `up` runs by default). Client threads, each with its own
boto3 client:

- writers: PutItem, UpdateItem (a counter) and DeleteItem over a fixed key space (--keys), so the
  table's size stays bounded while its stream takes every change;
- readers: GetItem and Query on the same keys;
- a stream follower: GetRecords on every shard of the table's stream, following NextShardIterator;
- a Kinesis producer (PutRecords of 100) and a Kinesis follower (GetRecords on every shard);
- a denied caller: a user whose policy allows only reads tries PutItem (AccessDeniedException
  expected: the refusal path under load).

Every --sample-s the resident memory (VmRSS) and the open file descriptors of each process of
`up`'s tree are read from /proc, with the calls made so far; descriptors of Kafka log segment
files are counted apart (the broker opens more as the data it keeps grows, and closes them when
retention deletes them). Verdict: after --warmup-s, the table service's process (python) and the
broker keep their memory and their other descriptors flat: the median of the last third of the
samples against that of the middle third, growth under --rss-growth (10 %) for memory and under
--fd-growth (5) descriptors. Any HTTP 5xx or unexpected error fails the run.
The memory broker keeps every record in memory (its RSS grows with the data, by design): its
figures are reported, not judged.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from typing import Any

import orjson
from botocore.exceptions import ClientError

from bench.harness.clients import boto3_client
from bench.harness.procs import tree
from bench.harness.report import Report, Verdict, fmt, med
from bench.harness.servers import start_ours_up
from bench.harness.timing import STOP

SUMMARY = "10-minute soak of up with authentication on: memory and open files of its processes stay flat"
DEFAULT_ROUNDS = 1
DEFAULT_BROKER = "kafka"
TABLE = "soak"
STREAM = "soak-events"
ACCESS_KEY, SECRET = "testing", "testing"   # the keys bench/harness/clients.py's boto3 clients sign with
READER_KEY, READER_SECRET = "AKIDREADER", "reader-secret"


def add_arguments(p) -> None:
    p.add_argument("--seconds", type=float, default=600.0, help="length of the soak")
    p.add_argument("--warmup-s", type=float, default=60.0, help="samples before this are not judged")
    p.add_argument("--sample-s", type=float, default=10.0, help="sampling interval of memory and descriptors")
    p.add_argument("--keys", type=int, default=2000, help="the writers' and readers' key space")
    p.add_argument("--writers", type=int, default=2, help="writer threads")
    p.add_argument("--readers", type=int, default=1, help="reader threads")
    p.add_argument("--rss-growth", type=float, default=0.10, help="largest accepted memory growth (fraction)")
    p.add_argument("--fd-growth", type=int, default=5, help="largest accepted growth of open descriptors")


def credentials() -> dict:
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    reads = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Query"], "Resource": "*"}]}
    return {"users": [
        {"name": "soak", "access_key_id": ACCESS_KEY, "secret_access_key": SECRET, "policies": [everything]},
        {"name": "reader", "access_key_id": READER_KEY, "secret_access_key": READER_SECRET, "policies": [reads]}]}


class Calls:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.first_error: str | None = None

    def ok(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def failed(self, name: str, exc: Exception) -> None:
        with self.lock:
            self.errors[name] += 1
            self.first_error = self.first_error or f"{name}: {type(exc).__name__}: {exc}"

    def total(self) -> int:
        """Calls made (records read are counted apart, under "... records")."""
        with self.lock:
            return sum(n for name, n in self.counts.items() if not name.endswith(" records"))


def loop(calls: Calls, name: str, step) -> None:
    while not STOP.is_set():
        try:
            step()
        except Exception as exc:  # noqa: BLE001  (an AWS error, a dropped connection: counted, reported)
            calls.failed(name, exc)
            time.sleep(0.05)


def writer(port: int, calls: Calls, keys: int, seed: int):
    client = boto3_client("dynamodb", port)
    i = seed

    def step() -> None:
        nonlocal i
        i += 1
        key = {"pk": {"S": f"k{i % keys}"}}
        kind = i % 3
        if kind == 0:
            client.put_item(TableName=TABLE, Item={**key, "payload": {"S": "x" * 200}, "n": {"N": "0"}})
        elif kind == 1:
            client.update_item(TableName=TABLE, Key=key, UpdateExpression="ADD n :one",
                               ExpressionAttributeValues={":one": {"N": "1"}})
        else:
            client.delete_item(TableName=TABLE, Key=key)
        calls.ok("write")
    return step


def reader(port: int, calls: Calls, keys: int, seed: int):
    client = boto3_client("dynamodb", port)
    i = seed

    def step() -> None:
        nonlocal i
        i += 1
        key = f"k{i % keys}"
        if i % 2:
            client.get_item(TableName=TABLE, Key={"pk": {"S": key}})
        else:
            client.query(TableName=TABLE, KeyConditionExpression="pk = :k",
                         ExpressionAttributeValues={":k": {"S": key}})
        calls.ok("read")
    return step


def follower(port: int, calls: Calls, service: str):
    """GetRecords on every shard, round robin, from LATEST on."""
    client = boto3_client(service, port)
    if service == "kinesis":
        shards = [s["ShardId"] for s in client.list_shards(StreamName=STREAM)["Shards"]]
        iterators = [client.get_shard_iterator(StreamName=STREAM, ShardId=s, ShardIteratorType="LATEST")
                     ["ShardIterator"] for s in shards]
    else:
        arn = boto3_client("dynamodb", port).describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        shards = [s["ShardId"] for s in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]
        iterators = [client.get_shard_iterator(StreamArn=arn, ShardId=s, ShardIteratorType="LATEST")
                     ["ShardIterator"] for s in shards]
    turn = 0

    def step() -> None:
        nonlocal turn
        index = turn % len(iterators)
        turn += 1
        page = client.get_records(ShardIterator=iterators[index], Limit=1000)
        iterators[index] = page["NextShardIterator"]
        calls.ok(f"{service} records", len(page["Records"]))
        calls.ok(f"{service} GetRecords")
        if not page["Records"]:
            time.sleep(0.02)
    return step


def kinesis_producer(port: int, calls: Calls):
    client = boto3_client("kinesis", port)
    data = os.urandom(200)

    def step() -> None:
        client.put_records(StreamName=STREAM, Records=[{"Data": data, "PartitionKey": str(i)} for i in range(100)])
        calls.ok("kinesis PutRecords")
    return step


def denied_caller(port: int, calls: Calls):
    import boto3
    from botocore.config import Config

    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id=READER_KEY, aws_secret_access_key=READER_SECRET,
                          config=Config(retries={"total_max_attempts": 1}))

    def step() -> None:
        try:
            client.put_item(TableName=TABLE, Item={"pk": {"S": "denied"}})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "AccessDeniedException":
                raise
            calls.ok("denied as expected")
            time.sleep(0.05)
            return
        raise RuntimeError("a PutItem the policy does not allow succeeded")
    return step


SEGMENT_FILES = (".log", ".index", ".timeindex", ".snapshot")


def sample(root: int) -> dict[str, dict[str, float]]:
    """Per process of the tree: RSS MB, open descriptors, and how many of them are Kafka log
    segment files (they grow with the data kept, until retention deletes them: not a leak)."""
    out = {}
    for pid in tree(root):
        with contextlib.suppress(OSError, ValueError, KeyError):
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            targets = []
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            segments = sum(t.endswith(SEGMENT_FILES) for t in targets)
            out[f"{fields['Name'].strip()}"] = {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
                                                "fds": len(targets) - segments, "segment_fds": segments}
    return out


def run(bench, args) -> Report:
    path = bench.workdir / "credentials.json"
    path.write_bytes(orjson.dumps(credentials()))
    server = start_ours_up(bench, extra=["--credentials-file", str(path)])
    port, root = server.port, server.processes[0].pid
    dynamodb, kinesis = boto3_client("dynamodb", port), boto3_client("kinesis", port)
    dynamodb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    calls = Calls()
    steps = ([(f"writer {i}", writer(port, calls, args.keys, i * 7919)) for i in range(args.writers)]
             + [(f"reader {i}", reader(port, calls, args.keys, i * 104729)) for i in range(args.readers)]
             + [("streams follower", follower(port, calls, "dynamodbstreams")),
                ("kinesis follower", follower(port, calls, "kinesis")),
                ("kinesis producer", kinesis_producer(port, calls)), ("denied caller", denied_caller(port, calls))])
    threads = [threading.Thread(target=loop, args=(calls, name, step), daemon=True) for name, step in steps]
    print(f"soak: {len(threads)} client threads for {fmt(args.seconds, 0)} s on {server.describe()}", flush=True)
    started = time.monotonic()
    for t in threads:
        t.start()
    samples: list[dict[str, Any]] = []
    try:
        while (elapsed := time.monotonic() - started) < args.seconds and not STOP.is_set():
            processes = sample(root)
            samples.append({"t": elapsed, "calls": calls.total(), "processes": processes})
            print(f"  {elapsed:5.0f} s: {calls.total():,} calls, " + ", ".join(
                f"{name} {fmt(p['rss_mb'])} MB / {p['fds']} fds" for name, p in processes.items()), flush=True)
            time.sleep(args.sample_s)
    finally:
        STOP.set()
        for t in threads:
            t.join(10)
    return summarize(samples, calls, server.broker, args)


def typical(rows: list[dict], name: str, field: str) -> float | None:
    """The median of one figure of one process over some samples."""
    return med([r["processes"][name][field] for r in rows if name in r["processes"]])


def summarize(samples: list[dict], calls: Calls, broker: str, args) -> Report:
    report = Report(f"soak: `cdc-bridge up` with authentication on, {fmt(args.seconds, 0)} s of mixed calls")
    report.data = {"samples": samples, "counts": dict(calls.counts), "errors": dict(calls.errors)}
    t = report.table("Memory (RSS MB) and open descriptors of each process of up's tree, every "
                     f"{fmt(args.sample_s, 0)} s (fds: other than Kafka log segment files, + those)",
                     ["s", "calls/s", "processes: RSS MB / fds (+ segment files)"])
    previous = None
    for s in samples:
        rate = (s["calls"] - previous["calls"]) / (s["t"] - previous["t"]) if previous else None
        t.add(fmt(s["t"], 0), fmt(rate), "; ".join(
            f"{n} {fmt(p['rss_mb'])} / {p['fds']}" + (f" (+{p['segment_fds']})" if p.get("segment_fds") else "")
            for n, p in s["processes"].items()))
        previous = s
    counts = report.table("Calls made", ["call", "count", "errors"])
    for name in sorted(set(calls.counts) | set(calls.errors)):
        counts.add(name, f"{calls.counts.get(name, 0):,}", calls.errors.get(name, 0))
    judged = [s for s in samples if s["t"] >= args.warmup_s]
    third = len(judged) // 3
    headline = []
    if third >= 1:
        middle, last = judged[third: 2 * third], judged[-third:]
        for name in sorted(set(judged[0]["processes"])):
            rss_before, rss_after = typical(middle, name, "rss_mb"), typical(last, name, "rss_mb")
            fds_before, fds_after = typical(middle, name, "fds"), typical(last, name, "fds")
            growth = (rss_after - rss_before) / rss_before if rss_before else 0.0
            judged_here = not (name == "tansu" or broker == "embedded" and name != "python")
            detail = (f"RSS {fmt(rss_before)} -> {fmt(rss_after)} MB ({growth * 100:+.1f} %), fds {fmt(fds_before, 0)} "
                      f"-> {fmt(fds_after, 0)} (middle third -> last third, medians)")
            headline.append((f"{name}: memory and descriptors after warm-up", detail))
            if judged_here:
                report.verdicts.append(Verdict(f"{name} stays flat", growth < args.rss_growth and
                                               fds_after - fds_before < args.fd_growth, detail))
            else:
                report.notes.append(f"{name} (the memory broker keeps every record in memory; not judged): {detail}")
    else:
        report.errors.append(f"too few samples after the warm-up ({len(judged)}) to judge flatness")
    if calls.errors:
        report.errors.append(f"calls failed: {dict(calls.errors)}; first: {calls.first_error}")
    headline.append(("calls made (all signed, policy-checked)", f"{calls.total():,}"))
    report.data["headline"] = headline
    return report
