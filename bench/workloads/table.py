"""Table service vs moto: PutItem and GetItem on 1 and --threads threads, conditional PutItem.

Both servers run at once (ours: `cdc-bridge up` with its broker; moto server); table `bench_table`
(pk S) is created on each (with a stream of --stream's view type if given, so every write pays
for change capture) and --seed-items items are seeded for GetItem. Each workload runs on each
server in turn, the order alternating, --warmup unmeasured operations first, with two clients:
boto3 (retries off) and raw (http.client keep-alive + orjson, unsigned to ours, moto's SigV4
headers replayed). Reported: ops/s, p50/p99, server CPU per op (process + children), the client's
ceiling (--calibrate measures both clients against a stub that answers at once). Targets: server
CPU per op <= 0.25x moto's; at --threads threads >= 2x moto's ops/s.
"""

from __future__ import annotations

from bench.harness import paired
from bench.harness.paired import Op, Workload
from bench.harness.procs import idle_cpu
from bench.harness.report import Report, fmt
from bench.harness.servers import create_table, start, start_stub
from bench.harness.timing import run_threads

SUMMARY = "PutItem / GetItem / conditional PutItem, ours vs moto"
DEFAULT_ROUNDS = 1
TABLE = "bench_table"
PAYLOAD = "x" * 100
CPU_TARGET, OPS_TARGET = 0.25, 2.0


def add_arguments(p) -> None:
    paired.add_arguments(p)
    p.add_argument("--seed-items", type=int, default=1000, help="items seeded for GetItem")
    p.add_argument("--calibrate", action="store_true", help="first measure both clients against a stub server")


def section_key(args) -> str:
    return "table" + (f" (stream {args.stream})" if args.stream else "")


def item(key: str, i: int) -> dict:
    return {"pk": {"S": key}, "seq": {"N": str(i)}, "payload": {"S": PAYLOAD}, "active": {"BOOL": True}}


def ops(seed_items: int) -> dict[str, Op]:
    def has_item(answer: dict) -> str | None:
        return None if "Item" in answer else f"GetItem found no item: {str(answer)[:200]}"
    return {
        "put": Op("PutItem", "PutItem", lambda i, pre: {"TableName": TABLE, "Item": item(f"{pre}-{i}", i)}),
        "get": Op("GetItem", "GetItem", lambda i, pre: {"TableName": TABLE,
                                                        "Key": {"pk": {"S": f"seed-{(i * 7919) % seed_items}"}}},
                  accept=has_item),
        "cput": Op("PutItem cond", "PutItem", lambda i, pre: {"TableName": TABLE, "Item": item(f"{pre}-{i}", i),
                                                              "ConditionExpression": "attribute_not_exists(pk)"}),
    }


def workloads(args) -> list[Workload]:
    o = ops(args.seed_items)
    shapes = [("put", 1), ("put", args.threads), ("get", 1), ("get", args.threads), ("cput", 1)]
    clients = ["boto3", "raw"] if args.client == "both" else [args.client]
    return [Workload(o[op], c, t) for c in clients for op, t in shapes]


def calibrate(bench, args) -> dict[str, float]:
    """Client ceilings: both clients against a stub that answers at once (ops/s by client:threads)."""
    stub = start_stub(bench)
    put = ops(1)["put"]
    out = {}
    for w in [Workload(put, c, t) for c in ("boto3", "raw") for t in sorted({1, args.threads})]:
        paired.measure(stub, w, min(200, args.ops), "warm", with_cpu=False)
        result, cpu = paired.measure(stub, w, args.ops, "cal")
        out[f"{w.client}:{w.threads}"] = result.ops_per_s
        print(f"  stub {w.client:5} {w.label:14}: {fmt(result.ops_per_s):>7} ops/s, client CPU "
              f"{fmt(cpu.client_s / result.ops * 1000, 3)} ms/op", flush=True)
    stub.processes[0].stop()
    return out


def run(bench, args) -> Report:
    report = Report(f"table service vs moto, PutItem/GetItem (stream: {args.stream or 'none'})")
    ceilings = calibrate(bench, args) if args.calibrate else None
    servers = {}
    for name in [args.only] if args.only else ["ours", "moto"]:
        server = servers[name] = start(bench, name)
        create_table(server, TABLE, args.stream)
        seeded = run_threads(4, args.seed_items, *paired.op_factory(server, Workload(ops(1)["put"], "raw", 4), "seed"))
        if seeded.errors:
            raise RuntimeError(f"{name}: seeding failed: {seeded.first_error}")
        idle = idle_cpu(server.processes, args.idle_seconds)
        print(f"{server.describe()}; ready; {args.seed_items} items seeded; idle CPU {fmt(idle, 1)}% of a core",
              flush=True)
        report.notes.append(f"{name}: idle CPU {fmt(idle, 1)}% of a core (process + children)")
    wls = workloads(args)
    results = paired.run_rounds(servers, wls, args.ops, args.warmup, args.rounds)
    paired.summarize(report, results, wls, "moto", args.rounds, CPU_TARGET, OPS_TARGET, args.threads, ceilings,
                     judge="moto" in servers and "ours" in servers)
    report.notes.append("boto3 in one process tops out near 1,100 calls/s at 1-8 threads (shared/benchmarking.md): "
                        "judge ops/s on the raw rows and server CPU per op on all")
    report.notes.append("moto closes every connection (Connection: close): the raw client opens a TCP connection "
                        "per call to it")
    return report
