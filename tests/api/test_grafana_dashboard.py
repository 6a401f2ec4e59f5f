"""The Grafana dashboard (deploy/grafana/cdc-bridge.json) is a dashboard Grafana imports, and every
metric its panels query is one `/metrics` exposes once tables, streams and Kinesis have been used."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cdc_bridge.testing import endpoint
from tests.api.helpers import unique_name
from tests.api.monitoring_helpers import monitoring_url

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "cdc-bridge.json"
METRIC = re.compile(r"\b((?:aws|cdc_bridge)_[a-z0-9_]+)\b")
SUFFIXES = {"counter": ("_total",), "summary": ("_count", "_sum"), "gauge": ("",)}


@pytest.fixture(scope="module")
def url(broker, tmp_path_factory, request):
    return monitoring_url(broker, tmp_path_factory, request)


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries(board: dict) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", ())]


def exposed(url: str) -> set[str]:
    """The sample names /metrics has, and those a declared family would have (a counter with no
    sample yet, such as SystemErrors before the first 500)."""
    names = set()
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text):
        names |= {s.name for s in family.samples}
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ())}
    return names


def use_everything(url: str) -> None:
    stack = endpoint(url)
    ddb, streams, kinesis = stack.dynamodb_client(), stack.dynamodbstreams_client(), stack.kinesis_client()
    name = unique_name("graf")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})
    ddb.query(TableName=name, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    streams.get_records(ShardIterator=iterator["ShardIterator"])
    stream = unique_name("graf")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200})
    kinesis.put_record(StreamName=stream, PartitionKey="p", Data=b"x")
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    kinesis.get_records(ShardIterator=iterator["ShardIterator"])
    time.sleep(0.5)  # the publisher ships the change event (events published)


def test_the_dashboard_is_an_importable_grafana_dashboard():
    board = dashboard()
    assert board["title"] and board["uid"] and board["schemaVersion"] >= 36
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}" and panel["targets"]
            assert all(t["refId"] and t["expr"] for t in panel["targets"])
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"table", "stream"} <= variables


def test_every_queried_metric_is_exposed(url):
    use_everything(url)
    names = exposed(url)
    board = dashboard()
    wanted = {m for expr in queries(board) for m in METRIC.findall(expr)}
    wanted |= {m for v in board["templating"]["list"] for m in METRIC.findall(v["definition"])}
    assert wanted, "the dashboard queries no metric"
    assert sorted(wanted - names) == []
    # and the CloudWatch families it is about are all on a panel
    assert {"aws_dynamodb_consumed_write_capacity_units_total", "aws_dynamodb_successful_request_latency_seconds_count",
            "aws_dynamodb_returned_item_count_total", "aws_dynamodb_throttled_requests_total",
            "aws_dynamodb_user_errors_total", "aws_dynamodb_system_errors_total",
            "aws_dynamodb_returned_records_count_total", "aws_kinesis_incoming_records_total",
            "aws_kinesis_get_records_iterator_age_seconds", "cdc_bridge_stream_lag_seconds",
            "cdc_bridge_outbox_rows"} <= wanted
