"""Change data capture of the table service: change visibility on Kafka and publish throughput.

Starts `cdc-bridge up` (its broker a child; there is no peer: the floor is raw Kafka on the same
broker), then:

1. Latency. A NEW_AND_OLD_IMAGES table; one confluent-kafka consumer assigned to every partition
   of its topic (fetch.wait.max.ms = --fetch-wait-ms, no group) follows it in a thread. One writer
   does sequential PutItems of new keys and after each waits until the consumer has that key's
   record: sample = record consumed - HTTP response received. Series, interleaved in blocks of
   --block: ours with the raw client (judged), ours with boto3, and the floor: a confluent-kafka
   producer set up like our publisher (idempotent, acks=all, linger.ms=0) to a 4-partition topic
   on the same broker, read by the same consumer (sample = consumed - produce()).
2. Baseline (--baseline-seconds; 0 skips it): --threads raw-client writers on a table without a
   stream: the write rate and server CPU per write when nothing is published.
3. Throughput: the same writers for --seconds on a stream-enabled table while /metrics is read
   every --sample-ms (outbox rows, oldest row's age, events published); then the writers stop and
   the run waits for the outbox to drain; finally the topic is read to its end: exactly one record
   per successful write.

Targets: visibility p50 < 10 ms and p99 < 50 ms (raw client); publishing keeps up (the backlog does
not grow over the window's second half and drains once the writers stop).
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid

from bench.harness.clients import RAW_CLIENT, consumer, create_topic, dumps, producer, read_to_end, stream_topic
from bench.harness.procs import MetricsReader, idle_cpu
from bench.harness.report import Report, Verdict, fmt
from bench.harness.servers import create_table, start_ours_up
from bench.harness.timing import STOP, lat_stats

SUMMARY = "change visibility on Kafka and publish throughput of the table service (raw Kafka as the floor)"
DEFAULT_ROUNDS = 1
DEFAULT_BROKER = "both"   # issue 13: both brokers in one invocation, one pass each
BOTH_BROKERS = True
PAYLOAD = "x" * 100
SHARDS = 4
P50_TARGET, P99_TARGET, GROWTH_TARGET = 10.0, 50.0, 0.05
KEY = re.compile(rb"[0-9a-f]{6}-[a-z0-9]+-\d{7}")  # the benchmark's keys, found in our Avro-encoded record keys


def add_arguments(p) -> None:
    p.add_argument("--samples", type=int, default=1000, help="latency samples per series (targets need >= 1,000)")
    p.add_argument("--seconds", type=float, default=15.0, help="length of the throughput run")
    p.add_argument("--threads", type=int, default=8, help="writer threads of the throughput run")
    p.add_argument("--fetch-wait-ms", type=int, default=5, help="the latency consumer's fetch.wait.max.ms")
    p.add_argument("--warmup", type=int, default=20, help="unmeasured writes per latency series first")
    p.add_argument("--block", type=int, default=250, help="latency series alternate in blocks of this many")
    p.add_argument("--wait-timeout", type=float, default=5.0, help="seconds to wait for one event (else: missing)")
    p.add_argument("--no-boto3", dest="boto3", action="store_false", help="skip the boto3 latency series")
    p.add_argument("--only", choices=["latency", "throughput"], help="one phase only")
    p.add_argument("--baseline-seconds", type=float, default=None, help="writers on a table without a stream this "
                   "long first (default: --seconds; 0: skip)")
    p.add_argument("--sample-ms", type=int, default=250, help="/metrics sampling interval of the throughput run")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for the outbox to drain")


def check_arguments(p, args) -> None:
    if args.baseline_seconds is None:
        args.baseline_seconds = args.seconds
    if args.rounds != 1:
        p.error("cdc runs one round (--samples sets the latency series' size)")


def item(pk: str, i: int) -> dict:
    return {"pk": {"S": pk}, "seq": {"N": str(i)}, "payload": {"S": PAYLOAD}, "active": {"BOOL": True}}


class Tail:
    """One consumer on every partition of some topics, in a thread: `seen[key]` = perf_counter()
    when poll() returned the record with that key."""

    def __init__(self, bootstrap: str, topics: list[str], fetch_wait_ms: int):
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        self.consumer = consumer(bootstrap, fetch_wait_ms)
        self.consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(SHARDS)])
        self.seen: dict[bytes, float] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        perf = time.perf_counter
        while not self.stop.is_set() and not STOP.is_set():
            msg = self.consumer.poll(0.05)
            if msg is None:
                continue
            now = perf()
            if msg.error():
                self.errors.append(str(msg.error()))
                continue
            found = KEY.search(msg.key() or b"")
            if found:
                with self.cond:
                    self.seen[found.group()] = now
                    self.cond.notify_all()

    def wait_for(self, key: bytes, timeout_s: float) -> float | None:
        with self.cond:
            if self.cond.wait_for(lambda: key in self.seen, timeout_s):
                return self.seen[key]
        return None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.consumer.close()


def latency(server, args, report: Report) -> None:
    run = uuid.uuid4().hex[:6]
    create_table(server, "cdc_latency", "NEW_AND_OLD_IMAGES")
    topic = stream_topic(server.bootstrap, "cdc_latency", SHARDS)
    floor_topic = f"cdc-bench-floor-{time.time_ns()}"
    create_topic(server.bootstrap, floor_topic, SHARDS)
    tail = Tail(server.bootstrap, [topic, floor_topic], args.fetch_wait_ms)
    prod = producer(server.bootstrap, linger_ms=0)
    raw = server.raw()
    boto = server.boto3() if args.boto3 else None
    floor_value = dumps(item("x", 0))

    def put_raw(pk: str, i: int) -> None:
        status, data = raw.call_raw("PutItem", dumps({"TableName": "cdc_latency", "Item": item(pk, i)}))
        if status != 200:
            raise RuntimeError(f"PutItem: HTTP {status}: {data[:200]!r}")

    def put_boto3(pk: str, i: int) -> None:
        boto.put_item(TableName="cdc_latency", Item=item(pk, i))

    def produce(pk: str, _i: int) -> None:
        prod.produce(floor_topic, key=pk.encode(), value=floor_value)
        prod.poll(0)

    series = [("raw", "ours, raw client", put_raw, False)]
    if boto is not None:
        series.append(("boto3", "ours, boto3", put_boto3, False))
    series.append(("floor", "floor: raw Kafka produce() -> consumed", produce, True))
    lat: dict[str, list[float]] = {code: [] for code, *_ in series}
    write_ms: dict[str, list[float]] = {code: [] for code, *_ in series}
    missing = {code: 0 for code, *_ in series}
    perf = time.perf_counter
    try:
        done = {code: -args.warmup for code, *_ in series}
        b = 0
        while any(done[c] < args.samples for c in done):
            for code, _name, write, from_write in (series if b % 2 == 0 else list(reversed(series))):
                n = args.warmup if done[code] < 0 else min(args.block, args.samples - done[code])
                for j in range(n):
                    if STOP.is_set():
                        raise KeyboardInterrupt
                    i = done[code] + j
                    key = f"{run}-{code}-{i + args.warmup:07d}"
                    t0 = perf()
                    write(key, i)
                    t1 = perf()
                    seen = tail.wait_for(key.encode(), args.wait_timeout)
                    if i < 0:
                        continue
                    if seen is None:
                        missing[code] += 1
                        continue
                    write_ms[code].append((t1 - t0) * 1000)
                    lat[code].append(max(0.0, seen - (t0 if from_write else t1)) * 1000)
                done[code] += n
            b += 1
            print(f"  latency block {b}: " + ", ".join(f"{c} n={len(v)} p50 {fmt(lat_stats(v)['p50_ms'], 2)}"
                                                      for c, v in lat.items()), flush=True)
    finally:
        tail.close()
        raw.close()
        prod.flush(5)
    t = report.table(f"Change visibility on Kafka: PutItem response -> record consumed (one consumer on all {SHARDS} "
                     f"partitions, fetch.wait.max.ms={args.fetch_wait_ms}; one sequential writer); ms",
                     ["series", "n", "p50", "p90", "p99", "max", "mean", "write call p50", "missing", "target"])
    for code, name, *_ in series:
        s = lat_stats(lat[code])
        target = ""
        if code == "raw":
            ok50 = s["p50_ms"] < P50_TARGET and not missing[code]
            ok99 = s["p99_ms"] < P99_TARGET and not missing[code]
            few = " (fewer than 1,000 samples: indicative)" if s["n"] < 1000 else ""
            report.verdicts += [Verdict(f"visibility p50 < {P50_TARGET:g} ms (ours, raw client)", ok50,
                                        f"{fmt(s['p50_ms'], 2)} ms{few}"),
                                Verdict(f"visibility p99 < {P99_TARGET:g} ms (ours, raw client)", ok99,
                                        f"{fmt(s['p99_ms'], 2)} ms{few}")]
            target = f"p50 < {P50_TARGET:g}, p99 < {P99_TARGET:g}"
        t.add(name, s["n"], *(fmt(s[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")),
              fmt(lat_stats(write_ms[code])["p50_ms"], 2), missing[code], target)
        if missing[code] and code != "floor":
            report.errors.append(f"{name}: {missing[code]} events not seen within {args.wait_timeout:g} s")
    report.data["latency"] = {code: lat_stats(v) for code, v in lat.items()}
    for code, name, *_ in series:
        s = lat_stats(lat[code])
        report.data.setdefault("headline", []).append(
            (f"visibility on Kafka p50 / p99 ms: {name}", f"{fmt(s['p50_ms'], 2)} / {fmt(s['p99_ms'], 2)} (n {s['n']}"
             + (f", {missing[code]} missing)" if missing[code] else ")")))


class Writers:
    """`threads` threads of PutItems of new keys (raw client) from start() until stop()."""

    def __init__(self, server, table: str, threads: int):
        self.ok, self.errors = [0] * threads, [0] * threads
        self.first_error: list[str] = []
        self.stop_event = threading.Event()
        self.barrier = threading.Barrier(threads + 1)
        self.workers = [threading.Thread(target=self._write, args=(server, table, t), daemon=True)
                        for t in range(threads)]
        for w in self.workers:
            w.start()

    def _write(self, server, table: str, t: int) -> None:
        raw = server.raw()
        try:
            self.barrier.wait(60)
            i, consecutive = 0, 0
            while not self.stop_event.is_set() and not STOP.is_set() and consecutive < 50:
                status, data = raw.call_raw("PutItem", dumps({"TableName": table, "Item": item(f"w{t}-{i:08d}", i)}))
                i += 1
                if status == 200:
                    self.ok[t] += 1
                    consecutive = 0
                else:
                    self.errors[t] += 1
                    consecutive += 1
                    if not self.first_error:
                        self.first_error.append(f"HTTP {status}: {data[:200]!r}")
        except threading.BrokenBarrierError:
            pass
        finally:
            raw.close()

    def run_for(self, seconds: float, tick=None) -> float:
        self.barrier.wait(60)
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds and not STOP.is_set():
            time.sleep(0.25)
            if tick:
                tick(time.monotonic() - t0)
        self.stop_event.set()
        for w in self.workers:
            w.join(30)
        return time.monotonic() - t0


def slope(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return None if sxx == 0 else sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


def throughput(server, args, report: Report) -> None:
    t = report.table(f"Publish throughput: {args.threads} writer threads (raw client), PutItem of new keys; server CPU "
                     "= process + children (broker included)",
                     ["run", "seconds", "writes/s", "events published/s", "max backlog rows", "max oldest age s",
                      "backlog growth rows/s (2nd half)", "drained after s", "server CPU ms/write",
                      "of which broker", "topic check"])
    if args.baseline_seconds > 0:
        create_table(server, "cdc_nostream")
        w = Writers(server, "cdc_nostream", args.threads)
        with server.cpu() as cpu:
            window = w.run_for(args.baseline_seconds)
        n = sum(w.ok)
        t.add("no stream (baseline)", fmt(window, 1), fmt(n / window), "-", "-", "-", "-", "-",
              fmt(cpu.per_1k(n), 3), fmt((cpu.children_s or 0) / max(n, 1) * 1000, 3), "-")
        report.data["baseline"] = {"writes": n, "window_s": window, "cpu_ms_per_write": cpu.per_1k(n)}
    create_table(server, "cdc_throughput", "NEW_AND_OLD_IMAGES")
    topic = stream_topic(server.bootstrap, "cdc_throughput", SHARDS)
    reader = MetricsReader(server.port)
    m0 = reader.read()
    samples: list[tuple[float, float, float]] = []   # (t, outbox rows, oldest age)
    w = Writers(server, "cdc_throughput", args.threads)
    last = [0.0]

    def tick(elapsed: float) -> None:
        if elapsed - last[0] >= args.sample_ms / 1000:
            m = reader.read()
            samples.append((elapsed, m.get("cdc_bridge_outbox_rows", 0), m.get("cdc_bridge_outbox_oldest_age_seconds", 0)))
            last[0] = elapsed
            if int(elapsed) != int(elapsed - 0.25):
                print(f"  t={elapsed:5.1f} s writes {sum(w.ok):,} outbox rows {samples[-1][1]:,.0f}", flush=True)
    with server.cpu() as cpu:
        window = w.run_for(args.seconds, tick)
        m1 = reader.read()
        n = sum(w.ok)
        t_stop, drained = time.monotonic(), None
        while time.monotonic() - t_stop < args.drain_timeout and not STOP.is_set():
            m2 = reader.read()
            if m2["cdc_bridge_outbox_rows"] == 0 and \
                    m2["cdc_bridge_events_published_total"] - m0["cdc_bridge_events_published_total"] >= n:
                drained = time.monotonic() - t_stop
                break
            time.sleep(0.05)
    reader.close()
    published = m1["cdc_bridge_events_published_total"] - m0["cdc_bridge_events_published_total"]
    growth = slope([(s[0], s[1]) for s in samples if s[0] >= window / 2])
    keys: set[bytes] = set()
    count, _, complete = read_to_end(server.bootstrap, topic, on_record=lambda msg: keys.add(bytes(msg.key())))
    exact = complete and count == n == len(keys)
    t.add("stream NEW_AND_OLD_IMAGES", fmt(window, 1), fmt(n / window), fmt(published / window),
          fmt(max((s[1] for s in samples), default=0)), fmt(max((s[2] for s in samples), default=0), 3),
          fmt(growth, 1), fmt(drained, 2) if drained is not None else "NO", fmt(cpu.per_1k(n), 3),
          fmt((cpu.children_s or 0) / max(n, 1) * 1000, 3),
          f"{count:,} records / {len(keys):,} keys for {n:,} writes: " + ("exact" if exact else "MISMATCH"))
    if sum(w.errors):
        report.errors.append(f"throughput: {sum(w.errors)} failed writes ({w.first_error[0]})")
    if not exact:
        report.errors.append(f"topic {topic}: {count:,} records / {len(keys):,} keys for {n:,} writes")
    keeps_up = growth is not None and growth <= GROWTH_TARGET * n / window and drained is not None
    report.verdicts.append(Verdict("publishing keeps up (backlog growth over the 2nd half <= 5% of the write rate, "
                                   "drained after the writers stop)", keeps_up,
                                   f"growth {fmt(growth, 1)} rows/s at {fmt(n / window)} writes/s"))
    head = report.data.setdefault("headline", [])
    if "baseline" in report.data:
        b = report.data["baseline"]
        head.append((f"PutItem x{args.threads}, no stream: writes/s [ms CPU per write]",
                     f"{fmt(b['writes'] / b['window_s'])} [{fmt(b['cpu_ms_per_write'], 3)}]"))
    head.append((f"PutItem x{args.threads} with a stream: writes/s [ms CPU per write, of which broker]",
                 f"{fmt(n / window)} [{fmt(cpu.per_1k(n), 3)}, {fmt((cpu.children_s or 0) / max(n, 1) * 1000, 3)}]"))
    head.append(("publishing keeps up / outbox drained after s / topic check",
                 f"{'yes' if keeps_up else 'NO'} / {fmt(drained, 2) if drained is not None else 'NO'} / "
                 f"{'exact' if exact else 'MISMATCH'}"))
    report.data["throughput"] = {"writes": n, "window_s": window, "published": published, "growth": growth,
                                 "drained_after_s": drained, "cpu_ms_per_write": cpu.per_1k(n), "samples": samples}


def run(bench, args) -> Report:
    report = Report("change data capture: visibility on Kafka and publish throughput (ours alone, raw Kafka floor)")
    sys.setswitchinterval(0.0005)  # the consumer thread gets the GIL back quickly when a record arrives
    server = start_ours_up(bench)
    idle = idle_cpu(server.processes, 2.0)
    print(f"{server.describe()}; Kafka {server.broker} at {server.bootstrap}; idle CPU {fmt(idle, 1)}% of a core",
          flush=True)
    report.notes.append(f"idle CPU of ours (process + children): {fmt(idle, 1)}% of a core")
    if args.only in (None, "latency"):
        latency(server, args, report)
    if args.only in (None, "throughput"):
        server.check()
        throughput(server, args, report)
    server.check()
    report.notes.append(f"clients: {RAW_CLIENT}; boto3 parses the answer (~1 ms) before its clock stops")
    return report
