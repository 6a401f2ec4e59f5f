"""Query, Scan and BatchWriteItem: ours vs moto, and dynalite when installed, side by side.

    .venv/bin/python bench/query_bench.py [--sizes 1000,10000,100000] [--threads 4] [--seconds 5]
                                          [--dynalite-dir /tmp/dyn] [--only ours,moto] [--json PATH]

Starts each server on a free loopback port (ours: `python -m cdc_bridge.cli up`, with its embedded
broker; moto: `python -m moto.server`; dynalite: `node` with `require('dynalite')` from
`--dynalite-dir`, a folder where `npm install dynalite` ran), all at once, then runs each workload
on each server in turn (the order reversed every round; `--rounds` 3, medians reported):

1. BatchWriteItem of 25 new items per call into table `bench_batch`, while the server is empty,
2. grows table `bench_query` (pk S, sk N; 100 items of ~150 bytes per partition) to each of
   `--sizes` with BatchWriteItem of 25 items (the raw client, 4 threads), and at each size runs
   Query of one random partition (100 items; an answer without exactly 100 is an error),
3. at the largest size, scans the whole table with 4 segments (4 threads, each paging through
   its segment; the items must add up to the table's size; a server still scanning after
   `--scan-budget` seconds is stopped there and its figure is for the part it scanned).

Every request goes through the raw client of bench/common.py (http.client, one keep-alive
connection per thread, orjson; SigV4 headers copied from one boto3 request for moto and
dynalite, which want them). Each workload first runs a few calls to estimate its rate, warms up
for about a second, then runs for about `--seconds` (at most `--max-ops` calls), so slow servers
get fewer calls, not longer runs. Per workload and server: calls/s, items/s, p50/p99 latency, server CPU per call (the
server process itself; our broker child is not counted).

Targets: Query at least 2x dynalite's calls/s at the largest size, and flat (largest size at
least 0.8x the smallest); Scan at least 20,000 items/s; BatchWriteItem at least 2x moto's items/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
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
    run_meta,
    run_threads,
    signed_headers,
    stop_on_sigterm,
)
from bench.table_bench import fmt, start_moto, start_ours

QUERY_TABLE, BATCH_TABLE = "bench_query", "bench_batch"
PER_PARTITION = 100
PAYLOAD = "x" * 100
SCAN_SEGMENTS = 4
QUERY_TARGET, FLAT_TARGET, SCAN_TARGET, BATCH_TARGET = 2.0, 0.8, 20_000, 2.0


# --------------------------------------------------------------------------- servers


def start_dynalite(port: int, workdir: Path, timeout_s: float, dynalite_dir: Path) -> ServerProcess:
    script = ("require('dynalite')({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0})"
              f".listen({port}, '127.0.0.1')")
    proc = ServerProcess("dynalite", ["node", "-e", script], log_path=workdir / "dynalite.log",
                         ready=lambda: http_status(port, "/", "POST", b"{}") > 0, cwd=str(dynalite_dir))
    proc.start(timeout_s)
    return proc


@dataclass
class Target:
    name: str
    process: ServerProcess
    port: int
    headers: dict[str, str] | None = None  # SigV4 headers to replay (moto, dynalite)

    def raw(self, timeout: float = 60.0) -> RawJsonClient:
        client = RawJsonClient(self.port, timeout=timeout)
        client.base.update(self.headers or {})
        return client

    def call(self, operation: str, request: dict) -> Any:
        client = self.raw()
        try:
            status, body = client.call(operation, request)
        finally:
            client.close()
        if status != 200:
            raise RuntimeError(f"{self.name} {operation}: HTTP {status}: {str(body)[:300]}")
        return body


def prepare(target: Target) -> None:
    """Capture signed headers, create both tables."""
    client = boto3_client("dynamodb", target.port)
    if target.name != "ours":
        target.headers = signed_headers(client, lambda c: c.list_tables())
    for name in (QUERY_TABLE, BATCH_TABLE):
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])
        deadline = time.monotonic() + 60
        while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.name}: table {name} not ACTIVE after 60 s")
            time.sleep(0.1)


# --------------------------------------------------------------------------- workloads


def item(pk: str, sk: int) -> dict:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "payload": {"S": PAYLOAD}, "n": {"N": str(sk * 7)}}


def partition(i: int) -> str:
    return f"part-{i:06d}"


def raw_op(target: Target, body: Callable[[RawJsonClient, int], str | None], timeout: float = 60.0) -> Callable:
    """make_op for run_threads: one raw client per thread; `body` returns an error text or None."""
    def make_op(_t: int):
        raw = target.raw(timeout)

        def op(i: int) -> bool:
            error = body(raw, i)
            if error and op.last_error is None:
                op.last_error = error
            return error is None
        op.last_error, op.raw = None, raw
        return op
    return make_op


def checked(raw: RawJsonClient, operation: str, request: dict) -> tuple[dict | None, str | None]:
    status, data = raw.call_raw(operation, dumps(request))
    if status != 200:
        return None, f"HTTP {status}: {data[:200].decode(errors='replace')}"
    return loads(data), None


def batch_body(table: str, key_of: Callable[[int], list[tuple[str, int]]]):
    def body(raw: RawJsonClient, i: int) -> str | None:
        requests = [{"PutRequest": {"Item": item(pk, sk)}} for pk, sk in key_of(i)]
        for _ in range(20):
            response, error = checked(raw, "BatchWriteItem", {"RequestItems": {table: requests}})
            if error:
                return error
            requests = response.get("UnprocessedItems", {}).get(table)
            if not requests:
                return None
        return "UnprocessedItems never drained"
    return body


def load(target: Target, start: int, end: int) -> None:
    """Grow the query table from `start` to `end` items (multiples of 25)."""
    def keys(i: int) -> list[tuple[str, int]]:
        first = start + i * 25
        return [(partition(n // PER_PARTITION), n % PER_PARTITION) for n in range(first, first + 25)]

    result = run_threads(4, (end - start) // 25, raw_op(target, batch_body(QUERY_TABLE, keys)), close_raw)
    if result.errors:
        raise RuntimeError(f"{target.name}: loading failed: {result.first_error}")


def query_body(partitions: int):
    def body(raw: RawJsonClient, i: int) -> str | None:
        response, error = checked(raw, "Query", {
            "TableName": QUERY_TABLE, "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": partition((i * 7919) % partitions)}}})
        if error or response["Count"] == PER_PARTITION:
            return error
        return f"Query returned {response['Count']} items, not {PER_PARTITION}"
    return body


def batch_write_body(prefix: str):
    return batch_body(BATCH_TABLE, lambda i: [(f"{prefix}-{i}", sk) for sk in range(25)])


def close_raw(op) -> None:
    op.raw.close()


def measure(target: Target, threads: int, body_of: Callable[[int], Callable], seconds: float,
            max_ops: int, items_per_op: int) -> dict[str, Any]:
    """Estimate the rate with a few calls, warm up for about a second (dynalite's JIT needs it),
    then run for about `seconds`."""
    probe = run_threads(threads, 2 * threads, raw_op(target, body_of(0)), close_raw)
    warm = run_threads(threads, int(min(max_ops, max(2 * threads, probe.ops_per_s))), raw_op(target, body_of(1)),
                       close_raw)
    ops = int(min(max_ops, max(2 * threads, warm.ops_per_s * seconds)))
    with CpuWindow(target.process) as cpu:
        result = run_threads(threads, ops, raw_op(target, body_of(2)), close_raw)
    rec = result.summary()
    rec["items_per_s"] = round(result.ops_per_s * items_per_op, 1)
    rec["server_cpu_ms_per_op"] = round(cpu.server_s / result.ops * 1000, 3) if result.ops else None
    return rec


def scan_all(target: Target, expected: int, budget_s: float) -> dict[str, Any]:
    """The whole table, SCAN_SEGMENTS segments in parallel, each paged to its end, or as far as
    the segments get in `budget_s` (then the figure is for the part scanned: "partial")."""
    counts = [0] * SCAN_SEGMENTS
    deadline = time.monotonic() + budget_s

    def body(raw: RawJsonClient, segment: int) -> str | None:
        start: dict = {}
        while time.monotonic() < deadline:
            response, error = checked(raw, "Scan", {"TableName": QUERY_TABLE, "Segment": segment,
                                                   "TotalSegments": SCAN_SEGMENTS, **start})
            if error:
                return error
            counts[segment] += response["Count"]
            if "LastEvaluatedKey" not in response:
                return None
            start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
        return None

    with CpuWindow(target.process) as cpu:
        result = run_threads(SCAN_SEGMENTS, SCAN_SEGMENTS, raw_op(target, body, timeout=budget_s + 60), close_raw)
    total, partial = sum(counts), time.monotonic() >= deadline
    wrong = not partial and total != expected
    return {"items": total, "wall_s": round(result.wall_s, 3), "items_per_s": round(total / result.wall_s, 1),
            "partial": partial, "errors": result.errors + wrong, "segments": counts,
            "first_error": result.first_error or (f"scanned {total} items, not {expected}" if wrong else None),
            "server_cpu_s": round(cpu.server_s, 3)}


# --------------------------------------------------------------------------- running the workloads


def run_all(targets: list[Target], args: argparse.Namespace) -> dict[str, dict]:
    """Every workload on every server, servers alternating (the order reverses each round), so
    that the machine's drift hits them alike; rounds give medians."""
    results: dict[str, dict] = {t.name: {"query": {}, "batch_rounds": [], "query_rounds": {}} for t in targets}
    for rnd in range(args.rounds):
        for target in ordered(targets, rnd):
            prefix = f"b{rnd}-{time.monotonic_ns()}"
            rec = measure(target, args.threads, lambda n, prefix=prefix: batch_write_body(f"{prefix}-{n}"),
                          args.seconds, args.max_ops, 25)
            results[target.name]["batch_rounds"].append(rec)
            print(f"  r{rnd + 1} {target.name}: BatchWriteItem of 25 (empty table): {fmt(rec['items_per_s'])} items/s "
                  f"({fmt(rec['ops_per_s'], 1)} calls/s, p50 {rec['p50_ms']:.2f} ms), server CPU "
                  f"{fmt(rec['server_cpu_ms_per_op'], 2)} ms/call{errors(rec)}", flush=True)
    loaded = 0
    for size in args.sizes:
        for target in targets:
            started = time.monotonic()
            load(target, loaded, size)
            print(f"  {target.name}: {size:,} items loaded ({time.monotonic() - started:.1f} s)", flush=True)
        loaded = size
        for rnd in range(args.rounds):
            for target in ordered(targets, rnd):
                rec = measure(target, args.threads, lambda _, size=size: query_body(size // PER_PARTITION),
                              args.seconds, args.max_ops, PER_PARTITION)
                results[target.name]["query_rounds"].setdefault(size, []).append(rec)
                print(f"  r{rnd + 1} {target.name}: Query of 100 items, table of {size:,}: {fmt(rec['ops_per_s'], 1)} "
                      f"calls/s, p50 {rec['p50_ms']:.2f} ms, p99 {rec['p99_ms']:.2f} ms, server CPU "
                      f"{fmt(rec['server_cpu_ms_per_op'], 2)} ms/call{errors(rec)}", flush=True)
    for target in targets:
        results[target.name]["scan"] = rec = scan_all(target, loaded, args.scan_budget)
        scope = f"{rec['items']:,} of {loaded:,} items in the budget" if rec["partial"] else f"{loaded:,} items"
        print(f"  {target.name}: Scan of {scope}, {SCAN_SEGMENTS} segments {rec['segments']}: "
              f"{fmt(rec['items_per_s'])} items/s ({rec['wall_s']} s), server CPU {rec['server_cpu_s']} s"
              f"{errors(rec)}", flush=True)
    for result in results.values():
        result["batch"] = median_record(result["batch_rounds"])
        result["query"] = {size: median_record(recs) for size, recs in result["query_rounds"].items()}
    return results


def ordered(targets: list[Target], rnd: int) -> list[Target]:
    return targets if rnd % 2 == 0 else targets[::-1]


def median_record(records: list[dict]) -> dict:
    """The median of each figure over rounds; errors added up."""
    out = {}
    for name in ("ops_per_s", "items_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_op"):
        values = sorted(r[name] for r in records if r.get(name) is not None)
        out[name] = values[len(values) // 2] if values else None
    out["errors"] = sum(r["errors"] for r in records)
    out["first_error"] = next((r["first_error"] for r in records if r["first_error"]), None)
    return out


def errors(rec: dict) -> str:
    return f"  ERRORS {rec['errors']} ({rec['first_error']})" if rec.get("errors") else ""


# --------------------------------------------------------------------------- report


def report(results: dict[str, dict], sizes: list[int]) -> list[str]:
    names = list(results)
    print("\nQuery of 100 items (medians: calls/s, p50 ms, server CPU ms per call):")
    print(f"{'table size':>13} | " + " | ".join(f"{n:>28}" for n in names))
    for size in sizes:
        cells = [results[n]["query"].get(size) for n in names]
        print(f"{size:>13,} | " + " | ".join(
            f"{fmt(c['ops_per_s'], 1):>10} {c['p50_ms']:>7.2f}ms {fmt(c['server_cpu_ms_per_op'], 2):>7}ms"
            if c else f"{'-':>28}" for c in cells))
    print(f"\n{'':>13} | " + " | ".join(f"{n:>28}" for n in names))
    print(f"{'Scan items/s':>13} | " + " | ".join(
        f"{fmt(results[n]['scan']['items_per_s']) + (' (partial)' if results[n]['scan']['partial'] else ''):>28}"
        for n in names))
    print(f"{'Batch items/s':>13} | " + " | ".join(f"{fmt(results[n]['batch']['items_per_s']):>28}" for n in names))
    print(f"{'Batch CPU ms':>13} | " + " | ".join(
        f"{fmt(results[n]['batch']['server_cpu_ms_per_op'], 2):>28}" for n in names))
    return verdicts(results, sizes)


def verdicts(results: dict[str, dict], sizes: list[int]) -> list[str]:
    ours = results.get("ours")
    if ours is None:
        return []
    out = []
    largest, smallest = ours["query"][sizes[-1]]["ops_per_s"], ours["query"][sizes[0]]["ops_per_s"]
    if "dynalite" in results:
        theirs = results["dynalite"]["query"][sizes[-1]]["ops_per_s"]
        out.append(verdict(f"Query >= {QUERY_TARGET:g}x dynalite's calls/s at {sizes[-1]:,}", largest / theirs, QUERY_TARGET))
    out.append(verdict(f"Query flat from {sizes[0]:,} to {sizes[-1]:,} items (ratio >= {FLAT_TARGET:g})",
                       largest / smallest, FLAT_TARGET))
    out.append(verdict(f"Scan >= {SCAN_TARGET:,} items/s", ours["scan"]["items_per_s"], SCAN_TARGET))
    if "moto" in results:
        theirs = results["moto"]["batch"]["items_per_s"]
        out.append(verdict(f"BatchWriteItem >= {BATCH_TARGET:g}x moto's items/s", ours["batch"]["items_per_s"] / theirs,
                           BATCH_TARGET))
    print("\nTargets:\n" + "\n".join("  " + v for v in out))
    return out


def verdict(label: str, value: float, target: float) -> str:
    return f"{label}: {fmt(value, 2)} {'PASS' if value >= target else 'MISS'}"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="table sizes for Query, ascending (multiples of 100)")
    p.add_argument("--threads", type=int, default=4, help="client threads for Query and BatchWriteItem")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the Query and BatchWriteItem measurements (medians)")
    p.add_argument("--seconds", type=float, default=5.0, help="approximate length of each measurement")
    p.add_argument("--max-ops", type=int, default=20_000, help="at most this many calls per measurement")
    p.add_argument("--scan-budget", type=float, default=120.0, help="seconds a Scan may take before it stops (partial)")
    p.add_argument("--only", default="ours,moto,dynalite", help="servers to run, comma-separated")
    p.add_argument("--dynalite-dir", default=os.environ.get("DYNALITE_DIR", "/tmp/dynalite"),
                   help="folder holding node_modules/dynalite (skipped if absent)")
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--json", metavar="PATH", help="write all results to this file")
    args = p.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    if any(s % PER_PARTITION or s <= 0 for s in args.sizes):
        p.error("--sizes must be positive multiples of 100")
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    return args


def start(name: str, workdir: Path, args: argparse.Namespace) -> Target | None:
    port = free_port()
    if name == "dynalite":
        folder = Path(args.dynalite_dir)
        if not (folder / "node_modules" / "dynalite").is_dir() or not shutil.which("node"):
            print(f"dynalite: skipped (no node_modules/dynalite under {folder}, or no node)", flush=True)
            return None
        process = start_dynalite(port, workdir, args.startup_timeout, folder)
    else:
        process = (start_ours if name == "ours" else start_moto)(port, workdir, args.startup_timeout)
    return Target(name, process, port)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="query-bench-"))
    targets: list[Target] = []
    results: dict[str, dict] = {}
    print(f"query_bench: sizes {args.sizes}, {args.threads} threads, ~{args.seconds:g} s per measurement, "
          f"{args.rounds} round(s); work dir {workdir}", flush=True)
    try:
        for name in args.only:
            target = start(name, workdir, args)
            if target is not None:
                targets.append(target)
                prepare(target)
                print(f"{name}: pid {target.process.pid}, port {target.port}", flush=True)
        results = run_all(targets, args)
        lines = report(results, args.sizes)
        failed = any(r["batch"]["errors"] or r["scan"]["errors"] or any(q["errors"] for q in r["query"].values())
                     for r in results.values())
        return 1 if failed else 2 if any("MISS" in line for line in lines) else 0
    except (ServerFailed, RuntimeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        for target in targets:
            print(f"{target.name} log tail:\n{target.process.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        finish([t.process for t in targets], args.json,
               {"meta": run_meta("boto3", "moto"), "args": vars(args), "results": results}, workdir)


if __name__ == "__main__":
    sys.exit(main())
