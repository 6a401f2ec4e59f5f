"""Capacity modes as DynamoDB reports and limits them (BillingModeSummary, ProvisionedThroughput's
increase/decrease record, OnDemandThroughput, the limits on decreases and on switching to
on-demand), and ReturnConsumedCapacity on every data operation by DynamoDB's unit rules."""

from __future__ import annotations

import time

import pytest

from tests.api.helpers import aws_error, unique_name

KB = 1024
DECREASE_LIMIT = "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day."


@pytest.fixture
def names(dynamodb):
    made: list[str] = []
    yield made
    for name in made:
        dynamodb.delete_table(TableName=name)


def create(dynamodb, names, mode="PROVISIONED", read=5, write=5, gsi=False, **extra) -> dict:
    name = unique_name("cap")
    names.append(name)
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if mode == "PROVISIONED":
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": read, "WriteCapacityUnits": write}
    if gsi:
        definitions.append({"AttributeName": "g", "AttributeType": "S"})
        index = {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "ALL"}}
        if mode == "PROVISIONED":
            index["ProvisionedThroughput"] = {"ReadCapacityUnits": read, "WriteCapacityUnits": write}
        extra["GlobalSecondaryIndexes"] = [index]
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=definitions, BillingMode=mode, **extra)
    return describe(dynamodb, name)


def describe(dynamodb, name: str) -> dict:
    return dynamodb.describe_table(TableName=name)["Table"]


def set_units(dynamodb, name: str, read: int, write: int) -> dict:
    return dynamodb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": read,
                                                                        "WriteCapacityUnits": write})


# -- capacity modes in DescribeTable --------------------------------------------------------------


def test_a_provisioned_table_has_no_pay_per_request_date_and_no_changes_yet(dynamodb, names):
    table = create(dynamodb, names)
    assert table["BillingModeSummary"] == {"BillingMode": "PROVISIONED"}
    assert table["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 5,
                                              "WriteCapacityUnits": 5}
    assert "OnDemandThroughput" not in table


def test_an_on_demand_table_reports_when_it_became_on_demand_and_zero_throughput(dynamodb, names):
    table = create(dynamodb, names, mode="PAY_PER_REQUEST")
    summary = table["BillingModeSummary"]
    assert summary["BillingMode"] == "PAY_PER_REQUEST"
    assert summary["LastUpdateToPayPerRequestDateTime"] == table["CreationDateTime"]
    assert table["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0,
                                              "WriteCapacityUnits": 0}
    assert table["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}


def test_an_on_demand_tables_gsi_shows_zero_throughput_and_no_maximum(dynamodb, names):
    index = create(dynamodb, names, mode="PAY_PER_REQUEST", gsi=True)["GlobalSecondaryIndexes"][0]
    assert index["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0,
                                              "WriteCapacityUnits": 0}
    assert index["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}


def test_increases_and_decreases_are_recorded(dynamodb, names):
    name = create(dynamodb, names)["TableName"]
    before = time.time()
    set_units(dynamodb, name, 10, 5)
    increased = describe(dynamodb, name)["ProvisionedThroughput"]
    assert increased["LastIncreaseDateTime"].timestamp() >= before - 1
    assert "LastDecreaseDateTime" not in increased and increased["NumberOfDecreasesToday"] == 0
    set_units(dynamodb, name, 10, 2)
    decreased = describe(dynamodb, name)["ProvisionedThroughput"]
    assert decreased["LastDecreaseDateTime"] >= increased["LastIncreaseDateTime"]
    assert decreased["NumberOfDecreasesToday"] == 1
    assert (decreased["ReadCapacityUnits"], decreased["WriteCapacityUnits"]) == (10, 2)


def test_a_fifth_decrease_within_the_hour_is_refused(dynamodb, names):
    name = create(dynamodb, names, read=100)["TableName"]
    for read in (90, 80, 70, 60):
        set_units(dynamodb, name, read, 5)
    with aws_error("LimitExceededException") as refused:
        set_units(dynamodb, name, 50, 5)
    message = refused.value.response["Error"]["Message"]
    assert message.startswith(DECREASE_LIMIT) and "Number of decreases today: 4." in message
    assert describe(dynamodb, name)["ProvisionedThroughput"]["ReadCapacityUnits"] == 60
    set_units(dynamodb, name, 500, 5)  # increases are never limited


def test_gsi_decreases_are_counted_on_the_index(dynamodb, names):
    name = create(dynamodb, names, gsi=True)["TableName"]
    update = {"Update": {"IndexName": "by-g", "ProvisionedThroughput": {"ReadCapacityUnits": 5,
                                                                        "WriteCapacityUnits": 4}}}
    dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[update])
    table = describe(dynamodb, name)
    index = table["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]
    assert index["NumberOfDecreasesToday"] == 1 and "LastDecreaseDateTime" in index
    assert table["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0


def test_switching_to_on_demand_four_times_a_day_and_back_any_time(dynamodb, names):
    name = create(dynamodb, names)["TableName"]
    for _ in range(4):
        dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        switched = describe(dynamodb, name)["BillingModeSummary"]
        dynamodb.update_table(TableName=name, BillingMode="PROVISIONED",
                              ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    back = describe(dynamodb, name)
    assert back["BillingModeSummary"] == {"BillingMode": "PROVISIONED",
                                          "LastUpdateToPayPerRequestDateTime":
                                              switched["LastUpdateToPayPerRequestDateTime"]}
    with aws_error("LimitExceededException",
                   match=r"^Subscriber limit exceeded: Update to PayPerRequest mode are limited to 4 times in "
                         r"1 day\(s\)\. Last update at .* UTC \d{4}\. Next update can be made at .* UTC \d{4}$"):
        dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    assert describe(dynamodb, name)["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_on_demand_throughput_is_kept_and_shown(dynamodb, names):
    name = create(dynamodb, names, mode="PAY_PER_REQUEST",
                  OnDemandThroughput={"MaxReadRequestUnits": 100})["TableName"]
    assert describe(dynamodb, name)["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}
    dynamodb.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": 50})
    assert describe(dynamodb, name)["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}


# -- ReturnConsumedCapacity ----------------------------------------------------------------------


def item(key: str, n_bytes: int) -> dict:
    """An item of exactly `n_bytes` as DynamoDB counts them (names and values in UTF-8)."""
    return {"pk": {"S": key}, "d": {"S": "x" * (n_bytes - len("pk") - len(key) - len("d"))}}


def units(response) -> float:
    return response["ConsumedCapacity"]["CapacityUnits"]


@pytest.fixture
def table(dynamodb, names):
    return create(dynamodb, names, mode="PAY_PER_REQUEST")["TableName"]


def test_put_item_pays_for_the_larger_of_old_and_new(dynamodb, table):
    put = dict(TableName=table, ReturnConsumedCapacity="TOTAL")
    assert units(dynamodb.put_item(Item=item("a", 500), **put)) == 1.0
    assert units(dynamodb.put_item(Item=item("a", int(3.5 * KB)), **put)) == 4.0
    assert units(dynamodb.put_item(Item=item("a", 500), **put)) == 4.0  # replaced a 3.5 KB item


def test_update_item_pays_for_the_larger_of_before_and_after(dynamodb, table):
    dynamodb.put_item(TableName=table, Item=item("a", int(2.5 * KB)))
    response = dynamodb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="REMOVE d",
                                    ReturnConsumedCapacity="TOTAL")
    assert units(response) == 3.0


def test_delete_item_pays_for_the_deleted_item_and_one_unit_for_none(dynamodb, table):
    dynamodb.put_item(TableName=table, Item=item("a", int(1.5 * KB)))
    delete = dict(TableName=table, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert units(dynamodb.delete_item(**delete)) == 2.0
    assert units(dynamodb.delete_item(**delete)) == 1.0


def test_get_item_rounds_to_4_kb_and_halves_eventually_consistent_reads(dynamodb, table):
    dynamodb.put_item(TableName=table, Item=item("a", 10 * KB))
    get = dict(TableName=table, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert units(dynamodb.get_item(ConsistentRead=True, **get)) == 3.0  # 12 KB
    assert units(dynamodb.get_item(**get)) == 1.5
    missing = dict(get, Key={"pk": {"S": "none"}})
    assert units(dynamodb.get_item(**missing)) == 0.5


def test_batch_get_item_rounds_each_item_per_table(dynamodb, names, table):
    other = create(dynamodb, names, mode="PAY_PER_REQUEST")["TableName"]
    dynamodb.put_item(TableName=table, Item=item("a", int(1.5 * KB)))
    dynamodb.put_item(TableName=table, Item=item("b", int(6.5 * KB)))
    response = dynamodb.batch_get_item(ReturnConsumedCapacity="TOTAL", RequestItems={
        table: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}], "ConsistentRead": True},
        other: {"Keys": [{"pk": {"S": "a"}}]}})
    by_table = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert by_table == {table: 3.0, other: 0.5}  # 4 KB + 8 KB; a missing item, eventually consistent


def test_batch_write_item_rounds_each_item_per_table(dynamodb, names, table):
    other = create(dynamodb, names, mode="PAY_PER_REQUEST")["TableName"]
    response = dynamodb.batch_write_item(ReturnConsumedCapacity="TOTAL", RequestItems={
        table: [{"PutRequest": {"Item": item("a", 500)}}, {"PutRequest": {"Item": item("b", int(3.5 * KB))}}],
        other: [{"DeleteRequest": {"Key": {"pk": {"S": "none"}}}}]})
    by_table = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert by_table == {table: 5.0, other: 1.0}


def test_query_and_scan_pay_for_what_they_read_before_the_filter(dynamodb, table):
    for key in ("a", "b", "c"):
        dynamodb.put_item(TableName=table, Item=item(key, 3 * KB))  # 9 KB in all
    scan = dynamodb.scan(TableName=table, FilterExpression="attribute_exists(nothing)", ConsistentRead=True,
                         ReturnConsumedCapacity="TOTAL")
    assert scan["Count"] == 0 and units(scan) == 3.0  # 12 KB read, nothing returned
    query = dynamodb.query(TableName=table, KeyConditionExpression="pk = :a", ExpressionAttributeValues={
        ":a": {"S": "a"}}, FilterExpression="attribute_exists(nothing)", ReturnConsumedCapacity="TOTAL")
    assert query["Count"] == 0 and units(query) == 0.5


def test_indexes_shows_the_table_and_each_gsi(dynamodb, names):
    name = create(dynamodb, names, mode="PAY_PER_REQUEST", gsi=True)["TableName"]
    put = dynamodb.put_item(TableName=name, Item={**item("a", 500), "g": {"S": "x"}},
                            ReturnConsumedCapacity="INDEXES")
    assert put["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 2.0, "Table": {"CapacityUnits": 1.0},
                                       "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 1.0}}}
    query = dynamodb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g",
                           ExpressionAttributeValues={":g": {"S": "x"}}, ReturnConsumedCapacity="INDEXES")
    assert query["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.0},
                                         "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 0.5}}}
