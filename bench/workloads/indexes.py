"""Secondary indexes: GSI Query vs base-table Query, PutItem with 2 GSIs vs none, and the
back-fill of a new GSI while writes go on.

Servers: ours (`cdc-bridge up`) and moto, all at once, each measurement on each in turn, the order
reversed every round, medians of --rounds; every call through the raw client (query.py's helpers):

- Query of 100 items, on the table (pk S, sk N: one partition) and on its GSI byG (g S, gs N, ALL:
  the same 100 items under another key, in another order), the table grown with BatchWriteItem to
  each of --sizes: calls/s, p50, server CPU per call (an answer without exactly 100 items is an error);
- PutItem of new ~150-byte items into a table without indexes and into one with 2 GSIs (KEYS_ONLY
  and ALL), --threads threads: server CPU per call;
- back-fill (ours only): a table of --backfill-items items, then UpdateTable adds a GSI; timed from
  the UpdateTable call until DescribeTable reports it ACTIVE (polled every 200 ms), while one thread
  writes PutItem in a loop: the writes' p50/p99 before (a --baseline-seconds window) and during it.

Targets (issue 14): a GSI Query within 1.5x of the base-table Query at the largest size (calls/s
and CPU per call), flat from the smallest to the largest size (>= 0.8x); PutItem server CPU with
2 GSIs <= 1.5x without; back-fill of 100,000 items under 10 s.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.harness.report import Report, at_least, at_most, fmt, med
from bench.harness.servers import Server, start
from bench.harness.timing import lat_stats, run_threads
from bench.workloads.query import (  # noqa: F401  (check_arguments: the runner calls it on this module too)
    add_measurement_arguments,
    batch_write,
    check_arguments,
    checked,
    close_raw,
    measure,
    raw_op,
)

SUMMARY = "GSI Query vs table Query (1,000 to 100,000 items), PutItem with 2 GSIs, GSI back-fill; ours vs moto"
DEFAULT_ROUNDS = 3
QUERY_TABLE, PLAIN_TABLE, TWO_GSI_TABLE, BACKFILL_TABLE = "bench_gsi_query", "bench_put_plain", "bench_put_2gsi", \
    "bench_backfill"
PER_PARTITION = 100  # as query.py's (check_arguments, shared, holds --sizes to its multiples)
QUERY_LIMIT, FLAT_TARGET, PUT_LIMIT, BACKFILL_LIMIT_S = 1.5, 0.8, 1.5, 10.0


def add_arguments(p) -> None:
    add_measurement_arguments(p, "ours,moto")
    p.add_argument("--backfill-items", type=int, default=100_000, help="items in the table a GSI is added to")
    p.add_argument("--baseline-seconds", type=float, default=3.0, help="writes timed before the back-fill starts")


def key_schema(hash_name: str, range_name: str | None = None) -> list[dict]:
    return [{"AttributeName": hash_name, "KeyType": "HASH"}] + (
        [{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else [])


def gsi(name: str, hash_name: str, range_name: str | None, projection: str) -> dict:
    return {"IndexName": name, "KeySchema": key_schema(hash_name, range_name),
            "Projection": {"ProjectionType": projection}}


def create(server: Server, table: str, types: dict[str, str], keys: list[dict], indexes: list[dict]) -> None:
    request: dict[str, Any] = {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST", "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]}
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    server.call("dynamodb", "CreateTable", request)
    wait_active(server, table)


def wait_active(server: Server, table: str, timeout_s: float = 600.0, poll_s: float = 0.1) -> float:
    """Seconds until the table and every GSI are ACTIVE."""
    started = time.monotonic()
    while True:
        desc = server.call("dynamodb", "DescribeTable", {"TableName": table})["Table"]
        if desc["TableStatus"] == "ACTIVE" and all(i.get("IndexStatus") == "ACTIVE"
                                                  for i in desc.get("GlobalSecondaryIndexes", ())):
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"{server.name}: {table} not ACTIVE after {timeout_s:.0f} s")
        time.sleep(poll_s)


def query_item(n: int) -> dict:
    """Item n: partition n // 100 of the table and of the GSI, in another order in the GSI."""
    group, rank = divmod(n, PER_PARTITION)
    return {"pk": {"S": f"part-{group:06d}"}, "sk": {"N": str(rank)}, "g": {"S": f"g-{group:06d}"},
            "gs": {"N": str(rank * 37 % PER_PARTITION)}, "payload": {"S": "x" * 100}}


def put_item(key: str, i: int) -> dict:
    return {"pk": {"S": key}, "a": {"S": f"a-{i % 1000}"}, "b": {"N": str(i)}, "payload": {"S": "x" * 100}}


def load(server: Server, table: str, start_n: int, end_n: int, item_of) -> None:
    def body(raw, i: int) -> str | None:
        first = start_n + i * 25
        return batch_write(raw, table, [item_of(n) for n in range(first, min(first + 25, end_n))])
    result = run_threads(4, -(-(end_n - start_n) // 25), raw_op(server, body), close_raw)
    if result.errors:
        raise RuntimeError(f"{server.name}: loading {table} failed: {result.first_error}")


def query_body(partitions: int, index: bool):
    def body_of(_: int):
        def body(raw, i: int) -> str | None:
            group = (i * 7919) % partitions
            if index:
                request = {"IndexName": "byG", "KeyConditionExpression": "g = :v",
                           "ExpressionAttributeValues": {":v": {"S": f"g-{group:06d}"}}}
            else:
                request = {"KeyConditionExpression": "pk = :v",
                           "ExpressionAttributeValues": {":v": {"S": f"part-{group:06d}"}}}
            answer, error = checked(raw, "Query", {"TableName": QUERY_TABLE, **request})
            if error or answer["Count"] == PER_PARTITION:
                return error
            return f"Query returned {answer['Count']} items, not {PER_PARTITION}"
        return body
    return body_of


def put_body(table: str, prefix: str):
    def body_of(n: int):
        def body(raw, i: int) -> str | None:
            return checked(raw, "PutItem", {"TableName": table, "Item": put_item(f"{prefix}-{n}-{i}", i)})[1]
        return body
    return body_of


class Writer(threading.Thread):
    """PutItem in a loop on one raw client, each call timed, until stopped; `mark()` starts a new
    window of latencies."""

    def __init__(self, server: Server, table: str):
        super().__init__(daemon=True)
        self.raw, self.table, self.stop = server.raw(), table, threading.Event()
        self.windows: list[list[float]] = [[]]
        self.errors: list[str] = []

    def mark(self) -> None:
        self.windows.append([])

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            error = checked(self.raw, "PutItem", {"TableName": self.table, "Item": query_item(10**9 + i)})[1]
            self.windows[-1].append((time.perf_counter() - started) * 1000)
            if error:
                self.errors.append(error)
            i += 1
        self.raw.close()


def backfill(server: Server, items: int, baseline_s: float) -> dict[str, Any]:
    """Seconds from UpdateTable (Create GSI) to ACTIVE over `items` items, with writes' latencies."""
    create(server, BACKFILL_TABLE, {"pk": "S", "sk": "N"}, key_schema("pk", "sk"), [])
    load(server, BACKFILL_TABLE, 0, items, query_item)
    writer = Writer(server, BACKFILL_TABLE)
    writer.start()
    time.sleep(baseline_s)
    writer.mark()
    started = time.monotonic()
    with server.cpu() as cpu:
        server.call("dynamodb", "UpdateTable", {
            "TableName": BACKFILL_TABLE, "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": gsi("byG", "g", None, "ALL")}]})
        wait_active(server, BACKFILL_TABLE, poll_s=0.2)  # DescribeTable counts the items: not too often
        seconds = time.monotonic() - started
    writer.stop.set()
    writer.join()
    desc = server.call("dynamodb", "DescribeTable", {"TableName": BACKFILL_TABLE})["Table"]
    count = desc["GlobalSecondaryIndexes"][0].get("ItemCount")
    return {"seconds": seconds, "cpu_s": cpu.server_s, "before": lat_stats(writer.windows[0]),
            "during": lat_stats(writer.windows[1]), "index_items": count, "errors": writer.errors[:1]}


def run(bench, args) -> Report:
    report = Report("Secondary indexes: GSI Query vs table Query, PutItem with 2 GSIs, GSI back-fill")
    servers: list[Server] = []
    for name in args.only:
        server = start(bench, name)
        if server is None:
            continue
        create(server, QUERY_TABLE, {"pk": "S", "sk": "N", "g": "S", "gs": "N"}, key_schema("pk", "sk"),
               [gsi("byG", "g", "gs", "ALL")])
        create(server, PLAIN_TABLE, {"pk": "S"}, key_schema("pk"), [])
        create(server, TWO_GSI_TABLE, {"pk": "S", "a": "S", "b": "N"}, key_schema("pk"),
               [gsi("byA", "a", None, "KEYS_ONLY"), gsi("byB", "b", None, "ALL")])
        servers.append(server)
        print(server.describe(), flush=True)
    names = [s.name for s in servers]
    res: dict[str, dict[str, Any]] = {n: {"query": {}, "gsi": {}, "put_plain": [], "put_2gsi": []} for n in names}

    def note(rec: dict, what: str, name: str) -> None:
        if rec["errors"]:
            report.errors.append(f"{name} {what}: {rec['errors']} errors ({rec['first_error']})")
        print(f"  {name:5} {what}: {fmt(rec.get('ops_per_s'), 1)} calls/s, p50 {fmt(rec.get('p50_ms'), 2)} ms, "
              f"server CPU {fmt(rec.get('cpu_ms_per_op'), 3)} ms/call", flush=True)

    for rnd in range(args.rounds):
        for server in servers if rnd % 2 == 0 else servers[::-1]:
            prefix = f"p{rnd}-{time.monotonic_ns()}"
            for kind, table in (("put_plain", PLAIN_TABLE), ("put_2gsi", TWO_GSI_TABLE)):
                rec = measure(server, args.threads, put_body(table, f"{prefix}-{kind}"), args.seconds, args.max_ops, 1)
                res[server.name][kind].append(rec)
                note(rec, f"r{rnd + 1} PutItem, {kind}", server.name)
    loaded = 0
    for size in args.sizes:
        for server in servers:
            load(server, QUERY_TABLE, loaded, size, query_item)
        loaded = size
        for rnd in range(args.rounds):
            for server in servers if rnd % 2 == 0 else servers[::-1]:
                for kind, index in (("query", False), ("gsi", True)):
                    rec = measure(server, args.threads, query_body(size // PER_PARTITION, index), args.seconds,
                                  args.max_ops, PER_PARTITION)
                    res[server.name][kind].setdefault(size, []).append(rec)
                    note(rec, f"r{rnd + 1} Query of 100 {'on the GSI' if index else 'on the table'}, {size:,} items",
                         server.name)
    if "ours" in res:
        ours = next(s for s in servers if s.name == "ours")
        rec = res["ours"]["backfill"] = backfill(ours, args.backfill_items, args.baseline_seconds)
        if rec["errors"]:
            report.errors.append(f"ours writes during the back-fill: {rec['errors'][0]}")
        print(f"  ours  back-fill of {args.backfill_items:,} items: {fmt(rec['seconds'], 2)} s; writes p99 "
              f"{fmt(rec['before']['p99_ms'], 2)} ms before, {fmt(rec['during']['p99_ms'], 2)} ms during", flush=True)
    add_tables(report, res, names, args)
    report.data = res
    return report


def add_tables(report: Report, res: dict, names: list[str], args) -> None:
    def m(recs, field):
        return med([r[field] for r in recs])

    def cell(recs) -> str:
        return f"{fmt(m(recs, 'ops_per_s'), 1)} [{fmt(m(recs, 'p50_ms'), 2)}, {fmt(m(recs, 'cpu_ms_per_op'), 2)}]"

    columns = [f"{n} {k}" for n in names for k in ("table", "GSI")]
    t = report.table(f"Query of 100 items, {args.threads} threads: calls/s [p50 ms, server CPU ms per call]; medians "
                     f"of {args.rounds} round(s)", ["table size", *columns])
    for size in args.sizes:
        t.add(f"{size:,}", *(cell(res[n][k][size]) for n in names for k in ("query", "gsi")))
    t = report.table(f"PutItem of new items, {args.threads} threads: calls/s [p50 ms, server CPU ms per call]",
                     ["table", *names])
    t.add("no index", *(cell(res[n]["put_plain"]) for n in names))
    t.add("2 GSIs (KEYS_ONLY, ALL)", *(cell(res[n]["put_2gsi"]) for n in names))
    if "ours" not in res:
        return
    ours, big, small = res["ours"], args.sizes[-1], args.sizes[0]
    rec = ours["backfill"]
    t = report.table(f"Back-fill of a GSI over {args.backfill_items:,} items (ours), one writer meanwhile",
                     ["", "seconds to ACTIVE", "server CPU s", "writes p50 ms", "writes p99 ms", "writes"])
    t.add("before", "", "", fmt(rec["before"]["p50_ms"], 2), fmt(rec["before"]["p99_ms"], 2), rec["before"]["n"])
    t.add("during", fmt(rec["seconds"], 2), fmt(rec["cpu_s"], 1), fmt(rec["during"]["p50_ms"], 2),
          fmt(rec["during"]["p99_ms"], 2), rec["during"]["n"])
    gsi_rate, table_rate = m(ours["gsi"][big], "ops_per_s"), m(ours["query"][big], "ops_per_s")
    report.verdicts.append(at_most(f"GSI Query time vs table Query at {big:,} items (calls/s ratio)",
                                   (table_rate or 0) / (gsi_rate or float("nan")), QUERY_LIMIT, "x"))
    report.verdicts.append(at_most(f"GSI Query server CPU vs table Query at {big:,} items",
                                   (m(ours["gsi"][big], "cpu_ms_per_op") or 0) /
                                   (m(ours["query"][big], "cpu_ms_per_op") or float("nan")), QUERY_LIMIT, "x"))
    report.verdicts.append(at_least(f"GSI Query flat from {small:,} to {big:,} items",
                                    (gsi_rate or 0) / (m(ours["gsi"][small], "ops_per_s") or float("nan")),
                                    FLAT_TARGET, "x"))
    report.verdicts.append(at_most("PutItem server CPU with 2 GSIs vs none",
                                   (m(ours["put_2gsi"], "cpu_ms_per_op") or 0) /
                                   (m(ours["put_plain"], "cpu_ms_per_op") or float("nan")), PUT_LIMIT, "x"))
    report.verdicts.append(at_most(f"back-fill of {args.backfill_items:,} items", rec["seconds"], BACKFILL_LIMIT_S,
                                   " s"))
    if rec["index_items"] != args.backfill_items + rec["during"]["n"] + rec["before"]["n"]:
        report.errors.append(f"back-filled index holds {rec['index_items']} items, not the table's "
                             f"{args.backfill_items} + the writes'")
