"""Stock Kafka consumers read the change events on Apache Kafka (issue 13): Debian's `kcat`
(librdkafka; it cannot talk to the memory broker) lists the topics and reads every event of a
table's stream topic with its headers, and kafka-python reads the same events at the same
offsets. Apache Kafka only (`--broker kafka`); the kcat test skips when kcat is not installed
(`.ci/run` installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from schemas import codec
from tests.integration.fault_helpers import create_streamed_table, must, read_topic, wait_drained
from tests.integration.kafka_only import skip_unless_apache_kafka
from tests.integration.streams_helpers import unique_name

pytestmark = pytest.mark.timeout(120)

END = b"\n@@end-of-record@@\n"


@pytest.fixture(autouse=True)
def apache_kafka_only(request):
    skip_unless_apache_kafka(request.config, "stock clients such as kcat cannot all talk to the memory broker")


@pytest.fixture(scope="module")
def table_events(broker, endpoint_url):
    """A table with a stream and a few changes of every kind: (table, topic, the events as our
    own reader decodes them)."""
    table = unique_name("stock")
    topic = create_streamed_table(endpoint_url, table)
    for key in ("a", "b", "c", "d"):
        for v in range(3):
            must(endpoint_url, "PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "v": {"N": str(v)}}})
    must(endpoint_url, "DeleteItem", {"TableName": table, "Key": {"pk": {"S": "b"}}})
    wait_drained(endpoint_url, 30)
    events = read_topic(broker.bootstrap_servers, topic)
    assert len(events) == 13
    return table, topic, events


def decoded(key: bytes, value: bytes) -> tuple[str, str, int | None]:
    event = codec.decode_event(codec.unframe(value)[1])
    keys = codec.decode_key(codec.unframe(key)[1])
    assert keys == event["dynamodb"]["Keys"]
    image = event["dynamodb"].get("NewImage")
    return event["eventName"], keys["pk"]["S"], int(image["v"]["N"]) if image else None


def expected(events) -> list[tuple]:
    return sorted((e.partition, e.offset, e.name, e.key, e.v, e.seq) for e in events)


def test_kcat_lists_the_topics_and_reads_every_event_with_its_headers(broker, table_events):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed (Debian: apt-get install kcat; .ci/run installs it)")
    table, topic, events = table_events
    bootstrap = broker.bootstrap_servers

    listing = subprocess.run([kcat, "-b", bootstrap, "-L"], check=False, capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert re.search(rf'topic "{re.escape(topic)}" with 4 partitions', listing.stdout), listing.stdout[:2000]

    out = subprocess.run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "%p %o %K %S\n%k%s%h" + END.decode().replace("\n", "\\n")],
                         check=False, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    read = []
    rest = out.stdout
    while rest:
        line, rest = rest.split(b"\n", 1)
        partition, offset, key_len, value_len = (int(x) for x in line.split())
        key, value, rest = rest[:key_len], rest[key_len:key_len + value_len], rest[key_len + value_len:]
        headers, rest = rest.split(END, 1)
        name, pk, v = decoded(key, value)
        # %h: name=value,name=value (the seq header's value is binary: split before the known names)
        fields = dict(f.split(b"=", 1) for f in re.split(rb",(?=(?:table|eventName|cdc-bridge-seq)=)", headers))
        assert set(fields) == {b"table", b"eventName", b"cdc-bridge-seq"}, headers
        assert fields[b"table"] == table.encode() and fields[b"eventName"] == name.encode(), headers
        # (kcat prints a header value as a C string: the binary seq stops at its first zero byte)
        read.append((partition, offset, name, pk, v))
    assert sorted(read) == [e[:5] for e in expected(events)]


def test_kafka_python_reads_every_event_at_the_same_offsets(broker, table_events):
    from kafka import KafkaConsumer, TopicPartition

    table, topic, events = table_events
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        assert len(partitions) == 4
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        read = []
        for message in consumer:
            headers = dict(message.headers)
            assert headers["table"] == table.encode()
            name, pk, v = decoded(message.key, message.value)
            assert headers["eventName"] == name.encode()
            read.append((message.partition, message.offset, name, pk, v, int.from_bytes(headers["cdc-bridge-seq"], "big")))
            if all(consumer.position(tp) >= ends[tp] for tp in partitions):
                break
    finally:
        consumer.close()
    assert sorted(read) == expected(events)
