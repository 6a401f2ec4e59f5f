"""DynamoDB Streams read path: ours (`cdc-bridge up`, and a `cdc-bridge connector` process of its
own on the up's broker) vs moto, in one run, medians of --rounds.

Servers: ours = `cdc-bridge up` (its broker a child); ours-connector = a `cdc-bridge connector`
process reading the up's broker (`GET /health` -> parts.broker.bootstrap_servers), Streams calls
go to it and table calls to the up, its CPU counts both processes' trees; moto server. Per round:

1. PutItem CPU: --writes PutItems of new keys (~250-byte items) on --threads threads (raw client)
   into a NEW_AND_OLD_IMAGES table; the CPU window runs until ours' outbox is empty (every change
   published): server CPU per write, process + children (the broker included).
2. BatchWriteItem CPU: --batch-items items in calls of 25 (4 threads, raw client) into another
   stream-enabled table, the same window: server CPU per item.
3. The floor: the broker's produce -> acknowledge latency, measured with confluent-kafka directly
   against ours' broker (idempotent, acks=all, linger.ms=0 as our publisher, one record at a time).
4. Drain: each reader (ours, ours-connector, moto; order alternating) reads the round's PutItem
   stream from TRIM_HORIZON, shard after shard, GetRecords(Limit=1000) until an empty page
   (--empty-pages in a row), with each of --drain-clients; the count of records and distinct keys
   must equal --writes. Also a plain Kafka consumer reading the same topic (--no-kafka-floor).
5. Metadata: per reader and client, a client that has made each call once, a new stream-enabled
   table, then the first ListStreams and the first DescribeStream of the new stream (timed apart;
   a call that does not know the stream yet is retried and the time counts from the first try),
   then --meta-calls of each (p50).
6. Change visibility: a stream of 4 shards on ours (moto: 1 shard); N pollers (--pollers, spread
   over 4 shards: N/4 per shard, moto's one shard gets N/4 too), each calling GetRecords on its
   own LATEST iterator in a loop (as Lambda and the KCL do); the main thread does PutItems of new
   keys (raw client) and a sample is, for every poller of the record's shard, PutItem response ->
   the GetRecords response holding the record. --samples per series after --warmup.

Targets (issue 12): visibility p50 <= 2 ms and p99 <= 6 ms (4 pollers, one per shard);
ListStreams and DescribeStream p50 <= 3 ms, first calls included; stream-enabled PutItem
<= 0.45 ms of server+broker CPU per write; BatchWriteItem <= 0.08 ms per item.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.harness.clients import (
    BOTO3_STREAMS_CEILING,
    RAW_CLIENT,
    AckTimer,
    create_topic,
    dumps,
    loads,
    read_to_end,
    stream_topic,
)
from bench.harness.procs import MetricsReader, idle_cpu
from bench.harness.report import Report, at_most, fmt, med, paired
from bench.harness.servers import Server, create_table, start_moto, start_ours_connector, start_ours_up
from bench.harness.timing import STOP, checked_op, lat_stats, percentile, run_threads

SUMMARY = "DynamoDB Streams: visibility, drain, metadata calls, write CPU; ours (up and connector) vs moto"
DEFAULT_ROUNDS = 3
DEFAULT_BROKER = "both"   # issue 13: both brokers in one invocation, one pass each (moto in each pass)
BOTH_BROKERS = True
VIEW = "NEW_AND_OLD_IMAGES"
ITEM_BYTES = 250
PAGE = 1000
VIS_P50, VIS_P99, META_P50, PUT_CPU, BATCH_CPU = 2.0, 6.0, 3.0, 0.45, 0.08
UNKNOWN_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/warm-up/stream/2020-01-01T00:00:00.000"
LABEL = {"ours": "ours (up)", "ours-connector": "ours (connector)", "moto": "moto"}


def add_arguments(p) -> None:
    p.add_argument("--writes", type=int, default=5000, help="PutItems per round (records each drain reads)")
    p.add_argument("--threads", type=int, default=8, help="writer threads of the PutItem load")
    p.add_argument("--batch-items", type=int, default=2500, help="items written with BatchWriteItem per round")
    p.add_argument("--samples", type=int, default=200, help="visibility samples per series and round")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured visibility samples before each series")
    p.add_argument("--pollers", default="4,8,32", help="poller threads of the visibility series (over 4 shards)")
    p.add_argument("--vis-clients", default="raw,boto3", help="clients of the pollers: raw, boto3")
    p.add_argument("--drain-clients", default="raw,boto3", help="clients of the drains: raw, boto3")
    p.add_argument("--meta-calls", type=int, default=30, help="ListStreams / DescribeStream calls after the first")
    p.add_argument("--only", default="ours,ours-connector,moto", help="servers: ours, ours-connector, moto")
    p.add_argument("--empty-pages", type=int, default=1, help="a drain leaves a shard after this many empty pages")
    p.add_argument("--no-kafka-floor", dest="kafka_floor", action="store_false",
                   help="skip the plain Kafka consumer reading the drained topic")
    p.add_argument("--poll-timeout", type=float, default=5.0, help="seconds a visibility sample may wait")
    p.add_argument("--outbox-timeout", type=float, default=300.0, help="seconds to wait for ours' outbox to empty")


def check_arguments(p, args) -> None:
    args.pollers = [int(x) for x in args.pollers.split(",") if x]
    args.vis_clients = [x for x in args.vis_clients.split(",") if x]
    args.drain_clients = [x for x in args.drain_clients.split(",") if x]
    args.only = [x for x in args.only.split(",") if x]
    if not set(args.vis_clients + args.drain_clients) <= {"raw", "boto3"} or \
            not set(args.only) <= set(LABEL) or any(n < 1 for n in args.pollers):
        p.error("--vis-clients/--drain-clients take raw,boto3; --only ours,ours-connector,moto; --pollers >= 1")


# --------------------------------------------------------------------------- items and streams


def item(pk: str, seq: int) -> dict:
    fixed = len("pk") + len(pk) + len("seq") + 6 + len("payload") + len("active") + 1
    return {"pk": {"S": pk}, "seq": {"N": str(seq)}, "payload": {"S": "p" * max(1, ITEM_BYTES - fixed)},
            "active": {"BOOL": True}}


def stream_table(writer: Server, table: str) -> str:
    """A NEW_AND_OLD_IMAGES table; its stream ARN."""
    arn = create_table(writer, table, VIEW).get("LatestStreamArn")
    if not arn:
        raise RuntimeError(f"{writer.name}: table {table} has no LatestStreamArn")
    return arn


def wait_stream(reader: Server, arn: str, timeout_s: float = 60.0) -> None:
    """Until the reader's Streams API knows the stream (ours learns it from its catalog topic)."""
    raw = reader.raw("dynamodbstreams")
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            status, body = raw.call("DescribeStream", {"StreamArn": arn})
            if status == 200:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reader.name}: DescribeStream {arn}: HTTP {status}: {str(body)[:300]}")
            time.sleep(0.05)
    finally:
        raw.close()


class Streams:
    """raw or boto3 DynamoDB Streams calls with the same shape (dict answers; errors raise)."""

    def __init__(self, server: Server, kind: str):
        self.kind = kind
        self.raw = server.raw("dynamodbstreams") if kind == "raw" else None
        self.boto = server.boto3("dynamodbstreams") if kind == "boto3" else None

    def __call__(self, operation: str, **request) -> dict:
        if self.raw is not None:
            status, data = self.raw.call_raw(operation, dumps(request))
            body = loads(data)
            if status != 200:
                raise RuntimeError(f"{operation}: HTTP {status}: {str(body)[:300]}")
            return body
        return getattr(self.boto, {"GetRecords": "get_records", "GetShardIterator": "get_shard_iterator",
                                   "DescribeStream": "describe_stream", "ListStreams": "list_streams"}[operation])(**request)

    def shards(self, arn: str) -> list[str]:
        shards, start = [], None
        for _ in range(1000):
            desc = self("DescribeStream", StreamArn=arn, **({"ExclusiveStartShardId": start} if start else {}))
            desc = desc["StreamDescription"]
            shards += [s["ShardId"] for s in desc["Shards"]]
            start = desc.get("LastEvaluatedShardId")
            if not start:
                return shards
        raise RuntimeError("DescribeStream: more than 1,000 pages")

    def iterator(self, arn: str, shard: str, kind: str) -> str:
        return self("GetShardIterator", StreamArn=arn, ShardId=shard, ShardIteratorType=kind)["ShardIterator"]

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


def wait_outbox_empty(server: Server, timeout_s: float) -> None:
    reader = MetricsReader(server.port)
    deadline = time.monotonic() + timeout_s
    try:
        while reader.read().get("cdc_bridge_outbox_rows") != 0:
            server.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name}: outbox not empty after {timeout_s:g} s")
            time.sleep(0.02)
    finally:
        reader.close()


# --------------------------------------------------------------------------- writes (CPU per write / item)


def timed_writes(writer: Server, threads: int, calls: int, make_call, per_call: int, outbox_timeout: float
                 ) -> dict[str, Any]:
    def make_op(_t: int):
        raw = writer.raw()
        op = checked_op(lambda i: make_call(raw, i), lambda data: _unprocessed(data))
        op.raw = raw
        return op
    with writer.cpu() as cpu:
        result = run_threads(threads, calls, make_op, lambda op: op.raw.close())
        if writer.name == "ours":
            wait_outbox_empty(writer, outbox_timeout)
    n = result.ops * per_call
    return {"items": n, "errors": result.errors, "first_error": result.first_error,
            "items_per_s": n / result.wall_s if result.wall_s else None, "p50_ms": result.p(50),
            "cpu_ms_per_item": cpu.per_1k(n),
            "children_ms_per_item": (cpu.children_s or 0) / n * 1000 if n else None}


def _unprocessed(data: bytes) -> str | None:
    if b"UnprocessedItems" in data and loads(data).get("UnprocessedItems"):
        return "BatchWriteItem left UnprocessedItems"
    return None


def put_load(writer: Server, table: str, args) -> dict[str, Any]:
    def call(raw, i):
        return raw.call_raw("PutItem", dumps({"TableName": table, "Item": item(f"item-{i:07d}", i)}))
    return timed_writes(writer, args.threads, args.writes, call, 1, args.outbox_timeout)


def batch_load(writer: Server, table: str, args) -> dict[str, Any]:
    def call(raw, i):
        puts = [{"PutRequest": {"Item": item(f"b{i:06d}-{j:02d}", j)}} for j in range(25)]
        return raw.call_raw("BatchWriteItem", dumps({"RequestItems": {table: puts}}))
    return timed_writes(writer, 4, max(1, args.batch_items // 25), call, 25, args.outbox_timeout)


# --------------------------------------------------------------------------- drain


def drain(reader: Server, kind: str, arn: str, expected: int, stop_after: int = 1,
          max_pages: int | None = None) -> dict[str, Any]:
    """Every shard from TRIM_HORIZON until `stop_after` empty pages in a row (or no
    NextShardIterator, or sequence numbers that stop advancing)."""
    api = Streams(reader, kind)
    perf = time.perf_counter
    keys: set[str] = set()
    records = pages = 0
    page_ms: list[float] = []
    try:
        with reader.cpu() as cpu:
            t0 = perf()
            for shard in api.shards(arn):
                it, last, empties = api.iterator(arn, shard, "TRIM_HORIZON"), -1, 0
                for _ in range(max_pages or expected + 10):
                    if STOP.is_set():
                        raise KeyboardInterrupt
                    t1 = perf()
                    body = api("GetRecords", ShardIterator=it, Limit=PAGE)
                    page_ms.append((perf() - t1) * 1000)
                    pages += 1
                    recs = body.get("Records") or []
                    it = body.get("NextShardIterator")
                    if not recs:
                        empties += 1
                        if empties >= stop_after or not it:
                            break
                        continue
                    empties = 0
                    first = int(recs[0]["dynamodb"]["SequenceNumber"])
                    if first <= last:
                        break
                    last = int(recs[-1]["dynamodb"]["SequenceNumber"])
                    keys.update(r["dynamodb"]["Keys"]["pk"]["S"] for r in recs)
                    records += len(recs)
                    if not it:
                        break
            wall = perf() - t0
    finally:
        api.close()
    return {"records": records, "keys": len(keys), "ok": records == expected == len(keys), "pages": pages,
            "records_per_s": records / wall if wall else None, "page_p50_ms": percentile(sorted(page_ms), 50),
            "cpu_ms_per_1k": cpu.per_1k(records)}


# --------------------------------------------------------------------------- metadata calls


def metadata(writer: Server, reader: Server, kind: str, table: str, calls: int) -> dict[str, Any]:
    """First ListStreams and first DescribeStream after a new stream, then `calls` of each. The
    client has made both calls once before the stream is created (its connection is open, and
    botocore has built each operation's model and serializers): a first call times the server's
    first answer about the new stream, as a long-lived consumer's client sees it."""
    api = Streams(reader, kind)
    perf = time.perf_counter
    try:
        api("ListStreams")
        try:
            api("DescribeStream", StreamArn=UNKNOWN_STREAM)
        except Exception:  # ResourceNotFoundException, as expected
            pass
        arn = stream_table(writer, table)

        def first(call) -> tuple[float, int]:
            t0, tries = perf(), 0
            while True:
                tries += 1
                try:
                    if call():
                        return (perf() - t0) * 1000, tries
                except Exception:
                    pass
                if perf() - t0 > 30:
                    raise RuntimeError(f"{reader.name}: the new stream of {table} unknown after 30 s")

        list_first, list_tries = first(lambda: any(s["StreamArn"] == arn for s in api("ListStreams")["Streams"]))
        desc_first, desc_tries = first(lambda: api("DescribeStream", StreamArn=arn)["StreamDescription"]["Shards"])

        def timed(call) -> list[float]:
            out = []
            for _ in range(calls):
                t0 = perf()
                call()
                out.append((perf() - t0) * 1000)
            return out
        lists = timed(lambda: api("ListStreams"))
        descs = timed(lambda: api("DescribeStream", StreamArn=arn))
    finally:
        api.close()
    return {"list_first_ms": list_first, "list_first_tries": list_tries, "list_p50_ms": percentile(sorted(lists), 50),
            "desc_first_ms": desc_first, "desc_first_tries": desc_tries, "desc_p50_ms": percentile(sorted(descs), 50)}


# --------------------------------------------------------------------------- change visibility


class Pollers:
    """`n` poller threads on a stream, poller i on shard i mod shards (the shards sorted), each
    calling GetRecords on its own LATEST iterator in a loop; `seen[pk][poller] = perf_counter()`
    when a GetRecords response holding that key came back."""

    def __init__(self, reader: Server, kind: str, arn: str, per_shard: int):
        setup = Streams(reader, kind)
        try:
            shards = sorted(setup.shards(arn))
            self.shard_of = [shards[i % len(shards)] for i in range(per_shard * len(shards))]
            iterators = [setup.iterator(arn, s, "LATEST") for s in self.shard_of]
        finally:
            setup.close()
        self.seen: dict[str, dict[int, float]] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.calls = 0
        self.threads = [threading.Thread(target=self._poll, args=(i, reader, kind, it), daemon=True)
                        for i, it in enumerate(iterators)]
        for t in self.threads:
            t.start()

    def _poll(self, index: int, reader: Server, kind: str, iterator: str) -> None:
        api = Streams(reader, kind)
        perf, seen, cond = time.perf_counter, self.seen, self.cond
        try:
            while not self.stop.is_set() and not STOP.is_set():
                try:
                    body = api("GetRecords", ShardIterator=iterator, Limit=PAGE)
                except Exception as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    if len(self.errors) > 20:
                        return
                    time.sleep(0.01)
                    continue
                now = perf()
                self.calls += 1
                iterator = body.get("NextShardIterator")
                recs = body.get("Records")
                if recs:
                    with cond:
                        for r in recs:
                            seen.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], {})[index] = now
                        cond.notify_all()
                if not iterator:
                    self.errors.append("shard closed (no NextShardIterator)")
                    return
        finally:
            api.close()

    def wait(self, pk: str, timeout_s: float) -> dict[int, float] | None:
        """The times of every poller of the shard that got `pk` (None: not all within the timeout)."""
        def complete() -> bool:
            got = self.seen.get(pk)
            if not got:
                return False
            shard = self.shard_of[next(iter(got))]
            return all(i in got for i, s in enumerate(self.shard_of) if s == shard)
        with self.cond:
            if self.cond.wait_for(complete, timeout_s):
                return dict(self.seen.pop(pk))
        return None

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)


def visibility(writer: Server, reader: Server, kind: str, arn: str, table: str, pollers: int, args, tag: str
               ) -> dict[str, Any]:
    per_shard = max(1, pollers // 4)
    group = Pollers(reader, kind, arn, per_shard)
    raw = writer.raw()
    lat: list[float] = []
    put_ms: list[float] = []
    timeouts = 0
    perf = time.perf_counter
    try:
        with reader.cpu() as cpu:
            for i in range(-args.warmup, args.samples):
                if STOP.is_set():
                    raise KeyboardInterrupt
                pk = f"{tag}-{i}"
                body = dumps({"TableName": table, "Item": item(pk, i)})
                t0 = perf()
                status, data = raw.call_raw("PutItem", body)
                t1 = perf()
                if status != 200:
                    raise RuntimeError(f"{writer.name}: PutItem: HTTP {status}: {data[:200]!r}")
                got = group.wait(pk, args.poll_timeout)
                if i < 0:
                    continue
                if got is None:
                    timeouts += 1
                    continue
                put_ms.append((t1 - t0) * 1000)
                lat += [max(0.0, t - t1) * 1000 for t in got.values()]
        polls = group.calls
    finally:
        group.close()
        raw.close()
    s = lat_stats(lat)
    s.update(timeouts=timeouts, poller_errors=group.errors[:3], pollers=len(group.shard_of),
             put_p50_ms=percentile(sorted(put_ms), 50), cpu_ms_per_sample=cpu.per_1k(args.samples),
             getrecords_per_sample=polls / max(1, args.samples + args.warmup))
    return s


def ack_floor(bootstrap: str, samples: int) -> dict[str, Any]:
    topic = f"bench-ack-floor-{time.time_ns()}"
    create_topic(bootstrap, topic, 4)
    timer = AckTimer(bootstrap, topic)
    value = dumps(item("floor", 0))
    try:
        for i in range(20):
            timer.once(b"w%d" % i, value)
        return lat_stats([timer.once(b"k%d" % i, value) for i in range(samples)])
    finally:
        timer.close()


# --------------------------------------------------------------------------- run


def run(bench, args) -> Report:
    report = Report("DynamoDB Streams read path: ours (up, and a separate connector process) vs moto")
    servers: dict[str, Server] = {}
    if "ours" in args.only or "ours-connector" in args.only:
        up = start_ours_up(bench)
        if "ours" in args.only:
            servers["ours"] = up
        if "ours-connector" in args.only:
            servers["ours-connector"] = start_ours_connector(bench, up)
    if "moto" in args.only:
        servers["moto"] = start_moto(bench)
    writer_of = {name: (up if name.startswith("ours") else servers["moto"]) for name in servers}
    writers = {s.name: s for s in writer_of.values()}
    ours_writer = next((w for w in writers.values() if w.name == "ours"), None)
    for s in servers.values():
        print(f"{s.describe()}", flush=True)
    idle = {name: idle_cpu(s.processes, 2.0) for name, s in servers.items()}
    print("idle CPU (% of a core, process + children): " + ", ".join(f"{n} {fmt(v, 1)}" for n, v in idle.items()),
          flush=True)
    vis_arn = {}
    for name, w in writers.items():
        vis_arn[name] = stream_table(w, "sb_visibility")
    for name, reader in servers.items():
        wait_stream(reader, vis_arn[writer_of[name].name])

    R: dict[str, Any] = {"put": {}, "batch": {}, "drain": {}, "meta": {}, "vis": {}, "ack": [], "kafka_floor": []}
    for rnd in range(1, args.rounds + 1):
        print(f"round {rnd}/{args.rounds}", flush=True)
        order = list(writers) if rnd % 2 else list(reversed(writers))
        drain_arn = {}
        for name in order:
            w = writers[name]
            drain_arn[name] = stream_table(w, f"sb_drain_r{rnd}")
            rec = put_load(w, f"sb_drain_r{rnd}", args)
            R["put"].setdefault(name, []).append(rec)
            create_table(w, f"sb_batch_r{rnd}", VIEW)
            b = batch_load(w, f"sb_batch_r{rnd}", args)
            R["batch"].setdefault(name, []).append(b)
            print(f"  {name}: PutItem {fmt(rec['items_per_s'])}/s, {fmt(rec['cpu_ms_per_item'], 3)} ms CPU per write; "
                  f"BatchWriteItem {fmt(b['items_per_s'])} items/s, {fmt(b['cpu_ms_per_item'], 3)} ms CPU per item"
                  + (f"; ERRORS {rec['first_error'] or b['first_error']}" if rec["errors"] or b["errors"] else ""),
                  flush=True)
            for r in (rec, b):
                if r["errors"]:
                    report.errors.append(f"{name}: {r['errors']} failed writes ({r['first_error']})")
        if ours_writer is not None:
            a = ack_floor(ours_writer.bootstrap, args.samples)
            R["ack"].append(a)
            print(f"  floor: broker produce->ack p50 {fmt(a['p50_ms'], 2)} ms, p99 {fmt(a['p99_ms'], 2)} ms", flush=True)
        for kind in args.drain_clients:
            names = list(servers) if rnd % 2 else list(reversed(servers))
            for name in names:
                reader, arn = servers[name], drain_arn[writer_of[name].name]
                wait_stream(reader, arn)
                drain(reader, kind, arn, args.writes, max_pages=2)  # warm-up: 2 pages per shard
                d = drain(reader, kind, arn, args.writes, args.empty_pages)
                R["drain"].setdefault(f"{name}:{kind}", []).append(d)
                print(f"  drain {kind:5} {name:15}: {fmt(d['records_per_s'])} records/s, {d['pages']} pages, "
                      f"{fmt(d['cpu_ms_per_1k'], 3)} s CPU/1k records; {d['records']:,} records / {d['keys']:,} keys"
                      + ("" if d["ok"] else " COUNT MISMATCH"), flush=True)
                if not d["ok"] and name.startswith("ours"):
                    report.errors.append(f"{name} drain ({kind}): {d['records']:,} records / {d['keys']:,} keys, "
                                         f"not {args.writes:,}")
        if args.kafka_floor and ours_writer is not None:
            topic = stream_topic(ours_writer.bootstrap, f"sb_drain_r{rnd}")
            for wait_ms in (5, 100):
                n, secs, complete = read_to_end(ours_writer.bootstrap, topic, wait_ms)
                R["kafka_floor"].append({"fetch_wait_ms": wait_ms, "records_per_s": n / secs, "complete": complete})
        for kind in args.vis_clients:
            for name, reader in servers.items():
                m = metadata(writer_of[name], reader, kind, f"sb_meta_r{rnd}_{kind}_{name.replace('-', '_')}",
                             args.meta_calls)
                R["meta"].setdefault(f"{name}:{kind}", []).append(m)
                print(f"  metadata {kind:5} {name:15}: ListStreams first {fmt(m['list_first_ms'], 2)} ms "
                      f"({m['list_first_tries']} tries), p50 {fmt(m['list_p50_ms'], 2)}; DescribeStream first "
                      f"{fmt(m['desc_first_ms'], 2)} ms ({m['desc_first_tries']} tries), p50 {fmt(m['desc_p50_ms'], 2)}",
                      flush=True)
        for pollers in args.pollers:
            for kind in args.vis_clients:
                names = list(servers) if rnd % 2 else list(reversed(servers))
                for name in names:
                    servers[name].check()
                    v = visibility(writer_of[name], servers[name], kind, vis_arn[writer_of[name].name], "sb_visibility",
                                   pollers, args, f"r{rnd}-{name}-{kind}-{pollers}")
                    R["vis"].setdefault(f"{pollers}:{kind}:{name}", []).append(v)
                    print(f"  visibility {pollers:2} pollers ({v['pollers']} on this stream) {kind:5} {name:15}: "
                          f"p50 {fmt(v['p50_ms'], 2)} ms, p99 {fmt(v['p99_ms'], 2)} ms, n {v['n']}, "
                          f"timeouts {v['timeouts']}, {fmt(v['getrecords_per_sample'], 1)} GetRecords per sample"
                          + (f", poller errors {v['poller_errors']}" if v["poller_errors"] else ""), flush=True)
                    if v["timeouts"] and name.startswith("ours"):
                        report.errors.append(f"{name} visibility ({pollers} pollers, {kind}): {v['timeouts']} timeouts")
    summarize(report, R, servers, args, idle)
    return report


def summarize(report: Report, R: dict, servers: dict[str, Server], args, idle: dict) -> None:
    names = list(servers)
    cols = [LABEL[n] for n in names]
    report.data = R

    def m(recs, field):
        return med([r[field] for r in recs])

    ack = R["ack"]
    t = report.table(f"Change visibility: PutItem response -> GetRecords response holding the record, on every poller "
                     f"of its shard; ms, p50/p99, medians of {args.rounds} round(s) of {args.samples} samples",
                     ["pollers (4 shards)", "client", *cols, "target"])
    for pollers in args.pollers:
        for kind in args.vis_clients:
            cells = []
            for name in names:
                recs = R["vis"].get(f"{pollers}:{kind}:{name}", [])
                p50, p99 = m(recs, "p50_ms"), m(recs, "p99_ms")
                cells.append(f"{fmt(p50, 2)} / {fmt(p99, 2)}")
                if pollers == 4 and name.startswith("ours"):
                    v50 = at_most(f"visibility p50, {LABEL[name]}, 4 pollers, {kind}", p50, VIS_P50, " ms")
                    v99 = at_most(f"visibility p99, {LABEL[name]}, 4 pollers, {kind}", p99, VIS_P99, " ms")
                    report.verdicts += [v50, v99]
            target = f"ours p50 <= {VIS_P50:g}, p99 <= {VIS_P99:g}" if pollers == 4 else "(the client's figure)"
            t.add(pollers, kind, *cells, target)
    if ack:
        t.add("floor", "confluent-kafka", f"broker produce->ack {fmt(m(ack, 'p50_ms'), 2)} / {fmt(m(ack, 'p99_ms'), 2)}",
              *[""] * (len(names) - 1), "same broker, same run")

    t = report.table(f"Drain: GetRecords(Limit={PAGE}) from TRIM_HORIZON over every shard, {args.writes:,} records of "
                     f"~{ITEM_BYTES} B; records/s [server CPU s per 1,000 records, process + children]; "
                     f"ratio = median of per-round ratios", ["client", *cols, *[f"{LABEL[n]} / moto" for n in names
                                                                                if n != "moto" and "moto" in names]])
    for kind in args.drain_clients:
        cells = [f"{fmt(m(R['drain'].get(f'{n}:{kind}', []), 'records_per_s'))} "
                 f"[{fmt(m(R['drain'].get(f'{n}:{kind}', []), 'cpu_ms_per_1k'), 3)}]" for n in names]
        ratios = []
        if "moto" in names:
            moto = [d["records_per_s"] for d in R["drain"].get(f"moto:{kind}", [])]
            ratios = [fmt(paired([d["records_per_s"] for d in R["drain"].get(f"{n}:{kind}", [])], moto), 2) + "x"
                      for n in names if n != "moto"]
        t.add(kind + (f" (ceiling ~{BOTO3_STREAMS_CEILING:,}/s)" if kind == "boto3" else ""), *cells, *ratios)
    if R["kafka_floor"]:
        for wait_ms in (5, 100):
            rate = med([f["records_per_s"] for f in R["kafka_floor"] if f["fetch_wait_ms"] == wait_ms])
            t.add(f"plain Kafka consumer, fetch.wait.max.ms={wait_ms}", f"{fmt(rate)} (ours' broker)",
                  *[""] * (len(names) - 1 + (len(names) - 1 if "moto" in names else 0)))

    t = report.table(f"Metadata calls, ms: first call after a new stream / p50 of {args.meta_calls} more "
                     "(first calls: time from the first try to the first answer that knows the stream, "
                     "on a client that made each call once before the stream was created)",
                     ["call", "client", *cols, "target"])
    for call, key in (("ListStreams", "list"), ("DescribeStream", "desc")):
        for kind in args.vis_clients:
            cells = []
            for name in names:
                recs = R["meta"].get(f"{name}:{kind}", [])
                first, p50 = m(recs, f"{key}_first_ms"), m(recs, f"{key}_p50_ms")
                tries = max([r[f"{key}_first_tries"] for r in recs], default=1)
                cells.append(f"{fmt(first, 2)} / {fmt(p50, 2)}" + (f" ({tries} tries)" if tries > 1 else ""))
                if name.startswith("ours"):
                    worst = max((x for x in (first, p50) if x is not None), default=None)
                    report.verdicts.append(at_most(f"{call} p50 and first call, {LABEL[name]}, {kind}", worst, META_P50,
                                                   " ms", f"first {fmt(first, 2)}, p50 {fmt(p50, 2)}"))
            t.add(call, kind, *cells, f"ours <= {META_P50:g} incl. first")

    writers = [n for n in ("ours", "moto") if n in R["put"]]
    t = report.table("Stream-enabled writes (NEW_AND_OLD_IMAGES), raw client; server CPU per item in ms, process + "
                     "children (ours: table service + broker, until the outbox is empty)",
                     ["write", *[LABEL[n] for n in writers], "ours/moto CPU" if len(writers) == 2 else "", "target"])
    for what, key, limit, label in (("PutItem", "put", PUT_CPU, f"PutItem x{args.threads}"),
                                    ("BatchWriteItem", "batch", BATCH_CPU, "BatchWriteItem of 25, x4")):
        cells = [f"{fmt(m(R[key][n], 'cpu_ms_per_item'), 3)} ms ({fmt(m(R[key][n], 'items_per_s'))} items/s)"
                 for n in writers]
        r = paired([x["cpu_ms_per_item"] for x in R[key].get("ours", [])],
                   [x["cpu_ms_per_item"] for x in R[key].get("moto", [])]) if len(writers) == 2 else None
        t.add(label, *cells, fmt(r, 2), f"ours <= {limit:g} ms")
        if "ours" in writers:
            broker = m(R[key]["ours"], "children_ms_per_item")
            report.verdicts.append(at_most(f"{what} server+broker CPU per {'write' if key == 'put' else 'item'}",
                                           m(R[key]["ours"], "cpu_ms_per_item"), limit, " ms",
                                           f"of which broker {fmt(broker, 3)} ms"))
    report.data["headline"] = headline(R, names, args)
    report.notes += [
        (f"clients: {RAW_CLIENT}; boto3 one client per server, retries off. Client and servers share the machine's "
         "cores: with 8 and 32 pollers the figure is the client's (boto3 costs ~0.9 ms of client CPU per call)"),
        "moto keeps a stream in one shard: its pollers are N/4 on that shard, as ours has N/4 per shard",
        "idle CPU at start (% of a core, process + children): " + ", ".join(f"{LABEL[n]} {fmt(v, 1)}" for n, v in idle.items()),
    ]


def headline(R: dict, names: list[str], args) -> list[tuple[str, str]]:
    """The figures compared across brokers (`--broker both`): label -> text."""
    def m(recs, field):
        return med([r[field] for r in recs])
    out = []
    for key, what in (("put", f"PutItem with a stream (x{args.threads}), ms CPU per write [writes/s]"),
                      ("batch", "BatchWriteItem of 25, ms CPU per item [items/s]")):
        out.append((what, "; ".join(f"{LABEL[n]} {fmt(m(R[key][n], 'cpu_ms_per_item'), 3)} "
                                    f"[{fmt(m(R[key][n], 'items_per_s'))}]" for n in ("ours", "moto") if n in R[key])))
    for kind in args.vis_clients:
        p = 4 if 4 in args.pollers else args.pollers[0]
        out.append((f"visibility p50 / p99 ms, {p} pollers, {kind}",
                    "; ".join(f"{LABEL[n]} {fmt(m(R['vis'].get(f'{p}:{kind}:{n}', []), 'p50_ms'), 2)} / "
                              f"{fmt(m(R['vis'].get(f'{p}:{kind}:{n}', []), 'p99_ms'), 2)}" for n in names)))
    if R["ack"]:
        out.append(("broker produce->ack p50 / p99 ms (the floor)",
                    f"{fmt(m(R['ack'], 'p50_ms'), 2)} / {fmt(m(R['ack'], 'p99_ms'), 2)}"))
    for kind in args.drain_clients:
        moto = [d["records_per_s"] for d in R["drain"].get(f"moto:{kind}", [])]
        cells = []
        for n in names:
            rates = [d["records_per_s"] for d in R["drain"].get(f"{n}:{kind}", [])]
            ratio = paired(rates, moto) if moto and n != "moto" else None
            cells.append(f"{LABEL[n]} {fmt(med(rates))}" + (f" ({fmt(ratio, 2)}x moto)" if ratio else ""))
        out.append((f"Streams drain, records/s, {kind}", "; ".join(cells)))
    if R["kafka_floor"]:
        out.append(("plain Kafka consumer drain, records/s (fetch.wait.max.ms=5)",
                    fmt(med([f["records_per_s"] for f in R["kafka_floor"] if f["fetch_wait_ms"] == 5]))))
    kind = args.vis_clients[0]
    out.append((f"ListStreams first / p50 ms, {kind}",
                "; ".join(f"{LABEL[n]} {fmt(m(R['meta'].get(f'{n}:{kind}', []), 'list_first_ms'), 2)} / "
                          f"{fmt(m(R['meta'].get(f'{n}:{kind}', []), 'list_p50_ms'), 2)}" for n in names)))
    return out
