"""A table's page shows its CloudWatch metrics of the last minutes (issue #20's per-table metrics):
consumed read and write capacity, throttles, returned items, stream records and latency, with the
numbers of known writes and reads, in a real Chromium."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest

from tests.browser.conftest import watch
from tests.browser.test_console_flow import LOADED
from tests.conftest import client_kwargs, session_up_url


@pytest.fixture(scope="module")
def console_url(broker, tmp_path_factory, request):
    return session_up_url("console", broker, tmp_path_factory, request)


def caption(page, title: str) -> str:
    figure = page.locator("figure.chart", has=page.locator("strong", has_text=title))
    figure.wait_for(timeout=30_000)
    return figure.locator("figcaption").inner_text()


def use_table(url: str) -> tuple[str, int]:
    """3 writes (4 units: one item is 1.5 KB), a consistent GetItem (1 unit), a Query returning one
    item (0.5 unit), and every stream record read once: (the table, how many successful calls: the 5
    item calls and each GetRecords, which CloudWatch times per table too)."""
    ddb = boto3.client("dynamodb", **client_kwargs(url))
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "c"}, "big": {"S": "x" * 1500}})
    ddb.get_item(TableName=name, Key={"pk": {"S": "c"}}, ConsistentRead=True)
    ddb.query(TableName=name, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})
    streams = boto3.client("dynamodbstreams", **client_kwargs(url))
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    read, calls, deadline = 0, 5, time.monotonic() + 30
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = {s["ShardId"]: streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"],
                                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                 for s in shards}
    while read < 3 and time.monotonic() < deadline:  # each record read once: the iterators move on
        for shard, iterator in iterators.items():
            page = streams.get_records(ShardIterator=iterator)
            calls += 1
            read += len(page["Records"])
            iterators[shard] = page["NextShardIterator"]
    assert read == 3
    return name, calls


def test_a_table_page_shows_its_metrics_of_the_last_minutes(console_url, browser_context, page_errors, screenshots):
    name, calls = use_table(console_url)
    page = browser_context.new_page()
    watch(page, page_errors)
    page.goto(f"{console_url}/console#/tables/{name}")
    page.get_by_role("heading", name="Metrics", exact=True).wait_for()
    page.wait_for_function(LOADED)
    assert "4 units in the last 15 minutes" in caption(page, "Consumed write capacity")
    assert "1.5 units in the last 15 minutes" in caption(page, "Consumed read capacity")
    assert "0 requests in the last 15 minutes" in caption(page, "Throttled requests")
    assert "1 item in the last 15 minutes" in caption(page, "Items returned by Query and Scan")
    assert "3 records in the last 15 minutes" in caption(page, "Stream records returned by GetRecords")
    assert f" ms over {calls} calls in the last 15 minutes" in caption(page, "Request latency")
    charts = page.locator("section[aria-labelledby=table-metrics] figure.chart svg")
    assert charts.count() == 6
    assert "Consumed write capacity: now" in charts.nth(1).get_attribute("aria-label")
    page.screenshot(path=screenshots / "table-metrics.png", full_page=True)
    assert page_errors == []
