"""The web console's live tail (issue 20: "its INSERT appears in the live tail within a second"):
how long after a PutItem's answer its change reaches a client of `GET /console/tail` (Server-Sent
Events), next to a DynamoDB Streams poller on the same server (one thread per shard calling
GetRecords without pause: the API's own floor, which the tail is built on).

Starts `cdc-bridge up`, makes a 4-shard NEW_AND_OLD_IMAGES table, opens the tail (from now) and
the pollers, then one writer does --samples sequential PutItems of new keys; sample = event seen
by each reader - PutItem answered. Both readers see every write; each write waits for both.
Target: the tail's p99 under 1,000 ms.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import orjson

from bench.harness.clients import boto3_client
from bench.harness.report import Report, at_most, fmt
from bench.harness.servers import create_table, start_ours_up
from bench.harness.timing import lat_stats

SUMMARY = "live tail (Server-Sent Events) visibility after PutItem, next to a DynamoDB Streams poller"
DEFAULT_ROUNDS = 1
TARGET_P99_MS = 1000.0


def add_arguments(p) -> None:
    p.add_argument("--samples", type=int, default=300, help="PutItems, each seen by the tail and the pollers")
    p.add_argument("--wait-timeout", type=float, default=10.0, help="seconds to wait for one event (else: missing)")


def follow_tail(url: str, arn: str, seen: dict, ready: threading.Event, stop: threading.Event) -> None:
    with httpx.stream("GET", f"{url}/console/tail", params={"streamArn": arn, "start": "LATEST"}, timeout=None) as r:
        event = None
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "shards":
                ready.set()
            elif line.startswith("data: ") and event == "record":
                record = orjson.loads(line.removeprefix("data: "))
                seen.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], time.perf_counter())


def follow_shard(streams, arn: str, shard_id: str, seen: dict, stop: threading.Event) -> None:
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="LATEST")["ShardIterator"]
    while iterator and not stop.is_set():
        page = streams.get_records(ShardIterator=iterator)
        for record in page["Records"]:
            seen.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], time.perf_counter())
        iterator = page.get("NextShardIterator")


def run(bench, args) -> Report:
    report = Report(f"Console live tail: {args.samples} PutItems, visibility in the tail and to a Streams poller")
    server = start_ours_up(bench)
    url = f"http://127.0.0.1:{server.port}"
    table = f"console-{uuid.uuid4().hex[:6]}"
    arn = create_table(server, table, stream="NEW_AND_OLD_IMAGES")["LatestStreamArn"]
    shards = server.call("dynamodbstreams", "DescribeStream", {"StreamArn": arn})["StreamDescription"]["Shards"]
    tail_seen, poll_seen, stop, ready = {}, {}, threading.Event(), threading.Event()
    threading.Thread(target=follow_tail, args=(url, arn, tail_seen, ready, stop), daemon=True).start()
    for shard in shards:  # a client each, as separate pollers would have
        streams = boto3_client("dynamodbstreams", server.port_of("dynamodbstreams"))
        threading.Thread(target=follow_shard, args=(streams, arn, shard["ShardId"], poll_seen, stop), daemon=True).start()
    ready.wait(30)
    time.sleep(1.0)  # the pollers' LATEST iterators are taken too
    writer = server.raw("dynamodb")
    tail_ms, poll_ms, missing = [], [], 0
    for i in range(args.samples):
        key = f"k{i:06d}"
        writer.ok("PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "n": {"N": str(i)}}})
        answered = time.perf_counter()
        deadline = answered + args.wait_timeout
        while (key not in tail_seen or key not in poll_seen) and time.perf_counter() < deadline:
            time.sleep(0.0005)
        if key in tail_seen and key in poll_seen:
            tail_ms.append((tail_seen[key] - answered) * 1000)
            poll_ms.append((poll_seen[key] - answered) * 1000)
        else:
            missing += 1
    stop.set()
    writer.close()
    latency = report.table("visibility after PutItem's answer, ms", ["reader", "n", "p50", "p90", "p99", "max"])
    stats = {}
    for name, values in (("console live tail (SSE)", tail_ms), ("DynamoDB Streams poller, 1 thread/shard", poll_ms)):
        s = stats[name] = lat_stats(values)
        latency.add(name, s["n"], fmt(s["p50_ms"], 1), fmt(s["p90_ms"], 1), fmt(s["p99_ms"], 1), fmt(s["max_ms"], 1))
    report.verdicts.append(at_most("live tail p99", stats["console live tail (SSE)"]["p99_ms"], TARGET_P99_MS, " ms",
                                   "issue 20: a change in the live tail within a second"))
    report.notes.append("The tail polls each shard through GetRecords and, after an empty page, waits 200 ms "
                        "(console/tail.py IDLE_POLL_S): what it adds over the poller is mostly that pause.")
    if missing:
        report.errors.append(f"{missing} writes not seen by both readers within {args.wait_timeout} s")
    report.data.update({"stats": stats, "missing": missing})
    return report

