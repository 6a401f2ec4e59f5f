"""`GET /metrics`: CloudWatch's DynamoDB and Kinesis metrics under their Prometheus names
(docs/monitoring.md), checked against known writes and read with prometheus_client's parser; the
project's own figures (outbox, publisher, requests per operation) are still there."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cdc_bridge.testing import endpoint
from tests.api.helpers import unique_name
from tests.api.monitoring_helpers import monitoring_url, sample, scrape, wait_for_sample
from tests.conftest import CREDENTIALS, REGION

BIG = "x" * 1500  # an item of about 1.5 KB: 2 write units, 1 strongly consistent read unit


@pytest.fixture(scope="module")
def url(broker, tmp_path_factory, request):
    return monitoring_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="module")
def ddb(url):
    return endpoint(url).dynamodb_client()


def new_table(ddb, **extra) -> str:
    name = unique_name("mon")
    extra.setdefault("BillingMode", "PAY_PER_REQUEST")
    definitions = extra.pop("AttributeDefinitions", [{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=definitions, **extra)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name


def test_writes_and_reads_are_counted_per_table_in_capacity_units(url, ddb):
    name = new_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "big": {"S": BIG}})
    ddb.get_item(TableName=name, Key={"pk": {"S": "b"}}, ConsistentRead=True)
    ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})  # eventually consistent: half a unit
    assert sample(url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name) == 3
    assert sample(url, "aws_dynamodb_consumed_read_capacity_units_total", table_name=name) == 1.5


def test_capacity_units_are_counted_also_when_nothing_is_throttled(endpoint_url):
    """The suite's own server runs without --enforce-capacity: the units still reach the metrics."""
    ddb = endpoint(endpoint_url).dynamodb_client()
    name = new_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "big": {"S": BIG}})
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": k}}}} for k in "bcd"]})
    ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert sample(endpoint_url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name) == 5
    assert sample(endpoint_url, "aws_dynamodb_consumed_read_capacity_units_total", table_name=name) == 1


def test_successful_requests_have_their_latency_per_table_and_operation(url, ddb):
    name = new_table(ddb)
    for key in "abc":
        ddb.put_item(TableName=name, Item={"pk": {"S": key}})
    ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert sample(url, "aws_dynamodb_successful_request_latency_seconds_count", table_name=name, operation="PutItem") == 3
    assert sample(url, "aws_dynamodb_successful_request_latency_seconds_count", table_name=name, operation="GetItem") == 1
    total = sample(url, "aws_dynamodb_successful_request_latency_seconds_sum", table_name=name, operation="PutItem")
    assert 0 < total < 30  # seconds, not milliseconds


def test_query_and_scan_count_the_items_they_return(url, ddb):
    name = new_table(ddb)
    for key in "abcd":
        ddb.put_item(TableName=name, Item={"pk": {"S": key}})
    ddb.scan(TableName=name)
    ddb.scan(TableName=name, Limit=1)
    ddb.query(TableName=name, KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": "a"}})
    assert sample(url, "aws_dynamodb_returned_item_count_total", table_name=name, operation="Scan") == 5
    assert sample(url, "aws_dynamodb_returned_item_count_total", table_name=name, operation="Query") == 1


def test_a_failed_condition_counts_per_table_and_not_as_a_user_error(url, ddb):
    name = new_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    user_errors = sample(url, "aws_dynamodb_user_errors_total") or 0
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert sample(url, "aws_dynamodb_conditional_check_failed_requests_total", table_name=name) == 1
    assert (sample(url, "aws_dynamodb_user_errors_total") or 0) == user_errors
    # DynamoDB charges the failed write too
    assert sample(url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name) == 2


def test_user_errors_are_counted_for_the_account_without_a_table(url, ddb):
    name = new_table(ddb)
    before = sample(url, "aws_dynamodb_user_errors_total") or 0
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        ddb.get_item(TableName=unique_name("missing"), Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError, match="ValidationException"):
        ddb.put_item(TableName=name, Item={"other": {"S": "no key"}})
    assert sample(url, "aws_dynamodb_user_errors_total") == before + 2
    assert not [k for k in scrape(url) if k[0] == "aws_dynamodb_user_errors_total" and k[1]]  # no labels


def test_throttled_requests_are_counted_per_table_and_operation(url, ddb):
    # a provisioned table's bucket starts empty with --enforce-capacity: its first write is refused
    name = new_table(ddb, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    once = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **CREDENTIALS,
                        config=Config(retries={"total_max_attempts": 1}))  # one request, no retry
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        once.put_item(TableName=name, Item={"pk": {"S": "a"}, "big": {"S": BIG * 100}})
    assert sample(url, "aws_dynamodb_throttled_requests_total", table_name=name, operation="PutItem") == 1
    assert (sample(url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name) or 0) == 0


def test_global_index_units_are_counted_under_the_index(url, ddb):
    name = new_table(ddb, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                              "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}})  # not in the index
    assert sample(url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name,
                  global_secondary_index_name="by-g") == 1
    assert sample(url, "aws_dynamodb_consumed_write_capacity_units_total", table_name=name) == 2


def test_time_to_live_deletions_are_counted(url, ddb):
    name = new_table(ddb)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    past = str(int(time.time()) - 60)
    for key in "ab":
        ddb.put_item(TableName=name, Item={"pk": {"S": key}, "exp": {"N": past}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "kept"}})
    assert wait_for_sample(url, "aws_dynamodb_time_to_live_deleted_item_count_total", 2, table_name=name) == 2
    assert ddb.scan(TableName=name)["Count"] == 1


def test_stream_get_records_count_the_records_returned_and_their_latency(url, ddb):
    name = new_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    for key in "abc":
        ddb.put_item(TableName=name, Item={"pk": {"S": key}})
    streams = endpoint(url).dynamodbstreams_client()
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    label = arn.rpartition("/stream/")[2]
    seen, deadline = 0, time.monotonic() + 30
    while seen < 3 and time.monotonic() < deadline:
        seen = 0
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            seen += len(streams.get_records(ShardIterator=iterator)["Records"])
    assert seen == 3
    returned = [v for (n, labels), v in scrape(url).items()
                if n == "aws_dynamodb_returned_records_count_total" and dict(labels).get("table_name") == name]
    assert sum(returned) >= 3  # every read above, the last complete pass included
    assert {("stream_label", label), ("operation", "GetRecords"), ("table_name", name)} <= {
        label_pair for (n, labels) in scrape(url) if n == "aws_dynamodb_returned_records_count_total"
        for label_pair in labels}
    calls = sample(url, "aws_dynamodb_successful_request_latency_seconds_count", table_name=name, operation="GetRecords")
    assert calls is not None and calls >= 3  # one per GetRecords above (a shard each pass)


def test_kinesis_puts_and_reads_are_counted_per_stream(url):
    kinesis = endpoint(url).kinesis_client()
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"0123456789")
    kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "p", "Data": b"abcd"},
                                                  {"PartitionKey": "q", "Data": b"efg"}])
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert len(got) == 3
    assert sample(url, "aws_kinesis_incoming_records_total", stream_name=name) == 3
    assert sample(url, "aws_kinesis_incoming_bytes_total", stream_name=name) == 17
    assert sample(url, "aws_kinesis_get_records_records_total", stream_name=name) == 3
    assert sample(url, "aws_kinesis_get_records_bytes_total", stream_name=name) == 17
    assert sample(url, "aws_kinesis_put_record_latency_seconds_count", stream_name=name) == 1
    assert sample(url, "aws_kinesis_get_records_iterator_age_seconds", stream_name=name) is not None
    assert sample(url, "aws_kinesis_write_provisioned_throughput_exceeded_total", stream_name=name) == 0


def test_the_project_figures_are_still_exposed(url, ddb):
    name = new_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    figures = scrape(url)
    names = {n for n, _ in figures}
    for expected in ("cdc_bridge_outbox_rows", "cdc_bridge_outbox_oldest_age_seconds", "cdc_bridge_events_published_total",
                     "cdc_bridge_publisher_connected", "cdc_bridge_publisher_sessions_total",
                     "cdc_bridge_publisher_errors_total"):
        assert expected in names
    assert figures[("cdc_bridge_requests_total", frozenset({("operation", "DynamoDB_20120810.PutItem")}))] >= 1
