"""Kinesis Data Streams API: ours (the connector inside `cdc-bridge up`) vs kinesalite vs moto, with
raw Kafka (confluent-kafka against ours' broker) as the ceiling.

Per round, in alternating server order, each server gets two fresh --shards-shard streams, one for
the writes and one prefilled (unmeasured) with --drain-records records of --record-bytes, then,
with boto3 and with the raw client (JSON 1.1; moto and kinesalite get the Authorization and
X-Amz-Date of one boto3 request):
- PutRecord x1 and x--threads: --put-ops calls (--put-ops-moto for moto), a new partition key each;
- PutRecords 500: --batches calls of 500 records on --batch-threads threads;
- drain: every shard of the prefilled stream, GetShardIterator(TRIM_HORIZON) then
  GetRecords(Limit=10000) until the shard's known count is read.
Raw Kafka, each round: --kafka-records records produced (idempotent, acks=all, linger.ms=5) to a
4-partition topic on ours' broker, then consumed by one consumer on all partitions.
Targets: PutRecords >= 5x kinesalite's records/s, drain >= 2.5x kinesalite's (per client).
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any

from bench.harness.clients import RAW_CLIENT, consumer, create_topic, dumps, loads, producer
from bench.harness.report import Report, Verdict, fmt, med, paired
from bench.harness.servers import Server, start
from bench.harness.timing import checked_op, run_threads

SUMMARY = "Kinesis PutRecord / PutRecords / drain, ours vs kinesalite vs moto, raw Kafka as the ceiling"
DEFAULT_ROUNDS = 3
DEFAULT_BROKER = "both"   # issue 13: both brokers in one invocation, one pass each (the peers in each pass)
BOTH_BROKERS = True
TARGETS = {"PutRecords 500": 5.0, "drain": 2.5}  # ours / kinesalite, records/s


def add_arguments(p) -> None:
    p.add_argument("--record-bytes", type=int, default=200)
    p.add_argument("--put-ops", type=int, default=2000, help="PutRecord calls per PutRecord workload")
    p.add_argument("--put-ops-moto", type=int, default=1000, help="the same for moto (slow)")
    p.add_argument("--threads", type=int, default=8, help="threads of the multi-threaded PutRecord workload")
    p.add_argument("--batches", type=int, default=40, help="PutRecords calls (of 500 records) per workload")
    p.add_argument("--batch-threads", type=int, default=1, help="threads issuing PutRecords")
    p.add_argument("--drain-records", type=int, default=50_000, help="records in the stream each drain reads")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--kafka-records", type=int, default=200_000, help="records of the raw Kafka ceiling")
    p.add_argument("--client", choices=["both", "boto3", "raw"], default="both")
    p.add_argument("--only", default="ours,kinesalite,moto", help="servers, comma-separated")
    p.add_argument("--kinesalite-dir", default=os.environ.get("KINESALITE_DIR", "/tmp/kinesalite"),
                   help="where `npm install kinesalite --prefix DIR` put it [env: KINESALITE_DIR]")


def create_stream(server: Server, name: str, shards: int) -> None:
    client = server.boto3("kinesis")
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})


def put_ops(server: Server, kind: str, stream: str, payload: bytes, batch: int):
    """make_op, close for run_threads: PutRecord (batch 0) or PutRecords of `batch` records."""
    encoded = base64.b64encode(payload).decode()
    if kind == "boto3":
        client = server.boto3("kinesis")

        def make_boto3(_t):
            if not batch:
                return lambda i: bool(client.put_record(StreamName=stream, PartitionKey=f"pk-{i}", Data=payload))
            return lambda i: client.put_records(StreamName=stream, Records=[
                {"PartitionKey": f"pk-{i}-{j}", "Data": payload} for j in range(batch)])["FailedRecordCount"] == 0
        return make_boto3, None

    def make_raw(_t):
        raw = server.raw("kinesis")
        if not batch:
            op = checked_op(lambda i: raw.call_raw("PutRecord", dumps(
                {"StreamName": stream, "PartitionKey": f"pk-{i}", "Data": encoded})))
        else:
            op = checked_op(lambda i: raw.call_raw("PutRecords", dumps({"StreamName": stream, "Records": [
                {"PartitionKey": f"pk-{i}-{j}", "Data": encoded} for j in range(batch)]})),
                lambda data: None if loads(data)["FailedRecordCount"] == 0 else "FailedRecordCount > 0")
        op.raw = raw
        return op
    return make_raw, lambda op: op.raw.close()


def fill(server: Server, stream: str, records: int, payload: bytes) -> dict[str, int]:
    raw, encoded, per_shard = server.raw("kinesis"), base64.b64encode(payload).decode(), {}
    for first in range(0, records, 500):
        batch = [{"PartitionKey": f"fill-{first + j}", "Data": encoded} for j in range(min(500, records - first))]
        answer = raw.ok("PutRecords", {"StreamName": stream, "Records": batch})
        if answer["FailedRecordCount"]:
            raise RuntimeError(f"{server.name}: filling {stream} failed")
        for r in answer["Records"]:
            per_shard[r["ShardId"]] = per_shard.get(r["ShardId"], 0) + 1
    raw.close()
    return per_shard


def drain(server: Server, kind: str, stream: str, per_shard: dict[str, int]) -> int:
    """Every shard from TRIM_HORIZON to its known count; the records read."""
    raw = server.raw("kinesis") if kind == "raw" else None
    client = server.boto3("kinesis")
    call = (lambda op, **req: raw.ok(op, req)) if raw else \
        (lambda op, **req: getattr(client, {"GetShardIterator": "get_shard_iterator", "GetRecords": "get_records"}[op])(**req))
    total = 0
    try:
        for shard, expected in sorted(per_shard.items()):
            it = call("GetShardIterator", StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            got = empty = 0
            while got < expected and empty < 50 and it:
                page = call("GetRecords", ShardIterator=it, Limit=10000)
                got += len(page["Records"])
                empty = 0 if page["Records"] else empty + 1
                it = page.get("NextShardIterator")
            if got != expected:
                raise RuntimeError(f"{server.name}: drained {got} of {expected} records from {shard}")
            total += got
    finally:
        if raw:
            raw.close()
    return total


def kafka_ceiling(bootstrap: str, records: int, record_bytes: int) -> dict[str, float]:
    from confluent_kafka import TopicPartition

    topic = f"bench-ceiling-{time.time_ns()}"
    create_topic(bootstrap, topic, 4)
    prod = producer(bootstrap, linger_ms=5)
    value = os.urandom(record_bytes)
    t0 = time.perf_counter()
    for i in range(records):
        while True:
            try:
                prod.produce(topic, value, b"k%d" % i, partition=i & 3)
                break
            except BufferError:
                prod.poll(0.01)
    prod.flush(60)
    produce_s = time.perf_counter() - t0
    c = consumer(bootstrap, 5)
    c.assign([TopicPartition(topic, p, 0) for p in range(4)])
    got, t0 = 0, time.perf_counter()
    while got < records and time.perf_counter() - t0 < 120:
        got += sum(1 for m in c.consume(10000, timeout=0.05) if m.error() is None)
    consume_s = time.perf_counter() - t0
    c.close()
    return {"produce": records / produce_s, "consume": got / consume_s}


def run(bench, args) -> Report:
    report = Report("Kinesis Data Streams API: ours vs kinesalite vs moto, raw Kafka as the ceiling")
    servers: list[Server] = []
    for name in [s for s in args.only.split(",") if s]:
        server = start(bench, name)
        if server is not None:
            servers.append(server)
            print(server.describe(), flush=True)
    names = [s.name for s in servers]
    clients = ["boto3", "raw"] if args.client == "both" else [args.client]
    ours = next((s for s in servers if s.name == "ours"), None)
    rows: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    ceilings: list[dict[str, float]] = []
    workloads = ["PutRecord x1", f"PutRecord x{args.threads}", "PutRecords 500", "drain"]
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}/{args.rounds}", flush=True)
        if ours is not None:
            ceilings.append(kafka_ceiling(ours.bootstrap, args.kafka_records, args.record_bytes))
            print(f"  raw Kafka: produce {fmt(ceilings[-1]['produce'])}/s, consume {fmt(ceilings[-1]['consume'])}/s",
                  flush=True)
        payload = os.urandom(args.record_bytes)
        for server in servers if rnd % 2 == 0 else servers[::-1]:
            put_stream, drain_stream = f"bench-put-{rnd}", f"bench-drain-{rnd}"
            create_stream(server, put_stream, args.shards)
            create_stream(server, drain_stream, args.shards)
            per_shard = fill(server, drain_stream, args.drain_records, payload)
            ops = args.put_ops_moto if server.name == "moto" else args.put_ops
            for kind in clients:
                for label, threads, calls, batch in (("PutRecord x1", 1, ops, 0),
                                                     (f"PutRecord x{args.threads}", args.threads, ops, 0),
                                                     ("PutRecords 500", args.batch_threads, args.batches, 500)):
                    with server.cpu() as cpu:
                        result = run_threads(threads, calls, *put_ops(server, kind, put_stream, payload, batch))
                    n = result.ops * max(batch, 1)
                    rec = {"records_per_s": n / result.wall_s, "cpu": cpu.per_1k(n), "client": cpu.client_s / n * 1000,
                           "p50_ms": result.p(50), "errors": result.errors, "first_error": result.first_error}
                    rows.setdefault((label, kind, server.name), []).append(rec)
                with server.cpu() as cpu:
                    t0 = time.perf_counter()
                    n = drain(server, kind, drain_stream, per_shard)
                    wall = time.perf_counter() - t0
                rows.setdefault(("drain", kind, server.name), []).append(
                    {"records_per_s": n / wall, "cpu": cpu.per_1k(n), "client": cpu.client_s / n * 1000,
                     "p50_ms": None, "errors": 0, "first_error": None})
                print(f"  {server.name:10} {kind:5}: " + ", ".join(
                    f"{w} {fmt(rows[(w, kind, server.name)][-1]['records_per_s'])}/s" for w in workloads), flush=True)
    peers = [n for n in names if n != "ours"]
    t = report.table(f"records/s [server CPU s per 1,000 records, process + children]; medians of {args.rounds} "
                     "round(s); ratios = medians of per-round ratios",
                     ["workload", "client", *names, *[f"ours/{p}" for p in peers], "ours/raw Kafka", "target"])
    produce = med([c["produce"] for c in ceilings])
    consume = med([c["consume"] for c in ceilings])
    for w in workloads:
        for kind in clients:
            cells, ratios = [], []
            for n in names:
                recs = rows.get((w, kind, n), [])
                cells.append(f"{fmt(med([r['records_per_s'] for r in recs]))} [{fmt(med([r['cpu'] for r in recs]), 4)}]")
                errs = sum(r["errors"] for r in recs)
                if errs:
                    report.errors.append(f"{n} {w} {kind}: {errs} errors ({recs[0]['first_error']})")
            ours_rates = [r["records_per_s"] for r in rows.get((w, kind, "ours"), [])]
            by_peer = {p: paired(ours_rates, [r["records_per_s"] for r in rows.get((w, kind, p), [])]) for p in peers}
            ratios = [fmt(by_peer[p], 2) + "x" for p in peers]
            ceiling = consume if w == "drain" else produce
            target = ""
            if w in TARGETS and by_peer.get("kinesalite") is not None:
                v = Verdict(f"{w}, {kind}: >= {TARGETS[w]:g}x kinesalite's records/s",
                            by_peer["kinesalite"] >= TARGETS[w], f"{by_peer['kinesalite']:.2f}x")
                report.verdicts.append(v)
                target = f">= {TARGETS[w]:g}x kinesalite: {v.word}"
            t.add(w, kind, *cells, *ratios, fmt((med(ours_rates) or 0) / ceiling, 3) + "x" if ceiling and ours_rates else "-",
                  target)
    if produce:
        report.notes.append(f"raw Kafka on ours' broker (confluent-kafka, {args.record_bytes}-byte records): produce "
                            f"{fmt(produce)}/s, consume {fmt(consume)}/s (medians)")
    report.notes.append(f"clients: {RAW_CLIENT}; boto3 one client per server, retries off; the boto3 rows are bounded "
                        "by boto3's own CPU: judge the targets on the raw rows and on server CPU per record")
    headline = []
    for w in workloads:
        for kind in clients:
            ours_recs = rows.get((w, kind, "ours"), [])
            if not ours_recs:
                continue
            ours_rates = [r["records_per_s"] for r in ours_recs]
            text = f"ours {fmt(med(ours_rates))} [{fmt(med([r['cpu'] for r in ours_recs]), 4)}]"
            for p in peers:
                text += f"; {fmt(paired(ours_rates, [r['records_per_s'] for r in rows.get((w, kind, p), [])]), 2)}x {p}"
            headline.append((f"Kinesis {w}, {kind}: records/s [server CPU s/1k records]", text))
    if produce:
        headline.append(("raw Kafka on ours' broker, produce / consume records/s", f"{fmt(produce)} / {fmt(consume)}"))
    report.data = {f"{w}|{k}|{n}": v for (w, k, n), v in rows.items()}
    report.data["headline"] = headline
    report.data["kafka_ceiling"] = ceilings
    return report
