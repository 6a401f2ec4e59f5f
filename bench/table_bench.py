"""Table service vs moto, side by side in one run: PutItem, GetItem and conditional PutItem.

    .venv/bin/python bench/table_bench.py [--ops 3000] [--rounds 1] [--only ours|moto]
                                          [--client both|boto3|raw] [--calibrate] [--json PATH]

Starts both servers on free loopback ports (ours: `python -m cdc_bridge.cli up`, with its embedded
broker; moto: `python -m moto.server`), creates one table on each, seeds it, then runs every
workload against each server in turn (order alternating, a warm-up before each measurement) with
two clients:

- boto3 (the client users have; tops out near 1,100 calls/s per process, shared/benchmarking.md),
- raw: http.client with one keep-alive connection per thread and orjson, sending the DynamoDB JSON
  requests boto3 would send, unsigned to ours, with an Authorization header copied from one
  boto3-signed request to moto (moto picks the service from its credential scope).

For each workload and server: ops/s, p50/p99 latency, and the server process's own CPU seconds per
1,000 operations (utime+stime from /proc/<pid>/stat around the measured window; children such as
our embedded broker are shown apart and not counted). Both servers are stopped at the end, on
Ctrl-C and on errors; they also die with this process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BOTO3_CEILING_OPS,
    CpuWindow,
    RawJsonClient,
    Result,
    ServerFailed,
    ServerProcess,
    Stub,
    boto3_client,
    dumps,
    ended_by,
    finish,
    free_port,
    http_status,
    loads,
    run_meta,
    run_threads,
    signed_authorization,
    stop_on_sigterm,
)

ROOT = Path(__file__).resolve().parent.parent
TABLE = "bench_table"
PAYLOAD = "x" * 100
CPU_TARGET = 0.25    # our server CPU per op at most 1/4 of moto's
OPS_TARGET = 2.0     # at 8 threads, at least 2x moto's ops/s
SERVERS = ("ours", "moto")


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    op: str        # put | get | cput
    client: str    # boto3 | raw
    threads: int

    @property
    def label(self) -> str:
        name = {"put": "PutItem", "get": "GetItem", "cput": "PutItem cond"}[self.op]
        return f"{name} x{self.threads}"

    @property
    def key(self) -> str:
        return f"{self.client}:{self.op}:{self.threads}"


def workloads(client_choice: str, many: int) -> list[Workload]:
    shapes = [("put", 1), ("put", many), ("get", 1), ("get", many), ("cput", 1)]
    clients = ["boto3", "raw"] if client_choice == "both" else [client_choice]
    return [Workload(op, c, t) for c in clients for op, t in shapes]


def item(key: str, i: int) -> dict:
    return {"pk": {"S": key}, "seq": {"N": str(i)}, "payload": {"S": PAYLOAD}, "active": {"BOOL": True}}


def get_key(i: int, seed_items: int) -> dict:
    return {"pk": {"S": f"seed-{(i * 7919) % seed_items}"}}


class Target:
    """One server as the benchmark sees it: its process, port, and how to build clients."""

    def __init__(self, name: str, process: ServerProcess, port: int, authorization_needed: bool):
        self.name, self.process, self.port = name, process, port
        self.authorization_needed = authorization_needed
        self.authorization: str | None = None
        self.boto3 = None  # one shared client per server (boto3 clients are thread-safe)

    def boto3_client(self, threads: int):
        if self.boto3 is None:
            self.boto3 = boto3_client("dynamodb", self.port, max_pool=16)
        return self.boto3

    def raw(self) -> RawJsonClient:
        return RawJsonClient(self.port, authorization=self.authorization if self.authorization_needed else None)


def make_op_factory(target: Target, w: Workload, prefix: str, seed_items: int) -> tuple[Callable, Callable | None]:
    """Return (make_op(thread) -> op(i), close(op))."""
    if w.client == "boto3":
        client = target.boto3_client(w.threads)

        def make_op(_t: int):
            if w.op == "put":
                return lambda i: bool(client.put_item(TableName=TABLE, Item=item(f"{prefix}-{i}", i)))
            if w.op == "cput":
                return lambda i: bool(client.put_item(TableName=TABLE, Item=item(f"{prefix}-{i}", i),
                                                      ConditionExpression="attribute_not_exists(pk)"))

            def get(i: int) -> bool:
                return "Item" in client.get_item(TableName=TABLE, Key=get_key(i, seed_items))
            return get

        return make_op, None

    def make_raw_op(_t: int):
        raw = target.raw()

        def check(status: int, data: bytes) -> bool:
            if status == 200:
                return True
            if op.last_error is None:
                op.last_error = f"HTTP {status}: {data[:200].decode(errors='replace')}"
            return False

        if w.op in ("put", "cput"):
            cond = {"ConditionExpression": "attribute_not_exists(pk)"} if w.op == "cput" else {}

            def op(i: int) -> bool:
                status, data = raw.call_raw("PutItem", dumps({"TableName": TABLE, "Item": item(f"{prefix}-{i}", i), **cond}))
                return check(status, data)
        else:
            def op(i: int) -> bool:
                status, data = raw.call_raw("GetItem", dumps({"TableName": TABLE, "Key": get_key(i, seed_items)}))
                if not check(status, data):
                    return False
                if "Item" in loads(data):
                    return True
                if op.last_error is None:
                    op.last_error = f"GetItem found no item: {data[:200].decode(errors='replace')}"
                return False
        op.last_error = None
        op.raw = raw
        return op

    return make_raw_op, lambda op: op.raw.close()


def measure(target: Target, w: Workload, ops: int, prefix: str, seed_items: int, with_cpu: bool = True
            ) -> tuple[Result, CpuWindow]:
    make_op, close = make_op_factory(target, w, prefix, seed_items)
    with CpuWindow(target.process if with_cpu else None) as cpu:
        result = run_threads(w.threads, ops, make_op, close)
    return result, cpu


# --------------------------------------------------------------------------- servers


def start_ours(port: int, workdir: Path, timeout_s: float) -> ServerProcess:
    data_dir = workdir / "ours-data"
    data_dir.mkdir()
    proc = ServerProcess(
        "ours", [sys.executable, "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data_dir)],
        ready=lambda: http_status(port, "/health") == 200, log_path=workdir / "ours.log", cwd=str(ROOT),
    )
    proc.start(timeout_s)
    return proc


def start_moto(port: int, workdir: Path, timeout_s: float) -> ServerProcess:
    def ready() -> bool:
        # moto answers "/" for every service: only a DynamoDB answer means it is up.
        return http_status(port, "/moto-api/", timeout=1.0) == 200

    proc = ServerProcess("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                         ready=ready, log_path=workdir / "moto.log", cwd=str(workdir))
    proc.start(timeout_s)
    return proc


def prepare(target: Target, seed_items: int, stream: str | None = None) -> None:
    """Create the table (with a stream of view type `stream` if given), capture a signed
    Authorization header, seed the GetItem keys."""
    client = target.boto3_client(1)
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": stream}} if stream else {}
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], **extra,
    )
    deadline = time.monotonic() + 60
    while client.describe_table(TableName=TABLE)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: table not ACTIVE after 60 s")
        time.sleep(0.2)
    target.authorization = signed_authorization(client, lambda c: c.describe_table(TableName=TABLE))
    # Check that the raw client is answered by DynamoDB (moto needs the Authorization header).
    raw = target.raw()
    status, body = raw.call("DescribeTable", {"TableName": TABLE})
    raw.close()
    if status != 200 or not isinstance(body, dict) or "Table" not in body:
        raise RuntimeError(f"{target.name}: raw DescribeTable answered {status}: {str(body)[:200]}")
    seeded = run_threads(4, seed_items, make_op_factory(target, Workload("put", "raw", 4), "seed", seed_items)[0],
                         lambda op: op.raw.close())
    if seeded.errors:
        raise RuntimeError(f"{target.name}: seeding failed: {seeded.first_error}")


def idle_cpu(proc: ServerProcess, seconds: float) -> tuple[float | None, float | None]:
    """CPU % of one core the server (and, apart, its children) burns with no request in flight:
    part of every CPU-per-op figure, a larger part the fewer ops/s a client drives."""
    if seconds <= 0:
        return None, None
    with CpuWindow(proc) as cpu:
        time.sleep(seconds)
    kids = None if cpu.children_s is None else round(cpu.children_s / seconds * 100, 2)
    return round(cpu.server_s / seconds * 100, 2), kids


# --------------------------------------------------------------------------- reporting


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None or x != x:
        return "-"
    return f"{x:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or a != a or b != b:
        return None
    return a / b


def med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and v == v]
    return statistics.median(vals) if vals else None


def record(result: Result, cpu: CpuWindow) -> dict[str, Any]:
    out = result.summary()
    ok = result.ops
    out["server_cpu_s"] = None if cpu.server_s is None else round(cpu.server_s, 3)
    out["server_cpu_s_per_1k_ops"] = None if cpu.server_s is None or not ok else round(cpu.server_s / ok * 1000, 4)
    out["children_cpu_s"] = None if cpu.children_s is None else round(cpu.children_s, 3)
    out["client_cpu_s_per_1k_ops"] = round(cpu.client_s / ok * 1000, 4) if ok else None
    return out


def progress(round_no: int, w: Workload, server: str, rec: dict[str, Any]) -> None:
    err = f" ERRORS {rec['errors']} ({rec['first_error']})" if rec["errors"] else ""
    kids = f" (+children {fmt(rec['children_cpu_s'], 2)} s)" if rec.get("children_cpu_s") is not None else ""
    print(f"  r{round_no} {w.client:5} {w.label:16} {server:4}: {fmt(rec['ops_per_s']):>7} ops/s  "
          f"p50 {rec['p50_ms']:7.2f} ms  p99 {rec['p99_ms']:7.2f} ms  "
          f"server CPU {fmt(rec['server_cpu_s_per_1k_ops'], 3)} s/1k ops{kids}  "
          f"client CPU {fmt(rec['client_cpu_s_per_1k_ops'], 3)} s/1k ops  ({rec['wall_s']:.1f} s){err}",
          flush=True)


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ops_per_s": med([r["ops_per_s"] for r in runs]),
        "p50_ms": med([r["p50_ms"] for r in runs]),
        "p99_ms": med([r["p99_ms"] for r in runs]),
        "cpu": med([r["server_cpu_s_per_1k_ops"] for r in runs]),
        "children_cpu_s": med([r["children_cpu_s"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
    }


def paired_ratio(results: dict[str, dict[str, list]], key: str, field: str) -> float | None:
    """Median over rounds of ours/moto within the round: the two ran back to back, so the
    machine's drift between rounds cancels out."""
    ours, moto = results.get("ours", {}).get(key, []), results.get("moto", {}).get(key, [])
    r = med([ratio(a[field], b[field]) for a, b in zip(ours, moto)])
    return None if r is None else round(r, 3)


def client_ceiling(w: Workload, calibration: dict[str, Any] | None) -> str:
    """The client's own ceiling for this row: measured against the stub in this run, else the
    boto3 figure of shared/benchmarking.md."""
    if calibration:
        for key in (w.key, f"{w.client}:put:{w.threads}"):
            if key in calibration:
                return f"{w.client} x{w.threads} ceiling {fmt(calibration[key]['ops_per_s'])}/s"
    if w.client == "boto3":
        return f"boto3 ceiling ~{BOTO3_CEILING_OPS:,}/s"
    return ""


def print_table(wls: list[Workload], results: dict[str, dict[str, list]], many: int, rounds: int,
                calibration: dict[str, Any] | None = None) -> list[str]:
    """The final table; returns the target verdict lines."""
    def lat(a: dict | None) -> str:
        return "-" if not a or a["p50_ms"] is None else f"{a['p50_ms']:.2f}/{a['p99_ms']:.2f}"

    head = (f"{'client':6} {'workload':16} | {'ours ops/s':>10} {'moto ops/s':>10} {'ratio':>6} | "
            f"{'ours p50/p99 ms':>16} {'moto p50/p99 ms':>16} | {'ours CPU':>8} {'moto CPU':>8} {'ratio':>6} | targets")
    print()
    print(f"Results ({'median of ' + str(rounds) + ' rounds' if rounds > 1 else '1 round'}; "
          "CPU = server process utime+stime, seconds per 1,000 ops; ratio = ours/moto"
          + (", median of the per-round ratios" if rounds > 1 else "") + ")")
    print(head)
    print("-" * len(head))
    verdicts = []
    for w in wls:
        a = {s: aggregate(results[s][w.key]) if results.get(s, {}).get(w.key) else None for s in SERVERS}
        o, m = a["ours"], a["moto"]
        r_ops = paired_ratio(results, w.key, "ops_per_s")
        r_cpu = paired_ratio(results, w.key, "server_cpu_s_per_1k_ops")
        targets = []
        if r_cpu is not None:
            ok = r_cpu <= CPU_TARGET
            targets.append(f"CPU<=0.25x {'PASS' if ok else 'MISS'}")
        if w.threads == many and w.op != "cput" and r_ops is not None:
            ok = r_ops >= OPS_TARGET
            targets.append(f"ops>=2x {'PASS' if ok else 'MISS'}")
        errs = sum((x or {}).get("errors", 0) or 0 for x in (o, m))
        if errs:
            targets.append(f"ERRORS={errs}")
        ceiling = client_ceiling(w, calibration)
        ceiling = f" ({ceiling})" if ceiling and targets else ceiling
        print(f"{w.client:6} {w.label:16} | {fmt(o and o['ops_per_s']):>10} {fmt(m and m['ops_per_s']):>10} "
              f"{fmt(r_ops, 2):>6} | {lat(o):>16} {lat(m):>16} | {fmt(o and o['cpu'], 3):>8} "
              f"{fmt(m and m['cpu'], 3):>8} {fmt(r_cpu, 2):>6} | {', '.join(targets)}{ceiling}")
        if targets:
            verdicts.append(f"{w.client} {w.label}: " + ", ".join(targets))
    kids = [(w, aggregate(results["ours"][w.key])["children_cpu_s"]) for w in wls
            if results.get("ours", {}).get(w.key)]
    if any(k is not None for _, k in kids):
        print("\nours: CPU of its child processes (embedded broker), not counted above, median s per workload: "
              + ", ".join(f"{w.client} {w.label} {fmt(k, 2)}" for w, k in kids))
    print(f"\nTargets: server CPU per op <= {CPU_TARGET:g} x moto's; at {many} threads >= {OPS_TARGET:g} x moto's ops/s. "
          "ops/s are bounded by the client (ceilings: "
          + ("measured against a stub server in this run" if calibration else
             f"boto3 ~{BOTO3_CEILING_OPS:,} calls/s per process per shared/benchmarking.md; --calibrate measures them")
          + "), and the client shares the 2 cores with the server; server CPU per op is not bounded by the client.")
    return verdicts


# --------------------------------------------------------------------------- calibration


def calibrate(workdir: Path, ops: int, many: int) -> dict[str, Any]:
    """Client ceilings: both clients against a stub that answers at once."""
    port = free_port()
    stub = Stub(port, workdir / "stub.log")
    out: dict[str, Any] = {}
    try:
        stub.start(20)
        target = Target("stub", stub, port, authorization_needed=False)
        print("calibration: clients against a stub server that answers at once (client ceilings)", flush=True)
        for w in [Workload("put", "boto3", 1), Workload("put", "boto3", many),
                  Workload("put", "raw", 1), Workload("put", "raw", many), Workload("get", "raw", many)]:
            measure(target, w, min(200, ops), "warm", 1000)
            result, cpu = measure(target, w, ops, "cal", 1000)
            rec = record(result, cpu)
            out[w.key] = rec
            print(f"  stub  {w.client:5} {w.label:16}: {fmt(rec['ops_per_s']):>7} ops/s  p50 {rec['p50_ms']:.2f} ms  "
                  f"client CPU {fmt(rec['client_cpu_s_per_1k_ops'], 3)} s/1k ops  "
                  f"stub CPU {fmt(rec['server_cpu_s_per_1k_ops'], 3)} s/1k ops", flush=True)
    finally:
        stub.stop()
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", type=int, default=3000, help="operations per measured workload (total over all threads)")
    p.add_argument("--warmup", type=int, default=200, help="operations before each measurement, not measured")
    p.add_argument("--rounds", type=int, default=1, help="repeat every workload; the table shows medians")
    p.add_argument("--threads", type=int, default=8, help="thread count of the multi-threaded workloads")
    p.add_argument("--seed-items", type=int, default=1000, help="items written before the run for GetItem to read")
    p.add_argument("--stream", choices=["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"],
                   help="create the table on both servers with a stream of this view type, so writes pay "
                        "for change capture (default: no stream)")
    p.add_argument("--only", choices=SERVERS, help="run against one server only")
    p.add_argument("--client", choices=["both", "boto3", "raw"], default="both")
    p.add_argument("--calibrate", action="store_true", help="first measure the clients against a stub server")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="measure each server's idle CPU this long (0: skip)")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for each server")
    p.add_argument("--json", metavar="PATH", help="write all results (every round) to this file")
    args = p.parse_args(argv)
    for name in ("ops", "rounds", "threads", "seed_items"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    wls = workloads(args.client, args.threads)
    names = [args.only] if args.only else list(SERVERS)
    workdir = Path(tempfile.mkdtemp(prefix="table-bench-"))
    targets: dict[str, Target] = {}
    failed: dict[str, str] = {}
    results: dict[str, dict[str, list]] = {s: {} for s in names}
    report: dict[str, Any] = {"meta": run_meta("boto3", "moto"), "args": vars(args), "servers": {}, "rounds": [], "failed": failed}
    exit_code = 0
    try:
        print(f"table_bench: {args.ops} ops per workload, {args.warmup} warm-up ops, {args.rounds} round(s), "
              f"{len(wls)} workloads x {len(names)} servers, table stream: {args.stream or 'none'}; "
              f"work dir {workdir}", flush=True)
        if args.calibrate:
            report["calibration"] = calibrate(workdir, args.ops, args.threads)
        for name in names:
            port = free_port()
            proc = None
            try:
                start = start_ours if name == "ours" else start_moto
                proc = start(port, workdir, args.startup_timeout)
                target = Target(name, proc, port, authorization_needed=(name == "moto"))
                prepare(target, args.seed_items, args.stream)
                kids = proc.child_cpu()
                idle, idle_kids = idle_cpu(proc, args.idle_seconds)
                print(f"{name}: pid {proc.pid} on port {port}, ready in {proc.startup_s:.1f} s"
                      + (f", child processes {sorted(kids)}" if kids else "") + "; table created, "
                      f"{args.seed_items} items seeded; idle CPU {fmt(idle, 1)}% of a core"
                      + (f" (+{fmt(idle_kids, 1)}% children)" if kids else ""), flush=True)
                report["servers"][name] = {"pid": proc.pid, "port": port, "startup_s": round(proc.startup_s, 2),
                                           "children": sorted(kids), "idle_cpu_percent": idle,
                                           "idle_children_cpu_percent": idle_kids}
                targets[name] = target
            except Exception as exc:
                msg = f"{type(exc).__name__}: {exc}"
                if proc is not None and not isinstance(exc, ServerFailed):
                    msg += f"\n  log tail:\n{proc.log_tail()}"
                failed[name] = msg
                print(f"{name}: FAILED to start/prepare: {msg}", flush=True)
                exit_code = 1
                if proc is not None:
                    proc.stop()
        if not targets:
            return 1

        for rnd in range(1, args.rounds + 1):
            print(f"round {rnd}/{args.rounds}", flush=True)
            round_rec: dict[str, Any] = {}
            for n, w in enumerate(wls):
                order = list(targets) if (n + rnd) % 2 else list(reversed(targets))
                for name in order:
                    target = targets[name]
                    if not target.process.alive():
                        raise ServerFailed(f"{name} died; log tail:\n{target.process.log_tail()}")
                    prefix = f"r{rnd}-{w.client}-{w.op}{w.threads}"
                    if args.warmup:
                        measure(target, w, args.warmup, f"warm-{prefix}", args.seed_items, with_cpu=False)
                    result, cpu = measure(target, w, args.ops, prefix, args.seed_items)
                    rec = record(result, cpu)
                    results[name].setdefault(w.key, []).append(rec)
                    round_rec.setdefault(w.key, {})[name] = rec
                    progress(rnd, w, name, rec)
                    if rec["errors"]:
                        exit_code = 1
            report["rounds"].append(round_rec)

        verdicts = print_table(wls, {s: results[s] for s in targets}, args.threads, args.rounds,
                               report.get("calibration"))
        report["summary"] = {
            w.key: {**{s: aggregate(results[s][w.key]) for s in targets if results[s].get(w.key)},
                    "ratio_ops_per_s": paired_ratio(results, w.key, "ops_per_s"),
                    "ratio_server_cpu": paired_ratio(results, w.key, "server_cpu_s_per_1k_ops")}
            for w in wls}
        report["verdicts"] = verdicts
        for name, msg in failed.items():
            print(f"\n{name} FAILED: {msg}")
        return exit_code
    except (KeyboardInterrupt, ServerFailed) as exc:
        return ended_by(exc, report)
    finally:
        finish([t.process for t in targets.values()], args.json, report, workdir)


if __name__ == "__main__":
    sys.exit(main())
