"""Time to live: PutItem latency while the TTL sweeper deletes --items expired items, vs without a sweep.

Ours only (no peer sweeps: moto and dynalite do not delete expired items). `cdc-bridge up` with
`--ttl-sweep-interval 1`; a table (pk S, sk N) with a NEW_AND_OLD_IMAGES stream (`--no-stream`:
none), loaded with --items items whose `expires` is an hour in the past. One thread writes PutItem
in a loop on the raw client (items without `expires`, which stay), each call timed:

- before: --baseline-seconds with TTL off (the same table, no sweep);
- during: from UpdateTimeToLive (enable) until the last loaded item in key order is gone (a
  GetItem every 250 ms: a sweep walks the table in key order; DescribeTable's count, a scan of
  the table under the storage lock, would itself delay the writes). The sweep starts within the
  one-second interval.

Reported: the writes' p50 / p99 / worst before and during, the sweep's seconds, items deleted per
second and server CPU (the broker included: every deletion is a REMOVE event shipped to Kafka),
and from the server's own log (`--log-level INFO`: one line per pass that deleted something) the
number of batches and the longest one, i.e. the longest a write waited for the storage lock
because of the sweep, free of the client's and the scheduler's noise. At the end a Scan counts
what is left: exactly the writer's items, or an error.

Target (issue 15): reported, none set; the sweeper deletes in transactions of at most 25 items
(`ttl_batch_items`, CDC_BRIDGE_TTL_BATCH_ITEMS) and pauses between them as long as each took, so a
write waits for at most one batch.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.harness.report import Report, fmt
from bench.harness.servers import Server, start_ours_up
from bench.harness.timing import lat_stats
from bench.workloads.indexes import Writer, create, key_schema, load, query_item

SUMMARY = "PutItem latency (p99, worst) while the TTL sweeper deletes 100,000 expired items, vs no sweep; ours only"
DEFAULT_ROUNDS = 1
TABLE = "bench_ttl"
POLL_S = 0.25


def add_arguments(p) -> None:
    p.add_argument("--items", type=int, default=100_000, help="expired items the sweep deletes")
    p.add_argument("--baseline-seconds", type=float, default=5.0, help="writes timed before TTL is enabled")
    p.add_argument("--no-stream", action="store_true", help="the table without a stream (no REMOVE events)")
    p.add_argument("--timeout", type=float, default=900.0, help="give up on a sweep after this many seconds")


def expired_item(n: int) -> dict:
    return {**query_item(n), "expires": {"N": str(int(time.time()) - 3600)}}


def exists(server: Server, item: dict) -> bool:
    key = {"pk": item["pk"], "sk": item["sk"]}
    return "Item" in server.call("dynamodb", "GetItem", {"TableName": TABLE, "Key": key})


def left_with_ttl(server: Server) -> int:
    """Items that still have `expires`, by a paged Scan."""
    left, request = 0, {"TableName": TABLE, "Select": "COUNT", "FilterExpression": "attribute_exists(expires)"}
    while True:
        page = server.call("dynamodb", "Scan", request)
        left += page["Count"]
        if "LastEvaluatedKey" not in page:
            return left
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def sweep(server: Server, items: int, timeout_s: float) -> float:
    """Enable TTL and wait until the last loaded item (in key order; the writer's sort after it)
    is gone: seconds taken."""
    started = time.monotonic()
    server.call("dynamodb", "UpdateTimeToLive", {
        "TableName": TABLE, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"}})
    while time.monotonic() - started < timeout_s:
        if not exists(server, query_item(items - 1)):
            return time.monotonic() - started
        time.sleep(POLL_S)
    raise RuntimeError(f"ours: the sweep did not finish within {timeout_s:.0f} s")


def sweep_log(server: Server) -> dict[str, Any]:
    """The sweeper's log lines about the table, summed: deleted, batches, the longest batch."""
    lines = [json.loads(line) for line in server.processes[0].log_path.read_text(errors="replace").splitlines()
             if '"ttl sweep"' in line]
    lines = [line for line in lines if line.get("table") == TABLE]
    return {"passes": len(lines), "deleted": sum(line["deleted"] for line in lines),
            "batches": sum(line["batches"] for line in lines),
            "longest_batch_ms": max((line["longest_batch_ms"] for line in lines), default=None)}


def measure(server: Server, args) -> dict[str, Any]:
    stream = {} if args.no_stream else {"StreamSpecification": {"StreamEnabled": True,
                                                                "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    create(server, TABLE, {"pk": "S", "sk": "N"}, key_schema("pk", "sk"), [])
    if stream:
        server.call("dynamodb", "UpdateTable", {"TableName": TABLE, **stream})
    load(server, TABLE, 0, args.items, expired_item)
    writer = Writer(server, TABLE)
    writer.start()
    time.sleep(args.baseline_seconds)
    writer.mark()
    with server.cpu() as cpu:
        seconds = sweep(server, args.items, args.timeout)
    writer.stop.set()
    writer.join()
    return {"seconds": seconds, "cpu_s": cpu.server_s, "before": lat_stats(writer.windows[0]),
            "during": lat_stats(writer.windows[1]), "left": left_with_ttl(server), "errors": writer.errors[:1],
            "stream": not args.no_stream, "sweeper": sweep_log(server)}


def run(bench, args) -> Report:
    report = Report(f"Time to live: PutItem while the sweeper deletes {args.items:,} expired items")
    server = start_ours_up(bench, extra=["--ttl-sweep-interval", "1", "--log-level", "INFO"])
    print(server.describe(), flush=True)
    rec = measure(server, args)
    if rec["errors"]:
        report.errors.append(f"ours writes: {rec['errors'][0]}")
    if rec["left"]:
        report.errors.append(f"{rec['left']} items with `expires` left after the sweep")
    if rec["sweeper"]["deleted"] != args.items:
        report.errors.append(f"the sweeper's log counts {rec['sweeper']['deleted']} deletions, not {args.items}")
    print(f"  ours  sweep of {args.items:,} items: {fmt(rec['seconds'], 2)} s; writes p99 "
          f"{fmt(rec['before']['p99_ms'], 2)} ms before, {fmt(rec['during']['p99_ms'], 2)} ms during, worst "
          f"{fmt(rec['before']['max_ms'], 2)} / {fmt(rec['during']['max_ms'], 2)} ms", flush=True)
    t = report.table(f"PutItem (one raw-client thread) before and during a TTL sweep of {args.items:,} expired items"
                     f"{'' if args.no_stream else ', table with a NEW_AND_OLD_IMAGES stream'}",
                     ["", "writes", "p50 ms", "p99 ms", "worst ms", "sweep s", "deleted/s", "server CPU s"])
    before, during = rec["before"], rec["during"]
    t.add("no sweep (TTL off)", before["n"], fmt(before["p50_ms"], 2), fmt(before["p99_ms"], 2),
          fmt(before["max_ms"], 2), "", "", "")
    t.add("during the sweep", during["n"], fmt(during["p50_ms"], 2), fmt(during["p99_ms"], 2), fmt(during["max_ms"], 2),
          fmt(rec["seconds"], 2), fmt(args.items / rec["seconds"], 0), fmt(rec["cpu_s"], 1))
    swept = rec["sweeper"]
    t = report.table("The sweeper's own account (its INFO log lines)",
                     ["passes", "deleted", "batches (one transaction each)", "longest batch ms"])
    t.add(swept["passes"], swept["deleted"], swept["batches"], fmt(swept["longest_batch_ms"], 1))
    report.notes.append("the sweep's seconds run from UpdateTimeToLive to the last expired item gone (the first pass "
                        "starts within the one-second --ttl-sweep-interval); deleted/s = items / those seconds")
    report.data = rec
    return report
