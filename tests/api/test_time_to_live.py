"""Time to live: UpdateTimeToLive / DescribeTimeToLive with DynamoDB's statuses and refusals, and
the sweeper that deletes expired items (DynamoDB's rule: a Number of epoch seconds in the past,
not more than five years in the past).

The module runs its own table service with a one-second sweep and a two-second cooldown, so
that the ENABLING -> ENABLED transition, the cooldown and the deletions are seen in seconds.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.config import Config

from tests.api.helpers import aws_error, create_table, unique_name, validation_error
from tests.api.ttl_helpers import SWEEP_S, disable, enable, key, ttl_description, wait_for, wait_status
from tests.conftest import ServerProcess, client_kwargs
from tests.integration.streams_helpers import aws_cli_runner

COOLDOWN_S = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ServerProcess("table-api", tmp_path_factory.mktemp("ttl"), "--ttl-sweep-interval", str(SWEEP_S),
                           "--ttl-cooldown-seconds", str(COOLDOWN_S)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ddb(server):
    return boto3.client("dynamodb", **client_kwargs(server.url))


@pytest.fixture
def table(ddb):
    name = unique_name("ttl")
    create_table(ddb, name)
    yield name
    ddb.delete_table(TableName=name)


def exists(ddb, table: str, pk: str) -> bool:
    return "Item" in ddb.get_item(TableName=table, Key=key(pk), ConsistentRead=True)


# -- UpdateTimeToLive / DescribeTimeToLive --------------------------------------------------------

def test_a_new_table_has_time_to_live_disabled(ddb, table):
    assert ttl_description(ddb, table) == {"TimeToLiveStatus": "DISABLED"}


def test_enabling_answers_the_specification_and_goes_from_enabling_to_enabled(ddb, table):
    answer = enable(ddb, table)
    assert answer["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    first = ttl_description(ddb, table)
    assert first in ({"TimeToLiveStatus": "ENABLING", "AttributeName": "expires"},
                     {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"})
    assert wait_status(ddb, table, "ENABLED") == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_describe_table_does_not_show_time_to_live(ddb, table):
    enable(ddb, table)
    assert not any("TimeToLive" in member for member in ddb.describe_table(TableName=table)["Table"])


def test_enabling_twice_is_refused(ddb, table):
    enable(ddb, table)
    with validation_error("TimeToLive is already enabled"):
        enable(ddb, table)


def test_enabling_another_attribute_is_refused_naming_the_current_one(ddb, table):
    enable(ddb, table)
    message = "TimeToLive is active on a different AttributeName: current AttributeName is expires"
    with validation_error(message):
        enable(ddb, table, "other")
    with validation_error(message):
        disable(ddb, table, "other")


def test_disabling_when_never_enabled_is_refused(ddb, table):
    with validation_error("TimeToLive is already disabled"):
        disable(ddb, table)


def test_a_change_within_the_cooldown_is_refused_then_allowed_after_it(ddb, table):
    enable(ddb, table)
    wait_status(ddb, table, "ENABLED")  # settled, yet still within the cooldown
    with validation_error("Time to live has been modified multiple times within a fixed interval"):
        disable(ddb, table)
    assert ttl_description(ddb, table)["TimeToLiveStatus"] == "ENABLED"
    time.sleep(COOLDOWN_S)
    assert disable(ddb, table)["TimeToLiveSpecification"] == {"Enabled": False, "AttributeName": "expires"}
    assert ttl_description(ddb, table)["TimeToLiveStatus"] in ("DISABLING", "DISABLED")
    assert wait_status(ddb, table, "DISABLED") == {"TimeToLiveStatus": "DISABLED"}
    with validation_error("TimeToLive is already disabled"):  # what is asked is checked before the cooldown
        disable(ddb, table)
    with validation_error("Time to live has been modified multiple times within a fixed interval"):
        enable(ddb, table)


def test_an_unknown_table_is_not_found(ddb):
    name = unique_name("none")
    message = f"Requested resource not found: Table: {name} not found"
    with aws_error("ResourceNotFoundException", message):
        ddb.describe_time_to_live(TableName=name)
    with aws_error("ResourceNotFoundException", message):
        enable(ddb, name)


def test_an_empty_attribute_name_is_refused(server, table):
    lenient = boto3.client("dynamodb", **{**client_kwargs(server.url),
                                          "config": Config(retries={"max_attempts": 1}, parameter_validation=False)})
    with validation_error(match="timeToLiveSpecification.attributeName"):
        lenient.update_time_to_live(TableName=table,
                                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ""})
    assert ttl_description(lenient, table) == {"TimeToLiveStatus": "DISABLED"}


def test_the_table_arn_names_the_table(ddb, table):
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    enable(ddb, arn)
    assert ttl_description(ddb, arn)["AttributeName"] == "expires"


# -- the sweeper ------------------------------------------------------------------------------------

def test_expired_items_are_deleted_and_the_others_stay(ddb, table):
    now = int(time.time())
    items = {
        "past": {"expires": {"N": str(now - 60)}},
        "long-past-but-within-five-years": {"expires": {"N": str(now - 4 * 365 * 86400)}},
        "fraction-past": {"expires": {"N": f"{now - 10}.5"}},
        "future": {"expires": {"N": str(now + 3600)}},
        "more-than-five-years-past": {"expires": {"N": str(now - 6 * 365 * 86400)}},
        "milliseconds": {"expires": {"N": str(now * 1000)}},  # far in the future as seconds
        "string": {"expires": {"S": str(now - 60)}},
        "number-set": {"expires": {"NS": [str(now - 60)]}},
        "missing": {"other": {"N": str(now - 60)}},
        "nested": {"expires": {"M": {"at": {"N": str(now - 60)}}}},
    }
    for pk, attributes in items.items():
        ddb.put_item(TableName=table, Item={**key(pk), **attributes})
    enable(ddb, table)
    expired = {"past", "long-past-but-within-five-years", "fraction-past"}
    wait_for(lambda: not any(exists(ddb, table, pk) for pk in expired), "expired items deleted")
    time.sleep(2 * SWEEP_S)  # more sweeps: still nothing else goes
    remaining = {i["pk"]["S"] for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]}
    assert remaining == set(items) - expired


def test_the_study_guide_item_is_more_than_five_years_old_and_never_deleted(server, ddb, tmp_path):
    """The guide's item: expirationTimestamp 20231015 read as epoch seconds is 1970-08-23."""
    aws = aws_cli_runner(server.url, tmp_path)
    name = unique_name("MyTable")
    create_table(ddb, name, ("userId", "S"), ("timestamp", "N"))
    try:
        aws("dynamodb", "put-item", "--table-name", name, "--item",
            '{ "userId": {"S": "123"}, "timestamp": {"N": "20231010"}, "expirationTimestamp": {"N": "20231015"} }')
        answer = aws("dynamodb", "update-time-to-live", "--table-name", name,
                     "--time-to-live-specification", "Enabled=true,AttributeName=expirationTimestamp")
        assert json.loads(answer.stdout) == {
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expirationTimestamp"}}
        wait_status(ddb, name, "ENABLED")
        time.sleep(3 * SWEEP_S)
        described = json.loads(aws("dynamodb", "describe-time-to-live", "--table-name", name).stdout)
        assert described == {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED",
                                                       "AttributeName": "expirationTimestamp"}}
        got = ddb.get_item(TableName=name, Key={"userId": {"S": "123"}, "timestamp": {"N": "20231010"}})
        assert got["Item"]["expirationTimestamp"] == {"N": "20231015"}
    finally:
        ddb.delete_table(TableName=name)


def test_nothing_is_deleted_once_time_to_live_is_disabled(ddb, table):
    enable(ddb, table)
    time.sleep(COOLDOWN_S)
    disable(ddb, table)
    ddb.put_item(TableName=table, Item={**key("past"), "expires": {"N": str(int(time.time()) - 60)}})
    time.sleep(3 * SWEEP_S)
    assert exists(ddb, table, "past")


def test_an_item_given_a_future_time_is_kept(ddb, table):
    now = int(time.time())
    ddb.put_item(TableName=table, Item={**key("renewed"), "expires": {"N": str(now + 3600)}})
    ddb.put_item(TableName=table, Item={**key("gone"), "expires": {"N": str(now - 60)}})
    enable(ddb, table)
    wait_for(lambda: not exists(ddb, table, "gone"), "the expired item deleted")
    assert exists(ddb, table, "renewed")


def test_an_expired_item_leaves_its_secondary_index(ddb):
    name = unique_name("ttlgsi")
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "group", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-group", "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    try:
        now = int(time.time())
        ddb.put_item(TableName=name, Item={**key("a"), "group": {"S": "g"}, "expires": {"N": str(now - 60)}})
        ddb.put_item(TableName=name, Item={**key("b"), "group": {"S": "g"}, "expires": {"N": str(now + 3600)}})
        enable(ddb, name)

        def in_index() -> set[str]:
            found = ddb.query(TableName=name, IndexName="by-group", KeyConditionExpression="#g = :g",
                              ExpressionAttributeNames={"#g": "group"},
                              ExpressionAttributeValues={":g": {"S": "g"}})["Items"]
            return {i["pk"]["S"] for i in found}

        wait_for(lambda: in_index() == {"b"}, "the expired item gone from the index")
        assert not exists(ddb, name, "a")
    finally:
        ddb.delete_table(TableName=name)


def test_many_expired_items_are_deleted_in_batches(ddb, table):
    past = str(int(time.time()) - 60)
    for start in range(0, 250, 25):
        ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {**key(f"item-{i}"), "expires": {"N": past}}}} for i in range(start, start + 25)]})
    ddb.put_item(TableName=table, Item=key("no-ttl"))
    enable(ddb, table)
    wait_for(lambda: ddb.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"] == 1,
             "250 expired items deleted")
    assert exists(ddb, table, "no-ttl")


def test_reads_return_an_expired_item_until_it_is_swept(dynamodb, make_table):
    """On the suite's server (a 30-second sweep): right after it is written, an expired item is
    read like any other, by GetItem, Query and Scan, as DynamoDB does until its process runs."""
    table = make_table()
    dynamodb.update_time_to_live(TableName=table.name,
                                 TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    item = {**key("expired"), "expires": {"N": str(int(time.time()) - 60)}}
    dynamodb.put_item(TableName=table.name, Item=item)
    assert dynamodb.get_item(TableName=table.name, Key=key("expired"))["Item"] == item
    assert dynamodb.query(TableName=table.name, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "expired"}})["Items"] == [item]
    assert dynamodb.scan(TableName=table.name)["Items"] == [item]

