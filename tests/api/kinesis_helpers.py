"""The server the Kinesis tests share (tests/api/test_kinesis_*.py, tests/integration/test_kinesis_*.py):
one `cdc-bridge up` on the session's broker, with short iterator lifetimes, a 1-hour minimum
retention and a short grace period so that expiry, retention and deletion are quick to test.

Set CDC_BRIDGE_TEST_ENDPOINT to run the black-box tests against another endpoint (kinesalite,
moto, ...) instead; tests that need our settings or our Kafka skip there.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from cdc_bridge.testing import endpoint
from tests.conftest import session_up_url

ITERATOR_TTL_S = 8  # long enough for two AWS CLI starts on a loaded machine (the study guide test)
MIN_RETENTION_HOURS = 1
SHARD_LIMIT = 2000
SERVER_ARGS = ("--kinesis-iterator-ttl-seconds", str(ITERATOR_TTL_S),
               "--kinesis-min-retention-hours", str(MIN_RETENTION_HOURS),
               "--kinesis-grace-seconds", "0.2",
               "--kinesis-shard-limit", str(SHARD_LIMIT))
def kinesis_server_url(broker, tmp_path_factory, request) -> str:
    return session_up_url("kinesis", broker, tmp_path_factory, request, *SERVER_ARGS)


def own_server() -> bool:
    return not os.environ.get("CDC_BRIDGE_TEST_ENDPOINT")


def needs_own_server():
    return pytest.mark.skipif(not own_server(), reason="needs our server's settings or its Kafka")


def client(url: str, **config):
    return endpoint(url).kinesis_client(**config)


def new_name(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_active(kinesis, shards: int = 2, name: str | None = None, **extra) -> str:
    name = name or new_name()
    kinesis.create_stream(StreamName=name, ShardCount=shards, **extra)
    wait_active(kinesis, name)
    return name


def wait_active(kinesis, name: str) -> None:
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})


def wait_status(kinesis, name: str, status: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == status or time.monotonic() > deadline:
            return summary
        time.sleep(0.05)


def read_all(kinesis, shard_iterator: str, calls: int = 20) -> list[dict]:
    """Records from an iterator until a call returns none (or the shard ends)."""
    records = []
    for _ in range(calls):
        page = kinesis.get_records(ShardIterator=shard_iterator)
        records += page["Records"]
        shard_iterator = page.get("NextShardIterator")
        if not page["Records"] or shard_iterator is None:
            break
    return records


def shard_records(kinesis, name: str, shard_id: str, kind: str = "TRIM_HORIZON", **extra) -> list[dict]:
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=kind, **extra)["ShardIterator"]
    return read_all(kinesis, it)
