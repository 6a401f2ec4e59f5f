"""Operation workloads (one AWS call per operation) run on ours and a peer, alternating, with
warm-ups, medians over rounds and per-round ratios. Used by the table and update workloads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.harness.clients import BOTO3_CEILING_OPS, dumps, loads
from bench.harness.report import Report, Verdict, fmt, med, paired
from bench.harness.servers import Server
from bench.harness.timing import Result, checked_op, run_threads

STREAM_VIEWS = ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


def add_arguments(p) -> None:
    """The options of an operation workload against ours and moto (table, update)."""
    p.add_argument("--ops", type=int, default=3000, help="operations per measured workload (all threads)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured operations before each measurement")
    p.add_argument("--threads", type=int, default=8, help="threads of the multi-threaded workloads")
    p.add_argument("--stream", choices=STREAM_VIEWS, help="give the table a stream of this view type on both servers")
    p.add_argument("--client", choices=["both", "boto3", "raw"], default="both")
    p.add_argument("--only", choices=["ours", "moto"], help="one server only")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="idle CPU measured this long per server")


@dataclass(frozen=True)
class Op:
    """One kind of call: `request(i, prefix)` builds the i-th request; `accept(answer)` returns an
    error text for an answer that is not good enough (e.g. GetItem without an Item)."""
    label: str
    operation: str
    request: Callable[[int, str], dict]
    accept: Callable[[dict], str | None] | None = None
    service: str = "dynamodb"


@dataclass(frozen=True)
class Workload:
    op: Op
    client: str    # boto3 | raw
    threads: int

    @property
    def key(self) -> str:
        return f"{self.client}:{self.op.label} x{self.threads}"

    @property
    def label(self) -> str:
        return f"{self.op.label} x{self.threads}"


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def op_factory(server: Server, w: Workload, prefix: str) -> tuple[Callable, Callable | None]:
    """(make_op(thread) -> op(i), close(op)) for run_threads."""
    accept = w.op.accept
    if w.client == "boto3":
        client = server.boto3(w.op.service)
        method = getattr(client, snake(w.op.operation))

        def make_boto3(_t: int):
            def op(i: int) -> bool:
                answer = method(**w.op.request(i, prefix))
                error = accept(answer) if accept else None
                if error and op.last_error is None:
                    op.last_error = error
                return error is None
            op.last_error = None
            return op
        return make_boto3, None

    def make_raw(_t: int):
        raw = server.raw(w.op.service)
        op = checked_op(lambda i: raw.call_raw(w.op.operation, dumps(w.op.request(i, prefix))),
                        (lambda data: accept(loads(data))) if accept else None)
        op.raw = raw
        return op
    return make_raw, lambda op: op.raw.close()


def measure(server: Server, w: Workload, ops: int, prefix: str, with_cpu: bool = True) -> tuple[Result, Any]:
    make_op, close = op_factory(server, w, prefix)
    with server.cpu() if with_cpu else _NoCpu() as cpu:
        result = run_threads(w.threads, ops, make_op, close)
    return result, cpu


class _NoCpu:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def record(result: Result, cpu) -> dict[str, Any]:
    out = result.summary()
    out["cpu_ms_per_op"] = cpu.per_1k(result.ops)
    out["children_ms_per_op"] = None if cpu.children_s is None or not result.ops else cpu.children_s / result.ops * 1000
    out["client_ms_per_op"] = cpu.client_s / result.ops * 1000 if result.ops else None
    return out


def run_rounds(servers: dict[str, Server], workloads: list[Workload], ops: int, warmup: int, rounds: int,
               on_result: Callable[[str, Result], None] | None = None) -> dict[str, dict[str, list[dict]]]:
    """Every workload on every server, the order alternating; results[server][workload key] =
    one record per round. Each measurement follows `warmup` unmeasured operations; `on_result`
    sees every batch of operations (warm-ups included)."""
    results: dict[str, dict[str, list[dict]]] = {name: {} for name in servers}
    for rnd in range(1, rounds + 1):
        print(f"round {rnd}/{rounds}", flush=True)
        for n, w in enumerate(workloads):
            names = list(servers) if (n + rnd) % 2 else list(reversed(servers))
            for name in names:
                server = servers[name]
                server.check()
                prefix = f"r{rnd}-{w.client}-{snake(w.op.label).replace(' ', '')}{w.threads}"
                if warmup:
                    warm, _ = measure(server, w, warmup, f"warm-{prefix}", with_cpu=False)
                    if on_result:
                        on_result(name, warm)
                result, cpu = measure(server, w, ops, prefix)
                if on_result:
                    on_result(name, result)
                rec = record(result, cpu)
                results[name].setdefault(w.key, []).append(rec)
                kids = f" (of which children {fmt(rec['children_ms_per_op'], 3)})" if rec["children_ms_per_op"] else ""
                err = f"  ERRORS {rec['errors']} ({rec['first_error']})" if rec["errors"] else ""
                print(f"  r{rnd} {w.client:5} {w.label:18} {name:8}: {fmt(rec['ops_per_s']):>7} ops/s  "
                      f"p50 {rec['p50_ms']:7.2f} ms  p99 {rec['p99_ms']:7.2f} ms  server CPU "
                      f"{fmt(rec['cpu_ms_per_op'], 3)} ms/op{kids}  client CPU {fmt(rec['client_ms_per_op'], 3)} ms/op"
                      f"{err}", flush=True)
    return results


def summarize(report: Report, results: dict[str, dict[str, list[dict]]], workloads: list[Workload],
              peer: str, rounds: int, cpu_target: float | None, ops_target: float | None, many: int,
              ceilings: dict[str, float] | None = None, judge: bool = True) -> None:
    """The result table: ours vs `peer`, medians of the rounds, ratios = median of per-round
    ratios; verdicts: server CPU per op <= cpu_target x the peer's, ops/s >= ops_target x at `many`
    threads."""
    t = report.table(f"ours vs {peer}: medians of {rounds} round(s); ratio = ours/{peer} (median of per-round "
                     f"ratios); server CPU = ms per operation, process + children",
                     ["client", "workload", "ours ops/s", f"{peer} ops/s", "ratio", "ours p50/p99 ms",
                      f"{peer} p50/p99 ms", "ours CPU", f"{peer} CPU", "CPU ratio", "ours broker share", "client ceiling",
                      "targets"])
    for w in workloads:
        o, m = results.get("ours", {}).get(w.key, []), results.get(peer, {}).get(w.key, [])

        def agg(recs, field):
            return med([r[field] for r in recs])
        r_ops = paired([r["ops_per_s"] for r in o], [r["ops_per_s"] for r in m])
        r_cpu = paired([r["cpu_ms_per_op"] for r in o], [r["cpu_ms_per_op"] for r in m])
        targets = []
        if judge and cpu_target is not None and r_cpu is not None:
            v = Verdict(f"{w.client} {w.label}: server CPU per op <= {cpu_target:g}x {peer}'s", r_cpu <= cpu_target,
                        f"{r_cpu:.2f}x")
            report.verdicts.append(v)
            targets.append(f"CPU {v.word}")
        if judge and ops_target is not None and w.threads == many and r_ops is not None:
            v = Verdict(f"{w.client} {w.label}: ops/s >= {ops_target:g}x {peer}'s", r_ops >= ops_target, f"{r_ops:.2f}x")
            report.verdicts.append(v)
            targets.append(f"ops {v.word}")
        errors = sum(r["errors"] for r in o + m)
        if errors:
            report.errors.append(f"{w.client} {w.label}: {errors} failed operations "
                                 f"(first: {next((r['first_error'] for r in o + m if r['first_error']), '?')})")
        ceiling = (ceilings or {}).get(f"{w.client}:{w.threads}")
        ceiling_text = (f"{fmt(ceiling)}/s (stub)" if ceiling else f"~{BOTO3_CEILING_OPS:,}/s" if w.client == "boto3" else "")

        def lat(recs):
            return "-" if not recs else f"{fmt(agg(recs, 'p50_ms'), 2)}/{fmt(agg(recs, 'p99_ms'), 2)}"
        t.add(w.client, w.label, fmt(agg(o, "ops_per_s")), fmt(agg(m, "ops_per_s")), fmt(r_ops, 2), lat(o), lat(m),
              fmt(agg(o, "cpu_ms_per_op"), 3), fmt(agg(m, "cpu_ms_per_op"), 3), fmt(r_cpu, 2),
              fmt(agg(o, "children_ms_per_op"), 3), ceiling_text, ", ".join(targets))
    report.data["results"] = results
