"""Retention, for real, on Apache Kafka (issue 13): a stream's retention is its topics'
`retention.ms`, with `segment.ms` a fraction of it so that the broker deletes records on time;
Increase/DecreaseStreamRetentionPeriod change it live; records leave TRIM_HORIZON on schedule;
a position in trimmed data is TrimmedDataAccessException on DynamoDB Streams and reads on from
the trim horizon on Kinesis (as AWS does); DynamoDB streams keep 24 h unless configured.

Apache Kafka only (`--broker kafka`): the memory broker never deletes a record.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.integration.fault_helpers import create_streamed_table, current_stream_topic, must, wait_drained
from tests.integration.kafka_only import client, skip_unless_apache_kafka, topic_config, wait_for, watermarks
from tests.integration.streams_helpers import unique_name, up_server

pytestmark = pytest.mark.timeout(240)

STREAM_RETENTION_HOURS = 0.001  # 3.6 s
RETENTION_MS = 3600
HOUR_MS = 3_600_000


@pytest.fixture(autouse=True)
def apache_kafka_only(request):
    skip_unless_apache_kafka(request.config, "the memory broker never deletes a record")


@pytest.fixture(scope="module")
def short_retention(broker, tmp_path_factory):
    """`up` on the session's Apache Kafka with a DynamoDB stream retention of 3.6 s and Kinesis
    retention allowed down to 0 hours (`--kinesis-min-retention-hours`, as the README says)."""
    server = up_server(broker, tmp_path_factory.mktemp("retention"),
                       "--stream-retention-hours", str(STREAM_RETENTION_HOURS),
                       "--kinesis-min-retention-hours", "0").start()
    yield server
    server.stop()


def trimmed(call) -> bool:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "TrimmedDataAccessException":
            return True
        raise
    return False


@pytest.mark.flaky(reruns=1)  # a schedule of seconds: a loaded machine can overtake it (TrimmedDataAccess once in CI)
def test_dynamodb_stream_records_leave_trim_horizon_on_schedule_and_kafka_deletes_them(broker, short_retention):
    url, table = short_retention.url, unique_name("short")
    create_streamed_table(url, table)
    topic = current_stream_topic(url, table)
    arn = must(url, "DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
    config = topic_config(broker.bootstrap_servers, topic)
    assert config["retention.ms"] == str(RETENTION_MS)
    assert config["segment.ms"] == "1000"  # a quarter of the retention, at least 1 s

    dynamodb, streams = client("dynamodb", url), client("dynamodbstreams", url)
    written = time.time()
    for v in range(3):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": str(v)}})
    wait_drained(url, 30)
    shards = [s["ShardId"] for s in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]

    def trim_horizon_records() -> dict[str, list[dict]]:
        found = {}
        for shard in shards:
            position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            found[shard] = streams.get_records(ShardIterator=position)["Records"]
        return found

    now = trim_horizon_records()
    assert time.time() - written < RETENTION_MS / 1000, "the machine was too slow to read within the retention"
    [shard] = [s for s, records in now.items() if records]
    assert [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in now[shard]] == [0, 1, 2]
    partition = int(shard[-8:], 16)
    position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = streams.get_records(ShardIterator=position, Limit=1)
    held, first_seq = page["NextShardIterator"], page["Records"][0]["dynamodb"]["SequenceNumber"]

    # on schedule: gone from TRIM_HORIZON once older than the retention (the connector's exact trim) ...
    wait_for(lambda: not any(trim_horizon_records().values()), 10, "records older than the retention left TRIM_HORIZON")
    gone_after = time.time() - written
    assert gone_after >= RETENTION_MS / 1000 - 0.5
    # ... and deleted by Kafka itself soon after (segments of 1 s, retention checked every second)
    wait_for(lambda: watermarks(broker.bootstrap_servers, topic, [partition])[partition][0] == 3, 30,
             "Kafka deleted the expired records (log start offset 3)")
    deleted_after = time.time() - written
    print(f"\n[retention] {RETENTION_MS} ms: gone from TRIM_HORIZON after {gone_after:.1f}s, "
          f"deleted by Kafka after {deleted_after:.1f}s")

    # a position in the trimmed data: TrimmedDataAccessException, as AWS answers
    assert trimmed(lambda: streams.get_records(ShardIterator=held)), "an iterator into trimmed data"
    assert trimmed(lambda: streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                                      SequenceNumber=first_seq))

    # what is written now is there, until it ages out in turn
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "3"}})
    wait_drained(url, 30)
    records = trim_horizon_records()[shard]
    assert [int(r["dynamodb"]["NewImage"]["v"]["N"]) for r in records] == [3]


def test_kinesis_retention_is_the_topic_retention_changed_live_and_trimmed_positions_read_on(broker, short_retention):
    url, name = short_retention.url, unique_name("short")
    kinesis = client("kinesis", url)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    [topic] = [t for t in _topics(broker.bootstrap_servers) if t.startswith(f"kinesis.{name}.")]
    config = topic_config(broker.bootstrap_servers, topic)
    assert config["retention.ms"] == str(24 * HOUR_MS)

    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert topic_config(broker.bootstrap_servers, topic)["retention.ms"] == str(48 * HOUR_MS)

    for n in range(5):
        kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"%d" % n)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    position = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = kinesis.get_records(ShardIterator=position, Limit=2)
    assert [r["Data"] for r in page["Records"]] == [b"0", b"1"]
    held = page["NextShardIterator"]

    # 0 hours (allowed by --kinesis-min-retention-hours 0): every record is past the retention at once
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=0)
    assert topic_config(broker.bootstrap_servers, topic)["retention.ms"] == "0"
    wait_for(lambda: watermarks(broker.bootstrap_servers, topic, [0])[0][0] == 5, 30,
             "Kafka deleted the records (log start offset 5)")
    position = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=position)["Records"] == []
    # an iterator into the trimmed records reads on from the trim horizon, as Kinesis does
    page = kinesis.get_records(ShardIterator=held)
    assert page["Records"] == [] and page["NextShardIterator"]
    held = page["NextShardIterator"]

    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=1)
    assert topic_config(broker.bootstrap_servers, topic)["retention.ms"] == str(HOUR_MS)
    for n in range(5, 7):
        kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"%d" % n)
    records = []
    deadline = time.monotonic() + 10
    while len(records) < 2 and time.monotonic() < deadline:
        page = kinesis.get_records(ShardIterator=held)
        records += [r["Data"] for r in page["Records"]]
        held = page["NextShardIterator"]
    assert records == [b"5", b"6"]


def test_dynamodb_streams_keep_24_hours_unless_configured(broker, endpoint_url):
    """The session's server runs without --stream-retention-hours: the Streams API's fixed 24 h."""
    table = unique_name("default-retention")
    create_streamed_table(endpoint_url, table)
    wait_drained(endpoint_url, 30)
    topic = current_stream_topic(endpoint_url, table)
    wait_for(lambda: topic in _topics(broker.bootstrap_servers), 10, f"topic {topic} created")
    config = topic_config(broker.bootstrap_servers, topic)
    assert config["retention.ms"] == str(24 * HOUR_MS)
    assert config["segment.ms"] == str(HOUR_MS)
    must(endpoint_url, "DeleteTable", {"TableName": table})


def _topics(bootstrap: str) -> list[str]:
    from confluent_kafka.admin import AdminClient

    return list(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
