"""Change data capture: change-visibility latency and publish throughput of the table service.

    .venv/bin/python bench/cdc_bench.py [--samples 1000] [--seconds 15] [--json PATH]

Starts `python -m cdc_bridge.cli up` on a free loopback port (it provisions its Kafka: the embedded
broker on these machines), then:

1. Latency. A table with a NEW_AND_OLD_IMAGES stream; one consumer assigned to every partition of
   its topic (small `fetch.wait.max.ms`, no consumer group) follows it in a thread. One writer does
   sequential PutItems of new keys and, after each, waits until the consumer has seen that key's
   event: the sample is (consumer sees the record) - (HTTP response received). Three series run in
   interleaved blocks, so machine drift hits them alike:
     - ours, raw client: http.client keep-alive + orjson, unsigned (what the targets are judged on);
     - ours, boto3 (signed; its ~1 ms of client work per call sits on the writer side);
     - floor: raw Kafka on the same broker, confluent-kafka producer configured like our publisher
       (idempotent, acks=all, linger.ms=1) -> the same consumer settings; sample = seen - produce().
2. Throughput. A second table with a stream; 8 writer threads (raw client) do PutItems of new keys
   for --seconds while /metrics is sampled every 250 ms (outbox rows, oldest row's age, events
   published). Then the writers stop and the run waits for the outbox to drain. Reports write ops/s,
   events published/s, backlog (max rows, max age, growth over the second half of the window),
   drain time, server CPU (utime+stime of the cdc_bridge process from /proc, the broker apart), and
   checks that the topic holds exactly one event per successful write.

Targets: change visibility p50 < 10 ms and p99 < 50 ms; publishing keeps up with the writers (the
backlog does not grow over the second half of the window and drains once the writers stop).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench.common` (and the project) importable
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
    stop_on_sigterm,
)

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = "x" * 100
P50_TARGET_MS = 10.0
P99_TARGET_MS = 50.0
GROWTH_TARGET = 0.05      # backlog may grow by at most 5 % of the write rate over the window's 2nd half
PUBLISHER_LINGER_MS = 1   # table_api/kafka.py Kafka.producer()
SHARDS = 4


# --------------------------------------------------------------------------- server


def start_server(port: int, workdir: Path, timeout_s: float) -> ServerProcess:
    data_dir = workdir / "data"
    data_dir.mkdir()
    proc = ServerProcess(
        "cdc-bridge", [sys.executable, "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data_dir)],
        ready=lambda: http_status(port, "/health") == 200, log_path=workdir / "server.log", cwd=str(ROOT),
    )
    proc.start(timeout_s)
    return proc


def get_json(port: int, path: str) -> dict:
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", path)
        return loads(conn.getresponse().read())
    finally:
        conn.close()


class MetricsReader:
    """GET /metrics over one keep-alive connection (one per thread)."""

    def __init__(self, port: int):
        import http.client

        self.conn = http.client.HTTPConnection(HOST, port, timeout=5)

    def read(self) -> dict[str, float]:
        for attempt in (0, 1):
            try:
                self.conn.request("GET", "/metrics")
                text = self.conn.getresponse().read().decode()
                break
            except Exception:
                self.conn.close()
                if attempt:
                    raise
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
        return out

    def close(self) -> None:
        self.conn.close()


def item(pk: str, i: int) -> dict:
    return {"pk": {"S": pk}, "seq": {"N": str(i)}, "payload": {"S": PAYLOAD}, "active": {"BOOL": True}}


def stream_topic(table: str, label: str) -> str:
    """table_api/streams.py topic_name (for table names short enough not to be hashed)."""
    return f"dynamodb.{table}.{label.replace('-', '').replace(':', '').replace('.', '')}"


def create_table(port: int, table: str, stream: bool) -> dict:
    """Create a table (with a NEW_AND_OLD_IMAGES stream if `stream`); return its description."""
    request = {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    raw = RawJsonClient(port)
    try:
        status, body = raw.call("CreateTable", request)
    finally:
        raw.close()
    if status != 200:
        raise RuntimeError(f"CreateTable {table}: HTTP {status}: {str(body)[:300]}")
    return body["TableDescription"]


def create_stream_table(port: int, table: str) -> str:
    """Create a table with a NEW_AND_OLD_IMAGES stream; return its topic."""
    description = create_table(port, table, stream=True)
    label = description.get("LatestStreamLabel")
    if not label:
        raise RuntimeError(f"CreateTable {table}: no LatestStreamLabel in {str(description)[:300]}")
    return stream_topic(table, label)


# --------------------------------------------------------------------------- Kafka side


def _quiet_logger():
    import logging

    logger = logging.getLogger("cdc_bench.librdkafka")
    logger.setLevel(logging.ERROR)
    return logger


def consumer_config(bootstrap: str, fetch_wait_ms: int, **extra) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"cdc-bench-{uuid.uuid4().hex}",  # never joined (assign only), but required
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": fetch_wait_ms,
        "logger": _quiet_logger(),
        **extra,
    }


def wait_for_topic(bootstrap: str, topic: str, partitions: int, timeout_s: float = 60.0) -> float:
    """Wait until `topic` exists with `partitions` partitions (our publisher creates it); seconds waited."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": _quiet_logger()})
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        with contextlib.suppress(Exception):
            meta = admin.list_topics(topic, timeout=5)
            t = meta.topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return time.monotonic() - t0
        time.sleep(0.1)
    raise RuntimeError(f"topic {topic} with {partitions} partitions not there after {timeout_s:.0f} s")


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": _quiet_logger()})
    admin.create_topics([NewTopic(topic, partitions, 1)], request_timeout=30)[topic].result(30)
    wait_for_topic(bootstrap, topic, partitions)


class Tail:
    """One consumer assigned to every partition of some topics from the beginning, in a thread.
    `seen[id]` = perf_counter() when the poll returned the record whose key maps to `id`;
    `age[id]` = wall-clock ms from the record's CreateTime to then (our publisher sets CreateTime
    to the outbox row's commit time, in ms; a plain producer to the produce() time)."""

    def __init__(self, bootstrap: str, topics: dict[str, Callable[[bytes], str]], partitions: int,
                 fetch_wait_ms: int):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.extract = topics
        self.consumer = Consumer(consumer_config(bootstrap, fetch_wait_ms))
        self.consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)])
        self.seen: dict[str, float] = {}
        self.age: dict[str, float] = {}
        self.cond = threading.Condition()
        self.stop_event = threading.Event()
        self.records = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="tail", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        perf, wall = time.perf_counter, time.time
        consumer, extract, seen, age, cond = self.consumer, self.extract, self.seen, self.age, self.cond
        while not self.stop_event.is_set() and not STOP.is_set():
            msg = consumer.poll(0.05)
            if msg is None:
                continue
            now, now_wall = perf(), wall()
            if msg.error():
                if len(self.errors) < 20:
                    self.errors.append(str(msg.error()))
                continue
            self.records += 1
            try:
                key = extract[msg.topic()](msg.key())
            except Exception as exc:
                if len(self.errors) < 20:
                    self.errors.append(f"undecodable key: {type(exc).__name__}: {exc}")
                continue
            with cond:
                seen[key] = now
                age[key] = now_wall * 1000 - msg.timestamp()[1]
                cond.notify_all()

    def wait_for(self, key: str, timeout_s: float) -> float | None:
        with self.cond:
            if self.cond.wait_for(lambda: key in self.seen, timeout_s):
                return self.seen[key]
        return None

    def close(self) -> None:
        self.stop_event.set()
        self.thread.join(5)
        with contextlib.suppress(Exception):
            self.consumer.close()


def our_key(data: bytes) -> str:
    """The `pk` string of one of our records' keys (Confluent framing + Avro ItemKey)."""
    from schemas import codec

    return codec.decode_key(codec.unframe(data)[1])["pk"]["S"]


def count_records(bootstrap: str, topic: str, partitions: int, timeout_s: float = 120.0) -> tuple[int, set[str]]:
    """Read the topic from the beginning to the end of every partition (PARTITION_EOF, not
    ListOffsets: see shared/kafka-broker-notes.md); return (records, distinct keys)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer(consumer_config(bootstrap, 100, **{"enable.partition.eof": True}))
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_end: set[int] = set()
        count, keys = 0, set()
        deadline = time.monotonic() + timeout_s
        while len(at_end) < partitions and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 0.5):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(msg.partition())
                        continue
                    raise RuntimeError(f"reading {topic}: {msg.error()}")
                at_end.discard(msg.partition())
                count += 1
                keys.add(bytes(msg.key()))
        if len(at_end) < partitions:
            raise RuntimeError(f"reading {topic}: end of every partition not reached in {timeout_s:.0f} s")
        return count, keys
    finally:
        consumer.close()


# --------------------------------------------------------------------------- latency


class Series:
    def __init__(self, name: str, judged: bool):
        self.name, self.judged = name, judged
        self.latencies_ms: list[float] = []   # clamped at 0 (already visible when the response came)
        self.before_response = 0               # consumer had it before the writer had the response
        self.missing = 0
        self.errors = 0
        self.first_error: str | None = None
        self.write_ms: list[float] = []        # the write call itself (request -> response)
        self.age_ms: list[float] = []          # record CreateTime -> consumed (ms resolution)

    def stats(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        w = sorted(self.write_ms)
        return {
            "samples": len(lat), "missing": self.missing, "errors": self.errors, "first_error": self.first_error,
            "seen_before_response": self.before_response,
            "p50_ms": _r(percentile(lat, 50)), "p90_ms": _r(percentile(lat, 90)),
            "p99_ms": _r(percentile(lat, 99)), "max_ms": _r(lat[-1]) if lat else None,
            "mean_ms": _r(sum(lat) / len(lat)) if lat else None,
            "write_p50_ms": _r(percentile(w, 50)), "write_p99_ms": _r(percentile(w, 99)),
            "createtime_to_seen_p50_ms": _r(percentile(sorted(self.age_ms), 50)),
            "createtime_to_seen_p99_ms": _r(percentile(sorted(self.age_ms), 99)),
        }


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)


def sample_once(series: Series, tail: Tail, key: str, write: Callable[[], None], start_is_write: bool,
                wait_s: float) -> bool:
    """One sample; returns False when the event never showed up."""
    perf = time.perf_counter
    t0 = perf()
    try:
        write()
    except Exception as exc:
        series.errors += 1
        series.first_error = series.first_error or f"{type(exc).__name__}: {exc}"
        return True
    t1 = perf()
    series.write_ms.append((t1 - t0) * 1000)
    seen = tail.wait_for(key, wait_s)
    if seen is None:
        series.missing += 1
        return False
    ref = t0 if start_is_write else t1
    lat = (seen - ref) * 1000
    if lat < 0:
        series.before_response += 1
        lat = 0.0
    series.latencies_ms.append(lat)
    series.age_ms.append(tail.age.get(key, float("nan")))
    return True


def latency_phase(port: int, bootstrap: str, args, report: dict) -> dict[str, Series]:
    run = uuid.uuid4().hex[:6]
    table = "cdc_bench_latency"
    topic = create_stream_table(port, table)
    waited = wait_for_topic(bootstrap, topic, SHARDS)
    floor_topic = f"cdc-bench-floor-{run}"
    create_topic(bootstrap, floor_topic, SHARDS)
    print(f"latency: table {table} -> topic {topic} ({SHARDS} partitions, there after {waited:.1f} s); "
          f"floor topic {floor_topic}; consumer fetch.wait.max.ms={args.fetch_wait_ms}", flush=True)
    report["latency_topics"] = {"ours": topic, "floor": floor_topic}

    from confluent_kafka import Producer

    tail = Tail(bootstrap, {topic: our_key, floor_topic: lambda k: k.decode()}, SHARDS, args.fetch_wait_ms)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": PUBLISHER_LINGER_MS, "logger": _quiet_logger()})
    raw = RawJsonClient(port)
    boto = boto3_client("dynamodb", port) if args.boto3 else None
    floor_value = dumps(item("x", 0))  # ~150 bytes, like an item; our Avro event is ~2x that

    def put_raw(pk: str, i: int) -> Callable[[], None]:
        body = dumps({"TableName": table, "Item": item(pk, i)})

        def write() -> None:
            status, data = raw.call_raw("PutItem", body)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
        return write

    def put_boto3(pk: str, i: int) -> Callable[[], None]:
        return lambda: boto.put_item(TableName=table, Item=item(pk, i)) and None

    def produce(key: str, _i: int) -> Callable[[], None]:
        def write() -> None:
            producer.produce(floor_topic, key=key.encode(), value=floor_value)
            producer.poll(0)
        return write

    kinds: list[tuple[str, Series, Callable, bool]] = [
        ("raw", Series("ours, raw client", judged=True), put_raw, False),
    ]
    if boto is not None:
        kinds.append(("boto3", Series("ours, boto3", judged=False), put_boto3, False))
    kinds.append(("floor", Series("floor: raw Kafka", judged=False), produce, True))

    try:
        # Warm-up (not measured): schema registration on the first event, connections, metadata.
        for code, _series, make, start_is_write in kinds:
            warm = Series("warm-up", False)
            for i in range(args.warmup):
                key = f"{run}-warm-{code}-{i:07d}"
                if not sample_once(warm, tail, key, make(key, i), start_is_write, args.wait_timeout):
                    raise RuntimeError(f"latency warm-up ({code}): event of {key} not seen in {args.wait_timeout} s")
            if warm.errors:
                raise RuntimeError(f"latency warm-up ({code}): {warm.first_error}")
        blocks = max(1, -(-args.samples // args.block))
        done = {code: 0 for code, *_ in kinds}
        for b in range(blocks):
            order = kinds if b % 2 == 0 else list(reversed(kinds))
            for code, series, make, start_is_write in order:
                n = min(args.block, args.samples - done[code])
                consecutive_missing = 0
                for j in range(n):
                    if STOP.is_set():
                        raise KeyboardInterrupt
                    i = done[code] + j
                    key = f"{run}-{code}-{i:07d}"
                    if sample_once(series, tail, key, make(key, i), start_is_write, args.wait_timeout):
                        consecutive_missing = 0
                    else:
                        consecutive_missing += 1
                        if consecutive_missing >= 5:
                            raise RuntimeError(f"latency ({series.name}): 5 events in a row not seen within "
                                               f"{args.wait_timeout} s each")
                    if series.errors >= 20:
                        raise RuntimeError(f"latency ({series.name}): 20 write errors: {series.first_error}")
                done[code] += n
                s = series.stats()
                print(f"  block {b + 1}/{blocks} {series.name:18}: n={s['samples']:5}  p50 {s['p50_ms']:6.2f}  "
                      f"p90 {s['p90_ms']:6.2f}  p99 {s['p99_ms']:6.2f}  max {s['max_ms']:7.2f} ms  "
                      f"(write call p50 {s['write_p50_ms']:.2f} ms; missing {s['missing']}, errors {s['errors']})",
                      flush=True)
    finally:
        tail.close()
        raw.close()
        producer.flush(5)
    if tail.errors:
        print(f"  consumer errors: {tail.errors[:5]}", flush=True)
        report["latency_consumer_errors"] = tail.errors
    return {code: series for code, series, *_ in kinds}


# --------------------------------------------------------------------------- throughput


class Writers:
    """`threads` threads doing PutItems of new keys (raw client, one keep-alive connection each)
    from `start()` until `stop()`; a thread gives up after 50 errors in a row."""

    def __init__(self, port: int, table: str, threads: int):
        self.port, self.threads = port, threads
        self.ok = [0] * threads
        self.errors = [0] * threads
        self.first_error: list[str] = []
        self.stop_event = threading.Event()
        self.barrier = threading.Barrier(threads + 1)
        self.body_head = dumps({"TableName": table})[:-1] + b',"Item":'  # {"TableName":"...","Item": <item>}
        self.run = uuid.uuid4().hex[:6]
        self.workers = [threading.Thread(target=self._writer, args=(t,), name=f"writer-{t}", daemon=True)
                        for t in range(threads)]
        for w in self.workers:
            w.start()

    def _writer(self, t: int) -> None:
        raw = RawJsonClient(self.port)
        try:
            try:
                self.barrier.wait(60)
            except threading.BrokenBarrierError:
                return
            ok, errors, first_error, body_head = self.ok, self.errors, self.first_error, self.body_head
            consecutive = 0
            i = 0
            while not self.stop_event.is_set() and not STOP.is_set():
                body = body_head + dumps(item(f"{self.run}-{t}-{i:08d}", i)) + b"}"
                i += 1
                try:
                    status, data = raw.call_raw("PutItem", body)
                    good = status == 200
                    if not good and not first_error:
                        first_error.append(f"HTTP {status}: {data[:200]!r}")
                except Exception as exc:
                    good = False
                    if not first_error:
                        first_error.append(f"{type(exc).__name__}: {exc}")
                if good:
                    ok[t] += 1
                    consecutive = 0
                else:
                    errors[t] += 1
                    consecutive += 1
                    if consecutive >= 50:
                        break
        finally:
            raw.close()

    def start(self) -> float:
        self.barrier.wait(60)
        return time.monotonic()

    def stop(self) -> float:
        self.stop_event.set()
        with contextlib.suppress(threading.BrokenBarrierError, RuntimeError):
            self.barrier.abort()
        for w in self.workers:
            w.join(30)
        return time.monotonic()

    @property
    def done(self) -> int:
        return sum(self.ok)


def baseline_phase(port: int, server: ServerProcess, args) -> dict[str, Any]:
    """The same writers against a table without a stream: the write rate the table service
    reaches when it publishes nothing."""
    table = "cdc_bench_nostream"
    create_table(port, table, stream=False)
    seconds = args.baseline_seconds
    print(f"baseline: table {table} without a stream; {args.threads} writer threads (raw client) for {seconds:g} s",
          flush=True)
    writers = Writers(port, table, args.threads)
    try:
        with CpuWindow(server) as cpu:
            t0 = writers.start()
            deadline = t0 + seconds
            while time.monotonic() < deadline and not STOP.is_set():
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            t1 = writers.stop()
    finally:
        writers.stop()
    window = t1 - t0
    n = writers.done
    out = {
        "window_s": round(window, 3), "writes_ok": n, "write_errors": sum(writers.errors),
        "first_error": writers.first_error[0] if writers.first_error else None,
        "write_ops_per_s": round(n / window, 1),
        "server_cpu_percent": _r(cpu.server_s / window * 100, 1),
        "server_cpu_s_per_1k_writes": _r(cpu.server_s / n * 1000, 4) if n else None,
        "broker_cpu_percent": _r((cpu.children_s or 0) / window * 100, 1),
        "client_cpu_percent": _r(cpu.client_s / window * 100, 1),
    }
    print(f"  {n:,} writes ok, {out['write_errors']} errors -> {out['write_ops_per_s']:,.0f} ops/s; CPU % of a core: "
          f"cdc_bridge {out['server_cpu_percent']}% ({out['server_cpu_s_per_1k_writes']} s per 1,000 writes), "
          f"broker {out['broker_cpu_percent']}%, client {out['client_cpu_percent']}%", flush=True)
    return out


def throughput_phase(port: int, bootstrap: str, server: ServerProcess, args, report: dict) -> dict[str, Any]:
    table = "cdc_bench_throughput"
    topic = create_stream_table(port, table)
    wait_for_topic(bootstrap, topic, SHARDS)
    threads = args.threads
    print(f"throughput: table {table} -> topic {topic}; {threads} writer threads (raw client) for "
          f"{args.seconds:g} s, /metrics every {args.sample_ms} ms", flush=True)
    writers = Writers(port, table, threads)
    ok, errors, first_error = writers.ok, writers.errors, writers.first_error

    samples: list[dict[str, float]] = []
    sampler_stop = threading.Event()
    sampler_errors: list[str] = []

    def sampler() -> None:
        reader = MetricsReader(port)
        try:
            next_t = time.monotonic()
            while not sampler_stop.is_set() and not STOP.is_set():
                try:
                    m = reader.read()
                    m["t"] = time.monotonic()
                    m["writes"] = sum(ok)
                    samples.append(m)
                except Exception as exc:
                    if len(sampler_errors) < 5:
                        sampler_errors.append(f"{type(exc).__name__}: {exc}")
                next_t += args.sample_ms / 1000
                sampler_stop.wait(max(0.0, next_t - time.monotonic()))
        finally:
            reader.close()

    main_reader = MetricsReader(port)
    sampler_thread = threading.Thread(target=sampler, name="metrics-sampler", daemon=True)
    result: dict[str, Any] = {"threads": threads, "seconds": args.seconds, "topic": topic}
    try:
        m0 = main_reader.read()
        with CpuWindow(server) as cpu:
            t_start = writers.start()
            sampler_thread.start()
            deadline = t_start + args.seconds
            last_print, last_writes, last_pub = t_start, 0, m0.get("cdc_bridge_events_published_total", 0)
            while time.monotonic() < deadline and not STOP.is_set():
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                now = time.monotonic()
                if samples and now - last_print >= 0.99:
                    s = samples[-1]
                    writes = sum(ok)
                    pub = s.get("cdc_bridge_events_published_total", 0)
                    print(f"  t={now - t_start:5.1f} s  writes {writes:7,} ({(writes - last_writes) / (now - last_print):6,.0f}/s)"
                          f"  published {pub - m0.get('cdc_bridge_events_published_total', 0):7,.0f}"
                          f" ({(pub - last_pub) / (now - last_print):6,.0f}/s)"
                          f"  outbox rows {s.get('cdc_bridge_outbox_rows', -1):6,.0f}"
                          f"  oldest {s.get('cdc_bridge_outbox_oldest_age_seconds', -1):6.3f} s"
                          f"  errors {sum(errors)}", flush=True)
                    last_print, last_writes, last_pub = now, writes, pub
            t_end = writers.stop()
            m1 = main_reader.read()
        writes_ok, write_errors = sum(ok), sum(errors)
        window = t_end - t_start
        published_window = m1["cdc_bridge_events_published_total"] - m0["cdc_bridge_events_published_total"]
        in_window = [s for s in samples if t_start <= s["t"] <= t_end]

        # Drain: wait for the outbox to empty (bounded).
        print(f"  writers stopped after {window:.1f} s: {writes_ok:,} writes ok, {write_errors} errors; "
              f"outbox rows {m1['cdc_bridge_outbox_rows']:,.0f}; waiting for the outbox to drain "
              f"(at most {args.drain_timeout:g} s)", flush=True)
        drained_after = None
        with CpuWindow(server) as drain_cpu:
            while time.monotonic() - t_end < args.drain_timeout and not STOP.is_set():
                m = main_reader.read()
                if m["cdc_bridge_outbox_rows"] == 0 and \
                        m["cdc_bridge_events_published_total"] - m0["cdc_bridge_events_published_total"] >= writes_ok:
                    drained_after = time.monotonic() - t_end
                    break
                time.sleep(0.05)
            m2 = main_reader.read()
        t_drained = time.monotonic()
        sampler_stop.set()
        sampler_thread.join(5)

        published_total = m2["cdc_bridge_events_published_total"] - m0["cdc_bridge_events_published_total"]
        rows = [s.get("cdc_bridge_outbox_rows", 0) for s in in_window]
        ages = [s.get("cdc_bridge_outbox_oldest_age_seconds", 0) for s in in_window]
        half = [s for s in in_window if s["t"] >= t_start + window / 2]
        slope = _slope([(s["t"], s.get("cdc_bridge_outbox_rows", 0)) for s in half])
        write_rate = writes_ok / window if window else float("nan")
        result.update({
            "window_s": round(window, 3),
            "writes_ok": writes_ok, "write_errors": write_errors, "first_error": first_error[0] if first_error else None,
            "write_ops_per_s": round(write_rate, 1),
            "events_published_in_window": int(published_window),
            "events_published_per_s_in_window": round(published_window / window, 1) if window else None,
            "events_published_total": int(published_total),
            "events_published_per_s_until_drained": round(published_total / (t_drained - t_start), 1),
            "samples": len(in_window),
            "backlog_max_rows": int(max(rows)) if rows else None,
            "backlog_mean_rows": round(sum(rows) / len(rows), 1) if rows else None,
            "backlog_rows_at_stop": int(m1["cdc_bridge_outbox_rows"]),
            "backlog_max_oldest_age_s": max(ages) if ages else None,
            "backlog_growth_rows_per_s_2nd_half": round(slope, 1) if slope is not None else None,
            "drained_after_s": None if drained_after is None else round(drained_after, 3),
            "backlog_rows_at_end": int(m2["cdc_bridge_outbox_rows"]),
            "server_cpu_s": _r(cpu.server_s), "server_cpu_percent": _r(cpu.server_s / window * 100, 1) if window else None,
            "server_cpu_s_per_1k_writes": _r(cpu.server_s / writes_ok * 1000, 4) if writes_ok else None,
            "broker_cpu_s": _r(cpu.children_s),
            "broker_cpu_percent": _r(cpu.children_s / window * 100, 1) if cpu.children_s is not None and window else None,
            "client_cpu_s": _r(cpu.client_s), "client_cpu_percent": _r(cpu.client_s / window * 100, 1),
            "drain_server_cpu_s": _r(drain_cpu.server_s),
            "sampler_errors": sampler_errors,
            "timeline": [{"t": round(s["t"] - t_start, 3), "writes": s["writes"],
                          "rows": s.get("cdc_bridge_outbox_rows"), "age_s": s.get("cdc_bridge_outbox_oldest_age_seconds"),
                          "published": s.get("cdc_bridge_events_published_total", 0) - m0["cdc_bridge_events_published_total"]}
                         for s in samples],
        })
        print(f"  drained: {f'after {drained_after:.2f} s' if drained_after is not None else 'NO'} "
              f"(outbox rows now {m2['cdc_bridge_outbox_rows']:,.0f}, events published {published_total:,.0f})",
              flush=True)
        # Exactly one event per successful write on the topic?
        try:
            count, keys = count_records(bootstrap, topic, SHARDS)
            result.update(topic_records=count, topic_distinct_keys=len(keys))
            print(f"  topic {topic}: {count:,} records, {len(keys):,} distinct keys (writes ok: {writes_ok:,})",
                  flush=True)
        except Exception as exc:
            result["topic_check_error"] = f"{type(exc).__name__}: {exc}"
            print(f"  topic check failed: {result['topic_check_error']}", flush=True)
    finally:
        writers.stop()
        sampler_stop.set()
        main_reader.close()
    return result


def _slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


# --------------------------------------------------------------------------- reporting


def _ms2(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a:.1f}/{b:.1f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def summarize(series: dict[str, Series] | None, tp: dict[str, Any] | None, args, report: dict,
              baseline: dict[str, Any] | None = None) -> list[str]:
    verdicts: list[str] = []
    print()
    print("=" * 100)
    if series:
        print(f"Change visibility: PutItem response received -> event consumable from Kafka "
              f"(consumer on all {SHARDS} partitions, fetch.wait.max.ms={args.fetch_wait_ms}; one sequential writer)")
        print(f"  {'series':22} {'n':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'mean':>8}  "
              f"{'write p50':>9} {'CT->seen p50/p99':>16}  {'miss':>4} {'err':>4}  targets (p50<{P50_TARGET_MS:g} ms, p99<{P99_TARGET_MS:g} ms)")
        for code, s in series.items():
            st = s.stats()
            report.setdefault("latency", {})[code] = st
            targets = ""
            if code != "floor" and st["samples"]:
                p50_ok = st["p50_ms"] < P50_TARGET_MS and st["missing"] == 0
                p99_ok = st["p99_ms"] < P99_TARGET_MS and st["missing"] == 0
                few = " (fewer than 1,000 samples: indicative)" if st["samples"] < 1000 else ""
                targets = f"p50 {verdict(p50_ok)}, p99 {verdict(p99_ok)}{few}"
                if s.judged:
                    verdicts += [f"visibility p50 < {P50_TARGET_MS:g} ms ({s.name}): {verdict(p50_ok)}",
                                 f"visibility p99 < {P99_TARGET_MS:g} ms ({s.name}): {verdict(p99_ok)}"]
            elif code == "floor":
                targets = "(floor: produce() -> consumed, same broker and consumer)"
            print(f"  {s.name:22} {st['samples']:>6} {st['p50_ms']:>8.2f} {st['p90_ms']:>8.2f} {st['p99_ms']:>8.2f} "
                  f"{st['max_ms']:>8.2f} {st['mean_ms']:>8.2f}  {st['write_p50_ms']:>9.2f} "
                  f"{_ms2(st['createtime_to_seen_p50_ms'], st['createtime_to_seen_p99_ms']):>16}  {st['missing']:>4} "
                  f"{st['errors']:>4}  {targets}")
        extra = [f"{s.name}: {s.before_response}" for s in series.values() if s.before_response]
        if extra:
            print("  already consumable when the response arrived (counted as 0 ms): " + ", ".join(extra))
        print("  ms; 'write p50' = the write call itself (request -> response; for the floor: produce()); 'CT->seen' ="
              " from the record's CreateTime (ours: the outbox row's commit, wall clock in whole ms; floor: produce())"
              " to consumed, so it covers the publisher, not the HTTP response.")
    if tp:
        print()
        print(f"Publish throughput: {tp['threads']} writer threads (raw client: http.client keep-alive + orjson, "
              f"unsigned), {tp['window_s']:.1f} s")
        wr, pr = tp["write_ops_per_s"], tp["events_published_per_s_in_window"]
        print(f"  writes:  {tp['writes_ok']:,} ok, {tp['write_errors']} errors -> {wr:,.0f} ops/s"
              + (f"  (first error: {tp['first_error']})" if tp["first_error"] else ""))
        print(f"  events published: {tp['events_published_in_window']:,} in the window -> {pr:,.0f}/s "
              f"({pr / wr * 100 if wr else float('nan'):.0f}% of the write rate); "
              f"{tp['events_published_total']:,} until drained -> {tp['events_published_per_s_until_drained']:,.0f}/s")
        print(f"  outbox backlog during the window: max {tp['backlog_max_rows']:,} rows (mean {tp['backlog_mean_rows']:,}), "
              f"max oldest age {tp['backlog_max_oldest_age_s']:.3f} s, {tp['backlog_rows_at_stop']:,} rows when "
              f"the writers stopped; growth over the 2nd half {tp['backlog_growth_rows_per_s_2nd_half']:+,.1f} rows/s")
        drained = tp["drained_after_s"] is not None
        print("  drained after the writers stopped: "
              + (f"yes, in {tp['drained_after_s']:.2f} s" if drained else
                 f"NO within {args.drain_timeout:g} s ({tp['backlog_rows_at_end']:,} rows left)"))
        if "topic_records" in tp:
            exact = tp["topic_records"] == tp["writes_ok"] == tp["topic_distinct_keys"]
            print(f"  topic holds {tp['topic_records']:,} records / {tp['topic_distinct_keys']:,} distinct keys for "
                  f"{tp['writes_ok']:,} successful writes: {'exactly one event per write' if exact else 'MISMATCH'}")
        print(f"  CPU during the window (% of one core): cdc_bridge process {tp['server_cpu_percent']}% "
              f"({tp['server_cpu_s_per_1k_writes']} s per 1,000 writes), embedded broker {tp['broker_cpu_percent']}%, "
              f"this client {tp['client_cpu_percent']}% (2 cores shared by all three)")
        if baseline:
            print(f"  same writers, table WITHOUT a stream (run just before): {baseline['write_ops_per_s']:,.0f} ops/s, "
                  f"cdc_bridge {baseline['server_cpu_percent']}% of a core ({baseline['server_cpu_s_per_1k_writes']} s "
                  f"per 1,000 writes); with the stream: {wr / baseline['write_ops_per_s']:.2f}x the write rate, "
                  f"{tp['server_cpu_s_per_1k_writes'] / baseline['server_cpu_s_per_1k_writes']:.2f}x the server CPU "
                  f"per write")
        growth = tp["backlog_growth_rows_per_s_2nd_half"]
        bounded = growth is not None and growth <= GROWTH_TARGET * wr
        keeps_up = bounded and drained
        verdicts.append(f"publishing keeps up with {wr:,.0f} writes/s (backlog growth over the 2nd half "
                        f"{growth:+,.1f} rows/s <= {GROWTH_TARGET * wr:,.0f}, drained after the writers stopped: "
                        f"{'yes' if drained else 'no'}): {verdict(keeps_up)}")
    print()
    print("Targets:")
    for v in verdicts:
        print("  " + v)
    return verdicts


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=1000, help="latency samples per series (targets need >= 1,000)")
    p.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    p.add_argument("--json", metavar="PATH", help="write every figure (and the backlog timeline) to this file")
    p.add_argument("--threads", type=int, default=8, help="writer threads of the throughput run")
    p.add_argument("--fetch-wait-ms", type=int, default=5, help="the latency consumer's fetch.wait.max.ms")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured writes per latency series first")
    p.add_argument("--block", type=int, default=250, help="latency series alternate in blocks of this many samples")
    p.add_argument("--wait-timeout", type=float, default=5.0, help="seconds to wait for one event (else: missing)")
    p.add_argument("--no-boto3", dest="boto3", action="store_false", help="skip the boto3 latency series")
    p.add_argument("--only", choices=["latency", "throughput"], help="run one phase only")
    p.add_argument("--baseline-seconds", type=float, default=None,
                   help="first drive a table WITHOUT a stream this long, for the write rate without publishing "
                        "(default: --seconds; 0: skip)")
    p.add_argument("--sample-ms", type=int, default=250, help="/metrics sampling interval in the throughput run")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for the outbox to drain")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the server")
    args = p.parse_args(argv)
    for name in ("samples", "threads", "block", "sample_ms"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.baseline_seconds is None:
        args.baseline_seconds = args.seconds
    if args.seconds <= 0 or args.fetch_wait_ms < 0 or args.warmup < 0 or args.baseline_seconds < 0:
        p.error("--seconds must be > 0, --fetch-wait-ms and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    # The consumer thread must get the GIL back quickly when a record arrives while the writer
    # (boto3 especially) is busy: 0.5 ms instead of the default 5 ms switch interval.
    sys.setswitchinterval(0.0005)
    workdir = Path(tempfile.mkdtemp(prefix="cdc-bench-"))
    report: dict[str, Any] = {"meta": run_meta("boto3", "confluent-kafka"), "args": vars(args)}
    server: ServerProcess | None = None
    series: dict[str, Series] | None = None
    tp: dict[str, Any] | None = None
    exit_code = 0
    try:
        port = free_port()
        print(f"cdc_bench: {args.samples} latency samples per series, throughput {args.threads} threads x "
              f"{args.seconds:g} s; work dir {workdir}", flush=True)
        server = start_server(port, workdir, args.startup_timeout)
        health = get_json(port, "/health")
        table_api = health["parts"]["table_api"]
        bootstrap = table_api["kafka_bootstrap_servers"]
        broker = health["parts"].get("broker", {})
        kids = server.child_cpu()
        print(f"server: pid {server.pid} on port {port}, ready in {server.startup_s:.1f} s; Kafka "
              f"{broker.get('kind', '?')} at {bootstrap}" + (f" (child pids {sorted(kids)})" if kids else ""),
              flush=True)
        report["server"] = {"pid": server.pid, "port": port, "startup_s": round(server.startup_s, 2),
                            "kafka": bootstrap, "broker_kind": broker.get("kind"), "children": sorted(kids)}
        if not bootstrap:
            raise RuntimeError("the server has no Kafka (parts.table_api.kafka_bootstrap_servers is empty)")
        with CpuWindow(server) as idle:
            time.sleep(2)
        report["server"]["idle_cpu_percent"] = _r(idle.server_s / 2 * 100, 1)
        report["server"]["idle_broker_cpu_percent"] = _r((idle.children_s or 0) / 2 * 100, 1)
        print(f"idle CPU over 2 s: cdc_bridge {report['server']['idle_cpu_percent']}% of a core, "
              f"broker {report['server']['idle_broker_cpu_percent']}%", flush=True)

        if args.only in (None, "latency"):
            series = latency_phase(port, bootstrap, args, report)
        if args.only in (None, "throughput"):
            if not server.alive():
                raise ServerFailed(f"server died; log tail:\n{server.log_tail()}")
            if args.baseline_seconds > 0:
                report["baseline"] = baseline_phase(port, server, args)
            tp = throughput_phase(port, bootstrap, server, args, report)
            report["throughput"] = tp
            if tp["write_errors"]:
                exit_code = 1
        if not server.alive():
            raise ServerFailed(f"server died; log tail:\n{server.log_tail()}")
        report["verdicts"] = summarize(series, tp, args, report, report.get("baseline"))
        return exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        msg = f"{type(exc).__name__}: {exc}"
        if server is not None and not isinstance(exc, ServerFailed):
            msg += f"\n  server log tail:\n{server.log_tail()}"
        print(f"\nFAILED: {msg}", file=sys.stderr)
        report["error"] = msg
        if series and "verdicts" not in report:
            with contextlib.suppress(Exception):
                summarize(series, None, args, report)
        return 1
    finally:
        STOP.set()
        if server is not None:
            server.stop()
            report.setdefault("server", {})["log_tail"] = server.log_tail(40)
        finish([], args.json, report, workdir)


if __name__ == "__main__":
    sys.exit(main())
