"""CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable and the tagging operations."""

from __future__ import annotations

import concurrent.futures
import datetime
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import aws_error, unique_name, validation_error

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HASH_ONLY = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
}


def create(dynamodb, tables, name=None, **kwargs):
    name = name or unique_name()
    params = {**HASH_ONLY, "BillingMode": "PAY_PER_REQUEST", **kwargs}
    response = dynamodb.create_table(TableName=name, **params)
    tables.append(name)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name, response["TableDescription"]


def arn_pattern(name: str) -> str:
    return rf"^arn:aws:dynamodb:us-east-1:\d{{12}}:table/{re.escape(name)}$"


# --- CreateTable / DescribeTable -------------------------------------------------------------------


def test_create_table_returns_the_table_description(dynamodb, tables):
    before = datetime.datetime.now(datetime.timezone.utc)
    name, desc = create(dynamodb, tables)
    assert desc["TableName"] == name
    assert desc["KeySchema"] == HASH_ONLY["KeySchema"]
    assert desc["AttributeDefinitions"] == HASH_ONLY["AttributeDefinitions"]
    assert desc["TableStatus"] in ("CREATING", "ACTIVE")
    assert desc["ItemCount"] == 0
    assert desc["TableSizeBytes"] == 0
    assert re.match(arn_pattern(name), desc["TableArn"])
    assert UUID.match(desc["TableId"])
    assert abs((desc["CreationDateTime"] - before).total_seconds()) < 60
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_describe_table_reports_an_active_table(dynamodb, tables):
    name, created = create(dynamodb, tables)
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["TableName"] == name
    assert desc["TableArn"] == created["TableArn"]
    assert desc["TableId"] == created["TableId"]
    assert desc["KeySchema"] == HASH_ONLY["KeySchema"]
    assert desc["AttributeDefinitions"] == HASH_ONLY["AttributeDefinitions"]
    assert desc["ItemCount"] == 0
    assert desc["TableSizeBytes"] == 0
    assert desc["CreationDateTime"] == created["CreationDateTime"]


def test_table_arn_uses_the_default_account_and_region(own_server, dynamodb, tables):
    if not own_server:
        pytest.skip("the account id is cdc-bridge's own convention")
    name, desc = create(dynamodb, tables)
    assert desc["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"


def test_create_table_with_hash_and_range_key(dynamodb, tables):
    schema = [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}]
    definitions = [{"AttributeName": "userId", "AttributeType": "S"}, {"AttributeName": "ts", "AttributeType": "N"}]
    name, _ = create(dynamodb, tables, KeySchema=schema, AttributeDefinitions=definitions)
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["KeySchema"] == schema
    assert sorted(desc["AttributeDefinitions"], key=lambda d: d["AttributeName"]) == sorted(
        definitions, key=lambda d: d["AttributeName"]
    )


def test_create_table_with_binary_key(dynamodb, tables):
    definitions = [{"AttributeName": "pk", "AttributeType": "B"}]
    name, _ = create(dynamodb, tables, AttributeDefinitions=definitions)
    assert dynamodb.describe_table(TableName=name)["Table"]["AttributeDefinitions"] == definitions


def test_pay_per_request_table_reports_zero_throughput(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    desc = dynamodb.describe_table(TableName=name)["Table"]
    throughput = desc["ProvisionedThroughput"]
    assert throughput["ReadCapacityUnits"] == 0
    assert throughput["WriteCapacityUnits"] == 0
    assert throughput["NumberOfDecreasesToday"] == 0
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_provisioned_table_reports_its_throughput(dynamodb, tables):
    name, desc = create(
        dynamodb, tables, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
    )
    for d in (desc, dynamodb.describe_table(TableName=name)["Table"]):
        assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
        assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
        assert d["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0
        assert d.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_billing_mode_defaults_to_provisioned(dynamodb, tables):
    name = unique_name()
    dynamodb.create_table(
        TableName=name, **HASH_ONLY, ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}
    )
    tables.append(name)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_provisioned_table_without_throughput_is_refused(dynamodb, tables):
    name = unique_name()
    tables.append(name)
    with validation_error():
        dynamodb.create_table(TableName=name, **HASH_ONLY, BillingMode="PROVISIONED")
    with validation_error():
        dynamodb.create_table(TableName=name, **HASH_ONLY)
    with aws_error("ResourceNotFoundException"):
        dynamodb.describe_table(TableName=name)


def test_pay_per_request_table_with_throughput_is_refused(dynamodb, tables):
    name = unique_name()
    tables.append(name)
    with validation_error(
        "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits "
        "can be specified when BillingMode is PAY_PER_REQUEST"
    ):
        dynamodb.create_table(
            TableName=name, **HASH_ONLY, BillingMode="PAY_PER_REQUEST",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )


def test_create_table_with_stream_specification_reports_it(dynamodb, tables):
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    name, desc = create(dynamodb, tables, StreamSpecification=spec)
    assert desc["StreamSpecification"] == spec
    described = dynamodb.describe_table(TableName=name)["Table"]
    assert described["StreamSpecification"] == spec


def test_table_with_stream_reports_its_latest_stream(dynamodb, tables):
    spec = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    name, _ = create(dynamodb, tables, StreamSpecification=spec)
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["LatestStreamArn"].startswith(desc["TableArn"] + "/stream/")
    assert desc["LatestStreamArn"].endswith("/stream/" + desc["LatestStreamLabel"])


def test_table_without_stream_reports_no_stream(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert "LatestStreamArn" not in desc
    assert desc.get("StreamSpecification", {"StreamEnabled": False})["StreamEnabled"] is False


def test_create_table_tags_are_listed(dynamodb, tables):
    tags = [{"Key": "team", "Value": "cdc"}, {"Key": "env", "Value": "test"}]
    name, desc = create(dynamodb, tables, Tags=tags)
    listed = dynamodb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
    assert sorted(listed, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])


def test_create_existing_table_is_resource_in_use(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    with aws_error("ResourceInUseException", f"Table already exists: {name}"):
        dynamodb.create_table(TableName=name, **HASH_ONLY, BillingMode="PAY_PER_REQUEST")


@pytest.mark.parametrize("length", [3, 255])
def test_table_name_of_3_to_255_characters_is_accepted(dynamodb, tables, length):
    name = (uuid.uuid4().hex[:3] + "_.-" + uuid.uuid4().hex * 8)[:length]
    created, _ = create(dynamodb, tables, name=name)
    assert dynamodb.describe_table(TableName=created)["Table"]["TableName"] == name


@pytest.mark.parametrize("name", ["ab", "a" * 256])
def test_table_name_of_wrong_length_is_refused(lenient, tables, name):
    tables.append(name)
    with validation_error():
        lenient.create_table(TableName=name, **HASH_ONLY, BillingMode="PAY_PER_REQUEST")


@pytest.mark.parametrize("name", ["abc;", "has space", "tä-ble", "a/b/c"])
def test_table_name_with_characters_outside_the_pattern_is_refused(dynamodb, tables, name):
    tables.append(name)
    with validation_error(
        f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    ):
        dynamodb.create_table(TableName=name, **HASH_ONLY, BillingMode="PAY_PER_REQUEST")


def test_key_attribute_without_definition_is_refused(dynamodb):
    with validation_error(
        "One or more parameter values were invalid: Some index key attributes are not defined in "
        "AttributeDefinitions. Keys: [pk], AttributeDefinitions: [other]"
    ):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
        )


def test_definition_of_an_unused_attribute_is_refused(dynamodb):
    with validation_error(
        "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly "
        "match number of attributes defined in AttributeDefinitions"
    ):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "extra", "AttributeType": "S"},
            ],
        )


def test_attribute_defined_twice_is_refused_naming_it(dynamodb):
    with validation_error("Attribute Name is duplicated: pk"):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "pk", "AttributeType": "S"},
            ],
        )


def test_two_hash_keys_are_refused(dynamodb):
    with validation_error("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "a", "AttributeType": "S"},
                {"AttributeName": "b", "AttributeType": "S"},
            ],
        )


def test_range_key_first_is_refused(dynamodb):
    with validation_error("Invalid KeySchema: The first KeySchemaElement is not a HASH key type"):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}, {"AttributeName": "b", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "a", "AttributeType": "S"},
                {"AttributeName": "b", "AttributeType": "S"},
            ],
        )


def test_hash_and_range_key_with_the_same_name_are_refused(dynamodb):
    with validation_error("Both the Hash Key and the Range Key element in the KeySchema have the same name"):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "a", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
        )


def test_more_than_two_key_elements_are_refused(dynamodb):
    with validation_error(match="Member must have length less than or equal to 2"):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "a", "KeyType": "HASH"},
                {"AttributeName": "b", "KeyType": "RANGE"},
                {"AttributeName": "c", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("a", "b", "c")
            ],
        )


@pytest.mark.parametrize("attribute_type", ["SS", "BOOL", "X"])
def test_key_attribute_type_outside_s_n_b_is_refused(dynamodb, attribute_type):
    with validation_error(
        f"1 validation error detected: Value '{attribute_type}' at 'attributeDefinitions.1.member.attributeType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
    ):
        dynamodb.create_table(
            TableName=unique_name(), BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": attribute_type}],
        )


def test_describe_unknown_table_is_resource_not_found(dynamodb):
    name = unique_name()
    with aws_error("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"):
        dynamodb.describe_table(TableName=name)


# --- DeleteTable ------------------------------------------------------------------------------------


def test_delete_table_returns_its_description_and_removes_it(dynamodb, tables):
    name, created = create(dynamodb, tables)
    desc = dynamodb.delete_table(TableName=name)["TableDescription"]
    assert desc["TableName"] == name
    assert desc["TableArn"] == created["TableArn"]
    assert desc["TableStatus"] == "DELETING"
    dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    with aws_error("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"):
        dynamodb.describe_table(TableName=name)
    assert name not in dynamodb.list_tables(ExclusiveStartTableName=name[:-1], Limit=100)["TableNames"]


def test_delete_table_answers_with_the_fields_of_a_deleting_table(dynamodb, tables):
    name, created = create(dynamodb, tables)
    desc = dynamodb.delete_table(TableName=name)["TableDescription"]
    # DynamoDB's answer for a deleting table has no key schema, definitions or creation time
    assert not {"KeySchema", "AttributeDefinitions", "CreationDateTime"} & set(desc)
    assert {k: desc[k] for k in ("TableName", "TableStatus", "ItemCount", "TableSizeBytes", "TableId")} == {
        "TableName": name, "TableStatus": "DELETING", "ItemCount": 0, "TableSizeBytes": 0, "TableId": created["TableId"]}
    assert desc["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_creating_a_table_twice_at_once_creates_it_once(dynamodb, tables):
    name = unique_name()
    tables.append(name)

    def attempt(_):
        try:
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **HASH_ONLY)
            return "created"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["ResourceInUseException"] * 3 + ["created"]


def test_delete_unknown_table_is_resource_not_found(dynamodb):
    name = unique_name()
    with aws_error("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"):
        dynamodb.delete_table(TableName=name)


def test_deleted_table_can_be_created_again_empty(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.delete_table(TableName=name)
    dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    create(dynamodb, tables, name=name)
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_waiters_see_a_table_appear_and_disappear(dynamodb, tables):
    name = unique_name()
    dynamodb.create_table(TableName=name, **HASH_ONLY, BillingMode="PAY_PER_REQUEST")
    tables.append(name)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    dynamodb.delete_table(TableName=name)
    dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


# --- ListTables -------------------------------------------------------------------------------------


def test_list_tables_pages_through_names_in_order(dynamodb, tables):
    prefix = unique_name("list")
    names = [create(dynamodb, tables, name=f"{prefix}-{i}")[0] for i in range(3)]
    seen, start = [], None
    while True:
        kwargs = {"Limit": 1}
        if start:
            kwargs["ExclusiveStartTableName"] = start
        page = dynamodb.list_tables(**kwargs)
        assert len(page["TableNames"]) <= 1
        seen += page["TableNames"]
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
        assert start == page["TableNames"][-1]
    assert seen == sorted(seen)
    assert [n for n in seen if n.startswith(prefix)] == names


def test_list_tables_starts_after_exclusive_start_table_name(dynamodb, tables):
    prefix = unique_name("list")
    first, second = (create(dynamodb, tables, name=f"{prefix}-{i}")[0] for i in range(2))
    page = dynamodb.list_tables(ExclusiveStartTableName=first, Limit=1)
    assert page["TableNames"] == [second]


def test_list_tables_after_the_last_name_is_empty(dynamodb, table):
    page = dynamodb.list_tables(ExclusiveStartTableName="z" * 255)
    assert page["TableNames"] == []
    assert "LastEvaluatedTableName" not in page


def test_list_tables_includes_a_new_table(dynamodb, table):
    names = [n for page in dynamodb.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    assert table.name in names


def test_list_tables_limit_above_100_is_refused(dynamodb):
    with validation_error(
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 100"
    ):
        dynamodb.list_tables(Limit=101)


def test_list_tables_limit_below_1_is_refused(lenient):
    with validation_error(
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    ):
        lenient.list_tables(Limit=0)


# --- UpdateTable ------------------------------------------------------------------------------------


def test_update_table_switches_on_demand_to_provisioned(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    desc = dynamodb.update_table(
        TableName=name, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )["TableDescription"]
    assert desc["TableName"] == name
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_update_table_switches_provisioned_to_on_demand(dynamodb, tables):
    name, _ = create(
        dynamodb, tables, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    desc = dynamodb.describe_table(TableName=name)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_update_table_changes_provisioned_throughput(dynamodb, tables):
    name, _ = create(
        dynamodb, tables, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    dynamodb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 6, "WriteCapacityUnits": 8})
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    throughput = dynamodb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (6, 8)


def test_update_table_keeps_the_items(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "kept"}, "v": {"N": "1"}})
    dynamodb.update_table(
        TableName=name, BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    item = dynamodb.get_item(TableName=name, Key={"pk": {"S": "kept"}})["Item"]
    assert item == {"pk": {"S": "kept"}, "v": {"N": "1"}}


def test_update_table_repeating_the_current_billing_mode_is_accepted(dynamodb, tables):
    """Issue 12: UpdateTable with the table's own BillingMode (PAY_PER_REQUEST again) changes
    nothing and is accepted, instead of "At least one of ... is required"; tools such as
    infrastructure-as-code clients send it with every update."""
    name, _ = create(dynamodb, tables)
    before = dynamodb.describe_table(TableName=name)["Table"]
    desc = dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    after = dynamodb.describe_table(TableName=name)["Table"]
    assert after["BillingModeSummary"] == before["BillingModeSummary"]
    assert after["ProvisionedThroughput"] == before["ProvisionedThroughput"]
    # with another change in the same request, that change is made
    desc = dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST", DeletionProtectionEnabled=False)
    assert desc["TableDescription"]["DeletionProtectionEnabled"] is False


def test_update_table_with_nothing_to_update_is_refused(lenient, tables):
    name, _ = create(lenient, tables)
    with aws_error("ValidationException", match="At least one of"):
        lenient.update_table(TableName=name)


def test_update_table_to_provisioned_without_throughput_is_refused(dynamodb, tables):
    name, _ = create(dynamodb, tables)
    with validation_error():
        dynamodb.update_table(TableName=name, BillingMode="PROVISIONED")


def test_update_unknown_table_is_resource_not_found(dynamodb):
    with aws_error("ResourceNotFoundException"):
        dynamodb.update_table(TableName=unique_name(), BillingMode="PAY_PER_REQUEST")


# --- TagResource / UntagResource / ListTagsOfResource -----------------------------------------------


def test_tag_resource_adds_and_overwrites_tags(dynamodb, table):
    arn = dynamodb.describe_table(TableName=table.name)["Table"]["TableArn"]
    assert dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []) == []
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    tags = dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]


def test_untag_resource_removes_only_the_named_keys(dynamodb, table):
    arn = dynamodb.describe_table(TableName=table.name)["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": k.upper()} for k in ("x", "y", "z")])
    dynamodb.untag_resource(ResourceArn=arn, TagKeys=["x", "z", "absent"])
    assert dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "y", "Value": "Y"}]


def test_tagging_an_unknown_table_is_resource_not_found(dynamodb, table):
    existing = dynamodb.describe_table(TableName=table.name)["Table"]["TableArn"]
    arn = existing.rsplit("/", 1)[0] + "/" + unique_name()
    with aws_error("ResourceNotFoundException"):
        dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}])
    with aws_error("ResourceNotFoundException"):
        dynamodb.list_tags_of_resource(ResourceArn=arn)
    with aws_error("ResourceNotFoundException"):
        dynamodb.untag_resource(ResourceArn=arn, TagKeys=["a"])


@pytest.mark.parametrize("operation", ["describe_table", "delete_table"])
def test_table_name_outside_the_pattern_is_refused_before_lookup(dynamodb, operation):
    with validation_error(
        "1 validation error detected: Value 'bad;name' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    ):
        getattr(dynamodb, operation)(TableName="bad;name")


def test_tags_with_characters_dynamodb_forbids_are_refused_and_unicode_letters_pass(dynamodb, table):
    arn = dynamodb.describe_table(TableName=table.name)["Table"]["TableArn"]
    pattern = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
    with validation_error("2 validation errors detected: Value 'a<b>' at 'tags.1.member.key' failed to satisfy "
                          f"constraint: Member must satisfy regular expression pattern: {pattern}; Value 'x;y' at "
                          "'tags.2.member.value' failed to satisfy constraint: Member must satisfy regular expression "
                          f"pattern: {pattern}"):
        dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a<b>", "Value": "1"}, {"Key": "ok", "Value": "x;y"}])
    assert dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []) == []
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "Équipe données", "Value": "a_b.c:d/e=f+g-h@i 42"}])
    assert dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "Équipe données", "Value": "a_b.c:d/e=f+g-h@i 42"}]
