"""Firehose-style delivery streams (ours only: no peer writes objects to a local folder).

Per round, on `cdc-bridge up` (the pass's broker), into the local archive folder (uncompressed,
AppendDelimiterToRecord, so each record of --record-bytes is --record-bytes + 1 B on disk):
- throughput: a fresh DirectPut stream (BufferingHints --size-mb / 1 s); --records records sent as
  PutRecordBatch of 500 from --threads threads (raw client); timed from the first call to the moment
  every record's bytes are in complete objects on disk (the folder polled every 5 ms); also the
  PutRecordBatch rate alone (until the last call answered) and server CPU per 1,000 records.
- latency: a fresh stream at the smallest buffer (1 MiB / 0 s); --samples times one PutRecord, then
  the time until a new complete object holds it (polled every 1 ms).
- table latency (the guide's pipeline): a table with a Kinesis streaming destination (a 1-shard
  stream) read by a KinesisStreamAsSource stream at the smallest buffer; --table-samples times one
  PutItem, then the time until a new complete object holds its record (polled every 1 ms).
Target (issue 18): >= 20,000 records/s of 200 B from PutRecordBatch to files on disk.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from pathlib import Path

from bench.harness.clients import dumps, loads
from bench.harness.report import Report, at_least, fmt, med
from bench.harness.servers import Server, create_table, start_ours_up
from bench.harness.timing import percentile

SUMMARY = ("Firehose delivery streams: PutRecordBatch -> objects on disk records/s, PutRecord -> object latency, "
           "PutItem -> Kinesis streaming destination -> object latency")
DEFAULT_ROUNDS = 1
DEFAULT_BROKER = "memory"
BOTH_BROKERS = True
TARGET_RECORDS_PER_S = 20_000
ROLE = "arn:aws:iam::000000000000:role/bench"
NEWLINE = {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}


def add_arguments(p) -> None:
    p.add_argument("--records", type=int, default=200_000, help="records per throughput round")
    p.add_argument("--record-bytes", type=int, default=200)
    p.add_argument("--threads", type=int, default=2, help="threads sending PutRecordBatch")
    p.add_argument("--size-mb", type=int, default=5, help="BufferingHints.SizeInMBs of the throughput stream")
    p.add_argument("--samples", type=int, default=30, help="PutRecord -> object latency samples per round")
    p.add_argument("--table-samples", type=int, default=30,
                   help="PutItem -> Kinesis streaming destination -> object latency samples per round")


def create(server: Server, bucket: str, size_mb: int, interval_s: int, source_arn: str | None = None) -> str:
    """A delivery stream, DirectPut or (with `source_arn`) reading that Kinesis stream; once ACTIVE."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    source = {} if source_arn is None else {"DeliveryStreamType": "KinesisStreamAsSource",
                                           "KinesisStreamSourceConfiguration": {"KinesisStreamARN": source_arn, "RoleARN": ROLE}}
    server.call("firehose", "CreateDeliveryStream", {"DeliveryStreamName": name, **source, "ExtendedS3DestinationConfiguration": {
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", "ProcessingConfiguration": NEWLINE,
        "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval_s}}})
    deadline = time.monotonic() + 60
    while server.call("firehose", "DescribeDeliveryStream", {"DeliveryStreamName": name})[
            "DeliveryStreamDescription"]["DeliveryStreamStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not turn ACTIVE")
        time.sleep(0.05)
    return name


def on_disk(folder: Path) -> tuple[int, int]:
    """(bytes, objects) of the complete objects under `folder` (temporary `.…tmp` files skipped)."""
    total = count = 0
    for root, _, files in os.walk(folder):
        for f in files:
            if not f.startswith("."):
                total += os.path.getsize(os.path.join(root, f))
                count += 1
    return total, count


def throughput(server: Server, archive: Path, args) -> dict:
    bucket = f"tp-{uuid.uuid4().hex[:8]}"
    name = create(server, bucket, args.size_mb, 1)
    data = base64.b64encode(os.urandom(args.record_bytes)).decode()
    body = dumps({"DeliveryStreamName": name, "Records": [{"Data": data}] * 500})
    batches = args.records // 500
    expected = batches * 500 * (args.record_bytes + 1)
    failures: list[str] = []

    def send(count: int) -> None:
        raw = server.raw("firehose")
        try:
            for _ in range(count):
                status, answer = raw.call_raw("PutRecordBatch", body)
                if status != 200 or loads(answer)["FailedPutCount"]:
                    failures.append(f"{status} {answer[:200]!r}")
        finally:
            raw.close()

    shares = [batches // args.threads + (1 if i < batches % args.threads else 0) for i in range(args.threads)]
    threads = [threading.Thread(target=send, args=(n,)) for n in shares]
    with server.cpu() as cpu:
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        put_s = time.perf_counter() - t0
        while on_disk(archive / bucket)[0] < expected and time.perf_counter() - t0 < 600:
            time.sleep(0.005)
        wall = time.perf_counter() - t0
    size, objects = on_disk(archive / bucket)
    n = batches * 500
    return {"records_per_s": n / wall, "put_records_per_s": n / put_s, "objects": objects, "bytes_ok": size == expected,
            "cpu": cpu.per_1k(n), "errors": len(failures), "first_error": failures[0] if failures else None}


def latency(server: Server, archive: Path, samples: int) -> list[float]:
    bucket = f"lat-{uuid.uuid4().hex[:8]}"
    name = create(server, bucket, 1, 0)
    raw = server.raw("firehose")
    try:
        return [until_new_object(archive / bucket, lambda i=i: raw.ok("PutRecord", {
            "DeliveryStreamName": name, "Record": {"Data": base64.b64encode(b"%08d" % i).decode()}}))
                for i in range(samples)]
    finally:
        raw.close()


def until_new_object(folder: Path, call) -> float:
    """ms from `call()` until a new complete object is in `folder` (at most 30 s)."""
    before = on_disk(folder)[1]
    t0 = time.perf_counter()
    call()
    while on_disk(folder)[1] == before and time.perf_counter() - t0 < 30:
        time.sleep(0.001)
    return (time.perf_counter() - t0) * 1000


def table_latency(server: Server, archive: Path, samples: int) -> list[float]:
    """PutItem on a table whose Kinesis streaming destination a delivery stream archives (1 MiB / 0 s):
    the time from the call until a new complete object holds the change."""
    table, stream = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    create_table(server, table)
    server.call("kinesis", "CreateStream", {"StreamName": stream, "ShardCount": 1})
    arn = wait_until(lambda: (d := server.call("kinesis", "DescribeStreamSummary", {"StreamName": stream})[
        "StreamDescriptionSummary"])["StreamStatus"] == "ACTIVE" and d["StreamARN"], f"{stream} ACTIVE")
    bucket = f"kds-{uuid.uuid4().hex[:8]}"
    create(server, bucket, 1, 0, source_arn=arn)
    server.call("dynamodb", "EnableKinesisStreamingDestination", {"TableName": table, "StreamArn": arn})
    wait_until(lambda: server.call("dynamodb", "DescribeKinesisStreamingDestination", {"TableName": table})[
        "KinesisDataStreamDestinations"][0]["DestinationStatus"] == "ACTIVE", f"{table}'s destination ACTIVE")
    raw = server.raw("dynamodb")
    try:
        return [until_new_object(archive / bucket, lambda i=i: raw.ok("PutItem", {
            "TableName": table, "Item": {"pk": {"S": f"item-{i}"}, "n": {"N": str(i)}}})) for i in range(samples)]
    finally:
        raw.close()


def wait_until(check, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.05)
    return value


def run(bench, args) -> Report:
    report = Report("Firehose delivery streams: PutRecordBatch to objects on disk, PutRecord to object latency")
    server = start_ours_up(bench)
    print(server.describe(), flush=True)
    archive = bench.workdir / "ours-data" / "archive"
    rounds, latencies, table_latencies = [], [], []
    for rnd in range(args.rounds):
        rounds.append(throughput(server, archive, args))
        latencies += latency(server, archive, args.samples)
        table_latencies += table_latency(server, archive, args.table_samples)
        print(f"round {rnd + 1}/{args.rounds}: {fmt(rounds[-1]['records_per_s'])} records/s to disk "
              f"({fmt(rounds[-1]['put_records_per_s'])}/s acknowledged), {rounds[-1]['objects']} objects; "
              f"latency p50 {fmt(percentile(sorted(latencies), 50), 1)} ms, "
              f"PutItem -> object p50 {fmt(percentile(sorted(table_latencies), 50), 1)} ms", flush=True)
    t = report.table(f"throughput, {args.records:,} records of {args.record_bytes} B, PutRecordBatch of 500 on "
                     f"{args.threads} threads, buffer {args.size_mb} MiB / 1 s; medians of {args.rounds} round(s)",
                     ["records/s to files on disk", "records/s acknowledged", "objects", "bytes on disk as sent",
                      "server CPU s per 1,000 records", "errors"])
    t.add(fmt(med([r["records_per_s"] for r in rounds])), fmt(med([r["put_records_per_s"] for r in rounds])),
          rounds[-1]["objects"], all(r["bytes_ok"] for r in rounds), fmt(med([r["cpu"] for r in rounds]), 3),
          sum(r["errors"] for r in rounds))
    lat = report.table(f"PutRecord -> complete object on disk, buffer 1 MiB / 0 s, {len(latencies)} samples (ms)",
                       ["p50", "p90", "p99", "max"])
    lat.add(*(fmt(percentile(sorted(latencies), q), 1) for q in (50, 90, 99)), fmt(max(latencies), 1))
    tab = report.table(f"PutItem -> Kinesis streaming destination (1 shard) -> KinesisStreamAsSource -> complete object "
                       f"on disk, buffer 1 MiB / 0 s, {len(table_latencies)} samples (ms)", ["p50", "p90", "p99", "max"])
    tab.add(*(fmt(percentile(sorted(table_latencies), q), 1) for q in (50, 90, 99)), fmt(max(table_latencies), 1))
    report.verdicts.append(at_least("records/s of 200 B from PutRecordBatch to files on disk",
                                    med([r["records_per_s"] for r in rounds]), TARGET_RECORDS_PER_S))
    errors = [r["first_error"] for r in rounds if r["first_error"]]
    report.errors += errors[:1]
    report.data = {"rounds": rounds, "latency_ms": latencies, "table_latency_ms": table_latencies,
                   "headline": [("records/s to disk", fmt(med([r["records_per_s"] for r in rounds]))),
                                ("PutRecord -> object p50 ms", fmt(percentile(sorted(latencies), 50), 1)),
                                ("PutItem -> object p50 ms", fmt(percentile(sorted(table_latencies), 50), 1))]}
    return report
