"""The `cdc-bridge` command line as a user runs it: help, `up`, health, Ctrl-C, crashes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from cdc_bridge.broker import free_port
from tests.conftest import client_kwargs, wait_healthy

CLI = [sys.executable, "-m", "cdc_bridge.cli"]


def children_of(pid: int) -> list[int]:
    """Child processes started by any thread of `pid`."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return children


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("command", ["up", "table-api", "connector", "broker"])
def test_every_option_of_every_command_is_explained_with_its_environment_variable(command):
    out = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True, check=True).stdout
    blocks = re.split(r"\n(?=  -)", out.split("options:", 1)[1])
    options = [b for b in blocks if b.strip().startswith("--")]
    assert options
    for block in (" ".join(b.split()) for b in options):
        assert "[env: " in block, f"no environment variable in: {block.strip()}"
        assert len(block.split()) > 3, f"no explanation in: {block.strip()}"


def test_up_defaults_match_the_readme():
    out = subprocess.run([*CLI, "up", "--help"], capture_output=True, text=True, check=True).stdout
    out = " ".join(out.split())
    assert "CDC_BRIDGE_HOST] (default: 127.0.0.1)" in out
    assert "CDC_BRIDGE_PORT] (default: 8000)" in out
    assert "--data-dir" in out


def start_up(tmp_path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "up", "--port", str(port), "--data-dir", str(tmp_path / "data"), *extra],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


def test_up_serves_dynamodb_reports_health_and_ctrl_c_stops_everything(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    process, url = start_up(tmp_path, env=env)
    try:
        health = wait_healthy(url, 60, process)
        assert health["status"] == "ready"
        assert health["parts"]["broker"]["state"] == "ready"
        assert health["parts"]["broker"]["bootstrap_servers"]
        assert health["parts"]["table_api"]["state"] == "ready"
        brokers = children_of(process.pid)
        assert brokers, "up started no broker process"

        client = boto3.client("dynamodb", **client_kwargs(url))
        client.create_table(TableName="cli-up", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        assert "cli-up" in client.list_tables()["TableNames"]
        assert (tmp_path / "data" / "tables.sqlite3").exists()

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(15) == 0
        assert all(wait_gone(pid) for pid in brokers), "the broker outlived `up`"
    finally:
        if process.poll() is None:
            process.kill()


def test_killing_up_with_sigkill_takes_the_broker_down_too(tmp_path):
    process, url = start_up(tmp_path)
    try:
        wait_healthy(url, 60, process)
        brokers = children_of(process.pid)
        assert brokers
        process.kill()
        process.wait(10)
        assert all(wait_gone(pid) for pid in brokers), "the broker outlived a SIGKILLed `up`"
    finally:
        if process.poll() is None:
            process.kill()


def test_health_is_503_until_the_broker_answers_and_ctrl_c_still_stops(tmp_path):
    silent = f"127.0.0.1:{free_port()}"  # nothing listens there
    process, url = start_up(tmp_path, "--kafka-bootstrap-servers", silent)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 503
        assert response.json()["parts"]["broker"]["state"] == "starting"
        request = httpx.post(url, headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                           "Content-Type": "application/x-amz-json-1.0"}, content=b"{}")
        assert request.status_code == 503
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_data_survives_a_restart_of_up(tmp_path):
    for round_ in range(2):
        process, url = start_up(tmp_path)
        try:
            wait_healthy(url, 60, process)
            client = boto3.client("dynamodb", **client_kwargs(url))
            if round_ == 0:
                client.create_table(TableName="durable", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                                    AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                                    BillingMode="PAY_PER_REQUEST")
                client.put_item(TableName="durable", Item={"k": {"S": "a"}, "v": {"N": "1.50"}})
            else:
                item = client.get_item(TableName="durable", Key={"k": {"S": "a"}})["Item"]
                assert item == {"k": {"S": "a"}, "v": {"N": "1.5"}}
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(15)


def ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job of a shell starts its children


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_broker_command_prints_its_address_and_serves_kafka(inherited):
    """Ctrl-C (SIGINT) stops it, also when it inherited SIGINT ignored (started from a background job)."""
    port = free_port()
    process = subprocess.Popen([*CLI, "broker", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=ignoring_sigint if inherited == "ignored" else None)
    try:
        line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=5)
        brokers = children_of(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0  # Apache Kafka's controlled shutdown, on a loaded machine
        assert all(wait_gone(pid) for pid in brokers)
    finally:
        if process.poll() is None:
            process.kill()


def test_up_again_on_the_memory_broker_keeps_each_stream_and_raises_its_epoch(tmp_path):
    """The embedded broker keeps its topics in memory: when `up` starts again on an existing data
    directory the tables are back but their topics (and the catalog topic) are not. Each stream
    stays the same stream: ARN, label, shard ids and view type are unchanged, enabled streams get
    their topic again, disabled ones (within retention) are listed and described again, and the
    stream's data epoch is raised by one. Sequence numbers after the restart are higher and carry
    the new epoch; a sequence number or iterator from before is TrimmedDataAccessException (a
    position in data that is gone), never a record that now has its offset. Events the publisher had
    not delivered when `up` died go to the re-made topic."""
    from connector.ids import parse_sequence_number

    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    args = ("--broker", "memory", "--iterator-secret", "restart-test-secret")
    before: dict = {}
    for round_ in range(2):
        process, url = start_up(tmp_path, *args, env=env)
        try:
            wait_healthy(url, 60, process)
            ddb = boto3.client("dynamodb", **client_kwargs(url))
            streams = boto3.client("dynamodbstreams", **client_kwargs(url))
            if round_ == 0:
                for name in ("kept", "off"):
                    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                                     BillingMode="PAY_PER_REQUEST",
                                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
                ddb.put_item(TableName="off", Item={"k": {"S": "off"}})
                off = ddb.update_table(TableName="off", StreamSpecification={"StreamEnabled": False})
                before["off"] = off["TableDescription"]["LatestStreamArn"]
                ddb.put_item(TableName="kept", Item={"k": {"S": "round-0"}})
            table = ddb.describe_table(TableName="kept")["Table"]
            arn = table["LatestStreamArn"]
            assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            # known to the connector as soon as `up` is ready: no ResourceNotFound while it catches up
            description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
            shards = [s["ShardId"] for s in description["Shards"]]
            if round_ == 0:
                [record] = read_stream(streams, arn)
                shard = next(s for s in shards if reads(streams, arn, s))
                position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                before.update(arn=arn, label=table["LatestStreamLabel"], shards=shards, record=record, shard=shard,
                              iterator=position, description=description)
                assert parse_sequence_number(record["dynamodb"]["SequenceNumber"])[0] == 0
                # An event the publisher cannot deliver before `up` dies: the broker stops answering
                # (once the delivered rows are gone from the outbox: a delivered row not yet removed
                # would be shipped again to the re-made topic, rightly, but not by this test's count).
                wait_outbox_rows(url, 0)
                for pid in children_of(process.pid):
                    os.kill(pid, signal.SIGSTOP)
                ddb.put_item(TableName="kept", Item={"k": {"S": "undelivered"}})
                wait_outbox_rows(url, 1)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(15)
                continue
            # the same stream, its data one epoch later
            assert (arn, table["LatestStreamLabel"], shards) == (before["arn"], before["label"], before["shards"])
            assert description["StreamViewType"] == "NEW_IMAGE" and description["StreamStatus"] == "ENABLED"
            assert {s["StreamArn"] for s in streams.list_streams(TableName="kept")["Streams"]} == {arn}
            for shard in description["Shards"]:
                epoch, _, _ = parse_sequence_number(shard["SequenceNumberRange"]["StartingSequenceNumber"])
                assert epoch == 1, shard
            ddb.put_item(TableName="kept", Item={"k": {"S": "round-1"}})
            records = read_stream(streams, arn, want=2)
            assert sorted(r["dynamodb"]["Keys"]["k"]["S"] for r in records) == ["round-1", "undelivered"]
            old = before["record"]["dynamodb"]["SequenceNumber"]
            for record in records:
                number = record["dynamodb"]["SequenceNumber"]
                assert parse_sequence_number(number)[0] == 1 and int(number) > int(old) and number > old
            # positions from before the restart: trimmed, whatever now has their offsets
            for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
                with pytest.raises(ClientError) as info:
                    streams.get_shard_iterator(StreamArn=arn, ShardId=before["shard"], ShardIteratorType=kind,
                                               SequenceNumber=old)
                assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException", kind
            with pytest.raises(ClientError) as info:
                streams.get_records(ShardIterator=before["iterator"])
            assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException"
            # the disabled stream is known again, at the new epoch
            listed = wait_listed(streams, "off")
            assert [s["StreamArn"] for s in listed] == [before["off"]]
            off = streams.describe_stream(StreamArn=before["off"])["StreamDescription"]
            assert off["StreamStatus"] == "DISABLED"
            assert all(parse_sequence_number(s["SequenceNumberRange"]["StartingSequenceNumber"])[0] == 1
                       for s in off["Shards"])
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(15)


def wait_outbox_rows(url: str, rows: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (now := httpx.get(f"{url}/health", timeout=5).json()["parts"]["table_api"].get("outbox_rows")) != rows:
        assert time.monotonic() < deadline, f"the outbox holds {now} rows, not {rows}"
        time.sleep(0.05)


def wait_listed(streams, table: str, timeout_s: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        listed = streams.list_streams(TableName=table)["Streams"]
        if listed or time.monotonic() > deadline:
            return listed
        time.sleep(0.1)


def reads(streams, arn: str, shard: str) -> list[dict]:
    position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=position)["Records"]


def read_stream(streams, arn: str, timeout_s: float = 10.0, want: int = 1) -> list[dict]:
    """Every record of every shard from TRIM_HORIZON, waiting until at least `want` arrived."""
    deadline = time.monotonic() + timeout_s
    records = []
    while time.monotonic() < deadline:
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records += streams.get_records(ShardIterator=iterator)["Records"]
        if len(records) >= want:
            return records
        time.sleep(0.1)
    return records
