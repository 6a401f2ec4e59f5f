"""UpdateItem `SET #c = #c + :one` (an atomic counter), ours vs moto.

Same layout as the table workload: both servers, table `bench_table` (optional stream), --keys
counters plus one hot counter seeded at 0. Workloads, each with boto3 and the raw client: 1 thread
over the counters, --threads threads over the counters, --threads threads on the hot counter.
At the end every counter is read back: their sum must equal the updates that succeeded (warm-ups
included); a lost or doubled increment of ours is an error, moto's are only reported (its
UpdateItem is not atomic under concurrent writers). Targets as the table workload's.
"""

from __future__ import annotations

from bench.harness import paired
from bench.harness.paired import Op, Workload
from bench.harness.procs import idle_cpu
from bench.harness.report import Report, fmt
from bench.harness.servers import create_table, start
from bench.workloads.table import CPU_TARGET, OPS_TARGET, TABLE

SUMMARY = "UpdateItem atomic counter (spread and hot), ours vs moto, with a lost-update check"
DEFAULT_ROUNDS = 1
HOT_KEY = "hot"
EXPRESSION = {"UpdateExpression": "SET #c = #c + :one", "ExpressionAttributeNames": {"#c": "c"},
              "ExpressionAttributeValues": {":one": {"N": "1"}}}


def add_arguments(p) -> None:
    paired.add_arguments(p)
    p.add_argument("--keys", type=int, default=100, help="counters the spread workloads update")


def section_key(args) -> str:
    return "update" + (f" (stream {args.stream})" if args.stream else "")


def counters(keys: int) -> list[str]:
    return [f"c-{k}" for k in range(keys)] + [HOT_KEY]


def run(bench, args) -> Report:
    report = Report(f"UpdateItem atomic counter vs moto (stream: {args.stream or 'none'})")
    spread = Op("Update", "UpdateItem", lambda i, _: {"TableName": TABLE, "Key": {"pk": {"S": f"c-{(i * 7919) % args.keys}"}},
                                                      **EXPRESSION})
    hot = Op("Update hot", "UpdateItem", lambda i, _: {"TableName": TABLE, "Key": {"pk": {"S": HOT_KEY}}, **EXPRESSION})
    clients = ["boto3", "raw"] if args.client == "both" else [args.client]
    wls = [Workload(op, c, t) for c in clients for op, t in ((spread, 1), (spread, args.threads), (hot, args.threads))]
    servers = {}
    for name in [args.only] if args.only else ["ours", "moto"]:
        server = servers[name] = start(bench, name)
        create_table(server, TABLE, args.stream)
        raw = server.raw()
        for key in counters(args.keys):
            raw.ok("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": key}, "c": {"N": "0"}}})
        raw.close()
        idle = idle_cpu(server.processes, args.idle_seconds)
        print(f"{server.describe()}; {args.keys}+1 counters seeded; idle CPU {fmt(idle, 1)}% of a core", flush=True)

    # Count every successful update, warm-ups included, for the read-back check.
    succeeded = {name: 0 for name in servers}

    def count(name, result):
        succeeded[name] += result.ops - result.errors
    results = paired.run_rounds(servers, wls, args.ops, args.warmup, args.rounds, on_result=count)
    paired.summarize(report, results, wls, "moto", args.rounds, CPU_TARGET, OPS_TARGET, args.threads,
                     judge="moto" in servers and "ours" in servers)
    t = report.table("counters read back (GetItem, ConsistentRead)", ["server", "sum of counters",
                                                                        "successful updates", "check"])
    for name, server in servers.items():
        raw = server.raw()
        total = sum(int(raw.ok("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": k}}, "ConsistentRead": True})
                        ["Item"]["c"]["N"]) for k in counters(args.keys))
        raw.close()
        ok = total == succeeded[name]
        t.add(name, fmt(total), fmt(succeeded[name]), "OK" if ok else f"MISMATCH ({succeeded[name] - total:+,} lost)")
        if not ok and name == "ours":
            report.errors.append(f"ours lost or doubled {succeeded[name] - total:+,} increments")
    return report
