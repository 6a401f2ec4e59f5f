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


def test_broker_command_prints_its_address_and_serves_kafka():
    port = free_port()
    process = subprocess.Popen([*CLI, "broker", "--port", str(port)], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=5)
        brokers = children_of(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert all(wait_gone(pid) for pid in brokers)
    finally:
        if process.poll() is None:
            process.kill()


def test_up_again_on_the_same_data_dir_replaces_streams_whose_topics_the_broker_lost(tmp_path):
    """The embedded broker keeps its topics in memory: when `up` starts again on an existing data
    directory the tables are back but their topics are not, so each enabled stream is replaced by
    a new one (new label and ARN) instead of reusing offsets that are gone."""
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    arns = []
    for round_ in range(2):
        process, url = start_up(tmp_path, env=env)
        try:
            wait_healthy(url, 60, process)
            ddb = boto3.client("dynamodb", **client_kwargs(url))
            streams = boto3.client("dynamodbstreams", **client_kwargs(url))
            if round_ == 0:
                ddb.create_table(TableName="kept", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST",
                                 StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
            table = ddb.describe_table(TableName="kept")["Table"]
            arns.append(table["LatestStreamArn"])
            assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            ddb.put_item(TableName="kept", Item={"k": {"S": f"round-{round_}"}})
            assert [r["dynamodb"]["Keys"]["k"]["S"] for r in read_stream(streams, arns[-1])] == [f"round-{round_}"]
            if round_ == 1:
                assert arns[1] != arns[0]
                listed = {s["StreamArn"] for s in streams.list_streams(TableName="kept")["Streams"]}
                assert listed == set(arns)
                old = streams.describe_stream(StreamArn=arns[0])["StreamDescription"]
                assert old["StreamStatus"] == "DISABLED"
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(15)


def read_stream(streams, arn: str, timeout_s: float = 10.0) -> list[dict]:
    """Every record of every shard from TRIM_HORIZON, waiting until at least one arrives."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            records += streams.get_records(ShardIterator=iterator)["Records"]
        if records:
            return records
        time.sleep(0.1)
    return []
