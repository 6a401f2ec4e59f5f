"""Delivery across restarts of `cdc-bridge up` (on the session's broker, which outlives it): an
acknowledged record is delivered after a crash (SIGKILL while it sat in the buffer) and after a clean
stop, exactly once when the crash came before its object was written (the only duplicates are those
of docs/firehose.md: an object complete but not yet checkpointed); a stream a stopped process left
CREATING or DELETING is finished at the next start. Runs on Apache Kafka in CI too."""

from __future__ import annotations

import json
import time

from confluent_kafka import TopicPartition

from firehose.catalog import CATALOG_TOPIC
from kafka_io.client import Kafka, read_to_end
from tests.api.firehose_helpers import client, create_active, objects, wait_lines
from tests.api.kinesis_helpers import needs_own_server

pytestmark = needs_own_server()
NEWLINE = {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}}
RECORD_BYTES = 199  # + the newline: 200 B per record


def records(start: int, count: int) -> list[bytes]:
    return [f"{i:08d}".encode().ljust(RECORD_BYTES, b".") for i in range(start, start + count)]


def put_all(firehose, name: str, writes: list[bytes]) -> None:
    for i in range(0, len(writes), 500):
        answer = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in writes[i:i + 500]])
        assert answer["FailedPutCount"] == 0


def test_records_buffered_at_a_crash_are_delivered_after_the_restart_once_each_in_order(up, tmp_path):
    server = up()
    firehose = client(server.url)
    # 1 MiB or 15 minutes: the first 2,500 records (500 KB) stay in the buffer until the crash
    name = create_active(firehose, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}, **NEWLINE)
    before = records(0, 2500)
    put_all(firehose, name, before)
    time.sleep(1.5)  # read into the deliverer's buffer, not delivered
    archive = tmp_path / "data" / "archive"
    assert objects(archive, name) == []
    server.process.kill()  # no clean stop: the buffer is lost with the process, its checkpoint is not moved
    server.process.wait()

    server = up()
    firehose = client(server.url)
    after = records(2500, 3000)  # 600 KB more: together past 1 MiB
    put_all(firehose, name, after)
    # The 1 MiB object holds the crash's buffer and what followed; a few last records may stay buffered
    # (how many depends on how the deliverer's fetches split the writes), so the check is on the prefix.
    per_object = wait_lines(archive, name, len(before) + 1, timeout_s=90)
    lines = [line for lines in per_object for line in lines]
    assert len(lines) > len(before), "the records buffered at the crash were not delivered"
    assert lines == (before + after)[:len(lines)]  # in order, nothing twice: no object was complete before the crash


def test_a_clean_stop_delivers_the_buffer_and_a_restart_repeats_nothing_and_finishes_interrupted_changes(
        up, tmp_path, broker):
    server = up()
    firehose = client(server.url)
    name = create_active(firehose, BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900}, **NEWLINE)
    creating, deleting = create_active(firehose), create_active(firehose)
    before = records(0, 1000)
    put_all(firehose, name, before)
    time.sleep(1.0)
    server.stop()  # SIGINT: each deliverer writes its buffer and checkpoints it before the process ends
    archive = tmp_path / "data" / "archive"
    assert [line for p in objects(archive, name) for line in p.read_bytes().splitlines()] == before
    # a process that died mid-change leaves these catalog records; the task that would finish them is gone
    left_as(broker.bootstrap_servers, {creating: "CREATING", deleting: "DELETING"})

    server = up()
    firehose = client(server.url)
    assert firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
        "DeliveryStreamStatus"] == "ACTIVE"  # the catalog on Kafka brought it back
    assert firehose.describe_delivery_stream(DeliveryStreamName=creating)["DeliveryStreamDescription"][
        "DeliveryStreamStatus"] == "ACTIVE"  # finished at the start
    assert deleting not in firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    after = records(1000, 10)
    put_all(firehose, name, after)
    server.stop()
    lines = sorted(line for p in objects(archive, name) for line in p.read_bytes().splitlines())
    assert lines == before + after


def left_as(bootstrap: str, statuses: dict[str, str]) -> None:
    """Write catalog records giving these streams these statuses, as a crash mid-change leaves them."""
    kafka = Kafka(bootstrap)
    values = {}
    reader = kafka.reader()
    reader.assign([TopicPartition(CATALOG_TOPIC, 0, 0)])
    for message in read_to_end(reader, 30):
        values[message.key().decode()] = json.loads(message.value()) if message.value() else None
    reader.close()
    producer = kafka.producer()
    for name, status in statuses.items():
        producer.produce(CATALOG_TOPIC, json.dumps({**values[name], "DeliveryStreamStatus": status}).encode(),
                         name.encode(), 0)
    assert producer.flush(30) == 0
