"""The restart promise on Apache Kafka (issue 13): `cdc-bridge up --broker kafka` stopped in any
way — Ctrl-C, SIGTERM, SIGKILL of its process group — and started again on the same data
directory keeps every change event and Kinesis record, exactly once, in order, with the same
sequence numbers; a consumer holding a shard iterator or a saved sequence number continues
without a gap or a repeat.

These start their own `up --broker kafka` (one data directory each) and run only when the
suite's broker is Apache Kafka (`--broker kafka`; `python -m tests` runs them); on the memory
broker, history cannot survive a restart, which tests/integration/test_cli.py covers.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tests.integration.fault_helpers import (
    ACKED,
    REFUSED,
    UNKNOWN,
    Event,
    Outcomes,
    Target,
    check_exactly_once,
    create_streamed_table,
    get_version,
    must,
    wait_drained,
)
from tests.integration.kafka_only import client, skip_unless_apache_kafka
from tests.integration.test_apache_kafka import Up, wait_no_broker

pytestmark = pytest.mark.timeout(600)

RESTARTS = 10
STOPS = ("SIGINT", "SIGTERM", "SIGKILL")  # Ctrl-C (to the process group, as a terminal sends it), kill, kill -9 of the group
TABLE = "restarts"
KINESIS = "restarts"
KEYS = [f"k{i}" for i in range(8)]
PARTITION_KEYS = [f"p{i}" for i in range(4)]


@pytest.fixture(autouse=True)
def apache_kafka_only(request):
    skip_unless_apache_kafka(request.config, "history survives a restart only on a durable broker")


def start(data_dir: Path) -> Up:
    up = Up(data_dir, "--broker", "kafka")
    up.healthy(120)
    return up


def stop(up: Up, how: str, data_dir: Path) -> None:
    if how == "SIGINT":
        os.killpg(up.process.pid, signal.SIGINT)
    elif how == "SIGTERM":
        up.process.send_signal(signal.SIGTERM)
    else:
        os.killpg(up.process.pid, signal.SIGKILL)
    try:
        up.process.wait(40)
    except subprocess.TimeoutExpired:
        os.killpg(up.process.pid, signal.SIGKILL)
        up.process.wait(10)
        raise AssertionError(f"`up` did not stop within 40 s of {how}:\n{up.stderr()[-3000:]}") from None
    assert wait_no_broker(data_dir, 30) == [], f"Apache Kafka outlived `up` stopped with {how}"


# -- writers: boto3, retries off -------------------------------------------------------------------


def outcome_of(exc: Exception) -> str:
    """Nothing sent (connection refused), or refused before it ran (400, 503): refused; a
    connection lost after the request went out, a timeout, another 5xx: unknown."""
    if isinstance(exc, EndpointConnectionError):
        return REFUSED
    if isinstance(exc, ClientError):
        return REFUSED if exc.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 503) else UNKNOWN
    return UNKNOWN


class Writer(threading.Thread):
    def __init__(self, target: Target, name: str):
        super().__init__(name=name, daemon=True)
        self.target = target
        self.halt = threading.Event()
        self.errors: collections.Counter = collections.Counter()

    def run(self) -> None:
        url, api = None, None
        while not self.halt.is_set():
            if self.target.get() != url:
                url = self.target.get()
                api = self.client(url)
            try:
                self.write(api)
            except (BotoCoreError, ClientError) as exc:
                self.errors[type(exc).__name__ if not isinstance(exc, ClientError) else
                            f"{exc.response['ResponseMetadata']['HTTPStatusCode']} {exc.response['Error']['Code']}"] += 1
                self.failed(exc)
                time.sleep(0.05)
            time.sleep(0.003)

    def stop(self) -> None:
        self.halt.set()
        self.join(30)
        assert not self.is_alive(), f"{self.name} did not stop"


class TableWriter(Writer):
    """PutItem {pk, v} on a stream-enabled table, v increasing per key on every attempt."""

    def __init__(self, target: Target, seed: int):
        super().__init__(target, "table-writer")
        self.outcomes = Outcomes()
        self.rng = random.Random(seed)
        self.versions = {key: 0 for key in KEYS}
        self.current: tuple[str, int] | None = None

    def client(self, url):
        return client("dynamodb", url)

    def write(self, api) -> None:
        key = self.rng.choice(KEYS)
        self.versions[key] += 1
        self.current = (key, self.versions[key])
        api.put_item(TableName=TABLE, Item={"pk": {"S": key}, "v": {"N": str(self.versions[key])}})
        self.outcomes.record(*self.current, ACKED)

    def failed(self, exc: Exception) -> None:
        self.outcomes.record(*self.current, outcome_of(exc))


class KinesisWriter(Writer):
    """PutRecords of one record per partition key, data `<key>:<n>` with n increasing per key."""

    def __init__(self, target: Target):
        super().__init__(target, "kinesis-writer")
        self.attempted: set[str] = set()
        self.acked: dict[str, tuple[str, str]] = {}  # data -> (shard id, sequence number)
        self.counters = {key: 0 for key in PARTITION_KEYS}

    def client(self, url):
        return client("kinesis", url)

    def write(self, api) -> None:
        batch = []
        for key in PARTITION_KEYS:
            self.counters[key] += 1
            batch.append(f"{key}:{self.counters[key]}")
        self.attempted.update(batch)
        response = api.put_records(StreamName=KINESIS, Records=[
            {"PartitionKey": data.split(":")[0], "Data": data.encode()} for data in batch])
        for data, entry in zip(batch, response["Records"], strict=True):
            if "SequenceNumber" in entry:
                self.acked[data] = (entry["ShardId"], entry["SequenceNumber"])
            else:
                self.errors[entry.get("ErrorCode", "?")] += 1

    def failed(self, exc: Exception) -> None:
        pass  # attempted, not acknowledged: it may be there or not


# -- readers ----------------------------------------------------------------------------------------


def read_dynamodb_stream(url: str, arn: str) -> dict[str, list[dict]]:
    """Every shard from TRIM_HORIZON to an empty page."""
    streams = client("dynamodbstreams", url)
    shards = [s["ShardId"] for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]
    by_shard = {}
    for shard in shards:
        records = []
        position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while position:
            page = streams.get_records(ShardIterator=position)
            records += page["Records"]
            position = page.get("NextShardIterator")
            if not page["Records"]:
                break
        by_shard[shard] = records
    return by_shard


def read_kinesis_stream(url: str) -> dict[str, list[dict]]:
    kinesis = client("kinesis", url)
    by_shard = {}
    for shard in [s["ShardId"] for s in kinesis.list_shards(StreamName=KINESIS)["Shards"]]:
        records = []
        position = kinesis.get_shard_iterator(StreamName=KINESIS, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while position:
            page = kinesis.get_records(ShardIterator=position, Limit=10000)
            records += page["Records"]
            position = page.get("NextShardIterator")
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
        by_shard[shard] = records
    return by_shard


def dynamodb_identity(record: dict) -> tuple[str, int]:
    image = record["dynamodb"]["NewImage"]
    return image["pk"]["S"], int(image["v"]["N"])


def sequence_numbers(url: str, arn: str) -> tuple[dict, dict]:
    """(table write (key, v) -> sequence number, Kinesis data -> sequence number) as read now."""
    table = {dynamodb_identity(r): r["dynamodb"]["SequenceNumber"]
             for records in read_dynamodb_stream(url, arn).values() for r in records}
    kinesis = {r["Data"].decode(): r["SequenceNumber"] for records in read_kinesis_stream(url).values() for r in records}
    return table, kinesis


def unchanged(before: dict, after: dict, what: str) -> list[str]:
    return [f"{what} {item}: sequence number {seq} before a restart, {after.get(item)} after"
            for item, seq in before.items() if after.get(item) != seq]


# -- the loop ---------------------------------------------------------------------------------------


def test_ten_restarts_during_writes_keep_every_event_and_record_once_in_order(tmp_path):
    data_dir = tmp_path / "data"
    up = start(data_dir)
    create_streamed_table(up.url, TABLE)
    arn = must(up.url, "DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"]
    kinesis = client("kinesis", up.url)
    kinesis.create_stream(StreamName=KINESIS, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=KINESIS, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})

    target = Target(up.url)
    table_writer, kinesis_writer = TableWriter(target, seed=13), KinesisWriter(target)
    table_writer.start()
    kinesis_writer.start()
    read_before: tuple[dict, dict] = ({}, {})
    problems: list[str] = []
    timeline = []
    started = time.monotonic()
    try:
        try:
            for restart in range(RESTARTS):
                time.sleep(1.0)  # writes in flight
                table_seqs, kinesis_seqs = sequence_numbers(up.url, arn)
                problems += unchanged(read_before[0], table_seqs, "table write")
                problems += unchanged(read_before[1], kinesis_seqs, "Kinesis record")
                read_before = ({**read_before[0], **table_seqs}, {**read_before[1], **kinesis_seqs})
                how = STOPS[restart % len(STOPS)]
                stop(up, how, data_dir)
                up = start(data_dir)
                target.set(up.url)
                timeline.append(f"{how}: healthy again in {up.seconds_to_healthy:.1f}s")
            time.sleep(1.0)
        finally:
            table_writer.stop()
            kinesis_writer.stop()

        wait_drained(up.url, 60)
        assert must(up.url, "DescribeTable", {"TableName": TABLE})["Table"]["LatestStreamArn"] == arn
        table_read = read_dynamodb_stream(up.url, arn)
        kinesis_read = read_kinesis_stream(up.url)
        final_versions = {key: get_version(up.url, TABLE, key) for key in KEYS}
    finally:
        up.close()

    # DynamoDB Streams: each committed table write has exactly one event, in order per item
    events = []
    for index, (shard, records) in enumerate(sorted(table_read.items())):
        for r in records:
            key, v = dynamodb_identity(r)
            old = r["dynamodb"].get("OldImage")
            number = int(r["dynamodb"]["SequenceNumber"])
            events.append(Event(partition=index, offset=number, seq=number, name=r["eventName"], key=key, v=v,
                                old_v=int(old["v"]["N"]) if old else None))
    verdict = check_exactly_once(events, table_writer.outcomes, final_versions)
    problems += verdict.problems
    table_seqs = {dynamodb_identity(r): r["dynamodb"]["SequenceNumber"] for rs in table_read.values() for r in rs}
    problems += unchanged(read_before[0], table_seqs, "table write")

    # Kinesis: acknowledged ⊆ read ⊆ attempted, no record twice, order per partition key
    read = collections.Counter()
    for shard, records in kinesis_read.items():
        last: dict[str, int] = {}
        for r in records:
            data = r["Data"].decode()
            read[data] += 1
            key, n = data.split(":")
            if r["PartitionKey"] != key:
                problems.append(f"Kinesis {data}: partition key {r['PartitionKey']}")
            if (n_before := last.get(key)) and int(n) <= n_before:
                problems.append(f"Kinesis {shard}: {data} after {key}:{n_before}")
            last[key] = int(n)
            acked = kinesis_writer.acked.get(data)
            if acked and acked != (shard, r["SequenceNumber"]):
                problems.append(f"Kinesis {data}: acknowledged as {acked}, read as {(shard, r['SequenceNumber'])}")
    problems += [f"Kinesis {data} read {count} times" for data, count in read.items() if count > 1]
    problems += [f"Kinesis {data} read but never attempted" for data in read if data not in kinesis_writer.attempted]
    problems += [f"Kinesis {data} acknowledged but not read" for data in kinesis_writer.acked if data not in read]
    kinesis_seqs = {r["Data"].decode(): r["SequenceNumber"] for rs in kinesis_read.values() for r in rs}
    problems += unchanged(read_before[1], kinesis_seqs, "Kinesis record")
    keys_in_shards = {data.split(":")[0]: shard for shard, rs in kinesis_read.items() for data in
                      (r["Data"].decode() for r in rs)}
    assert len(keys_in_shards) == len(PARTITION_KEYS)

    acked_table = table_writer.outcomes.count(ACKED)
    print(f"\n[restart loop] {RESTARTS} restarts in {time.monotonic() - started:.0f}s; "
          f"table writes: {acked_table} acked, {table_writer.outcomes.count(UNKNOWN)} unknown "
          f"({verdict.unknown_committed} committed), {table_writer.outcomes.count(REFUSED)} refused, {verdict.events} events; "
          f"Kinesis: {len(kinesis_writer.acked)} acked of {len(kinesis_writer.attempted)} attempted, {sum(read.values())} read; "
          f"seq numbers compared: {len(read_before[0])} + {len(read_before[1])}; errors: "
          f"{dict(table_writer.errors)} {dict(kinesis_writer.errors)}\n  " + "\n  ".join(timeline))
    assert not problems, "\n".join(problems[:40])
    assert acked_table > RESTARTS * 20 and len(kinesis_writer.acked) > RESTARTS * 20, "too few writes got through"
    assert len(read_before[0]) > 0 and len(read_before[1]) > 0


# -- a consumer across a restart --------------------------------------------------------------------


def test_a_consumer_continues_across_a_restart_with_its_iterator_and_its_sequence_number(tmp_path):
    """Read part of a DynamoDB stream's shard and of a Kinesis shard; SIGTERM `up` and start it
    again on the same data directory (no --iterator-secret: the key is the data directory's);
    the old NextShardIterator and AFTER_SEQUENCE_NUMBER of the last record read both continue
    with the next record: no gap, no repeat."""
    data_dir = tmp_path / "data"
    up = start(data_dir)
    try:
        create_streamed_table(up.url, "consumer")
        arn = must(up.url, "DescribeTable", {"TableName": "consumer"})["Table"]["LatestStreamArn"]
        dynamodb, kinesis = client("dynamodb", up.url), client("kinesis", up.url)
        kinesis.create_stream(StreamName="consumer", ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName="consumer", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        for v in range(6):  # one item: all its events in one shard
            dynamodb.put_item(TableName="consumer", Item={"pk": {"S": "a"}, "v": {"N": str(v)}})
        puts = [kinesis.put_record(StreamName="consumer", PartitionKey="a", Data=b"%d" % n) for n in range(6)]
        kinesis_shard = puts[0]["ShardId"]
        wait_drained(up.url, 30)

        streams = client("dynamodbstreams", up.url)
        shard = next(s for s, records in read_dynamodb_stream(up.url, arn).items() if records)
        position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = streams.get_records(ShardIterator=position, Limit=3)
        assert [dynamodb_identity(r)[1] for r in page["Records"]] == [0, 1, 2]
        stream_iterator, stream_seq = page["NextShardIterator"], page["Records"][-1]["dynamodb"]["SequenceNumber"]

        position = kinesis.get_shard_iterator(StreamName="consumer", ShardId=kinesis_shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = kinesis.get_records(ShardIterator=position, Limit=3)
        assert [r["Data"] for r in page["Records"]] == [b"0", b"1", b"2"]
        kinesis_iterator, kinesis_seq = page["NextShardIterator"], page["Records"][-1]["SequenceNumber"]

        stop(up, "SIGTERM", data_dir)
        up = start(data_dir)
        dynamodb, kinesis, streams = client("dynamodb", up.url), client("kinesis", up.url), client("dynamodbstreams", up.url)
        for v in range(6, 8):
            dynamodb.put_item(TableName="consumer", Item={"pk": {"S": "a"}, "v": {"N": str(v)}})
        for n in range(6, 8):
            kinesis.put_record(StreamName="consumer", PartitionKey="a", Data=b"%d" % n)
        wait_drained(up.url, 30)

        def rest_of_stream(position: str) -> list[int]:
            records = []
            while position and len(records) < 5:
                page = streams.get_records(ShardIterator=position)
                records += [dynamodb_identity(r)[1] for r in page["Records"]]
                position = page.get("NextShardIterator") if page["Records"] else None
            return records

        def rest_of_kinesis(position: str) -> list[bytes]:
            records = []
            while position and len(records) < 5:
                page = kinesis.get_records(ShardIterator=position)
                records += [r["Data"] for r in page["Records"]]
                position = page.get("NextShardIterator") if page["Records"] else None
            return records

        after = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                           SequenceNumber=stream_seq)["ShardIterator"]
        assert rest_of_stream(after) == [3, 4, 5, 6, 7]
        assert rest_of_stream(stream_iterator) == [3, 4, 5, 6, 7], "the iterator held across the restart"
        after = kinesis.get_shard_iterator(StreamName="consumer", ShardId=kinesis_shard,
                                           ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                           StartingSequenceNumber=kinesis_seq)["ShardIterator"]
        assert rest_of_kinesis(after) == [b"3", b"4", b"5", b"6", b"7"]
        assert rest_of_kinesis(kinesis_iterator) == [b"3", b"4", b"5", b"6", b"7"], "the iterator held across the restart"
    finally:
        up.close()
