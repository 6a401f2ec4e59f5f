"""Clients: the raw AWS JSON client, boto3 clients, signed headers to replay, Kafka helpers."""

from __future__ import annotations

import contextlib
import http.client
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from bench.harness.procs import HOST

dumps = orjson.dumps
loads = orjson.loads

JSON_10 = "application/x-amz-json-1.0"
JSON_11 = "application/x-amz-json-1.1"
# service -> (X-Amz-Target prefix, content type, a cheap call whose signed headers are replayed)
SERVICES: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "dynamodb": ("DynamoDB_20120810", JSON_10, lambda c: c.list_tables()),
    "dynamodbstreams": ("DynamoDBStreams_20120810", JSON_10, lambda c: c.list_streams()),
    "kinesis": ("Kinesis_20131202", JSON_11, lambda c: c.list_streams()),
    "firehose": ("Firehose_20150804", JSON_11, lambda c: c.list_delivery_streams()),
}
# boto3's own ceilings (shared/benchmarking.md, boto3 1.44 against a stub that answers at once)
BOTO3_CEILING_OPS = 1_100            # any small call, 1-8 threads, one process
BOTO3_STREAMS_CEILING = 17_000       # DynamoDB Streams GetRecords of 1,000 NEW_AND_OLD records of ~250 B
RAW_CLIENT = "raw = http.client keep-alive + orjson (unsigned to ours; SigV4 headers of one boto3 request replayed to peers)"


class RawJsonClient:
    """AWS JSON over one keep-alive HTTP/1.1 connection (reconnects when the server closes it).
    Not thread-safe: one per thread. `headers` (e.g. a replayed Authorization) go on every request."""

    def __init__(self, port: int, service: str = "dynamodb", headers: dict[str, str] | None = None,
                 timeout: float = 30.0):
        prefix, content_type, _ = SERVICES[service]
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.prefix = prefix
        self.base = {"Content-Type": content_type, **(headers or {})}
        self._headers: dict[str, dict[str, str]] = {}

    def call_raw(self, operation: str, body: bytes) -> tuple[int, bytes]:
        headers = self._headers.get(operation)
        if headers is None:
            headers = self._headers[operation] = {**self.base, "X-Amz-Target": f"{self.prefix}.{operation}"}
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", body, headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.conn.close()  # a keep-alive connection the server closed
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, operation: str, request: dict) -> tuple[int, Any]:
        status, data = self.call_raw(operation, dumps(request))
        return status, (loads(data) if data else None)

    def ok(self, operation: str, request: dict) -> Any:
        """The answer of a call that must succeed (RuntimeError otherwise)."""
        status, body = self.call(operation, request)
        if status != 200:
            raise RuntimeError(f"{operation}: HTTP {status}: {str(body)[:300]}")
        return body

    def close(self) -> None:
        self.conn.close()


def boto3_client(service: str, port: int, max_pool: int = 40):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    return session.client(service, endpoint_url=f"http://{HOST}:{port}",
                          config=Config(max_pool_connections=max_pool, retries={"total_max_attempts": 1},
                                        connect_timeout=5, read_timeout=60))


def signed_headers(client, call: Callable[[Any], Any],
                   names: tuple[str, ...] = ("Authorization", "X-Amz-Date")) -> dict[str, str]:
    """Headers of one real boto3 request made by `call(client)`, to replay on raw requests: moto
    picks the service from the SigV4 credential scope, kinesalite and dynalite want both headers;
    none of them checks the signature."""
    seen: dict[str, str] = {}

    def capture(request, **_):
        for name in names:
            value = request.headers.get(name)
            if value is not None and name not in seen:
                seen[name] = value.decode() if isinstance(value, bytes) else value

    client.meta.events.register("before-send", capture)
    try:
        call(client)
    finally:
        client.meta.events.unregister("before-send", capture)
    if not seen:
        raise RuntimeError("boto3 sent no request")
    return seen


# --------------------------------------------------------------------------- Kafka


def quiet_logger() -> logging.Logger:
    logger = logging.getLogger("bench.librdkafka")
    logger.setLevel(logging.ERROR)
    return logger


def consumer(bootstrap: str, fetch_wait_ms: int, **extra):
    """A consumer that is only ever assigned partitions (no group membership)."""
    from confluent_kafka import Consumer

    return Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "fetch.wait.max.ms": fetch_wait_ms, "logger": quiet_logger(), **extra})


def producer(bootstrap: str, linger_ms: int = 1):
    """A producer set up like our publisher: idempotent, acks=all."""
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                     "linger.ms": linger_ms, "logger": quiet_logger()})


def admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap, "logger": quiet_logger()})


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import NewTopic

    client = admin(bootstrap)  # kept referenced until the future is done
    client.create_topics([NewTopic(topic, partitions, 1)], request_timeout=30)[topic].result(30)
    wait_for_topic(bootstrap, lambda t: t == topic, partitions)


def wait_for_topic(bootstrap: str, match: Callable[[str], bool], partitions: int | None = None,
                   timeout_s: float = 60.0) -> str:
    """The name of the first topic `match` accepts (with `partitions` partitions, if given), once
    the broker lists it. Our stream topics are found by name (`dynamodb.<table>.…`) rather than by
    importing the project's naming function: the benchmark talks to the servers from outside."""
    client = admin(bootstrap)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            for name, meta in client.list_topics(timeout=5).topics.items():
                if match(name) and meta.error is None and (partitions is None or len(meta.partitions) == partitions):
                    return name
        time.sleep(0.1)
    raise RuntimeError(f"no matching topic on {bootstrap} after {timeout_s:.0f} s")


def stream_topic(bootstrap: str, table: str, partitions: int | None = None) -> str:
    """The Kafka topic of a table's stream (`dynamodb.<table>.<label>`)."""
    return wait_for_topic(bootstrap, lambda t: t.startswith(f"dynamodb.{table}."), partitions)


def read_to_end(bootstrap: str, topic: str, fetch_wait_ms: int = 100, timeout_s: float = 120.0,
                on_record: Callable[[Any], None] | None = None) -> tuple[int, float, bool]:
    """Read every partition of `topic` from the beginning to its end (PARTITION_EOF): (records,
    seconds, complete)."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    c = consumer(bootstrap, fetch_wait_ms, **{"enable.partition.eof": True})
    try:
        partitions = len(c.list_topics(topic, timeout=10).topics[topic].partitions)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        at_end: set[int] = set()
        n = 0
        t0 = time.perf_counter()
        while len(at_end) < partitions and time.perf_counter() - t0 < timeout_s:
            for msg in c.consume(10_000, 0.1):
                err = msg.error()
                if err is None:
                    n += 1
                    at_end.discard(msg.partition())
                    if on_record is not None:
                        on_record(msg)
                elif err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                else:
                    raise RuntimeError(f"reading {topic}: {err}")
        return n, time.perf_counter() - t0, len(at_end) == partitions
    finally:
        c.close()


class AckTimer:
    """The broker's produce -> acknowledge latency: one record at a time, timed from produce() to
    its delivery report (the floor of any Kafka-backed change capture)."""

    def __init__(self, bootstrap: str, topic: str, linger_ms: int = 0):  # as our publisher produces
        self.p = producer(bootstrap, linger_ms)
        self.topic = topic
        self.done = threading.Event()
        self.error: str | None = None

    def _delivered(self, err, _msg) -> None:
        if err is not None:
            self.error = str(err)
        self.done.set()

    def once(self, key: bytes, value: bytes) -> float:
        self.done.clear()
        t0 = time.perf_counter()
        self.p.produce(self.topic, value, key, on_delivery=self._delivered)
        while not self.done.is_set():
            self.p.poll(0.0005)
        if self.error:
            raise RuntimeError(f"produce: {self.error}")
        return (time.perf_counter() - t0) * 1000

    def close(self) -> None:
        self.p.flush(5)
