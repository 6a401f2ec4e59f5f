"""Kinesis Data Streams API side by side: our connector vs kinesalite vs moto, with raw Kafka
(confluent-kafka against our broker) as the ceiling. See bench/README.md.

    .venv/bin/python bench/kinesis_bench.py --rounds 3 --json bench/results/kinesis_bench.json

Workloads (records of --record-bytes, 200 by default), each with boto3 and with the raw client:
  PutRecord x1, PutRecord x8 (threads), PutRecords of 500, and draining a prefilled stream's shards
  with GetShardIterator(TRIM_HORIZON) + GetRecords(Limit=10000).
Targets: PutRecords >= 5x kinesalite, drain >= 2.5x kinesalite (records/s, per client).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    STOP,
    CpuWindow,
    RawJsonClient,
    ServerFailed,
    ServerProcess,
    boto3_client,
    dumps,
    finish,
    free_port,
    http_status,
    loads,
    run_threads,
    signed_headers,
)

TARGET = "Kinesis_20131202"
JSON_11 = "application/x-amz-json-1.1"
KINESALITE_SCRIPT = """const kinesalite = require('kinesalite')
kinesalite({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100000}).listen(+process.argv[2], '127.0.0.1', () => console.log('ready'))
"""
TARGETS = {"PutRecords 500": 5.0, "drain": 2.5}  # ours / kinesalite, records/s


# --------------------------------------------------------------------------- servers


class Peer:
    """One server under test: its process, its port, and how raw requests reach it."""

    def __init__(self, name: str, process: ServerProcess, port: int, signed: bool):
        self.name, self.process, self.port, self.signed = name, process, port, signed
        self.boto3 = None
        self.headers: dict[str, str] = {}

    def connect(self) -> None:
        self.boto3 = boto3_client("kinesis", self.port, max_pool=16)
        if self.signed:  # moto routes by the SigV4 scope; kinesalite wants Authorization + X-Amz-Date
            self.headers = signed_headers(self.boto3, lambda c: c.list_streams())

    def raw(self) -> RawJsonClient:
        client = RawJsonClient(self.port, TARGET, content_type=JSON_11)
        client.base.update(self.headers)
        return client


def start_servers(args, workdir: Path) -> list[Peer]:
    peers: list[Peer] = []
    wanted = args.only.split(",")
    if "ours" in wanted:
        port = free_port()
        argv = [sys.executable, "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(workdir / "ours-data")]
        peers.append(Peer("ours", ServerProcess("ours", argv, lambda port=port: http_status(port, "/health") == 200,
                                                workdir / "ours.log"), port, signed=False))
    if "kinesalite" in wanted:
        module = Path(args.kinesalite_dir) / "node_modules" / "kinesalite"
        if not module.exists() or shutil.which("node") is None:
            print(f"kinesalite: not found under {module} (or no node): install it with "
                  f"`npm install kinesalite --prefix {args.kinesalite_dir}`; skipped", flush=True)
        else:
            port = free_port()
            script = workdir / "kinesalite.js"
            script.write_text(KINESALITE_SCRIPT)
            env = {**os.environ, "NODE_PATH": str(Path(args.kinesalite_dir) / "node_modules")}
            peers.append(Peer("kinesalite", ServerProcess("kinesalite", ["node", str(script), str(port)],
                                                          lambda port=port: http_status(port, "/", "POST") > 0,
                                                          workdir / "kinesalite.log", env=env), port, signed=True))
    if "moto" in wanted:
        port = free_port()
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        peers.append(Peer("moto", ServerProcess("moto", argv, lambda port=port: http_status(port, "/moto-api/") == 200,
                                                workdir / "moto.log"), port, signed=True))
    started = []
    for peer in peers:
        try:
            peer.process.start(args.startup_timeout)
            peer.connect()
            started.append(peer)
            print(f"{peer.name}: ready on port {peer.port} in {peer.process.startup_s:.1f} s (pid {peer.process.pid})",
                  flush=True)
        except ServerFailed as exc:
            print(f"{peer.name}: failed to start, skipped: {exc}", flush=True)
            peer.process.stop()
    return started


def kafka_bootstrap(peer: Peer) -> str:
    conn_body = json.loads(_get(peer.port, "/health"))
    parts = conn_body["parts"]
    return parts.get("connector", {}).get("kafka_bootstrap_servers") or parts["table_api"]["kafka_bootstrap_servers"]


def _get(port: int, path: str) -> bytes:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- workloads


def create_stream(peer: Peer, name: str, shards: int) -> None:
    peer.boto3.create_stream(StreamName=name, ShardCount=shards)
    peer.boto3.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})


def put_record_op(peer: Peer, client_kind: str, stream: str, payload: bytes):
    encoded = base64.b64encode(payload).decode()

    def make(thread: int):
        if client_kind == "boto3":
            return lambda i: bool(peer.boto3.put_record(StreamName=stream, PartitionKey=f"pk-{i}", Data=payload)["SequenceNumber"])
        raw = peer.raw()

        def op(i: int) -> bool:
            status, _ = raw.call_raw("PutRecord", dumps({"StreamName": stream, "PartitionKey": f"pk-{i}", "Data": encoded}))
            return status == 200
        op.client = raw
        return op
    return make


def put_records_op(peer: Peer, client_kind: str, stream: str, payload: bytes, batch: int):
    encoded = base64.b64encode(payload).decode()

    def make(thread: int):
        if client_kind == "boto3":
            def op(i: int) -> bool:
                records = [{"PartitionKey": f"pk-{i}-{j}", "Data": payload} for j in range(batch)]
                return peer.boto3.put_records(StreamName=stream, Records=records)["FailedRecordCount"] == 0
            return op
        raw = peer.raw()

        def op(i: int) -> bool:
            body = dumps({"StreamName": stream, "Records": [{"PartitionKey": f"pk-{i}-{j}", "Data": encoded} for j in range(batch)]})
            status, data = raw.call_raw("PutRecords", body)
            return status == 200 and loads(data)["FailedRecordCount"] == 0
        return op
    return make


def fill(peer: Peer, stream: str, records: int, payload: bytes) -> dict[str, int]:
    """Put `records` records with PutRecords (not measured); records per shard id."""
    raw, encoded, per_shard = peer.raw(), base64.b64encode(payload).decode(), {}
    for start in range(0, records, 500):
        batch = [{"PartitionKey": f"fill-{start + j}", "Data": encoded} for j in range(min(500, records - start))]
        status, data = raw.call_raw("PutRecords", dumps({"StreamName": stream, "Records": batch}))
        answer = loads(data)
        if status != 200 or answer["FailedRecordCount"]:
            raise RuntimeError(f"{peer.name}: filling {stream} failed: {data[:300]!r}")
        for result in answer["Records"]:
            per_shard[result["ShardId"]] = per_shard.get(result["ShardId"], 0) + 1
    raw.close()
    return per_shard


def drain(peer: Peer, client_kind: str, stream: str, per_shard: dict[str, int], max_empty: int = 50) -> tuple[int, int]:
    """Read every shard from TRIM_HORIZON to its known count; (records, GetRecords calls)."""
    total = calls = 0
    raw = peer.raw() if client_kind == "raw" else None
    for shard, expected in sorted(per_shard.items()):
        got = empty = 0
        if raw is None:
            iterator = peer.boto3.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        else:
            status, answer = raw.call("GetShardIterator", {"StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
            iterator = answer["ShardIterator"]
        while got < expected and empty < max_empty:
            if raw is None:
                page = peer.boto3.get_records(ShardIterator=iterator, Limit=10000)
            else:
                status, page = raw.call("GetRecords", {"ShardIterator": iterator, "Limit": 10000})
                if status != 200:
                    raise RuntimeError(f"{peer.name}: GetRecords failed: {page}")
            calls += 1
            got += len(page["Records"])
            empty = 0 if page["Records"] else empty + 1
            iterator = page.get("NextShardIterator")
            if iterator is None:
                break
        if got != expected:
            raise RuntimeError(f"{peer.name}: drained {got} of {expected} records from {shard}")
        total += got
    if raw is not None:
        raw.close()
    return total, calls


def measure(peer: Peer, label: str, client_kind: str, records_per_op: int, run) -> dict[str, Any]:
    with CpuWindow(peer.process) as cpu:
        result = run()
    records = result["records"]
    row = {
        "server": peer.name, "workload": label, "client": client_kind, "records": records,
        "records_per_s": round(records / result["wall_s"], 1) if result["wall_s"] else None,
        "calls": result.get("calls"), "errors": result.get("errors", 0),
        "p50_ms": result.get("p50_ms"), "p99_ms": result.get("p99_ms"),
        "server_cpu_s_per_1000": round(cpu.server_s / records * 1000, 4) if cpu.server_s is not None and records else None,
        "children_cpu_s_per_1000": round(cpu.children_s / records * 1000, 4) if cpu.children_s and records else None,
        "client_cpu_s_per_1000": round(cpu.client_s / records * 1000, 4) if records else None,
        "first_error": result.get("first_error"),
    }
    print(f"  {peer.name:<10} {label:<15} {client_kind:<5} {row['records_per_s'] or 0:>10,.0f} rec/s"
          f"  p50 {row['p50_ms'] or 0:7.2f} ms  p99 {row['p99_ms'] or 0:7.2f} ms"
          f"  server CPU {row['server_cpu_s_per_1000'] if row['server_cpu_s_per_1000'] is not None else '-':>7} s/1000"
          f"{'  +children ' + str(row['children_cpu_s_per_1000']) if row['children_cpu_s_per_1000'] else ''}"
          f"{'  ERRORS ' + str(row['errors']) + ': ' + str(row['first_error']) if row['errors'] else ''}", flush=True)
    return row


def threaded(threads: int, ops: int, make, per_op: int):
    def run():
        result = run_threads(threads, ops, make, close=lambda op: getattr(op, "client", None) and op.client.close())
        return {"records": result.ops * per_op, "wall_s": result.wall_s, "calls": result.ops, "errors": result.errors,
                "p50_ms": round(result.p(50), 3), "p99_ms": round(result.p(99), 3), "first_error": result.first_error}
    return run


def run_round(peers: list[Peer], args, round_no: int, clients: list[str]) -> list[dict]:
    rows: list[dict] = []
    payload = os.urandom(args.record_bytes)
    order = peers if round_no % 2 == 0 else list(reversed(peers))
    for peer in order:
        put_stream, drain_stream = f"bench-put-{round_no}", f"bench-drain-{round_no}"
        create_stream(peer, put_stream, args.shards)
        create_stream(peer, drain_stream, args.shards)
        per_shard = fill(peer, drain_stream, args.drain_records, payload)
        ops = args.put_ops_moto if peer.name == "moto" else args.put_ops
        for kind in clients:
            rows.append(measure(peer, "PutRecord x1", kind, 1, threaded(1, ops, put_record_op(peer, kind, put_stream, payload), 1)))
            rows.append(measure(peer, f"PutRecord x{args.threads}", kind, 1,
                                threaded(args.threads, ops, put_record_op(peer, kind, put_stream, payload), 1)))
            rows.append(measure(peer, "PutRecords 500", kind, 500,
                                threaded(args.batch_threads, args.batches, put_records_op(peer, kind, put_stream, payload, 500), 500)))

            def drained(kind=kind, peer=peer, drain_stream=drain_stream, per_shard=per_shard):
                started = time.perf_counter()
                total, calls = drain(peer, kind, drain_stream, per_shard)
                return {"records": total, "wall_s": time.perf_counter() - started, "calls": calls}
            rows.append(measure(peer, "drain", kind, 1, drained))
    return rows


# --------------------------------------------------------------------------- raw Kafka ceiling


def kafka_ceiling(bootstrap: str, records: int, record_bytes: int, round_no: int) -> dict[str, float]:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-ceiling-{round_no}-{os.getpid()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    value = os.urandom(record_bytes)
    started = time.perf_counter()
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value, b"k%d" % i, partition=i & 3)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    produce_s = time.perf_counter() - started
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{os.getpid()}", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(4)])
    got, started = 0, time.perf_counter()
    while got < records and time.perf_counter() - started < 120:
        for message in consumer.consume(10000, timeout=0.05):
            if message.error() is None:
                got += 1
    consume_s = time.perf_counter() - started
    consumer.close()
    admin.delete_topics([topic])
    result = {"produce_records_per_s": round(records / produce_s, 1), "consume_records_per_s": round(got / consume_s, 1)}
    print(f"  raw Kafka  produce {result['produce_records_per_s']:>10,.0f} rec/s   consume "
          f"{result['consume_records_per_s']:>10,.0f} rec/s  ({records:,} records of {record_bytes} bytes)", flush=True)
    return result


# --------------------------------------------------------------------------- report


def medians(rows: list[dict]) -> dict[tuple, dict]:
    grouped: dict[tuple, list[dict]] = {}
    for row in rows:
        grouped.setdefault((row["workload"], row["client"], row["server"]), []).append(row)

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    return {key: {"records_per_s": median([r["records_per_s"] for r in group]),
                  "server_cpu_s_per_1000": median([r["server_cpu_s_per_1000"] for r in group]),
                  "client_cpu_s_per_1000": median([r["client_cpu_s_per_1000"] for r in group]),
                  "p50_ms": median([r["p50_ms"] for r in group])} for key, group in grouped.items()}


def ratio_medians(rows: list[dict], peer: str) -> dict[tuple, float]:
    """Median over rounds of ours/peer records/s (both ran in the same round)."""
    by_round: dict[tuple, list[float]] = {}
    for row in rows:
        if row["server"] != "ours" or not row["records_per_s"]:
            continue
        match = [r for r in rows if r["server"] == peer and r["round"] == row["round"]
                 and (r["workload"], r["client"]) == (row["workload"], row["client"]) and r["records_per_s"]]
        if match:
            by_round.setdefault((row["workload"], row["client"]), []).append(row["records_per_s"] / match[0]["records_per_s"])
    return {key: statistics.median(values) for key, values in by_round.items()}


def report(rows: list[dict], ceilings: list[dict], peers: list[str], threads: int) -> dict:
    table = medians(rows)
    vs = {peer: ratio_medians(rows, peer) for peer in peers if peer != "ours"}
    produce = statistics.median([c["produce_records_per_s"] for c in ceilings]) if ceilings else None
    consume = statistics.median([c["consume_records_per_s"] for c in ceilings]) if ceilings else None
    workloads = ["PutRecord x1", f"PutRecord x{threads}", "PutRecords 500", "drain"]
    print("\nMedians over rounds (records/s; server CPU s per 1,000 records in brackets):")
    header = f"{'workload':<15} {'client':<6}" + "".join(f"{p:>22}" for p in peers)
    header += "".join(f"{'ours/' + p:>16}" for p in peers if p != "ours") + f"{'ours/Kafka':>12}  target"
    print(header)
    summary = []
    for workload in workloads:
        for client in ("boto3", "raw"):
            cells = [table.get((workload, client, p)) for p in peers]
            if not any(cells):
                continue
            line = f"{workload:<15} {client:<6}"
            for cell in cells:
                line += f"{'-':>22}" if cell is None else f"{cell['records_per_s']:>12,.0f} [{cell['server_cpu_s_per_1000'] or 0:.4f}]"
            entry = {"workload": workload, "client": client,
                     **{p: c for p, c in zip(peers, cells)}}
            for peer in peers:
                if peer != "ours":
                    r = vs[peer].get((workload, client))
                    line += f"{'-':>16}" if r is None else f"{r:>15.2f}x"
                    entry[f"ours_vs_{peer}"] = r
            ceiling = consume if workload == "drain" else produce
            ours = table.get((workload, client, "ours"))
            kafka = ours["records_per_s"] / ceiling if ours and ceiling else None
            line += f"{'-':>12}" if kafka is None else f"{kafka:>11.3f}x"
            entry["ours_vs_kafka"] = kafka
            goal = TARGETS.get(workload)
            if goal and "kinesalite" in vs:
                r = vs["kinesalite"].get((workload, client))
                verdict = None if r is None else ("PASS" if r >= goal else "MISS")
                line += f"  >={goal}x kinesalite: {verdict or '-'}"
                entry["target"] = {"ours_vs_kinesalite_at_least": goal, "verdict": verdict}
            print(line)
            summary.append(entry)
    print("\nThe client's own CPU per 1,000 records against ours, and the records/s it allows on one free core:")
    for workload in workloads:
        for client in ("boto3", "raw"):
            cell = table.get((workload, client, "ours"))
            if cell and cell["client_cpu_s_per_1000"]:
                print(f"  {workload:<15} {client:<6} {cell['client_cpu_s_per_1000']:.4f} s  -> ceiling ~"
                      f"{1000 / cell['client_cpu_s_per_1000']:,.0f} rec/s")
    if produce:
        print(f"\nraw Kafka ceiling (confluent-kafka, our broker): produce {produce:,.0f} rec/s, consume {consume:,.0f} rec/s")
    return {"medians": summary, "kafka_ceiling": {"produce_records_per_s": produce, "consume_records_per_s": consume}}


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record-bytes", type=int, default=200)
    parser.add_argument("--put-ops", type=int, default=2000, help="PutRecord calls per PutRecord workload")
    parser.add_argument("--put-ops-moto", type=int, default=1000, help="the same for moto (slow)")
    parser.add_argument("--threads", type=int, default=8, help="threads of the multi-threaded PutRecord workload")
    parser.add_argument("--batches", type=int, default=40, help="PutRecords calls (of 500 records) per workload")
    parser.add_argument("--batch-threads", type=int, default=1, help="threads issuing PutRecords")
    parser.add_argument("--drain-records", type=int, default=50000, help="records in the stream each drain reads")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--kafka-records", type=int, default=200000, help="records of the raw Kafka ceiling")
    parser.add_argument("--client", choices=["both", "boto3", "raw"], default="both")
    parser.add_argument("--only", default="ours,kinesalite,moto", help="comma-separated: ours, kinesalite, moto")
    parser.add_argument("--kinesalite-dir", default=os.environ.get("KINESALITE_DIR", "/tmp/kinesalite"),
                        help="where `npm install kinesalite --prefix DIR` put it [env: KINESALITE_DIR]")
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument("--json", help="write every round's rows and the medians here")
    args = parser.parse_args()
    clients = ["boto3", "raw"] if args.client == "both" else [args.client]

    signal.signal(signal.SIGTERM, lambda *_: (STOP.set(), sys.exit(1)))
    workdir = Path(tempfile.mkdtemp(prefix="kinesis-bench-"))
    peers = start_servers(args, workdir)
    rows: list[dict] = []
    ceilings: list[dict] = []
    try:
        if not peers:
            return 1
        ours = next((p for p in peers if p.name == "ours"), None)
        for peer in peers:  # idle CPU, for reading the per-record figures
            before = peer.process.cpu()
            time.sleep(2)
            print(f"{peer.name}: idle CPU {(peer.process.cpu() - before) / 2 * 100:.1f} % of a core", flush=True)
        for round_no in range(args.rounds):
            print(f"\nround {round_no + 1}/{args.rounds}", flush=True)
            if ours is not None:
                ceilings.append(kafka_ceiling(kafka_bootstrap(ours), args.kafka_records, args.record_bytes, round_no))
            for row in run_round(peers, args, round_no, clients):
                rows.append({**row, "round": round_no})
            for peer in peers:
                if not peer.process.alive():
                    raise ServerFailed(f"{peer.name} died; log tail:\n{peer.process.log_tail()}")
        summary = report(rows, ceilings, [p.name for p in peers], args.threads)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "ceilings": ceilings, **summary}, indent=1))
        return 1 if any(r["errors"] for r in rows) else 0
    finally:
        finish([peer.process for peer in peers], None, {}, workdir)


if __name__ == "__main__":
    sys.exit(main())
