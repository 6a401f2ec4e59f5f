"""TransactWriteItems of --items puts (10), ours vs moto: ops/s and server CPU per item, in one run.

Same layout as the table workload (bench/harness/paired.py): both servers at once, table
`bench_table` (pk S; a stream of --stream's view type if given, so every item also pays for its
change event), each workload on each server in turn, the order alternating, --warmup unmeasured
transactions first, with boto3 (retries off) and the raw client. Workloads: 1 thread, --threads
threads; every transaction puts --items new items (distinct keys, so none is cancelled).
Reported: transactions/s and items/s, p50/p99, server CPU per transaction and per item
(process + children). No target in issue 15: the figures are reported.
"""

from __future__ import annotations

from bench.harness import paired
from bench.harness.paired import Op, Workload
from bench.harness.procs import idle_cpu
from bench.harness.report import Report, fmt, med
from bench.harness.servers import create_table, start
from bench.workloads.table import TABLE, item

SUMMARY = "TransactWriteItems of 10 puts, ours vs moto: ops/s and server CPU per item"
DEFAULT_ROUNDS = 1


def add_arguments(p) -> None:
    paired.add_arguments(p)
    p.add_argument("--items", type=int, default=10, help="puts per transaction (1-100)")


def section_key(args) -> str:
    return "transactions" + (f" (stream {args.stream})" if args.stream else "")


def transaction(items: int):
    def request(i: int, prefix: str) -> dict:
        return {"TransactItems": [{"Put": {"TableName": TABLE, "Item": item(f"{prefix}-{i}-{j}", i)}}
                                  for j in range(items)]}
    return request


def run(bench, args) -> Report:
    report = Report(f"TransactWriteItems of {args.items} puts vs moto (stream: {args.stream or 'none'})")
    op = Op(f"Tx {args.items} puts", "TransactWriteItems", transaction(args.items))
    clients = ["boto3", "raw"] if args.client == "both" else [args.client]
    wls = [Workload(op, c, t) for c in clients for t in (1, args.threads)]
    servers = {}
    for name in [args.only] if args.only else ["ours", "moto"]:
        server = servers[name] = start(bench, name)
        create_table(server, TABLE, args.stream)
        idle = idle_cpu(server.processes, args.idle_seconds)
        print(f"{server.describe()}; ready; idle CPU {fmt(idle, 1)}% of a core", flush=True)
        report.notes.append(f"{name}: idle CPU {fmt(idle, 1)}% of a core (process + children)")
    results = paired.run_rounds(servers, wls, args.ops, args.warmup, args.rounds)
    paired.summarize(report, results, wls, "moto", args.rounds, None, None, args.threads,
                     judge="moto" in servers and "ours" in servers)
    per_item(report, results, wls, args.items)
    for name in servers:
        failed = sum(r["errors"] for recs in results[name].values() for r in recs)
        report.notes.append(f"{name}: {failed} failed transactions (the Errors below are {name}'s)" if failed
                            else f"{name}: no failed transaction")
    report.notes.append("ops = transactions; an item is one put of a transaction")
    report.notes.append("moto's TransactWriteItems deep-copies the table of each action before it starts (a rollback "
                        "copy), so its cost grows with the table: the longer a run, the slower moto")
    report.notes.append("moto closes every connection (Connection: close): the raw client opens a TCP connection "
                        "per call to it")
    return report


def per_item(report: Report, results: dict, workloads: list[Workload], items: int) -> None:
    """The same medians per item: items/s and server CPU (ms) per item."""
    t = report.table(f"per item ({items} puts per transaction): medians", [
        "client", "workload", "ours items/s", "moto items/s", "ours CPU ms/item", "moto CPU ms/item"])
    for w in workloads:
        row = [w.client, w.label]
        for field, scale in (("ops_per_s", items), ("cpu_ms_per_op", 1 / items)):
            for name in ("ours", "moto"):
                recs = results.get(name, {}).get(w.key, [])
                value = med([r[field] for r in recs]) if recs else None
                row.append(fmt(None if value is None else value * scale, 3 if field == "cpu_ms_per_op" else 0))
        t.add(*row)
