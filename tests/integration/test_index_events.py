"""Secondary indexes add no change events: a table with GSIs and an LSI streams exactly one event
per item change, whatever its writes do to the indexes (entries added, moved, removed), and a GSI
back-fill streams nothing, as on AWS."""

from __future__ import annotations

import time

import pytest

from tests.integration.cdc_helpers import latest_label, stream_spec, unique_name

pytestmark = pytest.mark.timeout(60)


def schema(hash_name, range_name=None):
    return [{"AttributeName": hash_name, "KeyType": "HASH"}] + (
        [{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else [])


@pytest.fixture
def indexed_stream_table(dynamodb):
    name = unique_name("cdc-idx")
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema("pk", "sk"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                              for n, t in (("pk", "S"), ("sk", "N"), ("g", "S"), ("l", "N"))],
        GlobalSecondaryIndexes=[{"IndexName": "byG", "KeySchema": schema("g", "sk"),
                                 "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[{"IndexName": "byL", "KeySchema": schema("pk", "l"),
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        StreamSpecification=stream_spec("NEW_AND_OLD_IMAGES"),
    )
    yield name
    dynamodb.delete_table(TableName=name)


def key(sk: int) -> dict:
    return {"pk": {"S": "a"}, "sk": {"N": str(sk)}}


def test_index_maintenance_adds_no_change_events(cdc, dynamodb, indexed_stream_table):
    table = indexed_stream_table
    dynamodb.put_item(TableName=table, Item={**key(1), "g": {"S": "x"}, "l": {"N": "1"}})  # INSERT, in both
    dynamodb.update_item(TableName=table, Key=key(1), UpdateExpression="SET g = :g",  # MODIFY, byG entry moves
                         ExpressionAttributeValues={":g": {"S": "y"}})
    dynamodb.update_item(TableName=table, Key=key(1), UpdateExpression="REMOVE l")  # MODIFY, out of byL
    dynamodb.batch_write_item(RequestItems={table: [  # 2 INSERTs
        {"PutRequest": {"Item": {**key(2), "g": {"S": "x"}}}}, {"PutRequest": {"Item": key(3)}}]})
    dynamodb.delete_item(TableName=table, Key=key(1))  # REMOVE, out of byG
    dynamodb.put_item(TableName=table, Item={**key(2), "g": {"S": "x"}})  # no change: no event
    dynamodb.update_table(  # a back-fill: no event
        TableName=table, AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "byH", "KeySchema": schema("h"),
                                                 "Projection": {"ProjectionType": "ALL"}}}])
    while dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"][-1]["IndexStatus"] != "ACTIVE":
        time.sleep(0.05)
    dynamodb.put_item(TableName=table, Item={**key(4), "h": {"S": "z"}})  # INSERT, into the new index

    events = cdc.events(cdc.stream_topic(table, latest_label(dynamodb, table)))
    names = sorted((int(e.record["Keys"]["sk"]["N"]), e.seq, e.name) for e in events)
    assert [(sk, name) for sk, _, name in names] == [
        (1, "INSERT"), (1, "MODIFY"), (1, "MODIFY"), (1, "REMOVE"), (2, "INSERT"), (3, "INSERT"), (4, "INSERT")]
