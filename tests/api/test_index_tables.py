"""Secondary indexes in the table operations: CreateTable with GlobalSecondaryIndexes and
LocalSecondaryIndexes (DynamoDB's rules and messages), how DescribeTable, CreateTable and
DeleteTable report each index, and UpdateTable's GlobalSecondaryIndexUpdates (Create, Update,
Delete). Reads and writes through indexes: test_index_reads.py, test_index_writes.py."""

from __future__ import annotations

import re
import time

import boto3
import pytest

from tests.api.helpers import aws_error, unique_name, validation_error
from tests.conftest import ServerProcess, client_kwargs

INVALID = "One or more parameter values were invalid: "


def definitions(**types: str) -> list[dict]:
    return [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]


def key(hash_name: str, range_name: str | None = None) -> list[dict]:
    schema = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    return schema + ([{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else [])


def gsi(name: str, hash_name: str, range_name: str | None = None, projection: dict | None = None, **extra) -> dict:
    return {"IndexName": name, "KeySchema": key(hash_name, range_name),
            "Projection": {"ProjectionType": "ALL"} if projection is None else projection, **extra}


def lsi(name: str, hash_name: str, range_name: str, projection: dict | None = None) -> dict:
    return {"IndexName": name, "KeySchema": key(hash_name, range_name),
            "Projection": projection or {"ProjectionType": "ALL"}}


@pytest.fixture
def create(lenient, tables):
    """CreateTable (user, ts) with the given definitions and indexes; returns its answer."""

    def make(attribute_types: dict | None = None, schema: list[dict] | None = None, **params) -> dict:
        name = params.pop("TableName", unique_name("idx"))
        tables.append(name)
        params.setdefault("BillingMode", "PAY_PER_REQUEST")
        return lenient.create_table(
            TableName=name, KeySchema=schema or key("user", "ts"),
            AttributeDefinitions=definitions(**(attribute_types or {"user": "S", "ts": "N"})), **params,
        )["TableDescription"]

    return make


def refused(create, message: str, types: dict | None = None, schema: list | None = None, **params):
    with validation_error(message):
        create(types, schema, **params)


# -- CreateTable: what it reports ----------------------------------------------------------------


def test_create_table_reports_each_index_with_its_arn_status_and_counts(create):
    desc = create({"user": "S", "ts": "N", "g": "S", "l": "N"},
                  GlobalSecondaryIndexes=[gsi("byG", "g", "ts")], LocalSecondaryIndexes=[lsi("byL", "user", "l")])
    [g] = desc["GlobalSecondaryIndexes"]
    assert g["IndexName"] == "byG" and g["KeySchema"] == key("g", "ts") and g["Projection"] == {"ProjectionType": "ALL"}
    assert g["IndexStatus"] in ("CREATING", "ACTIVE")
    assert g["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert (g["IndexSizeBytes"], g["ItemCount"]) == (0, 0)
    assert g["IndexArn"] == f"{desc['TableArn']}/index/byG"
    [local] = desc["LocalSecondaryIndexes"]
    assert set(local) == {"IndexName", "KeySchema", "Projection", "IndexSizeBytes", "ItemCount", "IndexArn"}
    assert local["IndexArn"] == f"{desc['TableArn']}/index/byL"


def test_describe_table_shows_indexes_active_with_live_counts(dynamodb, create):
    desc = create({"user": "S", "ts": "N", "g": "S"},
                  GlobalSecondaryIndexes=[gsi("byG", "g", projection={"ProjectionType": "KEYS_ONLY"})])
    name = desc["TableName"]
    dynamodb.put_item(TableName=name, Item={"user": {"S": "a"}, "ts": {"N": "1"}, "g": {"S": "x"},
                                            "big": {"S": "y" * 500}})
    dynamodb.put_item(TableName=name, Item={"user": {"S": "b"}, "ts": {"N": "1"}})  # no g: not in the index
    [g] = dynamodb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert g["IndexStatus"] == "ACTIVE" and "Backfilling" not in g
    assert g["ItemCount"] == 1
    assert 0 < g["IndexSizeBytes"] < 100  # keys only, not the 500-byte attribute


def test_provisioned_table_reports_each_gsi_throughput(create):
    desc = create({"user": "S", "ts": "N", "g": "S"}, BillingMode="PROVISIONED",
                  ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
                  GlobalSecondaryIndexes=[gsi("byG", "g", ProvisionedThroughput={"ReadCapacityUnits": 2,
                                                                                 "WriteCapacityUnits": 3})])
    assert desc["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 2, "WriteCapacityUnits": 3}


def test_on_demand_and_warm_throughput_of_a_gsi_are_reported(create):
    desc = create({"user": "S", "ts": "N", "g": "S"}, GlobalSecondaryIndexes=[gsi(
        "byG", "g", OnDemandThroughput={"MaxReadRequestUnits": 50, "MaxWriteRequestUnits": 60},
        WarmThroughput={"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000})])
    [g] = desc["GlobalSecondaryIndexes"]
    assert g["OnDemandThroughput"] == {"MaxReadRequestUnits": 50, "MaxWriteRequestUnits": 60}
    assert g["WarmThroughput"]["ReadUnitsPerSecond"] == 12000 and g["WarmThroughput"]["WriteUnitsPerSecond"] == 4000


def test_projections_keys_only_include_and_all_are_kept(create):
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]}
    desc = create({"user": "S", "ts": "N", "g": "S", "h": "B"}, GlobalSecondaryIndexes=[
        gsi("idx1", "g", projection={"ProjectionType": "KEYS_ONLY"}), gsi("idx2", "h", "ts", projection=include),
        gsi("idx3", "ts")])
    assert [i["Projection"] for i in desc["GlobalSecondaryIndexes"]] == [
        {"ProjectionType": "KEYS_ONLY"}, include, {"ProjectionType": "ALL"}]


def test_index_definitions_survive_a_restart_of_the_server(broker, tmp_path):
    def start():
        return ServerProcess("table-api", tmp_path, "--kafka-bootstrap-servers", broker.bootstrap_servers).start()

    server = start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(server.url))
        client.create_table(TableName="kept", KeySchema=key("user", "ts"), BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=definitions(user="S", ts="N", g="S", l="N"),
                            GlobalSecondaryIndexes=[gsi("byG", "g")], LocalSecondaryIndexes=[lsi("byL", "user", "l")])
        client.put_item(TableName="kept", Item={"user": {"S": "a"}, "ts": {"N": "1"}, "g": {"S": "x"}, "l": {"N": "2"}})
        before = client.describe_table(TableName="kept")["Table"]
    finally:
        server.stop()
    server = start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(server.url))
        after = client.describe_table(TableName="kept")["Table"]
        assert after["GlobalSecondaryIndexes"] == before["GlobalSecondaryIndexes"]
        assert after["LocalSecondaryIndexes"] == before["LocalSecondaryIndexes"]
        found = client.query(TableName="kept", IndexName="byG", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": {"S": "x"}})["Items"]
        assert [i["user"] for i in found] == [{"S": "a"}]
    finally:
        server.stop()


# -- CreateTable: DynamoDB's refusals, in its words ----------------------------------------------


@pytest.mark.parametrize("types, params, message", [
    ({"user": "S", "ts": "N", "g": "S", "extra": "S"}, {"GlobalSecondaryIndexes": [gsi("byG", "g")]},
     INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [user, ts, g, extra], keys used: "
     "[user, ts, g]"),
    ({"user": "S", "ts": "N"}, {"GlobalSecondaryIndexes": [gsi("byG", "g")]},
     INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [g], "
     "AttributeDefinitions: [user, ts]"),
    ({"user": "S", "ts": "N", "g": "S"}, {"GlobalSecondaryIndexes": [gsi("byG", "g", "g")]},
     "Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    ({"user": "S", "ts": "N", "g": "S"},
     {"GlobalSecondaryIndexes": [{**gsi("byG", "g"), "KeySchema": [{"AttributeName": "g", "KeyType": "RANGE"}]}]},
     "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
    ({"user": "S", "ts": "N", "g": "S"},
     {"GlobalSecondaryIndexes": [{**gsi("byG", "g"), "KeySchema": key("g") + key("ts")}]},
     "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"),
    ({"user": "S", "ts": "N"}, {"GlobalSecondaryIndexes": []},
     INVALID + "List of GlobalSecondaryIndexes is empty"),
    ({"user": "S", "ts": "N", "g": "S"}, {"GlobalSecondaryIndexes": [gsi("byG", "g"), gsi("byG", "ts")]},
     INVALID + "Duplicate index name: byG"),
    ({"user": "S", "ts": "N", "g": "S", "l": "N"},
     {"GlobalSecondaryIndexes": [gsi("same", "g")], "LocalSecondaryIndexes": [lsi("same", "user", "l")]},
     INVALID + "Duplicate index name: same"),
    ({"user": "S", "ts": "N", "g": "S"}, {"GlobalSecondaryIndexes": [gsi("byG", "g", projection={})]},
     INVALID + "Unknown ProjectionType: null"),
    ({"user": "S", "ts": "N", "g": "S"},
     {"GlobalSecondaryIndexes": [gsi("byG", "g", projection={"ProjectionType": "KEYS_ONLY",
                                                             "NonKeyAttributes": ["a"]})]},
     INVALID + "ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified"),
    ({"user": "S", "ts": "N", "g": "S"},
     {"GlobalSecondaryIndexes": [gsi("byG", "g", projection={"ProjectionType": "INCLUDE"})]},
     INVALID + "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    ({"user": "S", "ts": "N", "g": "S"},
     {"GlobalSecondaryIndexes": [gsi("byG", "g", projection={"ProjectionType": "INCLUDE",
                                                             "NonKeyAttributes": ["a", "b", "a"]})]},
     INVALID + "Duplicate element in NonKeyAttributes: a"),
    ({"user": "S", "ts": "N"}, {"LocalSecondaryIndexes": []},
     INVALID + "List of LocalSecondaryIndexes is empty"),
    ({"user": "S", "ts": "N", "l": "N"}, {"LocalSecondaryIndexes": [lsi("byL", "ts", "l")]},
     INVALID + "Index KeySchema does not have the same leading hash key as table KeySchema for index: byL. "
     "index hash key: ts, table hash key: user"),
    ({"user": "S", "ts": "N"},
     {"LocalSecondaryIndexes": [{**lsi("byL", "user", "l"), "KeySchema": key("user")}]},
     INVALID + "Index KeySchema does not have a range key for index: byL"),
])
def test_index_definitions_are_checked_as_dynamodb_does(create, types, params, message):
    refused(create, message, types, **params)


def test_lsi_needs_a_table_with_a_sort_key(create):
    refused(create, INVALID + "Table KeySchema does not have a range key, which is required when specifying a "
                              "LocalSecondaryIndex",
            {"user": "S", "l": "N"}, key("user"), LocalSecondaryIndexes=[lsi("byL", "user", "l")])


def test_more_than_20_gsis_are_refused(create):
    types = {"user": "S", "ts": "N", **{f"g{i}": "S" for i in range(21)}}
    refused(create, INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20", types,
            GlobalSecondaryIndexes=[gsi(f"gsi{i}", f"g{i}") for i in range(21)])


def test_20_gsis_are_accepted(create):
    types = {"user": "S", "ts": "N", **{f"g{i}": "S" for i in range(20)}}
    desc = create(types, GlobalSecondaryIndexes=[gsi(f"gsi{i}", f"g{i}") for i in range(20)])
    assert len(desc["GlobalSecondaryIndexes"]) == 20


def test_more_than_5_lsis_are_refused(create):
    types = {"user": "S", "ts": "N", **{f"l{i}": "N" for i in range(6)}}
    refused(create, INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5", types,
            LocalSecondaryIndexes=[lsi(f"lsi{i}", "user", f"l{i}") for i in range(6)])


def test_more_than_100_projected_attributes_over_all_indexes_are_refused(create):
    def include(start):
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": [f"a{i}" for i in range(start, start + 20)]}

    types = {"user": "S", "ts": "N", **{f"g{i}": "S" for i in range(6)}}
    refused(create, INVALID + "Number of projected attributes in all indexes exceeds limit of 100, number of "
                              "projected attributes:120", types,
            GlobalSecondaryIndexes=[gsi(f"gsi{i}", f"g{i}", projection=include(i * 20)) for i in range(6)])
    accepted = create(types, GlobalSecondaryIndexes=[gsi(f"gsi{i}", f"g{i}", projection=include(i * 20))
                                                     for i in range(5)] + [gsi("gsi5", "g5")])
    assert len(accepted["GlobalSecondaryIndexes"]) == 6


@pytest.mark.parametrize("name", ["ab", "x" * 256, "bad name", "no/slash"])
def test_index_names_must_be_3_to_255_of_the_allowed_characters(create, name):
    with validation_error(match=r"at 'globalSecondaryIndexes\.1\.member\.indexName' failed to satisfy constraint"):
        create({"user": "S", "ts": "N", "g": "S"}, GlobalSecondaryIndexes=[gsi(name, "g")])


def test_gsi_throughput_must_follow_the_billing_mode(create):
    types = {"user": "S", "ts": "N", "g": "S"}
    refused(create, INVALID + "ProvisionedThroughput is not specified for index: byG", types, BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            GlobalSecondaryIndexes=[gsi("byG", "g")])
    refused(create, INVALID + "ProvisionedThroughput should not be specified for index: byG when BillingMode is "
                              "PAY_PER_REQUEST", types,
            GlobalSecondaryIndexes=[gsi("byG", "g", ProvisionedThroughput={"ReadCapacityUnits": 1,
                                                                          "WriteCapacityUnits": 1})])


def test_a_gsi_may_use_any_defined_attribute_types_and_the_table_keys(create):
    desc = create({"user": "S", "ts": "N", "b": "B"},
                  GlobalSecondaryIndexes=[gsi("byTs", "ts", "user"), gsi("byB", "b", "ts")])
    assert [i["IndexName"] for i in desc["GlobalSecondaryIndexes"]] == ["byTs", "byB"]


# -- DeleteTable -------------------------------------------------------------------------------


def test_delete_table_reports_its_indexes_deleting(dynamodb, create):
    desc = create({"user": "S", "ts": "N", "g": "S", "l": "N"},
                  GlobalSecondaryIndexes=[gsi("byG", "g")], LocalSecondaryIndexes=[lsi("byL", "user", "l")])
    deleted = dynamodb.delete_table(TableName=desc["TableName"])["TableDescription"]
    assert [(i["IndexName"], i["IndexStatus"]) for i in deleted["GlobalSecondaryIndexes"]] == [("byG", "DELETING")]
    assert [i["IndexName"] for i in deleted["LocalSecondaryIndexes"]] == ["byL"]


def test_a_table_made_again_has_empty_indexes(dynamodb, create, tables):
    types = {"user": "S", "ts": "N", "g": "S"}
    name = create(types, GlobalSecondaryIndexes=[gsi("byG", "g")])["TableName"]
    dynamodb.put_item(TableName=name, Item={"user": {"S": "a"}, "ts": {"N": "1"}, "g": {"S": "x"}})
    dynamodb.delete_table(TableName=name)
    create(types, TableName=name, GlobalSecondaryIndexes=[gsi("byG", "g")])
    assert dynamodb.scan(TableName=name, IndexName="byG")["Items"] == []


# -- UpdateTable: GlobalSecondaryIndexUpdates ------------------------------------------------------


@pytest.fixture
def indexed(create):
    """A table (user S, ts N) with GSI byG (g S) and LSI byL (l N)."""
    return create({"user": "S", "ts": "N", "g": "S", "l": "N"},
                  GlobalSecondaryIndexes=[gsi("byG", "g")],
                  LocalSecondaryIndexes=[lsi("byL", "user", "l")])["TableName"]


def wait_active(dynamodb, name: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        table = dynamodb.describe_table(TableName=name)["Table"]
        if all(i["IndexStatus"] == "ACTIVE" for i in table.get("GlobalSecondaryIndexes", ())):
            return table
        assert time.monotonic() < deadline, table["GlobalSecondaryIndexes"]
        time.sleep(0.05)


def test_create_gsi_answers_creating_then_becomes_active_with_the_existing_items(dynamodb, indexed):
    for i in range(30):
        dynamodb.put_item(TableName=indexed, Item={"user": {"S": f"u{i}"}, "ts": {"N": str(i)}, "h": {"N": str(i % 3)}})
    answer = dynamodb.update_table(
        TableName=indexed, AttributeDefinitions=definitions(h="N"),
        GlobalSecondaryIndexUpdates=[{"Create": gsi("byH", "h", "ts")}])["TableDescription"]
    created = next(i for i in answer["GlobalSecondaryIndexes"] if i["IndexName"] == "byH")
    assert created["IndexStatus"] == "CREATING"
    assert created["IndexArn"].endswith(f"table/{indexed}/index/byH")
    assert {"AttributeName": "h", "AttributeType": "N"} in answer["AttributeDefinitions"]
    table = wait_active(dynamodb, indexed)
    assert next(i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "byH")["ItemCount"] == 30
    found = dynamodb.query(TableName=indexed, IndexName="byH", KeyConditionExpression="h = :h",
                           ExpressionAttributeValues={":h": {"N": "1"}})["Items"]
    assert [int(i["ts"]["N"]) for i in found] == list(range(1, 30, 3))


def test_delete_gsi_answers_deleting_then_it_is_gone_and_its_definition_pruned(dynamodb, indexed):
    answer = dynamodb.update_table(TableName=indexed, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byG"}}])
    shown = answer["TableDescription"]["GlobalSecondaryIndexes"]
    assert [(i["IndexName"], i["IndexStatus"]) for i in shown] == [("byG", "DELETING")]
    table = dynamodb.describe_table(TableName=indexed)["Table"]
    assert "GlobalSecondaryIndexes" not in table
    assert "g" not in [d["AttributeName"] for d in table["AttributeDefinitions"]]
    with validation_error("The table does not have the specified index: byG"):
        dynamodb.scan(TableName=indexed, IndexName="byG")


def test_a_deleted_gsi_can_be_created_again_under_its_name(dynamodb, indexed):
    dynamodb.put_item(TableName=indexed, Item={"user": {"S": "a"}, "ts": {"N": "1"}, "g": {"S": "x"}, "k": {"S": "y"}})
    dynamodb.update_table(TableName=indexed, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "byG"}}])
    dynamodb.update_table(TableName=indexed, AttributeDefinitions=definitions(k="S"),
                          GlobalSecondaryIndexUpdates=[{"Create": gsi("byG", "k")}])
    wait_active(dynamodb, indexed)
    items = dynamodb.scan(TableName=indexed, IndexName="byG")["Items"]
    assert [i["k"] for i in items] == [{"S": "y"}]


def test_update_gsi_throughput_on_a_provisioned_table(dynamodb, create):
    one = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    name = create({"user": "S", "ts": "N", "g": "S"}, BillingMode="PROVISIONED", ProvisionedThroughput=one,
                  GlobalSecondaryIndexes=[gsi("byG", "g", ProvisionedThroughput=one)])["TableName"]
    dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": {
        "IndexName": "byG", "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 8}}}])
    [g] = dynamodb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert (g["ProvisionedThroughput"]["ReadCapacityUnits"], g["ProvisionedThroughput"]["WriteCapacityUnits"]) == (7, 8)
    with validation_error(match=r"^The provisioned throughput for the index byG will not change"):
        dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": {
            "IndexName": "byG", "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 8}}}])


def test_switching_to_provisioned_needs_every_gsi_throughput(dynamodb, indexed):
    pt = {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
    with validation_error(INVALID + "ProvisionedThroughput must be specified for index: byG"):
        dynamodb.update_table(TableName=indexed, BillingMode="PROVISIONED", ProvisionedThroughput=pt)
    dynamodb.update_table(TableName=indexed, BillingMode="PROVISIONED", ProvisionedThroughput=pt,
                          GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "byG", "ProvisionedThroughput": pt}}])
    [g] = dynamodb.describe_table(TableName=indexed)["Table"]["GlobalSecondaryIndexes"]
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    dynamodb.update_table(TableName=indexed, BillingMode="PAY_PER_REQUEST")
    [g] = dynamodb.describe_table(TableName=indexed)["Table"]["GlobalSecondaryIndexes"]
    assert g["ProvisionedThroughput"]["ReadCapacityUnits"] == 0


@pytest.mark.parametrize("updates, message", [
    ([], INVALID + "List of GlobalSecondaryIndexUpdates is empty"),
    ([{}], INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                     "GlobalSecondaryIndexUpdate.Delete must not be null"),
    ([{"Delete": {"IndexName": "byG"}, "Create": gsi("new", "g")}],
     INVALID + "Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object"),
    ([{"Delete": {"IndexName": "byG"}},
      {"Update": {"IndexName": "byG", "OnDemandThroughput": {"MaxReadRequestUnits": 5}}}],
     INVALID + "Only one global secondary index update per index is allowed simultaneously. Index: byG"),
    ([{"Create": gsi("byG", "g")}], "Attempting to create an index which already exists"),
    ([{"Create": gsi("byL", "g")}], "Attempting to create an index which already exists"),
    ([{"Delete": {"IndexName": "byL"}}], "Cannot delete an index that is not a GlobalSecondaryIndex: byL"),
    ([{"Update": {"IndexName": "byL", "OnDemandThroughput": {"MaxReadRequestUnits": 5}}}],
     "Cannot update an index that is not a GlobalSecondaryIndex: byL"),
    ([{"Create": gsi("byZ", "z")}], INVALID + "AttributeDefinitions is not specified for index: byZ"),
    ([{"Create": gsi("byG2", "g", projection={"ProjectionType": "INCLUDE"})}],
     INVALID + "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    ([{"Create": {**gsi("byG2", "g"), "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}],
     INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: byG2 when BillingMode "
               "is PAY_PER_REQUEST"),
])
def test_index_updates_are_checked_as_dynamodb_does(lenient, indexed, updates, message):
    with validation_error(message):
        lenient.update_table(TableName=indexed, GlobalSecondaryIndexUpdates=updates)


def test_an_unknown_gsi_to_update_or_delete_is_resource_not_found(dynamodb, indexed):
    for action in ({"Delete": {"IndexName": "nope"}}, {"Update": {"IndexName": "nope", "OnDemandThroughput": {
            "MaxReadRequestUnits": 5}}}):
        with aws_error("ResourceNotFoundException", f"Requested resource not found: Index nope for table {indexed}"):
            dynamodb.update_table(TableName=indexed, GlobalSecondaryIndexUpdates=[action])


def test_one_index_creation_or_deletion_per_call(dynamodb, indexed):
    with aws_error("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or "
                                             "deleted simultaneously per table"):
        dynamodb.update_table(TableName=indexed, AttributeDefinitions=definitions(h="S"), GlobalSecondaryIndexUpdates=[
            {"Create": gsi("byH", "h")}, {"Delete": {"IndexName": "byG"}}])
    assert [i["IndexName"] for i in dynamodb.describe_table(TableName=indexed)["Table"]["GlobalSecondaryIndexes"]] == [
        "byG"]


def test_index_creation_cannot_share_a_call_with_a_stream_change(dynamodb, indexed):
    with validation_error(INVALID + "You cannot create or delete index while changing stream status"):
        dynamodb.update_table(TableName=indexed, AttributeDefinitions=definitions(h="S"),
                              GlobalSecondaryIndexUpdates=[{"Create": gsi("byH", "h")}],
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})


def test_a_21st_gsi_is_limit_exceeded(dynamodb, create):
    types = {"user": "S", "ts": "N", **{f"g{i}": "S" for i in range(21)}}
    name = create({k: v for k, v in types.items() if k != "g20"},
                  GlobalSecondaryIndexes=[gsi(f"gsi{i}", f"g{i}") for i in range(20)])["TableName"]
    with aws_error("LimitExceededException", match="GlobalSecondaryIndex count exceeds the per-table limit of 20"):
        dynamodb.update_table(TableName=name, AttributeDefinitions=definitions(g20="S"),
                              GlobalSecondaryIndexUpdates=[{"Create": gsi("gsi20", "g20")}])


def test_update_table_with_only_index_updates_counts_as_a_change(dynamodb, indexed):
    answer = dynamodb.update_table(TableName=indexed, GlobalSecondaryIndexUpdates=[{"Update": {
        "IndexName": "byG", "OnDemandThroughput": {"MaxReadRequestUnits": 10, "MaxWriteRequestUnits": 10}}}])
    [g] = answer["TableDescription"]["GlobalSecondaryIndexes"]
    assert g["OnDemandThroughput"] == {"MaxReadRequestUnits": 10, "MaxWriteRequestUnits": 10}
    assert re.match(r"^arn:aws:dynamodb:", g["IndexArn"])
