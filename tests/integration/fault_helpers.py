"""Helpers for the exactly-once fault tests: writers that record what was acknowledged, a reader
for a stream topic, the exactly-once checker, /metrics, a TCP proxy that can cut connections,
and process lookup for the embedded broker."""

from __future__ import annotations

import itertools
import random
import re
import select
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
from confluent_kafka.admin import AdminClient

from schemas import codec
from tests.integration.kafka_reading import read_to_end

TARGET = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
AUTH = ("AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")


# -- DynamoDB over plain HTTP ------------------------------------------------------------------


def call(client: httpx.Client, url: str, operation: str, body: dict, timeout: float = 10.0) -> httpx.Response:
    return client.post(url, json=body, timeout=timeout, headers={
        "X-Amz-Target": TARGET + operation, "Content-Type": CONTENT_TYPE, "Authorization": AUTH})


def must(url: str, operation: str, body: dict) -> dict:
    with httpx.Client() as client:
        response = call(client, url, operation, body)
    assert response.status_code == 200, f"{operation}: {response.status_code} {response.text}"
    return response.json()


def create_streamed_table(url: str, name: str) -> str:
    """A table keyed by `pk` (S) with a NEW_AND_OLD_IMAGES stream; returns the stream's topic."""
    from contracts.stream_catalog import topic_name

    must(url, "CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    })
    table = must(url, "DescribeTable", {"TableName": name})["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    return topic_name(name, table["LatestStreamLabel"])


def current_stream_topic(url: str, name: str) -> str:
    from contracts.stream_catalog import topic_name

    return topic_name(name, must(url, "DescribeTable", {"TableName": name})["Table"]["LatestStreamLabel"])


def get_version(url: str, table: str, key: str) -> int | None:
    item = must(url, "GetItem", {"TableName": table, "Key": {"pk": {"S": key}}, "ConsistentRead": True}).get("Item")
    return None if item is None else int(item["v"]["N"])


# -- writers -----------------------------------------------------------------------------------


ACKED, REFUSED, UNKNOWN = "acked", "refused", "unknown"


@dataclass
class Outcomes:
    """What each write attempt (key, version) came to. Versions are unique per key and increase
    with every attempt, so an event names the one request that made it."""
    by_write: dict[tuple[str, int], str] = field(default_factory=dict)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start monotonic, seconds) of acked writes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, v: int, outcome: str, started: float | None = None, seconds: float | None = None):
        with self.lock:
            self.by_write[(key, v)] = outcome
            if started is not None:
                self.latencies.append((started, seconds))

    def count(self, outcome: str) -> int:
        with self.lock:
            return sum(1 for o in self.by_write.values() if o == outcome)

    def acked_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for started, _ in self.latencies if started >= moment)

    def latencies_between(self, start: float, end: float) -> list[float]:
        with self.lock:
            return [s for t, s in self.latencies if start <= t < end]


class Target:
    """The URL writers send to; it changes when the server comes back on another port."""

    def __init__(self, url: str):
        self.url = url
        self.lock = threading.Lock()

    def get(self) -> str:
        with self.lock:
            return self.url

    def set(self, url: str) -> None:
        with self.lock:
            self.url = url


class Writers:
    """`threads` threads, each owning `keys_per_thread` keys, put {"pk": key, "v": n, ...} with
    n increasing per key on every attempt. One attempt in `refuse_every` carries a condition that
    cannot hold (v = -1): it must be refused and must never have an event.

    Outcome of an attempt: HTTP 200 -> acknowledged; HTTP 400 (a failed condition, a validation
    error) or 503 (the part is not ready: refused before the handler runs) or a connection that
    could not be opened (nothing was sent) -> refused; anything else (a connection lost after the
    request went out, a timeout, another 5xx) -> unknown: it may or may not have committed."""

    def __init__(self, target: Target, table: str, outcomes: Outcomes, threads: int = 4,
                 keys_per_thread: int = 25, refuse_every: int = 17, pace_s: float = 0.0,
                 timeout_s: float = 10.0, seed: int = 0):
        self.target, self.table, self.outcomes = target, table, outcomes
        self.threads_n, self.keys_per_thread, self.refuse_every = threads, keys_per_thread, refuse_every
        self.pace_s, self.timeout_s = pace_s, timeout_s
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i, random.Random(seed * 1000 + i)),
                                         name=f"writer-{i}", daemon=True) for i in range(threads)]
        self.last_version: dict[str, int] = {}

    def keys(self) -> list[str]:
        return [f"w{t}-k{k:03d}" for t in range(self.threads_n) for k in range(self.keys_per_thread)]

    def start(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout_s: float = 30.0) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout_s
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "a writer thread did not stop"

    def _run(self, index: int, rng: random.Random) -> None:
        keys = [f"w{index}-k{k:03d}" for k in range(self.keys_per_thread)]
        versions = {key: 0 for key in keys}
        url, client = None, None
        attempt = 0
        try:
            while not self.stop.is_set():
                if self.target.get() != url:
                    if client is not None:
                        client.close()
                    url, client = self.target.get(), httpx.Client()
                key = rng.choice(keys)
                versions[key] += 1
                v = versions[key]
                attempt += 1
                refuse = attempt % self.refuse_every == 0
                body = {"TableName": self.table,
                        "Item": {"pk": {"S": key}, "v": {"N": str(v)}, "w": {"S": f"writer {index}"},
                                 "pad": {"S": "x" * rng.randrange(0, 200)}}}
                if refuse:
                    body["ConditionExpression"] = "v = :never"
                    body["ExpressionAttributeValues"] = {":never": {"N": "-1"}}
                started = time.monotonic()
                try:
                    response = call(client, url, "PutItem", body, timeout=self.timeout_s)
                except httpx.ConnectError:
                    self.outcomes.record(key, v, REFUSED)
                    time.sleep(0.02)  # the server is down or restarting
                    continue
                except httpx.TransportError as exc:
                    self.outcomes.record(key, v, UNKNOWN)
                    self.errors.append(f"{key} v{v}: {type(exc).__name__}")
                    client.close()
                    client = httpx.Client()
                    time.sleep(0.02)
                    continue
                seconds = time.monotonic() - started
                status = response.status_code
                if status == 200:
                    self.outcomes.record(key, v, ACKED, started, seconds)
                    if refuse:
                        self.unexpected.append(f"{key} v{v}: a put with a condition that cannot hold succeeded")
                elif status == 400 or status == 503:
                    self.outcomes.record(key, v, REFUSED)
                    error = response.json().get("__type", "")
                    if refuse and status == 400 and not error.endswith("ConditionalCheckFailedException"):
                        self.unexpected.append(f"{key} v{v}: {status} {response.text[:200]}")
                    if not refuse and status == 400:
                        self.unexpected.append(f"{key} v{v}: {status} {response.text[:200]}")
                    if status == 503:
                        time.sleep(0.02)
                else:
                    self.outcomes.record(key, v, UNKNOWN)
                    self.unexpected.append(f"{key} v{v}: {status} {response.text[:200]}")
                if self.pace_s:
                    time.sleep(self.pace_s)
        finally:
            if client is not None:
                client.close()


# -- reading a stream topic --------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    partition: int
    offset: int
    seq: int
    name: str
    key: str
    v: int | None  # NewImage's version (None for REMOVE)
    old_v: int | None  # OldImage's version (None for INSERT)


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> list[Event]:
    """Every record of every partition of `topic`, read to the end of each (PARTITION_EOF:
    the embedded broker's ListOffsets may be low, so the end is found by fetching)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    metadata = admin.list_topics(topic, timeout=10)
    partitions = sorted(metadata.topics[topic].partitions)
    assert partitions, f"topic {topic} has no partitions"
    events: list[Event] = []
    for message in read_to_end(bootstrap, topic, partitions, timeout_s):
        headers = dict(message.headers() or ())
        event = codec.decode_event(codec.unframe(message.value())[1])
        key = codec.decode_key(codec.unframe(message.key())[1])
        record = event["dynamodb"]
        assert key == record["Keys"], (key, record["Keys"])
        new, old = record.get("NewImage"), record.get("OldImage")
        events.append(Event(
            partition=message.partition(), offset=message.offset(),
            seq=int.from_bytes(headers["cdc-bridge-seq"], "big"),
            name=event["eventName"], key=record["Keys"]["pk"]["S"],
            v=int(new["v"]["N"]) if new else None, old_v=int(old["v"]["N"]) if old else None,
        ))
    return events


@dataclass
class Verdict:
    events: int
    keys: int
    acked: int
    unknown_committed: int
    unknown_lost: int
    problems: list[str]


def check_exactly_once(events: list[Event], outcomes: Outcomes, final_versions: dict[str, int | None]) -> Verdict:
    """Every acknowledged write has exactly one event; no write has two; per key the events are
    in one partition, in increasing version order, each MODIFY's OldImage is the version of the
    key's previous event; every event is of an acknowledged write or of one whose outcome is
    unknown, never of a refused one; the seq header increases along each partition; and the
    last event of each key is the item as it is now in the table."""
    problems: list[str] = []
    seen: dict[tuple[str, int], list[Event]] = defaultdict(list)
    by_key: dict[str, list[Event]] = defaultdict(list)
    by_partition: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        by_partition[e.partition].append(e)
        if e.name == "REMOVE" or e.v is None:
            problems.append(f"unexpected {e.name} event: {e}")
            continue
        seen[(e.key, e.v)].append(e)
        by_key[e.key].append(e)
    for p, in_partition in by_partition.items():
        in_partition.sort(key=lambda e: e.offset)
        for a, b in itertools.pairwise(in_partition):
            if b.seq <= a.seq:
                problems.append(f"partition {p}: seq not increasing: offset {a.offset} seq {a.seq}, "
                                f"offset {b.offset} seq {b.seq}")
    for write, copies in seen.items():
        if len(copies) > 1:
            problems.append(f"{write} has {len(copies)} events: "
                            + ", ".join(f"p{e.partition}@{e.offset} seq {e.seq}" for e in copies))
        outcome = outcomes.by_write.get(write)
        if outcome is None:
            problems.append(f"event of a write never attempted: {write}")
        elif outcome == REFUSED:
            problems.append(f"event of a refused write: {write} ({copies[0]})")
    acked = [w for w, o in outcomes.by_write.items() if o == ACKED]
    for write in acked:
        if write not in seen:
            problems.append(f"acknowledged write without an event: {write}")
    for key, key_events in by_key.items():
        if len({e.partition for e in key_events}) != 1:
            problems.append(f"{key}: events in partitions {sorted({e.partition for e in key_events})}")
        key_events.sort(key=lambda e: (e.partition, e.offset))
        previous = None
        for e in key_events:
            if previous is None:
                if e.name != "INSERT" or e.old_v is not None:
                    problems.append(f"{key}: first event is not an INSERT: {e}")
            else:
                if e.v <= previous.v:
                    problems.append(f"{key}: v{e.v} after v{previous.v} (offsets {previous.offset}, {e.offset})")
                if e.name != "MODIFY" or e.old_v != previous.v:
                    problems.append(f"{key}: {e.name} v{e.v} has OldImage v{e.old_v}, previous event is v{previous.v}")
            previous = e
    for key, version in final_versions.items():
        last = by_key[key][-1].v if by_key.get(key) else None
        if last != version:
            problems.append(f"{key}: the table holds v{version}, the last event says v{last}")
    unknown = [w for w, o in outcomes.by_write.items() if o == UNKNOWN]
    committed = sum(1 for w in unknown if w in seen)
    return Verdict(len(events), len(by_key), len(acked), committed, len(unknown) - committed, problems)


# -- /metrics ----------------------------------------------------------------------------------


def metrics(url: str, timeout_s: float = 5.0) -> dict[str, float]:
    response = httpx.get(f"{url}/metrics", timeout=timeout_s)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers["content-type"]
    values = {}
    for line in response.text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?", line)
        assert match, f"not Prometheus text format: {line!r}"
        values[match.group(1)] = float(match.group(3))
    return values


def wait_drained(url: str, timeout_s: float) -> dict[str, float]:
    """Wait until the outbox is empty; return the last metrics seen."""
    deadline = time.monotonic() + timeout_s
    last = {}
    while time.monotonic() < deadline:
        last = metrics(url)
        if last.get("cdc_bridge_outbox_rows") == 0:
            return last
        time.sleep(0.2)
    raise AssertionError(f"outbox not drained after {timeout_s}s: {last}")


# -- a TCP proxy that can cut every connection -------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to `upstream`. `cut()` resets every open connection and refuses
    new ones until `restore()`."""

    def __init__(self, upstream: tuple[str, int], port: int = 0):
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.open = threading.Event()
        self.open.set()
        self.closing = threading.Event()
        self.cuts = 0  # a generation: a connection opened before the last cut is reset
        self.thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self.thread.start()
        return self

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.open.is_set():
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            threading.Thread(target=self._pump, args=(client, server, self.cuts), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket, generation: int) -> None:
        try:
            while not self.closing.is_set() and self.cuts == generation:
                readable, _, _ = select.select([a, b], [], [], 0.05)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                _reset(s)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones (within ~50 ms)."""
        self.open.clear()
        self.cuts += 1

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.closing.set()
        self.cut()
        self.listener.close()
        self.thread.join(2)


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a cut network would look."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
