"""BatchGetItem and BatchWriteItem: several tables in one call, projection, capacity, the limits
(100 keys, 25 writes, 16 MB of response), duplicates, all-or-nothing validation, and boto3's
batch writer."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.api.helpers import MAX_ITEM_BYTES, aws_error, validation_error


def put(item: dict) -> dict:
    return {"PutRequest": {"Item": item}}


def delete(key: dict) -> dict:
    return {"DeleteRequest": {"Key": key}}


def key(pk: str, sk: int | None = None) -> dict:
    return {"pk": {"S": pk}} if sk is None else {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def scan_all(dynamodb, table: str) -> list[dict]:
    return dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]


# --- BatchWriteItem ------------------------------------------------------------------------------------


def test_batch_write_puts_and_deletes_over_two_tables(dynamodb, table, composite_table):
    dynamodb.put_item(TableName=table.name, Item={**key("gone"), "v": {"S": "old"}})
    response = dynamodb.batch_write_item(RequestItems={
        table.name: [put({**key("a"), "v": {"S": "A"}}), put({**key("b"), "v": {"N": "2"}}), delete(key("gone"))],
        composite_table.name: [put({**key("p", 1), "x": {"BOOL": True}}), delete(key("p", 9))],
    })
    assert response["UnprocessedItems"] == {}
    assert sorted(i["pk"]["S"] for i in scan_all(dynamodb, table.name)) == ["a", "b"]
    assert scan_all(dynamodb, composite_table.name) == [{**key("p", 1), "x": {"BOOL": True}}]


def test_batch_write_replaces_whole_items(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item={**key("a"), "old": {"S": "x"}})
    dynamodb.batch_write_item(RequestItems={table.name: [put({**key("a"), "new": {"S": "y"}})]})
    assert scan_all(dynamodb, table.name) == [{**key("a"), "new": {"S": "y"}}]


def test_batch_write_reports_consumed_capacity_per_table(dynamodb, table, composite_table):
    response = dynamodb.batch_write_item(ReturnConsumedCapacity="INDEXES", RequestItems={
        table.name: [put(key("a")), put(key("b"))], composite_table.name: [put(key("p", 1))]})
    by_table = {c["TableName"]: c for c in response["ConsumedCapacity"]}
    assert by_table[table.name]["CapacityUnits"] == 2.0 and by_table[table.name]["Table"] == {"CapacityUnits": 2.0}
    assert by_table[composite_table.name]["CapacityUnits"] == 1.0


@pytest.mark.parametrize("requests", [
    [put(key("a")), put({**key("a"), "v": {"S": "again"}})],
    [put(key("a")), delete(key("a"))],
    [delete({"pk": {"S": "a"}}), delete({"pk": {"S": "a"}})],
])
def test_duplicate_keys_in_one_batch_are_refused_and_nothing_is_written(dynamodb, table, requests):
    with validation_error("Provided list of item keys contains duplicates"):
        dynamodb.batch_write_item(RequestItems={table.name: [put(key("first")), *requests]})
    assert scan_all(dynamodb, table.name) == []


def test_the_same_number_key_written_two_ways_is_a_duplicate(dynamodb, composite_table):
    with validation_error("Provided list of item keys contains duplicates"):
        dynamodb.batch_write_item(RequestItems={composite_table.name: [
            put({"pk": {"S": "p"}, "sk": {"N": "1.0"}}), put({"pk": {"S": "p"}, "sk": {"N": "1"}})]})


def test_more_than_25_writes_are_refused(dynamodb, table, composite_table):
    with validation_error("Too many items requested for the BatchWriteItem call"):
        dynamodb.batch_write_item(RequestItems={
            table.name: [put(key(f"k{i}")) for i in range(20)],
            composite_table.name: [put(key("p", i)) for i in range(6)],
        })


def test_an_unknown_table_fails_the_whole_batch(dynamodb, table):
    with aws_error("ResourceNotFoundException"):
        dynamodb.batch_write_item(RequestItems={
            table.name: [put(key("a"))], f"missing-{uuid.uuid4().hex[:8]}": [put(key("b"))]})
    assert scan_all(dynamodb, table.name) == []


@pytest.mark.parametrize("request_", [
    put({"other": {"S": "x"}}),
    put({"pk": {"N": "1"}}),
    delete({"pk": {"S": "a"}, "extra": {"S": "x"}}),
    delete({"pk": {"N": "1"}}),
])
def test_keys_must_match_the_schema(dynamodb, table, request_):
    with validation_error("The provided key element does not match the schema"):
        dynamodb.batch_write_item(RequestItems={table.name: [put(key("ok")), request_]})
    assert scan_all(dynamodb, table.name) == []


def test_a_write_request_needs_exactly_one_of_put_and_delete(lenient, table):
    with validation_error("Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
                          "the supported datatypes"):
        lenient.batch_write_item(RequestItems={table.name: [{}]})


def test_an_item_over_400_kb_is_refused(dynamodb, table):
    with validation_error("Item size has exceeded the maximum allowed size"):
        dynamodb.batch_write_item(RequestItems={table.name: [put({**key("big"), "b": {"S": "x" * MAX_ITEM_BYTES}})]})


def test_resource_batch_writer_writes_many_items(dynamodb_resource, make_table):
    table = make_table(range_key=("sk", "N"))
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
        for i in range(60):
            batch.put_item(Item={"pk": "p", "sk": i, "v": Decimal(i) / 4})
        batch.put_item(Item={"pk": "p", "sk": 0, "v": "last write wins"})
        batch.delete_item(Key={"pk": "p", "sk": 59})
    items = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "p"})["Items"]
    assert [i["sk"] for i in items] == list(range(59))
    assert items[0]["v"] == "last write wins" and items[1]["v"] == Decimal("0.25")


# --- BatchGetItem ----------------------------------------------------------------------------------------


def test_batch_get_reads_keys_of_two_tables(dynamodb, table, composite_table):
    dynamodb.batch_write_item(RequestItems={
        table.name: [put({**key("a"), "v": {"N": "1"}}), put({**key("b"), "v": {"N": "2"}})],
        composite_table.name: [put({**key("p", 1), "w": {"S": "x"}})],
    })
    response = dynamodb.batch_get_item(RequestItems={
        table.name: {"Keys": [key("a"), key("b"), key("missing")], "ProjectionExpression": "#v",
                     "ExpressionAttributeNames": {"#v": "v"}, "ConsistentRead": True},
        composite_table.name: {"Keys": [key("p", 1), key("p", 2)]},
    })
    assert sorted(i["v"]["N"] for i in response["Responses"][table.name]) == ["1", "2"]
    assert response["Responses"][composite_table.name] == [{**key("p", 1), "w": {"S": "x"}}]
    assert response["UnprocessedKeys"] == {}


def test_batch_get_with_attributes_to_get_and_capacity(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item={**key("a"), "v": {"N": "1"}, "w": {"N": "2"}})
    response = dynamodb.batch_get_item(ReturnConsumedCapacity="TOTAL", RequestItems={
        table.name: {"Keys": [key("a")], "AttributesToGet": ["w"]}})
    assert response["Responses"][table.name] == [{"w": {"N": "2"}}]
    assert response["ConsumedCapacity"] == [{"TableName": table.name, "CapacityUnits": 0.5}]


def test_batch_get_refuses_more_than_100_keys(dynamodb, table, composite_table):
    with validation_error("Too many items requested for the BatchGetItem call"):
        dynamodb.batch_get_item(RequestItems={
            table.name: {"Keys": [key(f"k{i}") for i in range(60)]},
            composite_table.name: {"Keys": [key("p", i) for i in range(41)]},
        })


def test_batch_get_refuses_duplicate_keys(dynamodb, table):
    with validation_error("Provided list of item keys contains duplicates"):
        dynamodb.batch_get_item(RequestItems={table.name: {"Keys": [key("a"), key("b"), key("a")]}})


def test_batch_get_of_a_missing_table_is_resource_not_found(dynamodb, table):
    with aws_error("ResourceNotFoundException"):
        dynamodb.batch_get_item(RequestItems={table.name: {"Keys": [key("a")]},
                                              f"missing-{uuid.uuid4().hex[:8]}": {"Keys": [key("a")]}})


def test_batch_get_keys_must_match_the_schema(dynamodb, table):
    with validation_error("The provided key element does not match the schema"):
        dynamodb.batch_get_item(RequestItems={table.name: {"Keys": [{"pk": {"N": "1"}}]}})


def test_resource_batch_get_item(dynamodb_resource, table):
    with table.batch_writer() as batch:
        for i in range(5):
            batch.put_item(Item={"pk": f"k{i}", "n": i})
    response = dynamodb_resource.batch_get_item(RequestItems={table.name: {"Keys": [{"pk": "k1"}, {"pk": "k3"}]}})
    assert sorted(i["n"] for i in response["Responses"][table.name]) == [1, 3]


def test_batch_get_answers_at_most_16_mb_and_returns_the_rest_as_unprocessed_keys(dynamodb, table):
    blob = "x" * (MAX_ITEM_BYTES - 1024)
    keys = [key(f"big-{i:03d}") for i in range(50)]  # 50 x ~399 KB: ~19.5 MB
    for i in range(0, len(keys), 25):
        dynamodb.batch_write_item(RequestItems={table.name: [put({**k, "data": {"S": blob}}) for k in keys[i:i + 25]]})
    found: list[str] = []
    request = {table.name: {"Keys": keys, "ProjectionExpression": "pk, #d", "ExpressionAttributeNames": {"#d": "data"}}}
    for _ in range(5):
        response = dynamodb.batch_get_item(RequestItems=request)
        page = response["Responses"].get(table.name, [])
        assert sum(len(i["data"]["S"]) for i in page) <= 16 * 1024 * 1024
        found += [i["pk"]["S"] for i in page]
        request = response["UnprocessedKeys"]
        if not request:
            break
        assert request[table.name]["ProjectionExpression"] == "pk, #d"
    assert sorted(found) == sorted(k["pk"]["S"] for k in keys)
