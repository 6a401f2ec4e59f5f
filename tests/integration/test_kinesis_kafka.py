"""Kinesis over Kafka end to end: what PutRecord writes is a plain Kafka record any consumer
reads, what a plain Kafka producer writes comes out of GetRecords, the retention trim is exact, and
the AWS CLI's study-guide commands work verbatim against the endpoint."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from kafka_io.client import Kafka
from kafka_io.producer import RecordProducer
from tests.api.kinesis_helpers import (
    client,
    create_active,
    kinesis_server_url,
    needs_own_server,
    new_name,
    shard_records,
)
from tests.conftest import REGION

pytestmark = needs_own_server()
HOUR_MS = 3_600_000


@pytest.fixture(scope="session")
def kinesis_url(broker, tmp_path_factory, request):
    return kinesis_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def kinesis(kinesis_url):
    return client(kinesis_url)


def consume(bootstrap: str, topic: str, partition: int, count: int, timeout_s: float = 10.0) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": new_name("test"), "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, partition, 0)])
        messages, deadline = [], time.monotonic() + timeout_s
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                messages.append(message)
        return messages
    finally:
        consumer.close()


def test_a_plain_kafka_consumer_reads_the_bytes_put_record_wrote(kinesis, broker):
    name = create_active(kinesis, 2)
    put = kinesis.put_record(StreamName=name, PartitionKey="kafka-key", Data=b"\x00\xffraw bytes")
    explicit = kinesis.put_record(StreamName=name, PartitionKey="other", Data=b"second", ExplicitHashKey="0")
    shard = int(put["ShardId"].rsplit("-", 1)[1])
    [message] = consume(broker.bootstrap_servers, f"kinesis.{name}.0", shard, 1)
    assert (message.key(), message.value()) == (b"kafka-key", b"\x00\xffraw bytes")
    assert message.offset() == int(put["SequenceNumber"][-20:])
    [message] = [m for m in consume(broker.bootstrap_servers, f"kinesis.{name}.0", 0, 2) if m.key() == b"other"]
    assert explicit["ShardId"] == "shardId-000000000000"
    assert dict(message.headers()) == {"kinesis-explicit-hash-key": b"0"}


def test_records_from_a_plain_kafka_producer_come_out_of_get_records(kinesis, broker):
    name = create_active(kinesis, 2)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    producer.produce(f"kinesis.{name}.0", b'{"from": "kafka"}', b"pk", partition=1)
    producer.produce(f"kinesis.{name}.0", b"no key", None, partition=1)
    producer.produce(f"kinesis.{name}.0", b"latin-1 key", b"\xe9t\xe9", partition=1)
    producer.flush(10)
    records = shard_records(kinesis, name, "shardId-000000000001")
    assert [(r["Data"], r["PartitionKey"]) for r in records] == [
        (b'{"from": "kafka"}', "pk"), (b"no key", ""), (b"latin-1 key", "\ufffdt\ufffd")]


def test_records_older_than_the_retention_are_trimmed_exactly(kinesis, broker):
    """A plain producer sets old timestamps; with a 1-hour retention (the test server's minimum)
    those records are past the trim horizon, and an iterator pointing at them reads on from it."""
    name = create_active(kinesis, 1)
    now = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for data, age_ms in ((b"3 hours old", 3 * HOUR_MS), (b"2 hours old", 2 * HOUR_MS), (b"30 minutes old", HOUR_MS // 2)):
        producer.produce(f"kinesis.{name}.0", data, b"k", partition=0, timestamp=now - age_ms)
    producer.flush(10)
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"now")
    shard = "shardId-000000000000"
    assert len(shard_records(kinesis, name, shard)) == 4  # 24 hours keeps everything

    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=1)
    assert [r["Data"] for r in shard_records(kinesis, name, shard)] == [b"30 minutes old", b"now"]
    oldest = f"49{0:012d}{0:020d}"
    at_trimmed = shard_records(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=oldest)
    assert [r["Data"] for r in at_trimmed] == [b"30 minutes old", b"now"]  # not an error: from the trim horizon
    at_time = shard_records(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=(now - 3 * HOUR_MS) / 1000)
    assert [r["Data"] for r in at_time] == [b"30 minutes old", b"now"]
    assert topic_retention_ms(broker.bootstrap_servers, f"kinesis.{name}.0") == str(HOUR_MS)  # a real Kafka frees it


def topic_retention_ms(bootstrap: str, topic: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the future resolves
    [future] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    return future.result(10)["retention.ms"].value


def test_the_study_guide_commands_work_with_the_aws_cli(kinesis_url, tmp_path):
    """Verbatim but for --endpoint-url: CLI v1 sends --data as given (base64-encoding it), so the
    bytes that arrive, and that get-records returns, are exactly the JSON text typed."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
           "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
           "AWS_PAGER": ""}
    aws = str(Path(sys.executable).with_name("aws"))

    def run(*args: str) -> dict:
        done = subprocess.run([aws, *args, "--endpoint-url", kinesis_url], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    name = new_name("myStream")
    data = '{"dynamodb": {"OldImage": {}, "NewImage": {"id": {"S": "123"}, "name": {"S": "Test"}}}}'
    run("kinesis", "create-stream", "--stream-name", name, "--shard-count", "2")
    put = run("kinesis", "put-record", "--stream-name", name, "--partition-key", "1", "--data", data)
    iterator = run("kinesis", "get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
                   "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    [record] = run("kinesis", "get-records", "--shard-iterator", iterator)["Records"]
    assert base64.b64decode(record["Data"]) == data.encode()
    assert record["SequenceNumber"] == put["SequenceNumber"] and record["PartitionKey"] == "1"
    run("kinesis", "increase-stream-retention-period", "--stream-name", name, "--retention-period-hours", "48")
    summary = run("kinesis", "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 48


def test_offsets_are_read_back_when_another_producer_wrote_between_ours(broker):
    """PutRecords learns most offsets by arithmetic (connector/kafka.py `Delivery`); when another
    producer's record landed inside our run, the run's offsets are read back from Kafka."""
    kafka = Kafka(broker.bootstrap_servers)
    topic = f"kinesis.{new_name('readback')}.0"
    kafka.ensure_topic(topic, 1, {})
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for key, value in ((b"a", b"ours 1"), (b"x", b"foreign"), (b"b", b"ours 2"), (b"c", b"ours 3")):
        producer.produce(topic, value, key, partition=0)
    producer.flush(10)
    ours = [(0, b"a", b"ours 1", None), (0, b"b", b"ours 2", None), (0, b"c", b"ours 3", None)]
    records = RecordProducer(kafka)
    try:
        assert records._read_back(topic, 0, 0, 3, ours) == [0, 2, 3]
    finally:
        records.close()
