"""DynamoDB Streams API, ours vs moto side by side in one run: drain throughput and change visibility.

    .venv/bin/python bench/streams_bench.py [--writes 20000] [--samples 500] [--drains 3] [--json PATH]

Starts both servers on free loopback ports as children that die with this script (ours:
`python -m cdc_bridge.cli up`, which serves DynamoDB and DynamoDB Streams on one port and starts
its embedded broker; moto: `python -m moto.server`, which serves both on one port too), then on
each server:

1. Load. Table `streams_bench_drain` with a NEW_AND_OLD_IMAGES stream; --writes PutItems of new
   keys, items of ~250 bytes, raw client on --threads threads. On ours, wait until `/metrics`
   shows `cdc_bridge_outbox_rows 0` (every change published to Kafka).
2. Drain, --drains times per client, servers alternating: DescribeStream, a TRIM_HORIZON iterator
   on every shard, GetRecords(Limit=1000) until a page comes back empty (or without a
   NextShardIterator, or its sequence numbers stop advancing). Checks the count of records and of
   distinct keys against --writes. Two clients:
     - raw: http.client keep-alive + orjson (bench/common.py RawJsonClient), unsigned to ours, an
       Authorization header copied from one boto3-signed request to moto (moto routes by it);
     - boto3 (ceiling ~17,000 records/s for pages of 1,000 NEW_AND_OLD_IMAGES records of
       ~250 bytes, shared/benchmarking.md).
   Reports records/s, GetRecords page latency, and CPU seconds per 1,000 records of the server
   process (/proc utime+stime; ours' embedded broker apart) and of this client.
3. Change visibility. Table `streams_bench_visibility`: one fixed item; LATEST iterators on every
   shard, one PutItem, poll until a shard returns it: that shard is followed from then on. Then
   per sample: PutItem of the fixed item with a new `seq` (raw client), then GetRecords with the
   current iterator in a tight loop (raw client, no sleep) until the record with that `seq` comes
   back. Sample = from the PutItem response to that GetRecords response. Warm-up samples first;
   the servers alternate in blocks.

Targets (from the issue): drain >= 10x moto's records/s; visibility p50 < 5 ms and p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    HOST,
    STOP,
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
    percentile,
    run_meta,
    run_threads,
    signed_authorization,
    stop_on_sigterm,
)

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("ours", "moto")
DRAIN_TABLE = "streams_bench_drain"
VIS_TABLE = "streams_bench_visibility"
VIS_KEY = "fixed-item"
STREAMS_TARGET = "DynamoDBStreams_20120810"
PAGE_LIMIT = 1000
ITEM_BYTES = 250
BOTO3_STREAMS_CEILING = 17_000  # records/s, GetRecords of 1,000 NEW_AND_OLD records of ~250 B (benchmarking.md)
DRAIN_TARGET = 10.0             # ours >= 10x moto's records/s
P50_TARGET_MS = 5.0
P99_TARGET_MS = 20.0
MOTO_REFERENCE = "moto on these machines per the issue: drain ~1,500 records/s, visibility p50/p99 3.7/6.3 ms"


# --------------------------------------------------------------------------- items


def payload_len(pk: str) -> int:
    """Payload length giving an item of ~ITEM_BYTES (DynamoDB size: attribute names + values)."""
    fixed = len("pk") + len(pk) + len("seq") + 6 + len("payload") + len("active") + 1
    return max(1, ITEM_BYTES - fixed)


def item(pk: str, seq: int) -> dict:
    return {"pk": {"S": pk}, "seq": {"N": str(seq)}, "payload": {"S": "p" * payload_len(pk)},
            "active": {"BOOL": True}}


def item_size(it: dict) -> int:
    size = 0
    for name, value in it.items():
        (kind, v), = value.items()
        size += len(name) + (1 if kind == "BOOL" else len(str(v)))
    return size


def drain_key(i: int) -> str:
    return f"item-{i:07d}"


# --------------------------------------------------------------------------- servers


class Target:
    """One server as the benchmark sees it."""

    def __init__(self, name: str, process: ServerProcess, port: int):
        self.name, self.process, self.port = name, process, port
        self.auth_ddb: str | None = None      # Authorization headers to replay on raw requests (moto)
        self.auth_streams: str | None = None
        self.ddb = None                       # boto3 clients
        self.streams = None
        self.arns: dict[str, str] = {}        # table -> LatestStreamArn

    def raw_ddb(self) -> RawJsonClient:
        return RawJsonClient(self.port, authorization=self.auth_ddb)

    def raw_streams(self) -> RawJsonClient:
        return RawJsonClient(self.port, STREAMS_TARGET, authorization=self.auth_streams)


def ours_process(port: int, workdir: Path) -> ServerProcess:
    data_dir = workdir / "ours-data"
    data_dir.mkdir()
    return ServerProcess(
        "ours", [sys.executable, "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data_dir)],
        ready=lambda: http_status(port, "/health") == 200, log_path=workdir / "ours.log", cwd=str(ROOT),
    )


def moto_process(port: int, workdir: Path) -> ServerProcess:
    # moto answers "/" for every service: /moto-api/ answering means it is up.
    return ServerProcess("moto", [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                         ready=lambda: http_status(port, "/moto-api/", timeout=1.0) == 200,
                         log_path=workdir / "moto.log", cwd=str(workdir))


def create_table(target: Target, table: str) -> str:
    client = target.ddb
    desc = client.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    deadline = time.monotonic() + 60
    while desc.get("TableStatus") != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: table {table} not ACTIVE after 60 s")
        time.sleep(0.2)
        desc = client.describe_table(TableName=table)["Table"]
    arn = desc.get("LatestStreamArn")
    if not arn:
        raise RuntimeError(f"{target.name}: table {table} has no LatestStreamArn")
    target.arns[table] = arn
    return arn


def prepare(target: Target) -> None:
    """boto3 clients, both tables, and (moto) Authorization headers the raw client replays."""
    target.ddb = boto3_client("dynamodb", target.port)
    target.streams = boto3_client("dynamodbstreams", target.port)
    for table in (DRAIN_TABLE, VIS_TABLE):
        create_table(target, table)
    if target.name == "moto":
        target.auth_ddb = signed_authorization(target.ddb, lambda c: c.describe_table(TableName=DRAIN_TABLE))
        target.auth_streams = signed_authorization(
            target.streams, lambda c: c.describe_stream(StreamArn=target.arns[DRAIN_TABLE]))
    # The raw clients must be answered by the right service (moto routes by the Authorization).
    # Ours learns of a new stream from its catalog (a Kafka topic): wait until the Streams API
    # knows both streams.
    raw = target.raw_streams()
    deadline = time.monotonic() + 60
    try:
        for table in (DRAIN_TABLE, VIS_TABLE):
            while True:
                status, body = raw.call("DescribeStream", {"StreamArn": target.arns[table]})
                if status == 200 and isinstance(body, dict) and "StreamDescription" in body:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target.name}: raw DescribeStream answered {status}: {str(body)[:300]}")
                time.sleep(0.05)
    finally:
        raw.close()


def total_cpu(procs: list[ServerProcess]) -> float:
    """utime+stime of these processes and all their descendants, in seconds."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(OSError):
            total += proc.cpu() + sum(proc.child_cpu().values())
    return total


def idle_check(targets: dict[str, Target], seconds: float) -> dict[str, dict[str, float | None]]:
    """CPU (% of one core) each server process, and apart its children, burns with no request in flight."""
    windows = {name: CpuWindow(t.process).__enter__() for name, t in targets.items()}
    time.sleep(seconds)
    out = {}
    for name, w in windows.items():
        w.__exit__(None, None, None)
        out[name] = {"process": _r((w.server_s or 0.0) / seconds * 100, 1),
                     "children": None if w.children_s is None else _r(w.children_s / seconds * 100, 1)}
    return out


def idle_text(idle: dict[str, dict[str, float | None]]) -> str:
    return ", ".join(f"{n} {v['process']}%" + (f" (+{v['children']}% its broker)" if v["children"] is not None else "")
                     for n, v in idle.items())


def connector_health(target: Target) -> dict[str, Any] | None:
    """Ours: the connector part of /health (partition readers open, reused, repositioned)."""
    with contextlib.suppress(Exception):
        return loads(_get(target.port, "/health"))["parts"]["connector"]
    return None


def metrics(port: int) -> dict[str, float]:
    text = _get(port, "/metrics").decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


def wait_outbox_empty(target: Target, timeout_s: float) -> float:
    """Seconds until our /metrics shows cdc_bridge_outbox_rows 0 (raises after timeout_s)."""
    t0 = time.monotonic()
    last_print = t0
    while True:
        rows = metrics(target.port).get("cdc_bridge_outbox_rows")
        if rows == 0:
            return time.monotonic() - t0
        now = time.monotonic()
        if now - t0 > timeout_s:
            raise RuntimeError(f"ours: outbox still has {rows} rows after {timeout_s:g} s")
        if now - last_print >= 2:
            print(f"  ours: waiting for the outbox to empty: {rows:,.0f} rows", flush=True)
            last_print = now
        if not target.process.alive():
            raise ServerFailed(f"ours died; log tail:\n{target.process.log_tail()}")
        time.sleep(0.05)


# --------------------------------------------------------------------------- load


def load(target: Target, writes: int, threads: int) -> dict[str, Any]:
    def make_op(_t: int):
        raw = target.raw_ddb()

        def op(i: int) -> bool:
            status, data = raw.call_raw("PutItem", dumps({"TableName": DRAIN_TABLE, "Item": item(drain_key(i), i)}))
            if status != 200 and op.last_error is None:
                op.last_error = f"HTTP {status}: {data[:200].decode(errors='replace')}"
            return status == 200
        op.last_error = None
        op.raw = raw
        return op

    with CpuWindow(target.process) as cpu:
        result = run_threads(threads, writes, make_op, lambda op: op.raw.close())
    out = result.summary()
    out["server_cpu_s_per_1k"] = _per_1k(cpu.server_s, result.ops)
    out["children_cpu_s"] = _r(cpu.children_s)
    return out


# --------------------------------------------------------------------------- drain


class DrainError(RuntimeError):
    pass


def _shards_raw(raw: RawJsonClient, arn: str) -> list[str]:
    shards, start = [], None
    for _ in range(1000):
        req = {"StreamArn": arn, **({"ExclusiveStartShardId": start} if start else {})}
        status, body = raw.call("DescribeStream", req)
        if status != 200:
            raise DrainError(f"DescribeStream: HTTP {status}: {str(body)[:300]}")
        desc = body["StreamDescription"]
        shards += [s["ShardId"] for s in desc["Shards"]]
        start = desc.get("LastEvaluatedShardId")
        if not start:
            return shards
    raise DrainError("DescribeStream: more than 1,000 pages")


def _shards_boto3(client, arn: str) -> list[str]:
    shards, start = [], None
    for _ in range(1000):
        desc = client.describe_stream(StreamArn=arn, **({"ExclusiveStartShardId": start} if start else {}))
        desc = desc["StreamDescription"]
        shards += [s["ShardId"] for s in desc["Shards"]]
        start = desc.get("LastEvaluatedShardId")
        if not start:
            return shards
    raise DrainError("DescribeStream: more than 1,000 pages")


def drain(target: Target, client_kind: str, expected: int, max_pages_per_shard: int | None = None,
          timeout_s: float = 600.0, stop_after: int = 1, others: list[ServerProcess] = ()) -> dict[str, Any]:
    """Read the whole stream of the drain table from TRIM_HORIZON, shard after shard; a shard is
    done after `stop_after` empty pages in a row. `others`: processes whose CPU over the same
    window is reported (the other server should be idle meanwhile)."""
    arn = target.arns[DRAIN_TABLE]
    perf = time.perf_counter
    keys: set[str] = set()
    records = pages = empty_pages = 0
    page_ms: list[float] = []
    stop_reasons: dict[str, int] = {}
    per_shard: dict[str, int] = {}

    if client_kind == "raw":
        raw = target.raw_streams()

        def shard_ids() -> list[str]:
            return _shards_raw(raw, arn)

        def iterator(shard: str) -> str:
            status, body = raw.call("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                                                         "ShardIteratorType": "TRIM_HORIZON"})
            if status != 200:
                raise DrainError(f"GetShardIterator: HTTP {status}: {str(body)[:300]}")
            return body["ShardIterator"]

        def get(it: str) -> dict:
            status, data = raw.call_raw("GetRecords", dumps({"ShardIterator": it, "Limit": PAGE_LIMIT}))
            body = loads(data)
            if status != 200:
                raise DrainError(f"GetRecords: HTTP {status}: {str(body)[:300]}")
            return body

        close: Callable[[], None] = raw.close
    else:
        client = target.streams

        def shard_ids() -> list[str]:
            return _shards_boto3(client, arn)

        def iterator(shard: str) -> str:
            return client.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

        def get(it: str) -> dict:
            return client.get_records(ShardIterator=it, Limit=PAGE_LIMIT)

        def close() -> None:
            pass

    deadline = time.monotonic() + timeout_s
    setup_s = 0.0  # DescribeStream + GetShardIterator
    others_cpu0 = total_cpu(list(others))
    t_start = perf()
    try:
        with CpuWindow(target.process) as cpu:
            shards = shard_ids()
            setup_s += perf() - t_start
            for shard in shards:
                t0 = perf()
                it: str | None = iterator(shard)
                setup_s += perf() - t0
                last_seq = -1
                n_shard = 0
                empties = 0
                reason = "page limit (warm-up)"
                # bounded: every page but the last holds at least one record
                max_pages = max_pages_per_shard if max_pages_per_shard is not None else expected + 10
                for _ in range(max_pages):
                    if STOP.is_set():
                        raise KeyboardInterrupt
                    if time.monotonic() > deadline:
                        raise DrainError(f"drain not finished after {timeout_s:g} s")
                    t0 = perf()
                    body = get(it)
                    page_ms.append((perf() - t0) * 1000)
                    pages += 1
                    recs = body.get("Records") or []
                    if not recs:
                        empty_pages += 1
                        empties += 1
                        reason = "empty page" if stop_after == 1 else f"{stop_after} empty pages in a row"
                        it = body.get("NextShardIterator")
                        if empties >= stop_after or not it:
                            break
                        continue
                    empties = 0
                    first = int(recs[0]["dynamodb"]["SequenceNumber"])
                    if first <= last_seq:
                        reason = "sequence numbers not advancing"
                        break
                    last_seq = int(recs[-1]["dynamodb"]["SequenceNumber"])
                    for rec in recs:
                        keys.add(rec["dynamodb"]["Keys"]["pk"]["S"])
                    records += len(recs)
                    n_shard += len(recs)
                    it = body.get("NextShardIterator")
                    if not it:
                        reason = "no NextShardIterator"
                        break
                stop_reasons[reason] = stop_reasons.get(reason, 0) + 1
                per_shard[shard] = n_shard
        wall = perf() - t_start
        others_cpu = total_cpu(list(others)) - others_cpu0
    finally:
        close()
    pm = sorted(page_ms)
    return {
        "client": client_kind, "records": records, "distinct_keys": len(keys), "expected": expected,
        "count_ok": records == expected == len(keys), "shards": len(per_shard), "per_shard": per_shard,
        "pages": pages, "empty_pages": empty_pages, "stop_reasons": stop_reasons,
        "wall_s": round(wall, 4), "records_per_s": round(records / wall, 1) if wall > 0 else None,
        "setup_s": round(setup_s, 4),
        "page_p50_ms": _r(percentile(pm, 50)), "page_p99_ms": _r(percentile(pm, 99)),
        "page_max_ms": _r(pm[-1]) if pm else None,
        "server_cpu_s": _r(cpu.server_s), "server_cpu_s_per_1k": _per_1k(cpu.server_s, records),
        "children_cpu_s": _r(cpu.children_s), "children_cpu_s_per_1k": _per_1k(cpu.children_s, records),
        "client_cpu_s_per_1k": _per_1k(cpu.client_s, records),
        "other_server_cpu_s": round(others_cpu, 3) if others else None,
    }


def kafka_floor(target: Target, expected: int, fetch_wait_ms: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """Ours only: a plain confluent-kafka consumer reads the drain table's topic (every partition)
    from the beginning to its end on our broker: what Kafka itself delivers on this machine."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    from table_api.streams import topic_name

    health = loads(_get(target.port, "/health"))
    bootstrap = health["parts"]["table_api"]["kafka_bootstrap_servers"]
    desc = target.ddb.describe_table(TableName=DRAIN_TABLE)["Table"]
    topic = topic_name(DRAIN_TABLE, desc["LatestStreamLabel"])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "streams-bench-floor",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "fetch.wait.max.ms": fetch_wait_ms, "logger": _QuietLogger()})
    try:
        partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        kids0 = target.process.child_cpu()
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        eof: set[int] = set()
        n = 0
        t0 = time.perf_counter()
        while len(eof) < partitions:
            if time.perf_counter() - t0 > timeout_s or STOP.is_set():
                break
            for message in consumer.consume(1000, 0.1):
                error = message.error()
                if error is None:
                    n += 1
                    eof.discard(message.partition())
                elif error.code() == KafkaError._PARTITION_EOF:
                    eof.add(message.partition())
        wall = time.perf_counter() - t0
        kids1 = target.process.child_cpu()
    finally:
        consumer.close()
    broker = sum(kids1[p] - kids0.get(p, 0.0) for p in kids1)
    return {"fetch_wait_max_ms": fetch_wait_ms, "records": n, "complete": n == expected and len(eof) == partitions,
            "wall_s": round(wall, 3), "records_per_s": round(n / wall, 1) if wall > 0 else None,
            "broker_cpu_s_per_1k": _per_1k(broker, n)}


class _QuietLogger:
    def log(self, *_args) -> None:
        pass


def _get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- visibility


class Visibility:
    """Follows the shard of the fixed item on one server with a LATEST iterator."""

    def __init__(self, target: Target, poll_timeout_s: float):
        self.target = target
        self.poll_timeout_s = poll_timeout_s
        self.ddb = target.raw_ddb()
        self.streams = target.raw_streams()
        self.seq = 0
        self.iterator: str | None = None
        self.shard: str | None = None
        self.latencies_ms: list[float] = []
        self.put_ms: list[float] = []
        self.polls: list[int] = []
        self.timeouts = 0
        self.errors = 0
        self.first_error: str | None = None
        self.cpu_server_s = 0.0
        self.cpu_children_s: float | None = None  # None: the server has no child processes
        self.cpu_client_s = 0.0

    def _put(self) -> None:
        self.seq += 1
        status, data = self.ddb.call_raw("PutItem", dumps({"TableName": VIS_TABLE, "Item": item(VIS_KEY, self.seq)}))
        if status != 200:
            raise RuntimeError(f"PutItem: HTTP {status}: {data[:200].decode(errors='replace')}")

    def _get(self, it: str) -> dict:
        status, data = self.streams.call_raw("GetRecords", dumps({"ShardIterator": it, "Limit": PAGE_LIMIT}))
        body = loads(data)
        if status != 200:
            raise RuntimeError(f"GetRecords: HTTP {status}: {str(body)[:300]}")
        return body

    def _has_seq(self, recs: list[dict]) -> bool:
        want = str(self.seq)
        for rec in recs:
            image = rec["dynamodb"].get("NewImage") or {}
            if rec["dynamodb"]["Keys"]["pk"]["S"] == VIS_KEY and image.get("seq", {}).get("N") == want:
                return True
        return False

    def locate(self) -> None:
        """LATEST iterators on every shard, one PutItem, poll them all until one returns it."""
        arn = self.target.arns[VIS_TABLE]
        iterators = {}
        for shard in _shards_raw(self.streams, arn):
            status, body = self.streams.call("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                                                                  "ShardIteratorType": "LATEST"})
            if status != 200:
                raise RuntimeError(f"GetShardIterator: HTTP {status}: {str(body)[:300]}")
            iterators[shard] = body["ShardIterator"]
        self._put()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not STOP.is_set():
            for shard, it in list(iterators.items()):
                body = self._get(it)
                iterators[shard] = body.get("NextShardIterator")
                if self._has_seq(body.get("Records") or []):
                    self.shard, self.iterator = shard, iterators[shard]
                    return
                if not iterators[shard]:
                    del iterators[shard]
        raise RuntimeError(f"{self.target.name}: the fixed item's record did not show up on any shard within 30 s")

    def sample(self, record: bool) -> None:
        perf = time.perf_counter
        try:
            t0 = perf()
            self._put()
            t1 = perf()
            deadline = t1 + self.poll_timeout_s
            polls = 0
            while True:
                body = self._get(self.iterator)
                polls += 1
                t2 = perf()
                self.iterator = body.get("NextShardIterator")
                if self._has_seq(body.get("Records") or []):
                    break
                if not self.iterator:
                    raise RuntimeError("the shard was closed (no NextShardIterator)")
                if t2 > deadline:
                    if record:
                        self.timeouts += 1
                    return
        except Exception as exc:
            self.errors += 1
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
            if self.errors >= 20:
                raise
            return
        if record:
            self.latencies_ms.append((t2 - t1) * 1000)
            self.put_ms.append((t1 - t0) * 1000)
            self.polls.append(polls)

    def block(self, n: int, record: bool = True) -> None:
        with CpuWindow(self.target.process) as cpu:
            for _ in range(n):
                if STOP.is_set():
                    raise KeyboardInterrupt
                self.sample(record)
        if record:
            self.cpu_server_s += cpu.server_s or 0.0
            if cpu.children_s is not None:
                self.cpu_children_s = (self.cpu_children_s or 0.0) + cpu.children_s
            self.cpu_client_s += cpu.client_s

    def stats(self) -> dict[str, Any]:
        lat, put = sorted(self.latencies_ms), sorted(self.put_ms)
        n = len(lat)
        return {
            "samples": n, "timeouts": self.timeouts, "errors": self.errors, "first_error": self.first_error,
            "shard": self.shard,
            "p50_ms": _r(percentile(lat, 50)), "p90_ms": _r(percentile(lat, 90)),
            "p99_ms": _r(percentile(lat, 99)), "max_ms": _r(lat[-1]) if lat else None,
            "mean_ms": _r(sum(lat) / n) if n else None,
            "put_p50_ms": _r(percentile(put, 50)), "put_p99_ms": _r(percentile(put, 99)),
            "polls_mean": _r(sum(self.polls) / n) if n else None, "polls_max": max(self.polls) if n else None,
            "server_cpu_s_per_1k": _per_1k(self.cpu_server_s, n),
            "children_cpu_s_per_1k": _per_1k(self.cpu_children_s, n),
            "client_cpu_s_per_1k": _per_1k(self.cpu_client_s, n),
        }

    def close(self) -> None:
        self.ddb.close()
        self.streams.close()


# --------------------------------------------------------------------------- reporting


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def _per_1k(seconds: float | None, n: int) -> float | None:
    return None if seconds is None or not n else round(seconds / n * 1000, 4)


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None or math.isnan(x):
        return "-"
    return f"{x:,.{digits}f}"


def med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(vals) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def drain_line(rep: int, name: str, rec: dict[str, Any]) -> str:
    kids = f" (+broker {fmt(rec['children_cpu_s_per_1k'], 3)})" if rec.get("children_cpu_s_per_1k") is not None else ""
    check = "count OK" if rec["count_ok"] else f"COUNT {rec['records']:,} records / {rec['distinct_keys']:,} keys"
    other = rec.get("other_server_cpu_s")
    other = f"; other server meanwhile {other:.2f} s CPU" if other is not None and other >= 0.1 else ""
    return (f"  drain {rep} {rec['client']:5} {name:4}: {fmt(rec['records_per_s']):>8} records/s  "
            f"{rec['records']:,} records in {rec['wall_s']:.2f} s, {rec['pages']} pages "
            f"(p50 {fmt(rec['page_p50_ms'], 1)} ms, p99 {fmt(rec['page_p99_ms'], 1)} ms, {rec['empty_pages']} empty) "
            f"over {rec['shards']} shard(s), DescribeStream+GetShardIterator {rec['setup_s'] * 1000:.0f} ms; "
            f"server CPU {fmt(rec['server_cpu_s_per_1k'], 3)} s/1k records{kids}, "
            f"client CPU {fmt(rec['client_cpu_s_per_1k'], 3)} s/1k; {check}{other}")


def summarize(report: dict[str, Any], names: list[str], args) -> tuple[list[str], bool]:
    """The final table; returns (verdict lines, all targets passed)."""
    drains = report["drains"]
    vis = report.get("visibility", {})
    verdicts: list[str] = []
    passed = True

    def drain_agg(name: str, client: str, field: str) -> float | None:
        return med([d[field] for d in drains.get(name, {}).get(client, [])])

    def paired(client: str, field: str) -> float | None:
        ours, moto = drains.get("ours", {}).get(client, []), drains.get("moto", {}).get(client, [])
        return med([ratio(a[field], b[field]) for a, b in zip(ours, moto)])

    both = "ours" in names and "moto" in names
    print()
    print("=" * 118)
    print(f"Results (drain: median of {args.drains} drains of {args.writes:,} records per server and client; "
          f"ratio = ours/moto, median of the per-drain ratios; CPU = s per 1,000 records)")
    head = f"{'metric':44} | {'ours':>10} | {'moto':>10} | {'ratio':>7} | target"
    print(head)
    print("-" * len(head))
    for client in ("raw", "boto3"):
        if not any(drains.get(n, {}).get(client) for n in names):
            continue
        o, m = drain_agg("ours", client, "records_per_s"), drain_agg("moto", client, "records_per_s")
        r = paired(client, "records_per_s") if both else None
        ceiling = (f" (boto3 ceiling ~{BOTO3_STREAMS_CEILING:,}/s = {BOTO3_STREAMS_CEILING / m:.1f}x this moto)"
                   if client == "boto3" and m else "")
        target = ""
        if r is not None:
            ok = r >= DRAIN_TARGET
            target = f">= {DRAIN_TARGET:g}x moto: {verdict(ok)}{ceiling}"
            verdicts.append(f"drain records/s, {client} client: ours {fmt(o)} vs moto {fmt(m)} = {r:.1f}x "
                            f"(>= {DRAIN_TARGET:g}x): {verdict(ok)}{ceiling}")
            passed &= ok
        elif ceiling:
            target = ceiling.strip()
        print(f"{'drain records/s, ' + client + ' client':44} | {fmt(o):>10} | {fmt(m):>10} | {fmt(r, 2):>7} | {target}")
        o, m = drain_agg("ours", client, "page_p50_ms"), drain_agg("moto", client, "page_p50_ms")
        print(f"{'  GetRecords page p50 ms, ' + client:44} | {fmt(o, 1):>10} | {fmt(m, 1):>10} | "
              f"{fmt(ratio(o, m), 2):>7} |")
        o, m = drain_agg("ours", client, "server_cpu_s_per_1k"), drain_agg("moto", client, "server_cpu_s_per_1k")
        r = paired(client, "server_cpu_s_per_1k") if both else None
        kids = drain_agg("ours", client, "children_cpu_s_per_1k")
        print(f"{'  server CPU s/1k records, ' + client:44} | {fmt(o, 3):>10} | {fmt(m, 3):>10} | {fmt(r, 2):>7} | "
              + (f"ours' embedded broker apart: +{fmt(kids, 3)}" if kids is not None else ""))
        o, m = drain_agg("ours", client, "client_cpu_s_per_1k"), drain_agg("moto", client, "client_cpu_s_per_1k")
        print(f"{'  client CPU s/1k records, ' + client:44} | {fmt(o, 3):>10} | {fmt(m, 3):>10} | {fmt(ratio(o, m), 2):>7} |")
    counts = []
    for name in names:
        runs = [d for c in ("raw", "boto3") for d in drains.get(name, {}).get(c, [])]
        got = sorted({(d["records"], d["distinct_keys"]) for d in runs})
        ok = all(d["count_ok"] for d in runs)
        counts.append(f"{name}: " + ", ".join(f"{a:,} records/{b:,} keys" for a, b in got)
                      + f" in {len(runs)} drains ({'= --writes' if ok else 'MISMATCH'})")
        if name == "ours":
            verdicts.append(f"drain count on ours = {args.writes:,} in every drain: {verdict(ok)}")
            passed &= ok
    print(f"{'drain count check':44} | " + "; ".join(counts))
    for rec in report.get("kafka_floor", []):
        label = f"Kafka floor, fetch.wait.max.ms={rec['fetch_wait_max_ms']}, records/s"
        print(f"{label:44} | {fmt(rec['records_per_s']):>10} | {'':>10} | {'':>7} | plain confluent-kafka consumer on "
              f"our broker (the connector's readers size their wait to the partition); broker CPU {fmt(rec['broker_cpu_s_per_1k'], 3)} s/1k")
    if vis:
        print()
        head = (f"{'change visibility (PutItem -> GetRecords)':44} | {'ours':>10} | {'moto':>10} | {'ratio':>7} | target")
        print(head)
        print("-" * len(head))
        o, m = vis.get("ours"), vis.get("moto")
        for field, label, tgt in (("p50_ms", "p50 ms", P50_TARGET_MS), ("p90_ms", "p90 ms", None),
                                  ("p99_ms", "p99 ms", P99_TARGET_MS), ("max_ms", "max ms", None),
                                  ("mean_ms", "mean ms", None), ("put_p50_ms", "PutItem call p50 ms", None),
                                  ("polls_mean", "GetRecords calls per sample, mean", None),
                                  ("server_cpu_s_per_1k", "server CPU s/1k samples", None),
                                  ("children_cpu_s_per_1k", "  ours' embedded broker, s/1k samples", None)):
            a, b = (o or {}).get(field), (m or {}).get(field)
            target = ""
            if tgt is not None and o and o["samples"]:
                ok = a is not None and a < tgt and o["timeouts"] == 0 and o["errors"] == 0
                few = f" ({o['samples']} samples)" if o["samples"] < 500 else ""
                target = f"ours < {tgt:g} ms: {verdict(ok)}{few}"
                verdicts.append(f"visibility {label.split()[0]} < {tgt:g} ms: ours {fmt(a, 2)} ms (moto {fmt(b, 2)} ms): "
                                f"{verdict(ok)}{few}")
                passed &= ok
            digits = 2 if "ms" in field else 3
            print(f"{label:44} | {fmt(a, digits):>10} | {fmt(b, digits):>10} | {fmt(ratio(a, b), 2):>7} | {target}")
        print(f"{'samples / timeouts / errors':44} | "
              + "; ".join(f"{n}: {v['samples']}/{v['timeouts']}/{v['errors']}" for n, v in vis.items()))
    print()
    print("Clients: raw = http.client keep-alive + orjson (moto closes every connection: a new TCP connection per "
          f"call); boto3 {report['meta'].get('boto3')}, one client per server, retries off. The boto3 ceiling is quoted "
          "from shared/benchmarking.md (bench/stub_server.py has no GetRecords answer). Client and servers share "
          f"{os.cpu_count()} cores; server CPU per record is the figure the client does not bound.")
    for key, label in (("idle_at_start", "at start"), ("idle_before_drains", "before the drains"), ("idle_before_visibility", "before the visibility samples")):
        if report.get(key):
            print(f"Idle CPU {label} (% of a core): {idle_text(report[key])}.")
    print(f"Reference: {MOTO_REFERENCE}.")
    print()
    print("Targets:")
    for v in verdicts:
        print("  " + v)
    return verdicts, passed


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--writes", type=int, default=20_000, help="items written to the drain table (records to drain)")
    p.add_argument("--samples", type=int, default=500, help="change-visibility samples per server (>= 500 to judge)")
    p.add_argument("--json", metavar="PATH", help="write every figure to this file")
    p.add_argument("--drains", type=int, default=3, help="measured drains per server and client (median reported)")
    p.add_argument("--threads", type=int, default=8, help="writer threads of the load")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured visibility samples per server first")
    p.add_argument("--block", type=int, default=100, help="visibility: the servers alternate in blocks of this many samples")
    p.add_argument("--client", choices=["both", "raw", "boto3"], default="both", help="drain clients")
    p.add_argument("--only", choices=SERVERS, help="run against one server only")
    p.add_argument("--empty-pages", type=int, default=1,
                   help="a drain is done with a shard after this many empty pages in a row (the issue's rule: 1)")
    p.add_argument("--no-kafka-floor", dest="kafka_floor", action="store_false",
                   help="skip reading the drain topic with a plain Kafka consumer on our broker")
    p.add_argument("--poll-timeout", type=float, default=5.0, help="seconds a visibility sample may poll (else: timeout)")
    p.add_argument("--outbox-timeout", type=float, default=300.0, help="seconds to wait for our outbox to empty")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for each server")
    args = p.parse_args(argv)
    for name in ("writes", "samples", "drains", "threads", "block", "empty_pages"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    names = [args.only] if args.only else list(SERVERS)
    clients = ["raw", "boto3"] if args.client == "both" else [args.client]
    workdir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    targets: dict[str, Target] = {}
    processes: list[ServerProcess] = []
    followers: dict[str, Visibility] = {}
    report: dict[str, Any] = {"meta": run_meta("boto3", "moto"), "args": vars(args), "servers": {}, "load": {}, "drains": {},
                              "visibility": {}}
    exit_code = 0
    try:
        sample_item = item(drain_key(0), 0)
        print(f"streams_bench: {args.writes:,} writes (items of {item_size(sample_item)} bytes, "
              f"{len(dumps(sample_item))} bytes of JSON), {args.drains} drain(s) per server and client "
              f"({', '.join(clients)}), {args.samples} visibility samples per server (+{args.warmup} warm-up); "
              f"work dir {workdir}", flush=True)
        for name in names:
            port = free_port()
            proc = (ours_process if name == "ours" else moto_process)(port, workdir)
            processes.append(proc)  # stopped in the finally, even if it never gets ready
            proc.start(args.startup_timeout)
            target = targets[name] = Target(name, proc, port)
            prepare(target)
            kids = proc.child_cpu()
            print(f"{name}: pid {proc.pid} on port {port}, ready in {proc.startup_s:.1f} s"
                  + (f", child processes {sorted(kids)}" if kids else "") + "; tables created", flush=True)
            report["servers"][name] = {"pid": proc.pid, "port": port, "startup_s": round(proc.startup_s, 2),
                                       "children": sorted(kids), "stream_arns": target.arns}

        idle = report["idle_at_start"] = idle_check(targets, 2.0)
        print(f"idle CPU at start (% of a core, 2 s): {idle_text(idle)}", flush=True)

        # 1. load
        print("load:", flush=True)
        for name in names:
            target = targets[name]
            rec = load(target, args.writes, args.threads)
            report["load"][name] = rec
            print(f"  {name}: {rec['ops']:,} PutItems on {args.threads} threads (raw client) in {rec['wall_s']:.1f} s = "
                  f"{fmt(rec['ops_per_s'])} ops/s, {rec['errors']} errors"
                  + (f" (first: {rec['first_error']})" if rec["errors"] else ""), flush=True)
            if rec["errors"] or rec["ops"] != args.writes:
                raise RuntimeError(f"{name}: the load failed: {rec['first_error']}")
        if "ours" in targets:
            waited = wait_outbox_empty(targets["ours"], args.outbox_timeout)
            m = metrics(targets["ours"].port)
            report["load"]["ours"]["outbox_wait_s"] = round(waited, 3)
            print(f"  ours: outbox empty {waited:.2f} s after the last write "
                  f"(cdc_bridge_events_published_total {m.get('cdc_bridge_events_published_total', float('nan')):,.0f})",
                  flush=True)

        # 2. drains
        print("drain warm-up (2 pages per shard, not measured)", flush=True)
        for name in names:
            for client in clients:
                drain(targets[name], client, args.writes, max_pages_per_shard=2)
        idle = report["idle_before_drains"] = idle_check(targets, 2.0)
        print(f"idle CPU before the drains (% of a core, 2 s): {idle_text(idle)}", flush=True)
        print(f"drains (a shard is done after {args.empty_pages} empty page(s) in a row):", flush=True)
        for rep in range(1, args.drains + 1):
            for c, client in enumerate(clients):
                order = names if (rep + c) % 2 else list(reversed(names))
                for name in order:
                    target = targets[name]
                    if not target.process.alive():
                        raise ServerFailed(f"{name} died; log tail:\n{target.process.log_tail()}")
                    others = [t.process for n, t in targets.items() if n != name]
                    rec = drain(target, client, args.writes, stop_after=args.empty_pages, others=others)
                    report["drains"].setdefault(name, {}).setdefault(client, []).append(rec)
                    print(drain_line(rep, name, rec), flush=True)
                    if name == "ours" and not rec["count_ok"]:
                        exit_code = 1

        if "ours" in targets:
            h = report["connector_after_drains"] = connector_health(targets["ours"])
            if h:
                print(f"  ours' connector after the drains: {h.get('readers')} partition readers open, "
                      f"{h.get('reader_reuses')} reuses, {h.get('reader_seeks')} repositionings", flush=True)
        if args.kafka_floor and "ours" in targets:
            print("Kafka floor: a plain confluent-kafka consumer reads the drain topic on our broker, every partition, "
                  "from the beginning to the end", flush=True)
            report["kafka_floor"] = []
            for fw in (5, 100):  # short and long: the broker's cost of short waits on a long partition
                rec = kafka_floor(targets["ours"], args.writes, fw)
                report["kafka_floor"].append(rec)
                print(f"  fetch.wait.max.ms={fw:<3}: {fmt(rec['records_per_s']):>8} records/s  {rec['records']:,} records "
                      f"in {rec['wall_s']:.2f} s{'' if rec['complete'] else ' (INCOMPLETE)'}; broker CPU "
                      f"{fmt(rec['broker_cpu_s_per_1k'], 3)} s/1k records", flush=True)

        # 3. visibility
        idle = report["idle_before_visibility"] = idle_check(targets, 2.0)
        print(f"idle CPU before the visibility samples (% of a core, 2 s): {idle_text(idle)}", flush=True)
        print(f"visibility: {args.samples} samples per server, blocks of {args.block}, alternating", flush=True)
        for name in names:
            follower = followers[name] = Visibility(targets[name], args.poll_timeout)
            follower.locate()
            follower.block(args.warmup, record=False)
            print(f"  {name}: following {follower.shard}; {args.warmup} warm-up samples done", flush=True)
        done, blk = 0, 0
        while done < args.samples:
            n = min(args.block, args.samples - done)
            order = names if blk % 2 == 0 else list(reversed(names))
            parts = []
            for name in order:
                f = followers[name]
                if not f.target.process.alive():
                    raise ServerFailed(f"{name} died; log tail:\n{f.target.process.log_tail()}")
                f.block(n)
                lat = sorted(f.latencies_ms[-n:])
                parts.append(f"{name} p50 {fmt(percentile(lat, 50), 2)} / p99 {fmt(percentile(lat, 99), 2)} ms")
            done += n
            blk += 1
            print(f"  block {blk}: {done}/{args.samples} samples: " + ", ".join(parts), flush=True)
        for name, f in followers.items():
            report["visibility"][name] = f.stats()
            if f.errors or f.timeouts:
                exit_code = 1

        verdicts, passed = summarize(report, names, args)
        report["verdicts"] = verdicts
        report["passed"] = passed
        return exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ServerFailed, DrainError, RuntimeError) as exc:
        print(f"\nFAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        for proc in processes:
            if not isinstance(exc, ServerFailed) and proc.process is not None:
                print(f"{proc.name} log tail:\n{proc.log_tail()}", file=sys.stderr)
        report["error"] = str(exc)
        return 1
    finally:
        STOP.set()
        for f in followers.values():
            with contextlib.suppress(Exception):
                f.close()
        finish(processes, args.json, report, workdir)


if __name__ == "__main__":
    sys.exit(main())
