"""Query, parallel Scan and BatchWriteItem: ours vs moto, and dynalite when installed.

All servers run at once (ours: `cdc-bridge up`; moto server; dynalite from --dynalite-dir, where
`npm install dynalite` ran); each measurement runs on each server in turn, the order reversed
every round, medians of --rounds. Every call goes through the raw client (--threads threads;
SigV4 headers of one boto3 request replayed to moto and dynalite):

- BatchWriteItem of 25 new items of ~150 bytes per call into an empty table: items/s, CPU per call;
- Query of one random partition of 100 items, the table (pk S, sk N) grown with BatchWriteItem to
  each of --sizes: calls/s, p50/p99, CPU per call (an answer without exactly 100 items is an error);
- Scan at the largest size, 4 segments in parallel, each paged to its end (stopped after
  --scan-budget seconds: then "partial"): items/s; the counts must add up to the table.

Each measurement estimates the rate with a few calls, warms up for about a second, then runs for
about --seconds (at most --max-ops calls). Targets: Query >= 2x dynalite's calls/s at the largest
size and flat (largest >= 0.8x smallest); Scan >= 20,000 items/s; BatchWriteItem >= 2x moto's items/s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from bench.harness.clients import RAW_CLIENT, RawJsonClient, dumps, loads
from bench.harness.report import Report, at_least, fmt, med
from bench.harness.servers import Server, create_table, start
from bench.harness.timing import run_threads

SUMMARY = "Query / parallel Scan / BatchWriteItem on tables of 1,000 to 100,000 items, ours vs moto vs dynalite"
DEFAULT_ROUNDS = 3
QUERY_TABLE, BATCH_TABLE = "bench_query", "bench_batch"
PER_PARTITION, SEGMENTS = 100, 4
QUERY_TARGET, FLAT_TARGET, SCAN_TARGET, BATCH_TARGET = 2.0, 0.8, 20_000, 2.0


def add_arguments(p) -> None:
    add_measurement_arguments(p, "ours,moto,dynalite")
    p.add_argument("--scan-budget", type=float, default=120.0, help="seconds a Scan may take before it stops")
    p.add_argument("--dynalite-dir", default=os.environ.get("DYNALITE_DIR", "/tmp/dynalite"),
                   help="folder holding node_modules/dynalite (skipped if absent) [env: DYNALITE_DIR]")


def add_measurement_arguments(p, servers: str) -> None:
    """Options of the workloads that grow a table through --sizes and time calls with `measure`."""
    p.add_argument("--sizes", default="1000,10000,100000", help="table sizes for Query, ascending (multiples of 100)")
    p.add_argument("--threads", type=int, default=4, help="client threads for each measurement")
    p.add_argument("--seconds", type=float, default=5.0, help="approximate length of each measurement")
    p.add_argument("--max-ops", type=int, default=20_000, help="at most this many calls per measurement")
    p.add_argument("--only", default=servers, help="servers, comma-separated")


def check_arguments(p, args) -> None:
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    if any(s % PER_PARTITION or s <= 0 for s in args.sizes):
        p.error("--sizes must be positive multiples of 100")


def item(pk: str, sk: int) -> dict:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "payload": {"S": "x" * 100}, "n": {"N": str(sk * 7)}}


def partition(i: int) -> str:
    return f"part-{i:06d}"


def raw_op(server: Server, body: Callable[[RawJsonClient, int], str | None], timeout: float = 60.0) -> Callable:
    """make_op for run_threads: one raw client per thread; `body` returns an error text or None."""
    def make_op(_t: int):
        raw = server.raw(timeout=timeout)

        def op(i: int) -> bool:
            error = body(raw, i)
            if error and op.last_error is None:
                op.last_error = error
            return error is None
        op.last_error, op.raw = None, raw
        return op
    return make_op


def close_raw(op) -> None:
    op.raw.close()


def checked(raw: RawJsonClient, operation: str, request: dict) -> tuple[dict | None, str | None]:
    status, data = raw.call_raw(operation, dumps(request))
    if status != 200:
        return None, f"HTTP {status}: {data[:200].decode(errors='replace')}"
    return loads(data), None


def batch_body(table: str, keys_of: Callable[[int], list[tuple[str, int]]]):
    def body(raw: RawJsonClient, i: int) -> str | None:
        return batch_write(raw, table, [item(pk, sk) for pk, sk in keys_of(i)])
    return body


def batch_write(raw: RawJsonClient, table: str, items: list[dict]) -> str | None:
    """BatchWriteItem of `items`, unprocessed ones sent again; an error text or None."""
    requests = [{"PutRequest": {"Item": one}} for one in items]
    for _ in range(20):
        answer, error = checked(raw, "BatchWriteItem", {"RequestItems": {table: requests}})
        if error:
            return error
        requests = answer.get("UnprocessedItems", {}).get(table)
        if not requests:
            return None
    return "UnprocessedItems never drained"


def query_body(partitions: int):
    def body(raw: RawJsonClient, i: int) -> str | None:
        answer, error = checked(raw, "Query", {"TableName": QUERY_TABLE, "KeyConditionExpression": "pk = :p",
                                               "ExpressionAttributeValues": {":p": {"S": partition((i * 7919) % partitions)}}})
        if error or answer["Count"] == PER_PARTITION:
            return error
        return f"Query returned {answer['Count']} items, not {PER_PARTITION}"
    return body


def load(server: Server, start_n: int, end_n: int) -> None:
    def keys(i: int) -> list[tuple[str, int]]:
        first = start_n + i * 25
        return [(partition(n // PER_PARTITION), n % PER_PARTITION) for n in range(first, first + 25)]
    result = run_threads(4, (end_n - start_n) // 25, raw_op(server, batch_body(QUERY_TABLE, keys)), close_raw)
    if result.errors:
        raise RuntimeError(f"{server.name}: loading failed: {result.first_error}")


def measure(server: Server, threads: int, body_of: Callable[[int], Callable], seconds: float, max_ops: int,
            items_per_op: int) -> dict[str, Any]:
    """A few calls to estimate the rate, about a second of warm-up, then about `seconds`."""
    probe = run_threads(threads, 2 * threads, raw_op(server, body_of(0)), close_raw)
    warm = run_threads(threads, int(min(max_ops, max(2 * threads, probe.ops_per_s))), raw_op(server, body_of(1)),
                       close_raw)
    ops = int(min(max_ops, max(2 * threads, warm.ops_per_s * seconds)))
    with server.cpu() as cpu:
        result = run_threads(threads, ops, raw_op(server, body_of(2)), close_raw)
    rec = result.summary()
    rec["items_per_s"] = result.ops_per_s * items_per_op
    rec["cpu_ms_per_op"] = cpu.per_1k(result.ops)
    return rec


def scan_all(server: Server, expected: int, budget_s: float) -> dict[str, Any]:
    counts = [0] * SEGMENTS
    deadline = time.monotonic() + budget_s

    def body(raw: RawJsonClient, segment: int) -> str | None:
        start_key: dict = {}
        while time.monotonic() < deadline:
            answer, error = checked(raw, "Scan", {"TableName": QUERY_TABLE, "Segment": segment,
                                                  "TotalSegments": SEGMENTS, **start_key})
            if error:
                return error
            counts[segment] += answer["Count"]
            if "LastEvaluatedKey" not in answer:
                return None
            start_key = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}
        return None

    with server.cpu() as cpu:
        result = run_threads(SEGMENTS, SEGMENTS, raw_op(server, body, timeout=budget_s + 60), close_raw)
    total, partial = sum(counts), time.monotonic() >= deadline
    wrong = not partial and total != expected
    return {"items": total, "items_per_s": total / result.wall_s, "partial": partial, "segments": counts,
            "errors": result.errors + wrong, "cpu_s": cpu.server_s,
            "first_error": result.first_error or (f"scanned {total} items, not {expected}" if wrong else None)}


def run(bench, args) -> Report:
    report = Report("Query, parallel Scan and BatchWriteItem: ours vs moto vs dynalite")
    servers: list[Server] = []
    for name in args.only:
        server = start(bench, name)
        if server is not None:
            create_table(server, QUERY_TABLE, range_key="sk")
            create_table(server, BATCH_TABLE, range_key="sk")
            servers.append(server)
            print(server.describe(), flush=True)
    names = [s.name for s in servers]
    res: dict[str, dict[str, Any]] = {n: {"batch": [], "query": {}} for n in names}

    def note(rec, what, name):
        if rec["errors"]:
            report.errors.append(f"{name} {what}: {rec['errors']} errors ({rec['first_error']})")
        print(f"  {name:8} {what}: {fmt(rec.get('ops_per_s'), 1)} calls/s, {fmt(rec.get('items_per_s'))} items/s, "
              f"p50 {fmt(rec.get('p50_ms'), 2)} ms, server CPU {fmt(rec.get('cpu_ms_per_op'), 2)} ms/call", flush=True)

    for rnd in range(args.rounds):
        for server in servers if rnd % 2 == 0 else servers[::-1]:
            prefix = f"b{rnd}-{time.monotonic_ns()}"
            rec = measure(server, args.threads, lambda n, p=prefix: batch_body(
                BATCH_TABLE, lambda i, n=n: [(f"{p}-{n}-{i}", sk) for sk in range(25)]), args.seconds, args.max_ops, 25)
            res[server.name]["batch"].append(rec)
            note(rec, f"r{rnd + 1} BatchWriteItem of 25", server.name)
    loaded = 0
    for size in args.sizes:
        for server in servers:
            load(server, loaded, size)
        loaded = size
        for rnd in range(args.rounds):
            for server in servers if rnd % 2 == 0 else servers[::-1]:
                rec = measure(server, args.threads, lambda _, s=size: query_body(s // PER_PARTITION), args.seconds,
                              args.max_ops, PER_PARTITION)
                res[server.name]["query"].setdefault(size, []).append(rec)
                note(rec, f"r{rnd + 1} Query of 100, table of {size:,}", server.name)
    for server in servers:
        rec = res[server.name]["scan"] = scan_all(server, loaded, args.scan_budget)
        if rec["errors"]:
            report.errors.append(f"{server.name} Scan: {rec['first_error']}")
        print(f"  {server.name:8} Scan of {rec['items']:,} items, segments {rec['segments']}: "
              f"{fmt(rec['items_per_s'])} items/s{' (partial)' if rec['partial'] else ''}", flush=True)

    def m(recs, field):
        return med([r[field] for r in recs])
    t = report.table(f"Query of 100 items, {args.threads} threads: calls/s [p50 ms, server CPU ms per call, process + "
                     f"children]; medians of {args.rounds} round(s)", ["table size", *names])
    for size in args.sizes:
        t.add(f"{size:,}", *(f"{fmt(m(res[n]['query'][size], 'ops_per_s'), 1)} [{fmt(m(res[n]['query'][size], 'p50_ms'), 2)}, "
                             f"{fmt(m(res[n]['query'][size], 'cpu_ms_per_op'), 2)}]" for n in names))
    t = report.table("BatchWriteItem of 25 (empty table) and Scan (largest size, 4 segments)", ["workload", *names])
    t.add("BatchWriteItem items/s", *(fmt(m(res[n]["batch"], "items_per_s")) for n in names))
    t.add("BatchWriteItem server CPU ms per call", *(fmt(m(res[n]["batch"], "cpu_ms_per_op"), 2) for n in names))
    t.add("Scan items/s", *(fmt(res[n]["scan"]["items_per_s"]) + (" (partial)" if res[n]["scan"]["partial"] else "")
                           for n in names))
    t.add("Scan items per segment", *(str(res[n]["scan"]["segments"]) for n in names))
    if "ours" in res:
        q = {n: {s: m(res[n]["query"][s], "ops_per_s") for s in args.sizes} for n in names}
        big, small = args.sizes[-1], args.sizes[0]
        if "dynalite" in q:
            report.verdicts.append(at_least(f"Query calls/s at {big:,} items vs dynalite", (q["ours"][big] or 0) /
                                            (q["dynalite"][big] or float("nan")), QUERY_TARGET, "x"))
        report.verdicts.append(at_least(f"Query flat from {small:,} to {big:,} items", (q["ours"][big] or 0) /
                                        (q["ours"][small] or float("nan")), FLAT_TARGET, "x"))
        report.verdicts.append(at_least("Scan items/s", res["ours"]["scan"]["items_per_s"], SCAN_TARGET))
        if "moto" in res:
            report.verdicts.append(at_least("BatchWriteItem items/s vs moto", (m(res["ours"]["batch"], "items_per_s") or 0)
                                            / (m(res["moto"]["batch"], "items_per_s") or float("nan")), BATCH_TARGET, "x"))
    report.notes.append(f"client: {RAW_CLIENT}; it shares the cores with the servers, so ours' Query calls/s are a floor "
                        "and its server CPU per call is the figure to compare")
    report.data = res
    return report
