"""Triggers (issue 17): event source mappings over a DynamoDB stream in `cdc-bridge up`. No peer: the
emulators that run Lambda triggers need Docker, which this machine has not; AWS's own latency is
typically hundreds of ms (said, not measured).

1. Latency: a function whose handler writes `time.time()` at its entry, keyed by the item, to a file;
   a mapping (LATEST, the default BatchSize 100, no batching window) on a NEW_AND_OLD_IMAGES stream; the
   main thread does one PutItem of a new key at a time (raw client) and waits until the handler has
   written it; a sample = handler entry - the moment just before the PutItem request was sent.
   --samples after --warmup, per round; then --idle-samples writes each after 1.5 s without changes
   (an idle shard's poller has stopped fetching by then and is woken by the write: the first change
   after a pause).
2. Throughput: --records items written with BatchWriteItem (25 a call) into a second stream-enabled
   table before a mapping with BatchSize 100 and TRIM_HORIZON is created on it; a no-op handler (it
   appends its batch's size and entry time to a file, nothing else). records/s = records delivered
   after the first batch / (last batch's entry - first batch's entry), so the pollers' start and the
   workers' cold start are left out; the time from CreateEventSourceMapping to the last batch is
   reported beside it.

3. Failover (--failover, on by default): two more `up`s on the first one's Kafka, both with the function
   of a mapping on a Kinesis stream; one of them holds the mapping's lease and delivers. It is stopped
   (SIGTERM: a clean stop), a record is put every 0.1 s, and the sample is the time from the stop to
   the first handler entry on the other instance. Then a third `up` joins and the deliverer is killed
   (SIGKILL: a crash, its lease expires).

Targets (issue 17): PutItem -> handler entry p50 < 50 ms; >= 5,000 records/s through a no-op handler
with BatchSize 100.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

from bench.harness.report import Report, at_least, at_most, fmt, med
from bench.harness.servers import create_table, start_ours_peer, start_ours_up
from bench.harness.timing import lat_stats

SUMMARY = "Lambda triggers: PutItem -> handler entry latency, records/s through a no-op handler (ours only)"
DEFAULT_ROUNDS = 1
LATENCY_P50_MS, RECORDS_PER_S = 50.0, 5000.0
IDLE_PAUSE_S = 1.5
ROLE = "arn:aws:iam::000000000000:role/bench"

ENTRY_STAMPER = """
import os, time
def handler(event, context):
    entered = time.time()
    with open(os.environ["OUT"], "a") as out:
        for record in event["Records"]:
            out.write(record["dynamodb"]["Keys"]["pk"]["S"] + " " + repr(entered) + "\\n")
"""
NO_OP = """
import os, time
def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(str(len(event["Records"])) + " " + repr(time.time()) + "\\n")
"""


KINESIS_STAMPER = """
import base64, os, time
def handler(event, context):
    entered = time.time()
    with open(os.environ["OUT"], "a") as out:
        for record in event["Records"]:
            data = base64.b64decode(record["kinesis"]["data"]).decode()
            out.write(data + " " + os.environ["INSTANCE"] + " " + repr(entered) + "\\n")
"""
FAILOVER_PUT_EVERY_S = 0.1


def add_arguments(p) -> None:
    p.add_argument("--samples", type=int, default=300, help="latency samples per round")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured latency samples first")
    p.add_argument("--idle-samples", type=int, default=10, help="latency samples each after 1.5 s without writes")
    p.add_argument("--records", type=int, default=50_000, help="items the throughput mapping drains")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the handler")
    p.add_argument("--no-failover", dest="failover", action="store_false",
                   help="skip the lease failover phase (it starts three more servers)")


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def make_mapping(server, name: str, source: str, out: Path, table_arn: str, **extra) -> str:
    add_function(server, name, source, {"OUT": str(out)})
    lam = server.boto3("lambda")
    return wait_enabled(lam, lam.create_event_source_mapping(FunctionName=name, EventSourceArn=table_arn, **extra)["UUID"])


def wait_lines(path: Path, count: int, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name}: {len(lines)} of {count} lines")
        time.sleep(0.001)


def latency(bench, server, args, round_number: int) -> tuple[dict, dict]:
    """(back to back, after a pause) latency statistics."""
    table = create_table(server, "latency", stream="NEW_AND_OLD_IMAGES")
    out = bench.workdir / f"latency-{round_number}.txt"
    make_mapping(server, "stamp", ENTRY_STAMPER, out, table["LatestStreamArn"], StartingPosition="LATEST")
    raw = server.raw("dynamodb")
    busy, idle = [], []
    try:
        for i in range(args.warmup + args.samples + args.idle_samples):
            pause = i >= args.warmup + args.samples
            if pause:
                time.sleep(IDLE_PAUSE_S)
            sent = time.time()
            raw.ok("PutItem", {"TableName": "latency", "Item": {"pk": {"S": f"k{i}"}, "v": {"S": "x" * 100}}})
            line = wait_lines(out, i + 1, args.timeout)[i]
            key, entered = line.split()
            assert key == f"k{i}", f"handler saw {key}, expected k{i}"
            if i >= args.warmup:
                (idle if pause else busy).append((float(entered) - sent) * 1000)
    finally:
        raw.close()
    return lat_stats(busy), lat_stats(idle)


def throughput(bench, server, args, round_number: int) -> dict:
    table = create_table(server, "drain", stream="NEW_AND_OLD_IMAGES")
    raw = server.raw("dynamodb")
    try:
        for first in range(0, args.records, 25):
            items = [{"PutRequest": {"Item": {"pk": {"S": f"d{n}"}, "v": {"S": "x" * 100}}}}
                     for n in range(first, min(first + 25, args.records))]
            raw.ok("BatchWriteItem", {"RequestItems": {"drain": items}})
    finally:
        raw.close()
    out = bench.workdir / f"drain-{round_number}.txt"
    created = time.time()
    make_mapping(server, "noop", NO_OP, out, table["LatestStreamArn"], StartingPosition="TRIM_HORIZON",
                 BatchSize=100)
    deadline = time.monotonic() + args.timeout
    while True:
        batches = [line.split() for line in (out.read_text().splitlines() if out.exists() else [])]
        delivered = sum(int(size) for size, _ in batches)
        if delivered >= args.records:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{delivered} of {args.records} records delivered")
        time.sleep(0.05)
    entries = sorted(float(at) for _, at in batches)
    first_size = int(min(batches, key=lambda b: float(b[1]))[0])
    span = entries[-1] - entries[0]
    return {"records": delivered, "batches": len(batches), "records_per_s": (delivered - first_size) / span
            if span > 0 else None, "seconds_from_create": entries[-1] - created,
            "mean_batch": delivered / len(batches)}


def failover(bench, server, args, round_number: int) -> dict:
    """Seconds from stopping (then killing) the instance that delivers a mapping to the first handler
    entry on another instance."""
    stream = f"failover-{round_number}"
    kinesis = server.boto3("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    out = bench.workdir / f"failover-{round_number}.txt"
    peers = [start_ours_peer(bench, server, f"peer-{round_number}-{n}") for n in range(2)]
    for peer in peers:
        add_function(peer, "relay", KINESIS_STAMPER, {"OUT": str(out), "INSTANCE": peer.name})
    wait_enabled(peers[0].boto3("lambda"), peers[0].boto3("lambda").create_event_source_mapping(
        FunctionName="relay", EventSourceArn=arn, StartingPosition="LATEST")["UUID"])
    seconds = {}
    for how in ("stop", "kill"):
        kinesis.put_record(StreamName=stream, PartitionKey="probe", Data=f"probe-{how}".encode())
        owner = line_starting(out, f"probe-{how} ", args.timeout).split()[1]
        [deliverer] = [peer for peer in peers if peer.name == owner]
        stopped = time.time()
        if how == "stop":
            deliverer.processes[0].stop()
        else:
            deliverer.processes[0].process.kill()
        peers.remove(deliverer)
        seconds[how] = first_entry_elsewhere(kinesis, stream, out, owner, how, stopped, args.timeout) - stopped
        if how == "stop":  # a successor for the crash: it has offered the mapping before the kill
            peers.append(start_ours_peer(bench, server, f"peer-{round_number}-2"))
            add_function(peers[-1], "relay", KINESIS_STAMPER, {"OUT": str(out), "INSTANCE": peers[-1].name})
            time.sleep(3)
    return seconds


def line_starting(path: Path, prefix: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines() if path.exists() else []:
            if line.startswith(prefix):
                return line
        time.sleep(0.01)
    raise TimeoutError(f"{path.name}: no line {prefix!r}")


def first_entry_elsewhere(kinesis, stream: str, out: Path, owner: str, how: str, since: float, timeout_s: float):
    """Put a record every 0.1 s until one written after `since` runs on an instance other than `owner`."""
    deadline = time.monotonic() + timeout_s
    n = 0
    while time.monotonic() < deadline:
        kinesis.put_record(StreamName=stream, PartitionKey="tick", Data=f"{how}-{n}".encode())
        n += 1
        for line in out.read_text().splitlines():
            data, instance, entered = line.split()
            if data.startswith(f"{how}-") and instance != owner:
                return float(entered)
        time.sleep(FAILOVER_PUT_EVERY_S)
    raise TimeoutError(f"no other instance took over after the {how}")


def add_function(server, name: str, source: str, variables: dict) -> None:
    server.boto3("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                           Timeout=60, Code={"ZipFile": package(source)},
                                           Environment={"Variables": variables})


def wait_enabled(lam, uuid: str) -> str:
    deadline = time.monotonic() + 60
    while lam.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
        if time.monotonic() > deadline:
            raise TimeoutError("the mapping did not become Enabled")
        time.sleep(0.05)
    return uuid


def run(bench, args) -> Report:
    report = Report("Triggers: DynamoDB stream -> Lambda function (event source mappings)")
    lat_rounds, idle_rounds, put_rounds, failover_rounds = [], [], [], []
    for round_number in range(1, args.rounds + 1):
        server = start_ours_up(bench, f"ours-{round_number}")  # a fresh server (and data dir) per round
        busy, idle = latency(bench, server, args, round_number)
        lat_rounds.append(busy)
        idle_rounds.append(idle)
        put_rounds.append(throughput(bench, server, args, round_number))
        if args.failover:
            failover_rounds.append(failover(bench, server, args, round_number))
        bench.stop_servers()
    lat = report.table(f"PutItem -> handler entry, ms ({args.samples} samples a round, one write at a time)",
                       ["round", "p50", "p90", "p99", "max"])
    for i, s in enumerate(lat_rounds, 1):
        lat.add(i, fmt(s["p50_ms"], 1), fmt(s["p90_ms"], 1), fmt(s["p99_ms"], 1), fmt(s["max_ms"], 1))
    after_pause = report.table(f"the same, each write after {IDLE_PAUSE_S} s without changes (the shard's poller "
                               f"parked, woken by the write), ms ({args.idle_samples} samples a round)",
                               ["round", "p50", "p90", "max"])
    for i, s in enumerate(idle_rounds, 1):
        after_pause.add(i, fmt(s["p50_ms"], 1), fmt(s["p90_ms"], 1), fmt(s["max_ms"], 1))
    drain = report.table(f"records/s through a no-op handler, BatchSize 100, {args.records:,} records "
                         "(TRIM_HORIZON)", ["round", "records/s", "batches", "mean batch", "s from create to last"])
    for i, s in enumerate(put_rounds, 1):
        drain.add(i, fmt(s["records_per_s"]), fmt(s["batches"]), fmt(s["mean_batch"], 1),
                  fmt(s["seconds_from_create"], 1))
    if failover_rounds:
        takeover = report.table("lease failover: s from stopping the instance that delivers a mapping to the first "
                                "handler entry on another (records put every 0.1 s)",
                                ["round", "clean stop (SIGTERM)", "crash (SIGKILL)"])
        for i, s in enumerate(failover_rounds, 1):
            takeover.add(i, fmt(s["stop"], 1), fmt(s["kill"], 1))
    p50 = med([s["p50_ms"] for s in lat_rounds])
    rate = med([s["records_per_s"] for s in put_rounds])
    report.verdicts += [at_most("PutItem -> handler entry p50", p50, LATENCY_P50_MS, " ms",
                                note=f"p99 {fmt(med([s['p99_ms'] for s in lat_rounds]), 1)} ms"),
                        at_least("records/s through a no-op handler (BatchSize 100)", rate, RECORDS_PER_S)]
    report.notes.append("no peer: Lambda emulators (LocalStack, SAM) run functions in Docker, which is not on this "
                        "machine; AWS's PutItem -> trigger latency is typically hundreds of ms")
    report.data.update({"latency": lat_rounds, "latency_after_pause": idle_rounds, "throughput": put_rounds,
                        "failover": failover_rounds})
    return report
