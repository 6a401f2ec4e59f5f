"""The data directory across restarts of `cdc-bridge up`: Kinesis streams and Firehose delivery streams
restored from it when the memory broker lost them, a table's Kinesis streaming destination kept, the
iterator key kept in it, and its format version (a data directory of release 84f6bf6 migrated in place;
a newer one refused)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import boto3
import orjson
import pytest

from cdc_bridge.broker import free_port
from cdc_bridge.data_dir import FORMAT_VERSION
from connector.ids import parse_kinesis_sequence_number
from tests.conftest import client_kwargs, wait_healthy
from tests.integration.test_cli import CLI

FIXTURE = Path(__file__).parent.parent / "fixtures" / "data-dir-format-1"
# What the fixture holds (made by `cdc-bridge up` of release 84f6bf6 on a memory broker).
FIXTURE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/Release1/stream/2026-12-07T06:53:22.709"


def start_up(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """`up` on the memory broker (whatever the suite's broker: this is about what it loses)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "CDC_BRIDGE_ITERATOR_SECRET")}
    process = subprocess.Popen(
        [*CLI, "up", "--port", str(port), "--data-dir", str(data_dir), "--broker", "memory", *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    return process.stderr.read()


def wait_status(kinesis, name: str, status: str, timeout_s: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == status or time.monotonic() > deadline:
            assert summary["StreamStatus"] == status
            return summary
        time.sleep(0.1)


def read_all(kinesis, iterator: str, want: int, timeout_s: float = 10.0) -> list[dict]:
    records: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < want and time.monotonic() < deadline:
        page = kinesis.get_records(ShardIterator=iterator)
        records += page["Records"]
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            time.sleep(0.05)
    return records


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_kinesis_streams_survive_a_memory_broker_restart(tmp_path, how):
    """CreateStream + PutRecords, stop, start again on the same data dir: the stream is listed
    with the same ARN, shards (ids, hash key ranges), retention and tags; its old records are
    gone; new records get sequence numbers of the next epoch (higher); a sequence number from
    before reads on from TRIM_HORIZON, and an iterator from before is accepted (its key is in the
    data dir) and reads the new data from the trim horizon. A stream left DELETING is gone. `up`
    is stopped with Ctrl-C, or SIGKILLed with its whole process group (broker included)."""
    data = tmp_path / "data"
    before: dict = {}
    for round_ in range(2):
        process, url = start_up(data, "--kinesis-grace-seconds", "60")
        try:
            wait_healthy(url, 60, process)
            kinesis = boto3.client("kinesis", **client_kwargs(url))
            if round_ == 0:
                kinesis.create_stream(StreamName="kept", ShardCount=3)
                kinesis.create_stream(StreamName="going", ShardCount=1)
                wait_status(kinesis, "kept", "ACTIVE")
                wait_status(kinesis, "going", "ACTIVE")
                kinesis.increase_stream_retention_period(StreamName="kept", RetentionPeriodHours=48)
                kinesis.add_tags_to_stream(StreamName="kept", Tags={"team": "data"})
                put = kinesis.put_records(StreamName="kept", Records=[
                    {"Data": f"before-{i}".encode(), "PartitionKey": "one-key"} for i in range(5)])
                assert put["FailedRecordCount"] == 0
                shard = put["Records"][0]["ShardId"]
                iterator = kinesis.get_shard_iterator(StreamName="kept", ShardId=shard,
                                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                assert len(read_all(kinesis, iterator, 5)) == 5
                kinesis.delete_stream(StreamName="going")  # DELETING for 60 s: stopped before it is gone
                before.update(description=kinesis.describe_stream(StreamName="kept")["StreamDescription"],
                              shard=shard, iterator=iterator, numbers=[r["SequenceNumber"] for r in put["Records"]])
                assert (data / "iterator.key").stat().st_size == 32
                assert stat.S_IMODE((data / "iterator.key").stat().st_mode) == 0o600
                assert (data / "kinesis-streams.json").exists()
                assert (data / "FORMAT").read_text().strip() == str(FORMAT_VERSION)
                deadline = time.monotonic() + 5  # the copy is written a moment after each change
                while b"DELETING" not in (data / "kinesis-streams.json").read_bytes() and time.monotonic() < deadline:
                    time.sleep(0.05)
                if how == "SIGKILL":
                    os.killpg(process.pid, signal.SIGKILL)
                continue
            # the same stream, its data one epoch later
            assert kinesis.list_streams()["StreamNames"] == ["kept"]
            description = kinesis.describe_stream(StreamName="kept")["StreamDescription"]
            old = before["description"]
            assert description["StreamARN"] == old["StreamARN"]
            assert description["RetentionPeriodHours"] == 48 and description["StreamStatus"] == "ACTIVE"
            assert description["StreamCreationTimestamp"] == old["StreamCreationTimestamp"]
            assert [(s["ShardId"], s["HashKeyRange"]) for s in description["Shards"]] == \
                   [(s["ShardId"], s["HashKeyRange"]) for s in old["Shards"]]
            assert kinesis.list_tags_for_stream(StreamName="kept")["Tags"] == [{"Key": "team", "Value": "data"}]
            for s in description["Shards"]:
                assert parse_kinesis_sequence_number(s["SequenceNumberRange"]["StartingSequenceNumber"])[0] == 1
            shard = before["shard"]
            trim = kinesis.get_shard_iterator(StreamName="kept", ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            assert kinesis.get_records(ShardIterator=trim)["Records"] == []  # the old records are gone
            put = kinesis.put_records(StreamName="kept", Records=[
                {"Data": f"after-{i}".encode(), "PartitionKey": "one-key"} for i in range(3)])
            assert put["FailedRecordCount"] == 0 and {r["ShardId"] for r in put["Records"]} == {shard}
            for r in put["Records"]:
                assert parse_kinesis_sequence_number(r["SequenceNumber"])[0] == 1
                assert int(r["SequenceNumber"]) > max(int(n) for n in before["numbers"])
            after = [b"after-0", b"after-1", b"after-2"]
            # a sequence number from before: read on from TRIM_HORIZON (Kinesis past its trim horizon)
            for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
                iterator = kinesis.get_shard_iterator(StreamName="kept", ShardId=shard, ShardIteratorType=kind,
                                                      StartingSequenceNumber=before["numbers"][2])["ShardIterator"]
                assert [r["Data"] for r in read_all(kinesis, iterator, 3)] == after, kind
            # an iterator from before the restart: accepted (the key is the data dir's), reads the new data
            assert [r["Data"] for r in read_all(kinesis, before["iterator"], 3)] == after
            # the stream left DELETING finished deleting; its name is free again
            with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
                kinesis.describe_stream_summary(StreamName="going")
            kinesis.create_stream(StreamName="going", ShardCount=1)
            wait_status(kinesis, "going", "ACTIVE")
        finally:
            stop(process)


def test_a_data_dir_of_release_84f6bf6_is_migrated_in_place(tmp_path):
    """The fixture is the data directory `cdc-bridge up` of release 84f6bf6 left (format 1: only
    tables.sqlite3, no marker): today's `up` migrates it (a backup, one line on stderr), and the
    tables, items and the stream (same ARN) are there."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    process, url = start_up(data)
    try:
        wait_healthy(url, 60, process)
        ddb = boto3.client("dynamodb", **client_kwargs(url))
        assert sorted(ddb.list_tables()["TableNames"]) == ["Plain1", "Release1"]
        table = ddb.describe_table(TableName="Release1")["Table"]
        assert table["LatestStreamArn"] == FIXTURE_STREAM_ARN
        assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        items = ddb.scan(TableName="Release1")["Items"]
        assert sorted(i["payload"]["S"] for i in items) == ["value 0", "value 1", "value 2"]
        assert ddb.get_item(TableName="Plain1", Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}, "n": {"N": "1.5"}}
        streams = boto3.client("dynamodbstreams", **client_kwargs(url))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            listed = [s["StreamArn"] for s in streams.list_streams(TableName="Release1")["Streams"]]
            if listed:
                break
            time.sleep(0.1)
        assert listed == [FIXTURE_STREAM_ARN]
        ddb.put_item(TableName="Release1", Item={"pk": {"S": "new"}, "sk": {"N": "9"}})
    finally:
        stderr = stop(process)
    migrated = [line for line in stderr.splitlines() if "migrated" in line]
    assert len(migrated) == 1, stderr
    assert f"format version 1 to {FORMAT_VERSION}" in migrated[0]
    [backup] = data.glob("backup-1-*")
    assert str(backup) in migrated[0]
    assert rows(backup / "tables.sqlite3") == rows(FIXTURE / "tables.sqlite3")  # the release's, untouched
    assert all("Epoch" not in s for _, d in rows(backup / "tables.sqlite3")[0] for s in d.get("Streams", []))
    assert (data / "FORMAT").read_text() == f"{FORMAT_VERSION}\n"
    [(_, release)] = [(n, d) for n, d in rows(data / "tables.sqlite3")[0] if n == "Release1"]
    assert [(s["StreamArn"], "Epoch" in s) for s in release["Streams"]] == [(FIXTURE_STREAM_ARN, True)]
    # a second start finds nothing to migrate
    process, url = start_up(data)
    try:
        wait_healthy(url, 60, process)
        ddb = boto3.client("dynamodb", **client_kwargs(url))
        assert len(ddb.scan(TableName="Release1")["Items"]) == 4
    finally:
        stderr = stop(process)
    assert "migrated" not in stderr
    assert len(list(data.glob("backup-*"))) == 1


def rows(db_path: Path) -> tuple[list, list]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [(name, orjson.loads(d)) for name, d in db.execute("SELECT name, description FROM tables ORDER BY id")]
        return tables, db.execute("SELECT * FROM items ORDER BY tbl, pk, sk").fetchall()
    finally:
        db.close()


@pytest.mark.parametrize("command", ["up", "table-api", "connector"])
def test_a_newer_data_dir_format_is_refused(tmp_path, command):
    data = tmp_path / "data"
    data.mkdir()
    (data / "FORMAT").write_text(f"{FORMAT_VERSION + 1}\n")
    (data / "tables.sqlite3").write_bytes(b"not ours to touch")
    result = subprocess.run([*CLI, command, "--port", str(free_port()), "--data-dir", str(data)],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"format version {FORMAT_VERSION + 1}" in result.stderr
    assert f"format version {FORMAT_VERSION}" in result.stderr.replace(f"version {FORMAT_VERSION + 1}", "")
    assert (data / "tables.sqlite3").read_bytes() == b"not ours to touch"
    assert sorted(p.name for p in data.iterdir()) == ["FORMAT", "tables.sqlite3"]


def test_on_apache_kafka_kinesis_streams_records_and_iterators_are_kept(tmp_path):
    """The restart promise with Apache Kafka: nothing is restored from the data dir (the catalog
    has every stream), the records are there with the same sequence numbers (epoch 0), and an
    iterator from before continues (its key is the data dir's)."""
    from tests.conftest import apache_kafka_unavailable

    problem = apache_kafka_unavailable()
    if problem:
        pytest.skip(f"Apache Kafka: {problem}")
    data = tmp_path / "data"
    before: dict = {}
    for round_ in range(2):
        process, url = start_up(data, "--broker", "kafka")  # the later --broker wins
        try:
            health = wait_healthy(url, 120, process)
            kinesis = boto3.client("kinesis", **client_kwargs(url))
            if round_ == 0:
                kinesis.create_stream(StreamName="durable", ShardCount=2)
                wait_status(kinesis, "durable", "ACTIVE")
                put = kinesis.put_records(StreamName="durable", Records=[
                    {"Data": f"r-{i}".encode(), "PartitionKey": "k"} for i in range(4)])
                shard = put["Records"][0]["ShardId"]
                iterator = kinesis.get_shard_iterator(StreamName="durable", ShardId=shard,
                                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                before.update(shard=shard, iterator=iterator, numbers=[r["SequenceNumber"] for r in put["Records"]],
                              arn=kinesis.describe_stream_summary(StreamName="durable")["StreamDescriptionSummary"]["StreamARN"])
                os.killpg(process.pid, signal.SIGKILL)
                continue
            assert health["parts"]["connector"]["kinesis_restored"] == 0
            assert kinesis.list_streams()["StreamNames"] == ["durable"]
            assert kinesis.describe_stream_summary(StreamName="durable")["StreamDescriptionSummary"]["StreamARN"] == before["arn"]
            records = read_all(kinesis, before["iterator"], 4)
            assert [r["SequenceNumber"] for r in records] == before["numbers"]
            assert all(parse_kinesis_sequence_number(n)[0] == 0 for n in before["numbers"])
        finally:
            stop(process)


def test_the_table_to_kinesis_to_firehose_pipeline_survives_a_memory_broker_restart(tmp_path):
    """A table with a Kinesis streaming destination, a delivery stream reading that Kinesis stream and a
    DirectPut one; stop (Ctrl-C), start again on the same data dir: the destination is ACTIVE (kept in
    tables.sqlite3), both delivery streams are listed ACTIVE with the same ARN and destination (restored
    from firehose-streams.json: the broker lost the catalog topic), and a PutItem and a PutRecord after
    the restart are delivered into new objects."""
    from tests.api.firehose_helpers import fast, s3_config, wait_lines
    from tests.api.firehose_helpers import wait_status as wait_delivery
    from tests.api.kds_helpers import destination, enable_active

    data = tmp_path / "data"
    archive = data / "archive"
    newline = {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}}
    key_schema = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}
    before: dict = {}
    for round_ in range(2):
        process, url = start_up(data)
        try:
            wait_healthy(url, 60, process)
            firehose = boto3.client("firehose", **client_kwargs(url))
            kinesis = boto3.client("kinesis", **client_kwargs(url))
            ddb = boto3.client("dynamodb", **client_kwargs(url))
            if round_ == 0:
                kinesis.create_stream(StreamName="src", ShardCount=1)
                arn = before["arn"] = wait_status(kinesis, "src", "ACTIVE")["StreamARN"]
                ddb.create_table(TableName="orders", **key_schema)
                enable_active(ddb, "orders", arn)
                firehose.create_delivery_stream(DeliveryStreamName="direct",
                                                ExtendedS3DestinationConfiguration=s3_config("direct", **fast(**newline)))
                firehose.create_delivery_stream(
                    DeliveryStreamName="sourced", DeliveryStreamType="KinesisStreamAsSource",
                    KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": "arn:aws:iam::000000000000:role/f"},
                    ExtendedS3DestinationConfiguration=s3_config("sourced", **fast(**newline)))
                for name in ("direct", "sourced"):
                    before[name] = wait_delivery(firehose, name, "ACTIVE")
                firehose.put_record(DeliveryStreamName="direct", Record={"Data": b"before"})
                ddb.put_item(TableName="orders", Item={"pk": {"S": "before"}})
                assert wait_lines(archive, "direct", 1) == [[b"before"]]
                assert len(wait_lines(archive, "sourced", 1)) == 1
                deadline = time.monotonic() + 5  # the copy is written a moment after each change
                while b"sourced" not in (data / "firehose-streams.json").read_bytes() and time.monotonic() < deadline:
                    time.sleep(0.05)
                continue
            assert destination(ddb, "orders", before["arn"])["DestinationStatus"] == "ACTIVE"
            assert firehose.list_delivery_streams()["DeliveryStreamNames"] == ["direct", "sourced"]
            for name in ("direct", "sourced"):
                now = wait_delivery(firehose, name, "ACTIVE")
                assert now["DeliveryStreamARN"] == before[name]["DeliveryStreamARN"]
                assert now["Destinations"] == before[name]["Destinations"]
            firehose.put_record(DeliveryStreamName="direct", Record={"Data": b"after"})
            ddb.put_item(TableName="orders", Item={"pk": {"S": "after"}})
            assert sorted(line for lines in wait_lines(archive, "direct", 2) for line in lines) == [b"after", b"before"]
            changes = [orjson.loads(line) for lines in wait_lines(archive, "sourced", 2) for line in lines]
            assert sorted(c["dynamodb"]["Keys"]["pk"]["S"] for c in changes) == ["after", "before"]
        finally:
            stop(process)
