"""`cdc-bridge tail` against a live `cdc-bridge up`: what it prints for known writes to a table's
stream and to a Kinesis stream (new shards included), the progress lines while a backlog is read,
the endpoint from AWS_ENDPOINT_URL, and a clean end on Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.api.helpers import create_table
from tests.api.kinesis_helpers import client as kinesis_client
from tests.api.kinesis_helpers import create_active, kinesis_server_url, needs_own_server, wait_status
from tests.integration.streams_helpers import (
    create_stream_table,
    dynamodb_client,
    read_stream,
    streams_client,
    unique_name,
)

pytestmark = [pytest.mark.timeout(120), needs_own_server()]

WAIT_S = 45.0  # generous: the machine may be loaded


@pytest.fixture(scope="module")
def url(broker, tmp_path_factory, request):
    return kinesis_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="module")
def ddb(url):
    return dynamodb_client(url)


@pytest.fixture(scope="module")
def kinesis(url):
    return kinesis_client(url)


class TailProcess:
    """`cdc-bridge tail` as a child process; its stdout lines and stderr lines gathered as they come."""

    def __init__(self, *args: str, env: dict | None = None):
        environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "cdc_bridge.cli", "tail", *args], env=environment,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.pumps = [threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put), daemon=True),
                      threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr.append), daemon=True)]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def wait_stderr(self, text: str, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.stderr):
            if self.process.poll() is not None:  # exited: everything it wrote is read once the pumps end
                for pump in self.pumps:
                    pump.join(10)
                assert any(text in line for line in self.stderr), f"tail exited ({self.process.returncode}): {self.stderr}"
                return
            assert time.monotonic() < deadline, f"no {text!r} on stderr after {timeout_s}s: {self.stderr}"
            time.sleep(0.05)

    def records(self, count: int, timeout_s: float = WAIT_S) -> list[dict]:
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(got)} of {count} records after {timeout_s}s; stderr: {self.stderr}"
            try:
                got.append(json.loads(self.lines.get(timeout=min(remaining, 1.0))))
            except queue.Empty:
                pass
        return got

    def quiet_for(self, seconds: float) -> list[str]:
        """Lines printed within `seconds` (none expected)."""
        time.sleep(seconds)
        return [self.lines.get_nowait() for _ in range(self.lines.qsize())]

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def tails():
    started: list[TailProcess] = []

    def start(*args: str, env: dict | None = None) -> TailProcess:
        started.append(TailProcess(*args, env=env))
        return started[-1]

    yield start
    for tail in started:
        tail.stop()


def write_history(ddb, table: str, keys: int) -> None:
    for i in range(keys):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": "1"}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "k0"}}, UpdateExpression="SET v = :two",
                    ExpressionAttributeValues={":two": {"N": "2"}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "k1"}})


def test_tail_of_a_table_prints_every_change_from_trim_horizon_with_progress_and_ends_on_ctrl_c(ddb, tails, url):
    table, arn = create_stream_table(ddb)
    write_history(ddb, table, keys=60)
    read_stream(streams_client(url), arn, total=62, timeout_s=WAIT_S)  # all published: one backlog to catch up
    tail = tails(table, "--endpoint-url", url, "--from", "trim-horizon", "--page-size", "10")
    records = tail.records(62)
    assert sorted(r["eventName"] for r in records).count("INSERT") == 60
    by_key: dict[str, list[str]] = {}
    for record in records:
        assert record["eventSource"] == "aws:dynamodb" and record["awsRegion"] == "us-east-1"
        by_key.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], []).append(record["eventName"])
    assert by_key["k0"] == ["INSERT", "MODIFY"] and by_key["k1"] == ["INSERT", "REMOVE"]
    modify = next(r for r in records if r["eventName"] == "MODIFY")
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    tail.wait_stderr("caught up: 62 records")
    assert any("catching up" in line for line in tail.stderr)
    assert tail.interrupt() == 0
    assert not any("Traceback" in line for line in tail.stderr), tail.stderr


def test_tail_from_latest_prints_only_what_is_written_after_it_starts(ddb, tails, url):
    table, arn = create_stream_table(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "before"}})
    read_stream(streams_client(url), arn, total=1, timeout_s=WAIT_S)  # published (asynchronously) before tail starts
    tail = tails(arn, env={"AWS_ENDPOINT_URL": url})  # a stream ARN; the endpoint from the environment
    tail.wait_stderr("following")
    assert tail.quiet_for(1.0) == []
    ddb.put_item(TableName=table, Item={"pk": {"S": "after"}, "n": {"B": b"\x00\xff"}})
    [record] = tail.records(1)
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "after"}}
    assert record["dynamodb"]["NewImage"]["n"] == {"B": base64.b64encode(b"\x00\xff").decode()}
    assert tail.interrupt() == 0


def test_tail_of_a_kinesis_stream_follows_the_shards_a_reshard_adds(kinesis, tails, url):
    name = create_active(kinesis, shards=1)
    kinesis.put_record(StreamName=name, Data=b"first", PartitionKey="p0")
    tail = tails(name, "--endpoint-url", url, "--from", "trim-horizon")
    [first] = tail.records(1)
    assert base64.b64decode(first["Data"]) == b"first" and first["PartitionKey"] == "p0"
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    wait_status(kinesis, name, "ACTIVE", timeout_s=30)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert len(shards) == 3, shards  # the closed parent and its two children
    sent = [kinesis.put_record(StreamName=name, Data=f"r{i}".encode(), PartitionKey=f"p{i}") for i in range(20)]
    assert len({s["ShardId"] for s in sent}) == 2  # both children got records
    records = tail.records(20)
    assert sorted(base64.b64decode(r["Data"]) for r in records) == sorted(f"r{i}".encode() for i in range(20))
    assert tail.interrupt() == 0


def test_tail_of_an_unknown_name_says_so_and_exits_2(tails, url):
    tail = tails("no-such-table-or-stream", "--endpoint-url", url)
    assert tail.process.wait(60) == 2
    tail.wait_stderr("no table and no Kinesis stream of that name")


def test_tail_of_a_table_without_a_stream_says_so(ddb, tails, url):
    table = unique_name("nostream")
    create_table(ddb, table)
    tail = tails(table, "--endpoint-url", url)
    assert tail.process.wait(60) == 2
    tail.wait_stderr(f"table {table} has no stream enabled")


def test_tail_ends_with_0_once_the_tables_stream_is_disabled(ddb, tails, url):
    table, _ = create_stream_table(ddb)
    tail = tails(table, "--endpoint-url", url)
    tail.wait_stderr("following")
    ddb.put_item(TableName=table, Item={"pk": {"S": "last"}})
    assert tail.records(1)[0]["dynamodb"]["Keys"] == {"pk": {"S": "last"}}
    ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    assert tail.process.wait(WAIT_S) == 0
    tail.wait_stderr("has ended: the stream was disabled or deleted")
