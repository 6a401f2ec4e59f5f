"""UpdateItem `SET #c = #c + :one` (an atomic counter), table service vs moto, side by side.

    .venv/bin/python bench/update_bench.py [--ops 3000] [--rounds 3] [--keys 100] [--stream VIEW]
                                           [--client both|boto3|raw] [--only ours|moto] [--json PATH]

Starts both servers as bench/table_bench.py does (ours: `python -m cdc_bridge.cli up` with its
embedded broker; moto: `python -m moto.server`), creates table `bench_table` on each (with a
stream of --stream's view type if given) and seeds --keys counters (`c` = 0) plus one hot counter.
Then, per round, every workload against each server in turn (order alternating, a warm-up before
each measurement):

| workload      | threads | request                                                             |
|---------------|---------|---------------------------------------------------------------------|
| Update x1     | 1       | `SET #c = #c + :one` on counter i mod --keys                        |
| Update x8     | 8       | the same, spread over the --keys counters                           |
| Update hot x8 | 8       | the same, every thread on one counter (writes to one item serialize) |

with the boto3 client and the raw client (http.client + orjson, unsigned to ours, moto's
Authorization header replayed), exactly as table_bench.py. Reported per workload and server:
ops/s, p50/p99 latency, server CPU seconds per 1,000 ops (utime+stime of the server process from
/proc; ours' broker apart), and ours/moto ratios (median of the per-round ratios).

At the end each server's counters are read back (GetItem): their sum must equal the number of
updates that succeeded, warm-ups included. A lost or doubled increment of ours fails the run
(exit 1); moto's are only reported (its UpdateItem is not atomic: it loses increments at 8 threads).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    CpuWindow,
    Result,
    ServerFailed,
    dumps,
    ended_by,
    finish,
    free_port,
    run_meta,
    run_threads,
    signed_authorization,
    stop_on_sigterm,
)
from bench.table_bench import (  # noqa: E402
    CPU_TARGET, OPS_TARGET, SERVERS, TABLE, Target, aggregate, fmt, idle_cpu, paired_ratio,
    record, start_moto, start_ours,
)

HOT_KEY = "hot"
EXPRESSION = {"UpdateExpression": "SET #c = #c + :one", "ExpressionAttributeNames": {"#c": "c"},
              "ExpressionAttributeValues": {":one": {"N": "1"}}}


@dataclass(frozen=True)
class Workload:
    client: str   # boto3 | raw
    threads: int
    hot: bool

    @property
    def label(self) -> str:
        return f"Update {'hot ' if self.hot else ''}x{self.threads}"

    @property
    def key(self) -> str:
        return f"{self.client}:{'hot' if self.hot else 'spread'}:{self.threads}"


def workloads(client_choice: str, many: int) -> list[Workload]:
    clients = ["boto3", "raw"] if client_choice == "both" else [client_choice]
    return [Workload(c, t, hot) for c in clients for t, hot in ((1, False), (many, False), (many, True))]


def counter_key(w: Workload, i: int, keys: int) -> dict:
    return {"pk": {"S": HOT_KEY if w.hot else f"c-{(i * 7919) % keys}"}}


def make_op_factory(target: Target, w: Workload, keys: int) -> tuple[Callable, Callable | None]:
    """(make_op(thread) -> op(i), close(op)), as table_bench.make_op_factory."""
    if w.client == "boto3":
        client = target.boto3_client(w.threads)

        def make_op(_t: int):
            return lambda i: bool(client.update_item(TableName=TABLE, Key=counter_key(w, i, keys), **EXPRESSION))

        return make_op, None

    def make_raw_op(_t: int):
        raw = target.raw()

        def op(i: int) -> bool:
            body = dumps({"TableName": TABLE, "Key": counter_key(w, i, keys), **EXPRESSION})
            status, data = raw.call_raw("UpdateItem", body)
            if status == 200:
                return True
            if op.last_error is None:
                op.last_error = f"HTTP {status}: {data[:200].decode(errors='replace')}"
            return False

        op.last_error = None
        op.raw = raw
        return op

    return make_raw_op, lambda op: op.raw.close()


def measure(target: Target, w: Workload, ops: int, keys: int, with_cpu: bool = True) -> tuple[Result, CpuWindow]:
    make_op, close = make_op_factory(target, w, keys)
    with CpuWindow(target.process if with_cpu else None) as cpu:
        result = run_threads(w.threads, ops, make_op, close)
    return result, cpu


# --------------------------------------------------------------------------- servers


def prepare(target: Target, keys: int, stream: str | None) -> None:
    """Create the table, capture a signed Authorization header, seed the counters at 0."""
    client = target.boto3_client(1)
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": stream}} if stream else {}
    client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], **extra)
    deadline = time.monotonic() + 60
    while client.describe_table(TableName=TABLE)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: table not ACTIVE after 60 s")
        time.sleep(0.2)
    target.authorization = signed_authorization(client, lambda c: c.describe_table(TableName=TABLE))
    raw = target.raw()
    try:
        for name in [f"c-{k}" for k in range(keys)] + [HOT_KEY]:
            status, body = raw.call("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": name}, "c": {"N": "0"}}})
            if status != 200:
                raise RuntimeError(f"{target.name}: seeding answered {status}: {str(body)[:200]}")
    finally:
        raw.close()


def counter_total(target: Target, keys: int) -> int:
    raw = target.raw()
    try:
        total = 0
        for name in [f"c-{k}" for k in range(keys)] + [HOT_KEY]:
            status, body = raw.call("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": name}}, "ConsistentRead": True})
            if status != 200 or "Item" not in body:
                raise RuntimeError(f"{target.name}: reading counter {name} answered {status}: {str(body)[:200]}")
            total += int(body["Item"]["c"]["N"])
        return total
    finally:
        raw.close()


def start(name: str, workdir: Path, args: argparse.Namespace) -> tuple[Target, dict]:
    port = free_port()
    proc = (start_ours if name == "ours" else start_moto)(port, workdir, args.startup_timeout)
    try:
        target = Target(name, proc, port, authorization_needed=(name == "moto"))
        prepare(target, args.keys, args.stream)
        idle, idle_kids = idle_cpu(proc, args.idle_seconds)
    except Exception:
        proc.stop()
        raise
    kids = proc.child_cpu()
    print(f"{name}: pid {proc.pid} on port {port}, ready in {proc.startup_s:.1f} s; {args.keys}+1 counters "
          f"seeded; idle CPU {fmt(idle, 1)}% of a core" + (f" (+{fmt(idle_kids, 1)}% children)" if kids else ""),
          flush=True)
    return target, {"pid": proc.pid, "port": port, "startup_s": round(proc.startup_s, 2),
                    "idle_cpu_percent": idle, "idle_children_cpu_percent": idle_kids}


# --------------------------------------------------------------------------- reporting


def progress(rnd: int, w: Workload, server: str, rec: dict[str, Any]) -> None:
    err = f" ERRORS {rec['errors']} ({rec['first_error']})" if rec["errors"] else ""
    kids = f" (+children {fmt(rec['children_cpu_s'], 2)} s)" if rec.get("children_cpu_s") is not None else ""
    print(f"  r{rnd} {w.client:5} {w.label:14} {server:4}: {fmt(rec['ops_per_s']):>7} ops/s  "
          f"p50 {rec['p50_ms']:7.2f} ms  p99 {rec['p99_ms']:7.2f} ms  "
          f"server CPU {fmt(rec['server_cpu_s_per_1k_ops'], 3)} s/1k ops{kids}  ({rec['wall_s']:.1f} s){err}",
          flush=True)


def latency(a: dict | None) -> str:
    return "-" if not a else f"{a['p50_ms']:.2f}/{a['p99_ms']:.2f}"


def print_table(wls: list[Workload], results: dict[str, dict[str, list]], rounds: int) -> dict[str, Any]:
    head = (f"{'client':6} {'workload':14} | {'ours ops/s':>10} {'moto ops/s':>10} {'ratio':>6} | "
            f"{'ours p50/p99 ms':>16} {'moto p50/p99 ms':>16} | {'ours CPU':>8} {'moto CPU':>8} {'ratio':>6}")
    print(f"\nResults ({'median of ' + str(rounds) + ' rounds' if rounds > 1 else '1 round'}; CPU = server "
          "process utime+stime, s per 1,000 ops; ratio = ours/moto, median of the per-round ratios)")
    print(head)
    print("-" * len(head))
    summary = {}
    for w in wls:
        agg = {s: aggregate(results[s][w.key]) for s in results if results[s].get(w.key)}
        o, m = agg.get("ours"), agg.get("moto")
        r_ops = paired_ratio(results, w.key, "ops_per_s")
        r_cpu = paired_ratio(results, w.key, "server_cpu_s_per_1k_ops")
        print(f"{w.client:6} {w.label:14} | {fmt(o and o['ops_per_s']):>10} {fmt(m and m['ops_per_s']):>10} "
              f"{fmt(r_ops, 2):>6} | {latency(o):>16} {latency(m):>16} | {fmt(o and o['cpu'], 3):>8} "
              f"{fmt(m and m['cpu'], 3):>8} {fmt(r_cpu, 2):>6}")
        summary[w.key] = {**agg, "ratio_ops_per_s": r_ops, "ratio_server_cpu": r_cpu}
    print(f"\nFor reference, table_bench's targets: server CPU per op <= {CPU_TARGET:g} x moto's, "
          f">= {OPS_TARGET:g} x moto's ops/s at 8 threads. boto3 tops out near 1,100 calls/s per process "
          "(shared/benchmarking.md); the client shares the 2 cores with the server.")
    return summary


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=3000, help="operations per measured workload (all threads)")
    p.add_argument("--warmup", type=int, default=200, help="operations before each measurement, not measured")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--threads", type=int, default=8, help="thread count of the multi-threaded workloads")
    p.add_argument("--keys", type=int, default=100, help="counters the spread workloads update")
    p.add_argument("--stream", choices=["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"],
                   help="give the table a stream of this view type on both servers")
    p.add_argument("--only", choices=SERVERS)
    p.add_argument("--client", choices=["both", "boto3", "raw"], default="both")
    p.add_argument("--idle-seconds", type=float, default=3.0)
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--json", metavar="PATH", help="write every round's figures and the medians here")
    args = p.parse_args(argv)
    for name in ("ops", "rounds", "threads", "keys"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


def run_rounds(args, wls, targets, results, report, succeeded) -> int:
    exit_code = 0
    for rnd in range(1, args.rounds + 1):
        print(f"round {rnd}/{args.rounds}", flush=True)
        round_rec: dict[str, Any] = {}
        for n, w in enumerate(wls):
            order = list(targets) if (n + rnd) % 2 else list(reversed(targets))
            for name in order:
                target = targets[name]
                if not target.process.alive():
                    raise ServerFailed(f"{name} died; log tail:\n{target.process.log_tail()}")
                if args.warmup:
                    warm, _ = measure(target, w, args.warmup, args.keys, with_cpu=False)
                    succeeded[name] += warm.ops - warm.errors
                result, cpu = measure(target, w, args.ops, args.keys)
                succeeded[name] += result.ops - result.errors
                rec = record(result, cpu)
                results[name].setdefault(w.key, []).append(rec)
                round_rec.setdefault(w.key, {})[name] = rec
                progress(rnd, w, name, rec)
                exit_code |= 1 if rec["errors"] else 0
        report["rounds"].append(round_rec)
    return exit_code


def check_counters(targets, succeeded, keys, report) -> int:
    """Exit code 1 if our counters lost or doubled an increment. moto's are reported, not judged:
    its UpdateItem is not atomic under concurrent writers, so it loses increments at 8 threads."""
    exit_code = 0
    for name, target in targets.items():
        total = counter_total(target, keys)
        ok = total == succeeded[name]
        report["counters"][name] = {"sum": total, "successful_updates": succeeded[name], "ok": ok}
        print(f"{name}: counters sum to {total:,}, successful updates {succeeded[name]:,}: "
              f"{'OK' if ok else f'MISMATCH, {succeeded[name] - total:+,} increments lost'}")
        exit_code |= 0 if ok or name != "ours" else 1
    return exit_code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    wls = workloads(args.client, args.threads)
    names = [args.only] if args.only else list(SERVERS)
    workdir = Path(tempfile.mkdtemp(prefix="update-bench-"))
    targets: dict[str, Target] = {}
    results: dict[str, dict[str, list]] = {s: {} for s in names}
    succeeded = {s: 0 for s in names}
    report: dict[str, Any] = {"meta": run_meta("boto3", "moto"), "args": vars(args), "servers": {}, "rounds": [], "counters": {}}
    try:
        print(f"update_bench: {args.ops} ops per workload, {args.warmup} warm-up ops, {args.rounds} round(s), "
              f"{len(wls)} workloads x {len(names)} servers, stream: {args.stream or 'none'}; work dir {workdir}",
              flush=True)
        for name in names:
            targets[name], report["servers"][name] = start(name, workdir, args)
        exit_code = run_rounds(args, wls, targets, results, report, succeeded)
        report["summary"] = print_table(wls, results, args.rounds)
        return exit_code | check_counters(targets, succeeded, args.keys, report)
    except (KeyboardInterrupt, ServerFailed) as exc:
        return ended_by(exc, report)
    finally:
        finish([t.process for t in targets.values()], args.json, report, workdir)


if __name__ == "__main__":
    sys.exit(main())
