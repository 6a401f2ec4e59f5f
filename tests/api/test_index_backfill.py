"""A GSI added to a table with items is back-filled in the background: CREATING with Backfilling
while it runs (reads of it refused, DeleteTable and another index creation refused as on AWS),
writes going on meanwhile land in it exactly once, and a restart in the middle resumes it.

These tests run their own table service whose back-fill goes 5 items at a time with a pause, so
that the CREATING phase lasts long enough to be seen."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.api.helpers import aws_error, unique_name, validation_error
from tests.conftest import ServerProcess, client_kwargs

SLOW = {"CDC_BRIDGE_BACKFILL_BATCH_ITEMS": "5", "CDC_BRIDGE_BACKFILL_PAUSE_SECONDS": "0.05"}
ITEMS = 200


def slow_server(broker, data_dir) -> ServerProcess:
    return ServerProcess("table-api", data_dir, "--kafka-bootstrap-servers", broker.bootstrap_servers, env=SLOW)


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory):
    process = slow_server(broker, tmp_path_factory.mktemp("backfill")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server):
    return boto3.client("dynamodb", **client_kwargs(server.url))


def filled_table(client) -> str:
    """A table (pk S) of ITEMS items, each with a color, and no index yet."""
    name = unique_name("bf")
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    for start in range(0, ITEMS, 25):
        client.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": f"item-{i:04d}"}, "color": {"S": ("red", "blue")[i % 2]}}}}
            for i in range(start, start + 25)]})
    return name


def add_color_index(client, name: str) -> dict:
    return client.update_table(
        TableName=name, AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "byColor", "Projection": {"ProjectionType": "ALL"},
                                                 "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}]}}],
    )["TableDescription"]


def color_index(client, name: str) -> dict:
    return next(i for i in client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
                if i["IndexName"] == "byColor")


def wait_active(client, name: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while (index := color_index(client, name))["IndexStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, index
        time.sleep(0.05)
    return index


def entries(client, name: str) -> dict[str, str]:
    found, start = {}, None
    while True:
        page = client.scan(TableName=name, IndexName="byColor", **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            assert item["pk"]["S"] not in found, f"{item['pk']['S']} twice in the index"
            found[item["pk"]["S"]] = item["color"]["S"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def expected(client, name: str) -> dict[str, str]:
    items = client.scan(TableName=name)["Items"]
    return {i["pk"]["S"]: i["color"]["S"] for i in items if "color" in i}


def test_a_new_gsi_is_creating_and_backfilling_then_active(client):
    name = filled_table(client)
    answer = add_color_index(client, name)
    assert next(i for i in answer["GlobalSecondaryIndexes"] if i["IndexName"] == "byColor")["IndexStatus"] == "CREATING"
    index = color_index(client, name)
    assert (index["IndexStatus"], index["Backfilling"]) == ("CREATING", True)
    assert answer["TableStatus"] == "ACTIVE"
    index = wait_active(client, name)
    assert "Backfilling" not in index and index["ItemCount"] == ITEMS


def test_reading_a_backfilling_index_is_refused(client):
    name = filled_table(client)
    add_color_index(client, name)
    with validation_error("Cannot read from backfilling global secondary index: byColor"):
        client.query(TableName=name, IndexName="byColor", KeyConditionExpression="color = :c",
                     ExpressionAttributeValues={":c": {"S": "red"}})
    with validation_error("Cannot read from backfilling global secondary index: byColor"):
        client.scan(TableName=name, IndexName="byColor")
    wait_active(client, name)
    found = client.query(TableName=name, IndexName="byColor", KeyConditionExpression="color = :c",
                         ExpressionAttributeValues={":c": {"S": "red"}})
    assert found["Count"] == ITEMS // 2


def test_while_an_index_is_created_the_table_cannot_be_deleted_nor_get_another_index(client):
    name = filled_table(client)
    add_color_index(client, name)
    with aws_error("ResourceInUseException", "Attempt to change a resource which is still in use: Cannot delete "
                                             "table while indexes are being created, updated, or deleted."):
        client.delete_table(TableName=name)
    with aws_error("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or "
                                             "deleted simultaneously per table"):
        client.update_table(
            TableName=name, AttributeDefinitions=[{"AttributeName": "size", "AttributeType": "N"}],
            GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "bySize", "Projection": {"ProjectionType": "ALL"},
                                                     "KeySchema": [{"AttributeName": "size", "KeyType": "HASH"}]}}])
    wait_active(client, name)
    client.delete_table(TableName=name)


def test_writes_during_the_backfill_are_in_the_index_exactly_once(client):
    name = filled_table(client)
    add_color_index(client, name)
    writes = 0
    while color_index(client, name)["IndexStatus"] == "CREATING" or writes < 60:
        i = writes % ITEMS
        match writes % 4:
            case 0:  # a new item, placed anywhere in key order
                client.put_item(TableName=name, Item={"pk": {"S": f"item-{i:04d}-new"}, "color": {"S": "green"}})
            case 1:  # a new index key for an existing item
                client.update_item(TableName=name, Key={"pk": {"S": f"item-{i:04d}"}},
                                   UpdateExpression="SET color = :c", ExpressionAttributeValues={":c": {"S": "yellow"}})
            case 2:  # out of the index
                client.update_item(TableName=name, Key={"pk": {"S": f"item-{i:04d}"}}, UpdateExpression="REMOVE color")
            case 3:
                client.delete_item(TableName=name, Key={"pk": {"S": f"item-{i:04d}"}})
        writes += 1
    wait_active(client, name)
    assert entries(client, name) == expected(client, name)


def test_a_backfill_interrupted_by_a_restart_resumes(broker, tmp_path):
    first = slow_server(broker, tmp_path).start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(first.url))
        name = filled_table(client)
        add_color_index(client, name)
        assert color_index(client, name)["IndexStatus"] == "CREATING"
    finally:
        first.stop()
    second = slow_server(broker, tmp_path).start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(second.url))
        assert wait_active(client, name)["ItemCount"] == ITEMS
        assert entries(client, name) == expected(client, name)
    finally:
        second.stop()
