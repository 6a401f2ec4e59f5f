"""Restart of `cdc-bridge up` with stored records: how long until it serves them again.

Per broker pass (`--broker both`: the memory broker, then Apache Kafka; there is no peer):

1. `cdc-bridge up --broker B` on a new data dir (its first start is timed to `/health` 200).
2. Stored records: a Kinesis stream of --shards shards gets --records records of --record-bytes
   through the API a user would take, Kinesis PutRecords of 500 (raw client, --writers threads;
   the write rate and server CPU per record are reported); a NEW_AND_OLD_IMAGES table gets
   --table-items items (BatchWriteItem of 25) and the outbox is waited empty, so its stream topic
   holds them. The data dir's size is read (`du`).
3. --restarts times: `up` is stopped (SIGTERM; the time until it and the broker's JVM have exited is
   reported), then started again with the same command line, port and data dir. Timed from the
   spawn: `/health` 200 (polled every 20 ms); the first Kinesis answer that knows the stream
   (DescribeStream, retried on ResourceNotFound for --find-timeout s; on the memory broker too the
   definition comes back from the data dir, its records do not);
   the first Kinesis GetRecords answer (TRIM_HORIZON, first shard, Limit 1000) and the first one
   holding a record (polled for --find-timeout s); the same for the table's DynamoDB Streams
   stream (two probe threads, both from /health 200 on). CPU = every process of `up`'s tree (the
   broker included) from its spawn to those moments.

Why Kinesis PutRecords and not a raw produce into the stream's topic: it is the path a user's
records take (the connector's producer, its keys and headers, its catalog), so the restart reads
back exactly what the API wrote; a raw produce would be faster to set up but could skip what the
connector needs at start-up. The memory broker keeps its records in the broker process: they do
not survive the stop, which is the comparison: the table and the stream definitions (ARNs, shards)
come back from the data dir, their records do not (read back: 0, expected).
4. After the last restart (unless --no-verify), every Kinesis shard is read from TRIM_HORIZON
   (GetRecords Limit 10,000, raw client): the count per shard must equal what was written
   (Apache Kafka) or be 0 (the memory broker), and the cold drain's records/s is reported.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from typing import Any

from bench.harness.clients import RAW_CLIENT, RawJsonClient, dumps, loads
from bench.harness.procs import ServerProcess, http_status, tree_cpu, tree_rss_mb
from bench.harness.report import Report, fmt, med
from bench.harness.servers import Server, create_table, up_argv
from bench.harness.timing import STOP, run_threads

SUMMARY = "restart of `cdc-bridge up` with 1,000,000 stored records: time to /health and to the first GetRecords"
DEFAULT_ROUNDS = 1
DEFAULT_BROKER = "both"
BOTH_BROKERS = True
STREAM = "restart-bench"
TABLE = "restart_table"


def add_arguments(p) -> None:
    p.add_argument("--records", type=int, default=1_000_000, help="Kinesis records stored before the restarts")
    p.add_argument("--record-bytes", type=int, default=200)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--writers", type=int, default=2, help="threads issuing PutRecords of 500")
    p.add_argument("--table-items", type=int, default=10_000, help="items of the stream-enabled table (0: none)")
    p.add_argument("--restarts", type=int, default=2, help="stop + start cycles on the same data dir")
    p.add_argument("--find-timeout", type=float, default=60.0,
                   help="seconds a restarted `up` may answer ResourceNotFound before the stream counts as gone "
                        "(memory broker: 3 s at most, its records do not survive)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip reading every record back after the last restart")


def check_arguments(p, args) -> None:
    if args.rounds != 1:
        p.error("restart runs one round (--restarts sets the stop + start cycles)")
    if args.kafka:
        p.error("restart measures `up` with its own broker: no --kafka")


def since(t0: float) -> float:
    return time.monotonic() - t0


def cpu_of(proc: ServerProcess) -> float:
    return sum(tree_cpu([proc.pid]).values())


def fill(server: Server, records: int, record_bytes: int, writers: int) -> dict[str, Any]:
    encoded = base64.b64encode(os.urandom(record_bytes)).decode()
    per_shard: list[dict[str, int]] = []
    calls = (records + 499) // 500

    def make_op(_t: int):
        raw = server.raw("kinesis")
        counts: dict[str, int] = {}
        per_shard.append(counts)

        def op(i: int) -> bool:
            n = min(500, records - i * 500)
            body = dumps({"StreamName": STREAM, "Records": [{"PartitionKey": f"r{i * 500 + j}", "Data": encoded}
                                                            for j in range(n)]})
            status, data = raw.call_raw("PutRecords", body)
            if status != 200:
                op.last_error = f"HTTP {status}: {data[:200]!r}"
                return False
            answer = loads(data)
            if answer["FailedRecordCount"]:
                op.last_error = "FailedRecordCount > 0"
                return False
            for r in answer["Records"]:
                counts[r["ShardId"]] = counts.get(r["ShardId"], 0) + 1
            return True
        op.last_error = None
        op.raw = raw
        return op

    with server.cpu() as cpu:
        result = run_threads(writers, calls, make_op, lambda op: op.raw.close())
    total: dict[str, int] = {}
    for counts in per_shard:
        for shard, n in counts.items():
            total[shard] = total.get(shard, 0) + n
    written = sum(total.values())
    return {"records": written, "per_shard": total, "errors": result.errors, "first_error": result.first_error,
            "wall_s": result.wall_s, "records_per_s": written / result.wall_s if result.wall_s else None,
            "cpu_ms_per_1k": cpu.per_1k(written)}


def fill_table(server: Server, items: int) -> None:
    raw = server.raw()
    try:
        for first in range(0, items, 25):
            puts = [{"PutRequest": {"Item": {"pk": {"S": f"item-{first + j:07d}"}, "n": {"N": str(first + j)},
                                             "payload": {"S": "p" * 200}}}} for j in range(min(25, items - first))]
            answer = raw.ok("BatchWriteItem", {"RequestItems": {TABLE: puts}})
            if answer.get("UnprocessedItems"):
                raise RuntimeError("BatchWriteItem left UnprocessedItems")
    finally:
        raw.close()


def rss_text(rss: dict[str, float]) -> str:
    """Total resident MB of `up`'s tree, then each process (the broker's JVM is `java`)."""
    return f"{fmt(sum(rss.values()))} (" + ", ".join(f"{name} {fmt(mb)}" for name, mb in rss.items()) + ")"


def du_mb(path) -> float | None:
    try:
        out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, timeout=60).stdout
        return int(out.split()[0]) / 1024
    except Exception:
        return None


def wait_gone(pid: int | None, timeout_s: float = 60.0) -> bool:
    if not pid:
        return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":  # a zombie has exited
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def first_answers(proc: ServerProcess, port: int, t0: float, api: str, find_timeout: float) -> dict[str, Any]:
    """Times (s since the spawn) of the first answer that knows the stream, the first GetRecords
    answer (TRIM_HORIZON, first shard) and the first one holding a record; `api`: kinesis or
    dynamodbstreams."""
    out: dict[str, Any] = {"api": api}
    raw = RawJsonClient(port, "dynamodbstreams" if api == "dynamodbstreams" else "kinesis", timeout=30)
    table = RawJsonClient(port, "dynamodb", timeout=30)
    try:
        if api == "dynamodbstreams":
            status, body = table.call("DescribeTable", {"TableName": TABLE})
            out["table_s"] = since(t0)
            arn = (body or {}).get("Table", {}).get("LatestStreamArn") if status == 200 else None
            out["table"] = "found" if status == 200 else f"HTTP {status} {str((body or {}).get('__type', ''))[-40:]}"
            if not arn:
                out["stream"] = "no table / no stream"
                return out
            describe = {"StreamArn": arn}
        else:
            describe = {"StreamName": STREAM}
        not_found, started = 0, time.monotonic()
        while True:
            status, body = raw.call("DescribeStream", describe)
            out.setdefault("first_answer_s", since(t0))
            if status == 200:
                break
            not_found += 1
            if since(started) > find_timeout:
                out.update(describe_s=since(t0), stream=f"gone: HTTP {status} "
                           f"{str((body or {}).get('__type', ''))[-40:]} for {find_timeout:g} s", not_found=not_found)
                return out
            time.sleep(0.01)
        out.update(describe_s=since(t0), stream="found", not_found=not_found)
        shard = body["StreamDescription"]["Shards"][0]["ShardId"]
        it = raw.ok("GetShardIterator", {**describe, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        pages, polling = 0, time.monotonic()
        while since(polling) < find_timeout:   # an empty shard (memory broker: a renewed stream) answers empty pages
            page = raw.ok("GetRecords", {"ShardIterator": it, "Limit": 1000})
            pages += 1
            if pages == 1:
                out.update(first_getrecords_s=since(t0), first_page_records=len(page["Records"]),
                           cpu_first_getrecords_s=cpu_of(proc))
            if page["Records"]:
                out.update(first_record_s=since(t0), pages_to_first_record=pages)
                break
            it = page.get("NextShardIterator")
            if not it:
                break
    finally:
        raw.close()
        table.close()
    return out


def drain_all(port: int, per_shard: dict[str, int], expected: dict[str, int]) -> dict[str, Any]:
    """Every shard from TRIM_HORIZON until its written count or 20 empty pages; exact = `expected`."""
    raw = RawJsonClient(port, "kinesis", timeout=60)
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    try:
        for shard in sorted(per_shard):
            it = raw.ok("GetShardIterator", {"StreamName": STREAM, "ShardId": shard,
                                             "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            got = empty = 0
            while it and got < per_shard[shard] and empty < 20 and not STOP.is_set():
                page = raw.ok("GetRecords", {"ShardIterator": it, "Limit": 10000})
                got += len(page["Records"])
                empty = 0 if page["Records"] else empty + 1
                it = page.get("NextShardIterator")
            counts[shard] = got
    finally:
        raw.close()
    wall = time.perf_counter() - t0
    total = sum(counts.values())
    return {"records": total, "per_shard": counts, "exact": counts == expected, "wall_s": wall,
            "records_per_s": total / wall if wall else None}


def run(bench, args) -> Report:
    broker = bench.broker
    report = Report(f"restart of `cdc-bridge up` with {args.records:,} stored Kinesis records "
                    f"(+ a {args.table_items:,}-item stream-enabled table)")
    find_timeout = args.find_timeout if broker == "kafka" else min(3.0, args.find_timeout)
    port = bench.free_port()
    data = bench.workdir / "restart-data"
    data.mkdir()
    argv = up_argv(bench, port, data)

    def launch(name: str) -> tuple[ServerProcess, float]:
        proc = ServerProcess(name, argv, lambda: http_status(port, "/health", timeout=1.0) == 200,
                             bench.workdir / f"{name}.log", cwd=str(bench.project), poll_s=0.02)
        t0 = time.monotonic()
        bench.launch(proc)
        return proc, t0

    proc, _ = launch("ours")
    first_cpu = cpu_of(proc)
    server = Server("ours", [proc], port, signed=False, kind="cdc-bridge up")
    parts = server.health()["parts"]
    info = parts.get("broker", {})
    kind = info.get("kind", "?")
    bench.note_broker(f"{kind}{' ' + info['version'] if info.get('version') else ''} at {info.get('bootstrap_servers')} "
                      f"(`cdc-bridge up --broker {broker}`'s; /health parts.broker)")
    print(f"{server.describe()}; broker {kind}; first start {fmt(proc.startup_s, 2)} s to /health", flush=True)
    R: dict[str, Any] = {"broker": broker, "first_start_s": proc.startup_s, "first_start_cpu_s": first_cpu,
                         "rss_first_start": tree_rss_mb(proc.pid),
                         "broker_seconds_to_ready": info.get("seconds_to_ready")}

    client = server.boto3("kinesis")
    client.create_stream(StreamName=STREAM, ShardCount=args.shards)
    client.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
    t = time.monotonic()
    print(f"writing {args.records:,} records of {args.record_bytes} B (Kinesis PutRecords of 500, "
          f"{args.writers} threads)...", flush=True)
    f = fill(server, args.records, args.record_bytes, args.writers)
    R["fill"] = f
    print(f"  {f['records']:,} records in {fmt(f['wall_s'], 1)} s: {fmt(f['records_per_s'])}/s, "
          f"{fmt(f['cpu_ms_per_1k'], 4)} s CPU/1k records", flush=True)
    if f["errors"]:
        report.errors.append(f"PutRecords: {f['errors']} failed calls ({f['first_error']})")
    if args.table_items:
        create_table(server, TABLE, "NEW_AND_OLD_IMAGES")
        fill_table(server, args.table_items)
        from bench.workloads.streams import wait_outbox_empty
        wait_outbox_empty(server, 300)
    R["setup_s"] = since(t)
    R["data_dir_mb"] = du_mb(data)
    R["rss_after_writes"] = tree_rss_mb(proc.pid)
    R["restarts"] = []
    for r in range(1, args.restarts + 1):
        if STOP.is_set():
            raise KeyboardInterrupt
        jvm = (server.health()["parts"].get("broker") or {}).get("pid")
        t = time.monotonic()
        proc.stop(timeout_s=120)
        up_exit = since(t)
        gone = wait_gone(jvm if jvm != proc.pid else None)
        stop_s = since(t)
        proc, t0 = launch(f"ours-restart{r}")
        rec: dict[str, Any] = {"stop_s": stop_s, "up_exit_s": up_exit, "broker_gone": gone,
                               "health_s": proc.startup_s, "cpu_health_s": cpu_of(proc)}
        probes = {"kinesis": None, **({"streams": None} if args.table_items else {})}

        def probe(key: str, api: str) -> None:
            try:
                probes[key] = first_answers(proc, port, t0, api, find_timeout)
            except Exception as exc:
                probes[key] = {"api": api, "stream": f"probe failed: {type(exc).__name__}: {exc}"}
        threads = [threading.Thread(target=probe, args=(key, "kinesis" if key == "kinesis" else "dynamodbstreams"))
                   for key in probes]
        for th in threads:   # both probes at once, from /health 200 on
            th.start()
        for th in threads:
            th.join()
        rec.update(probes)
        rec["cpu_after_probes_s"] = cpu_of(proc)
        rec["rss_after_probes"] = tree_rss_mb(proc.pid)
        server = Server("ours", [proc], port, signed=False, kind="cdc-bridge up")
        rec["broker_seconds_to_ready"] = (server.health()["parts"].get("broker") or {}).get("seconds_to_ready")
        k = rec["kinesis"]
        print(f"  restart {r}: stopped in {fmt(stop_s, 2)} s; /health {fmt(rec['health_s'], 2)} s; Kinesis stream "
              f"{k.get('stream')} at {fmt(k.get('describe_s'), 2)} s ({k.get('not_found', 0)} not-found answers), first "
              f"GetRecords {fmt(k.get('first_getrecords_s'), 2)} s ({k.get('first_page_records', '-')} records), "
              f"first record {fmt(k.get('first_record_s'), 2)} s", flush=True)
        if "streams" in rec:
            s = rec["streams"]
            print(f"    DynamoDB Streams: table {s.get('table')}, stream {s.get('stream', '-')} at "
                  f"{fmt(s.get('describe_s'), 2)} s, first GetRecords {fmt(s.get('first_getrecords_s'), 2)} s "
                  f"({s.get('first_page_records', '-')} records), first record {fmt(s.get('first_record_s'), 2)} s",
                  flush=True)
        R["restarts"].append(rec)
    if args.verify and R["restarts"] and R["restarts"][-1]["kinesis"].get("stream") == "found":
        # the promise: Apache Kafka keeps every record; the memory broker keeps none (definitions only)
        expected = f["per_shard"] if broker == "kafka" else {shard: 0 for shard in f["per_shard"]}
        d = drain_all(port, f["per_shard"], expected)
        R["verify"] = d
        print(f"  read back: {d['records']:,} records in {fmt(d['wall_s'], 1)} s ({fmt(d['records_per_s'])}/s): "
              + ("as expected" if d["exact"] else f"MISMATCH {d['per_shard']} vs {expected}"), flush=True)
        if not d["exact"]:
            report.errors.append(f"after the restart: {d['per_shard']} records per shard, expected {expected}")
    for i, rec in enumerate(R["restarts"], 1):   # stream definitions come back on either broker
        if rec["kinesis"].get("stream") != "found":
            report.errors.append(f"restart {i}: the Kinesis stream: {rec['kinesis'].get('stream')}")
    summarize(report, R, args)
    return report


def summarize(report: Report, R: dict, args) -> None:
    report.data = R
    f = R["fill"]
    t = report.table("Setup (before the restarts)", ["step", "figure"])
    t.add("first start of `up` on a new data dir, spawn -> /health 200",
          f"{fmt(R['first_start_s'], 2)} s ({fmt(R['first_start_cpu_s'], 1)} s CPU, process + children)")
    t.add(f"write {args.records:,} records of {args.record_bytes} B, Kinesis PutRecords of 500 x{args.writers} (raw)",
          f"{fmt(f['wall_s'], 1)} s: {fmt(f['records_per_s'])} records/s, {fmt(f['cpu_ms_per_1k'], 4)} s server CPU "
          "per 1,000 records")
    t.add("records per shard", ", ".join(f"{k[-4:]}: {v:,}" for k, v in sorted(f["per_shard"].items())))
    if args.table_items:
        t.add("stream-enabled table (NEW_AND_OLD_IMAGES)", f"{args.table_items:,} items, outbox empty before the stop")
    t.add("data dir after the writes (du)", f"{fmt(R['data_dir_mb'], 1)} MB")

    t = report.table("Restarts on the same data dir: seconds from the spawn of `up` (CPU: every process of its tree, "
                     "the broker included, from the spawn)",
                     ["restart", "stop (SIGTERM -> up and broker exited)", "/health 200 [CPU s]",
                      "Kinesis stream known", "first Kinesis GetRecords [records in it] [CPU s]",
                      "first Kinesis record", "DynamoDB Streams: stream known", "first Streams GetRecords [records]"])
    for i, rec in enumerate(R["restarts"], 1):
        k, s = rec["kinesis"], rec.get("streams", {})

        def known(x: dict) -> str:
            if x.get("stream") == "found":
                return f"{fmt(x['describe_s'], 2)}" + (f" ({x['not_found']} not-found answers first)" if x["not_found"] else "")
            return f"{fmt(x.get('first_answer_s'), 2)}: {x.get('stream', x.get('table', '-'))}"
        t.add(i, f"{fmt(rec['stop_s'], 2)}" + ("" if rec["broker_gone"] else " (broker still there)"),
              f"{fmt(rec['health_s'], 2)} [{fmt(rec['cpu_health_s'], 1)}]", known(k),
              f"{fmt(k.get('first_getrecords_s'), 2)} [{k.get('first_page_records', '-')}] "
              f"[{fmt(k.get('cpu_first_getrecords_s'), 1)}]",
              fmt(k.get("first_record_s"), 2), known(s) if s else "-",
              f"{fmt(s.get('first_getrecords_s'), 2)} [{s.get('first_page_records', '-')}]" if s else "-")
    if "verify" in R:
        d = R["verify"]
        report.notes.append(f"after the last restart every shard was read from TRIM_HORIZON (GetRecords Limit 10,000, "
                            f"raw client): {d['records']:,} records in {fmt(d['wall_s'], 1)} s "
                            f"({fmt(d['records_per_s'])} records/s, cold): "
                            + ("as the broker promises (every record on Apache Kafka, none on the memory broker)"
                               if d["exact"] else "MISMATCH"))
    report.notes.append(f"clients: {RAW_CLIENT}; the probes after a restart are one raw client polling without pause "
                        "(DescribeStream retried every 10 ms while the answer is ResourceNotFound)")
    restarts = R["restarts"]
    head = [("first start (new data dir) -> /health, s", fmt(R["first_start_s"], 2)),
            (f"write {args.records:,} records (PutRecords 500 x{args.writers}), records/s",
             f"{fmt(f['records_per_s'])} ({fmt(f['wall_s'], 1)} s)"),
            ("data dir after the writes, MB", fmt(R["data_dir_mb"], 1)),
            ("memory of up's tree at the first /health 200, RSS MB", rss_text(R["rss_first_start"])),
            ("memory of up's tree after the writes, RSS MB", rss_text(R["rss_after_writes"])),
            ("stop (SIGTERM -> exited), s, median", fmt(med([r["stop_s"] for r in restarts]), 2))]
    for i, rec in enumerate(restarts, 1):
        k = rec["kinesis"]
        head.append((f"restart {i}: /health ready, s [CPU s]", f"{fmt(rec['health_s'], 2)} [{fmt(rec['cpu_health_s'], 1)}]"))
        head.append((f"restart {i}: memory of up's tree after the first reads, RSS MB", rss_text(rec["rss_after_probes"])))
        head.append((f"restart {i}: first Kinesis GetRecords answer, s [records in it]",
                     f"{fmt(k.get('first_getrecords_s'), 2)} [{k.get('first_page_records', '-')}]"
                     if k.get("stream") == "found" else f"none: stream {k.get('stream')} (first answer {fmt(k.get('first_answer_s'), 2)} s)"))
        s = rec.get("streams")
        if s:
            head.append((f"restart {i}: first DynamoDB Streams GetRecords answer, s [records in it]",
                         f"{fmt(s.get('first_getrecords_s'), 2)} [{s.get('first_page_records', '-')}]"
                         if s.get("stream") == "found" else f"none: table {s.get('table')}, stream {s.get('stream')}"))
    if "verify" in R:
        head.append(("records back after the restarts", f"{R['verify']['records']:,} of {f['records']:,} "
                     f"({fmt(R['verify']['records_per_s'])} records/s cold drain)"))
    else:
        head.append(("records back after the restarts", "none: the stream is gone" if restarts and
                     restarts[-1]["kinesis"].get("stream") != "found" else "not checked"))
    R["headline"] = head
