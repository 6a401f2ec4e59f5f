"""Writes keep secondary indexes: PutItem, UpdateItem, DeleteItem and BatchWriteItem update every
index in the item's own transaction; sparse indexes; an index key attribute of the wrong type (or
empty) is refused and nothing is written; per-index write capacity (ReturnConsumedCapacity=
INDEXES); item collection metrics and the item collection size limit of tables with an LSI."""

from __future__ import annotations

import boto3
import pytest

from tests.api.helpers import aws_error, unique_name, validation_error
from tests.conftest import ServerProcess, client_kwargs

INVALID = "One or more parameter values were invalid: "


def schema(hash_name, range_name=None):
    return [{"AttributeName": hash_name, "KeyType": "HASH"}] + (
        [{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else [])


def create_indexed(dynamodb, name: str) -> str:
    """(pk S, sk N) with GSI byG (g S, ALL), GSI byH (h N, KEYS_ONLY) and LSI byL (pk, l N, ALL)."""
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema("pk", "sk"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("pk", "S"), ("sk", "N"), ("g", "S"), ("h", "N"), ("l", "N"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "byG", "KeySchema": schema("g"), "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "byH", "KeySchema": schema("h"), "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        LocalSecondaryIndexes=[{"IndexName": "byL", "KeySchema": schema("pk", "l"),
                                "Projection": {"ProjectionType": "ALL"}}],
    )
    return name


@pytest.fixture
def indexed(dynamodb):
    name = create_indexed(dynamodb, unique_name("iw"))
    yield name
    dynamodb.delete_table(TableName=name)


def in_index(dynamodb, table: str, index: str) -> list:
    return dynamodb.scan(TableName=table, IndexName=index)["Items"]


def key(pk="a", sk=1):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def test_put_item_adds_the_item_to_every_index_it_has_keys_for(dynamodb, indexed):
    dynamodb.put_item(TableName=indexed, Item={**key(), "g": {"S": "x"}, "h": {"N": "5"}, "other": {"S": "o"}})
    dynamodb.put_item(TableName=indexed, Item={**key("b"), "l": {"N": "3"}})
    assert in_index(dynamodb, indexed, "byG") == [{**key(), "g": {"S": "x"}, "h": {"N": "5"}, "other": {"S": "o"}}]
    assert in_index(dynamodb, indexed, "byH") == [{**key(), "h": {"N": "5"}}]
    assert in_index(dynamodb, indexed, "byL") == [{**key("b"), "l": {"N": "3"}}]


def test_update_item_moves_the_entry_when_the_index_key_changes(dynamodb, indexed):
    dynamodb.put_item(TableName=indexed, Item={**key(), "g": {"S": "old"}})
    dynamodb.update_item(TableName=indexed, Key=key(), UpdateExpression="SET g = :g, n = :n",
                         ExpressionAttributeValues={":g": {"S": "new"}, ":n": {"N": "1"}})
    old = dynamodb.query(TableName=indexed, IndexName="byG", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "old"}})["Items"]
    new = dynamodb.query(TableName=indexed, IndexName="byG", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "new"}})["Items"]
    assert (old, new) == ([], [{**key(), "g": {"S": "new"}, "n": {"N": "1"}}])


def test_removing_an_index_key_attribute_takes_the_item_out_of_the_index(dynamodb, indexed):
    dynamodb.put_item(TableName=indexed, Item={**key(), "g": {"S": "x"}, "h": {"N": "1"}})
    dynamodb.update_item(TableName=indexed, Key=key(), UpdateExpression="REMOVE g")
    assert in_index(dynamodb, indexed, "byG") == []
    assert len(in_index(dynamodb, indexed, "byH")) == 1


def test_delete_item_and_batch_writes_keep_the_indexes(dynamodb, indexed):
    dynamodb.batch_write_item(RequestItems={indexed: [
        {"PutRequest": {"Item": {**key(sk=i), "g": {"S": "x"}}}} for i in range(5)]})
    assert len(in_index(dynamodb, indexed, "byG")) == 5
    dynamodb.delete_item(TableName=indexed, Key=key(sk=0))
    dynamodb.batch_write_item(RequestItems={indexed: [
        {"DeleteRequest": {"Key": key(sk=1)}}, {"PutRequest": {"Item": key(sk=2)}}]})
    assert sorted(int(i["sk"]["N"]) for i in in_index(dynamodb, indexed, "byG")) == [3, 4]
    dynamodb.put_item(TableName=indexed, Item={**key(sk=3), "g": {"S": "y"}})  # a put replaces the entry too
    assert sorted(i["g"]["S"] for i in in_index(dynamodb, indexed, "byG")) == ["x", "y"]


@pytest.mark.parametrize("attribute, value, message", [
    ("g", {"N": "1"}, INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: byG"),
    ("h", {"S": "1"}, INVALID + "Type mismatch for Index Key h Expected: N Actual: S IndexName: byH"),
    ("l", {"SS": ["1"]}, INVALID + "Type mismatch for Index Key l Expected: N Actual: SS IndexName: byL"),
    ("g", {"NULL": True}, INVALID + "Type mismatch for Index Key g Expected: S Actual: NULL IndexName: byG"),
    ("g", {"S": ""}, ("One or more parameter values are not valid. A value specified for a secondary index key is "
                      "not supported. The AttributeValue for a key attribute cannot contain an empty string value. "
                      "IndexName: byG, IndexKey: g")),
])
def test_an_index_key_of_the_wrong_type_is_refused_and_nothing_written(dynamodb, indexed, attribute, value, message):
    with validation_error(message):
        dynamodb.put_item(TableName=indexed, Item={**key(), attribute: value})
    assert "Item" not in dynamodb.get_item(TableName=indexed, Key=key())
    dynamodb.put_item(TableName=indexed, Item={**key(), "kept": {"S": "yes"}})
    with validation_error(message):
        dynamodb.update_item(TableName=indexed, Key=key(), UpdateExpression="SET #a = :v",
                             ExpressionAttributeNames={"#a": attribute}, ExpressionAttributeValues={":v": value})
    assert dynamodb.get_item(TableName=indexed, Key=key())["Item"] == {**key(), "kept": {"S": "yes"}}


def test_a_batch_with_one_wrong_index_key_writes_nothing(dynamodb, indexed):
    with validation_error(INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: byG"):
        dynamodb.batch_write_item(RequestItems={indexed: [
            {"PutRequest": {"Item": {**key(sk=1), "g": {"S": "fine"}}}},
            {"PutRequest": {"Item": {**key(sk=2), "g": {"N": "2"}}}}]})
    assert dynamodb.scan(TableName=indexed)["Items"] == []
    assert in_index(dynamodb, indexed, "byG") == []


def test_write_capacity_is_reported_for_the_table_and_each_index_it_touched(dynamodb, indexed):
    put = dynamodb.put_item(TableName=indexed, Item={**key(), "g": {"S": "x"}, "h": {"N": "1"}},
                            ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert put == {"TableName": indexed, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                   "GlobalSecondaryIndexes": {"byG": {"CapacityUnits": 1.0}, "byH": {"CapacityUnits": 1.0}}}
    # a new g moves the byG entry (a delete and a put); byH keeps its keys-only entry as it is
    moved = dynamodb.update_item(TableName=indexed, Key=key(), UpdateExpression="SET g = :g",
                                 ExpressionAttributeValues={":g": {"S": "y"}},
                                 ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert moved == {"TableName": indexed, "CapacityUnits": 3.0, "Table": {"CapacityUnits": 1.0},
                     "GlobalSecondaryIndexes": {"byG": {"CapacityUnits": 2.0}}}
    total = dynamodb.delete_item(TableName=indexed, Key=key(), ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert total == {"TableName": indexed, "CapacityUnits": 3.0}
    batch = dynamodb.batch_write_item(RequestItems={indexed: [{"PutRequest": {"Item": {**key(), "l": {"N": "1"}}}}]},
                                      ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert batch == [{"TableName": indexed, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.0},
                      "LocalSecondaryIndexes": {"byL": {"CapacityUnits": 1.0}}}]


def test_item_collection_metrics_of_a_table_with_an_lsi(dynamodb, indexed, table):
    metrics = {"ItemCollectionKey": {"pk": {"S": "a"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    put = dynamodb.put_item(TableName=indexed, Item={**key(), "l": {"N": "1"}}, ReturnItemCollectionMetrics="SIZE")
    assert put["ItemCollectionMetrics"] == metrics
    update = dynamodb.update_item(TableName=indexed, Key=key(), UpdateExpression="SET x = :x",
                                  ExpressionAttributeValues={":x": {"S": "1"}}, ReturnItemCollectionMetrics="SIZE")
    assert update["ItemCollectionMetrics"] == metrics
    batch = dynamodb.batch_write_item(RequestItems={indexed: [{"DeleteRequest": {"Key": key()}}]},
                                      ReturnItemCollectionMetrics="SIZE")
    assert batch["ItemCollectionMetrics"] == {indexed: [metrics]}
    deleted = dynamodb.delete_item(TableName=indexed, Key=key(), ReturnItemCollectionMetrics="SIZE")
    assert deleted["ItemCollectionMetrics"] == metrics
    plain = dynamodb.put_item(TableName=table.name, Item={"pk": {"S": "a"}}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in plain  # no LSI, no item collection to report


@pytest.fixture(scope="module")
def small_collections(broker, tmp_path_factory):
    """A table service whose item collections are limited to 1,500 bytes."""
    server = ServerProcess("table-api", tmp_path_factory.mktemp("collections"), "--kafka-bootstrap-servers",
                           broker.bootstrap_servers, env={"CDC_BRIDGE_ITEM_COLLECTION_LIMIT_BYTES": "1500"}).start()
    yield boto3.client("dynamodb", **client_kwargs(server.url))
    server.stop()


def test_a_write_past_the_item_collection_limit_is_refused(small_collections):
    client = small_collections
    name = create_indexed(client, "collections")
    # about 315 bytes, counted twice (the table and the LSI): 2 fit, 3 do not
    item = {"l": {"N": "1"}, "data": {"S": "x" * 300}}
    client.put_item(TableName=name, Item={**key(sk=1), **item})
    client.put_item(TableName=name, Item={**key(sk=2), **item})
    with aws_error("ItemCollectionSizeLimitExceededException", "Collection size exceeded."):
        client.put_item(TableName=name, Item={**key(sk=3), **item})
    assert "Item" not in client.get_item(TableName=name, Key=key(sk=3))
    client.put_item(TableName=name, Item={**key("other", 3), **item})  # another collection has room
    client.delete_item(TableName=name, Key=key(sk=2))  # shrinking is always allowed
    client.put_item(TableName=name, Item={**key(sk=3), **item})
