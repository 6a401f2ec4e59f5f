"""boto3's resource API, as most Python applications use DynamoDB: Decimal numbers, Python sets,
Binary, and conditions built with boto3.dynamodb.conditions.Attr."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import Binary

from tests.api.helpers import aws_error, unique_name

ITEM = {
    "pk": "user#1",
    "name": "Ada",
    "age": Decimal(36),
    "score": Decimal("98.25"),
    "huge": Decimal("12345678901234567890123456789012345678"),
    "tiny": Decimal("1E-130"),
    "active": True,
    "nothing": None,
    "tags": {"math", "engines"},
    "lucky": {Decimal(7), Decimal("3.5")},
    "blobs": {Binary(b"\x00\x01"), Binary(b"\xff")},
    "avatar": Binary(b"\x89PNG\r\n\x1a\n"),
    "address": {"city": "London", "zip": "N1", "floors": [Decimal(1), Decimal(2)]},
    "history": [{"year": Decimal(1843), "event": "notes"}, "plain", Decimal("-0.5"), False, None, []],
}


def test_put_item_and_get_item_round_trip_python_types(table):
    table.put_item(Item=ITEM)
    assert table.get_item(Key={"pk": "user#1"})["Item"] == ITEM


def test_numbers_come_back_as_exact_decimals(table):
    # (Not 1E+100 and the like: DynamoDB returns it in plain form, 101 digits, which boto3's own
    # deserializer refuses -- boto/boto3#2500 -- so the resource API cannot read it back.)
    table.put_item(Item={"pk": "n", "price": Decimal("19.990"), "count": 3, "frac": Decimal("-0.000123")})
    item = table.get_item(Key={"pk": "n"}, ConsistentRead=True)["Item"]
    assert item["price"] == Decimal("19.99") and str(item["price"]) == "19.99"
    assert item["count"] == Decimal(3) and isinstance(item["count"], Decimal)
    assert item["frac"] == Decimal("-0.000123")


def test_get_item_of_missing_key_has_no_item(table):
    assert "Item" not in table.get_item(Key={"pk": "nobody"})


def test_delete_item_returns_old_python_values(table):
    table.put_item(Item=ITEM)
    response = table.delete_item(Key={"pk": "user#1"}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == ITEM
    assert "Item" not in table.get_item(Key={"pk": "user#1"})


def test_composite_key_item_round_trips(composite_table):
    composite_table.put_item(Item={"pk": "p", "sk": Decimal(1), "v": "one"})
    composite_table.put_item(Item={"pk": "p", "sk": Decimal(2), "v": "two"})
    assert composite_table.get_item(Key={"pk": "p", "sk": 2})["Item"] == {"pk": "p", "sk": Decimal(2), "v": "two"}


def test_projection_with_the_resource_api(table):
    table.put_item(Item=ITEM)
    item = table.get_item(Key={"pk": "user#1"}, ProjectionExpression="#n, address.city, history[0]",
                          ExpressionAttributeNames={"#n": "name"})["Item"]
    assert item == {"name": "Ada", "address": {"city": "London"}, "history": [{"year": Decimal(1843), "event": "notes"}]}


HOLDING = [
    Attr("age").eq(36), Attr("age").ne(37), Attr("age").lt(40), Attr("age").lte(36), Attr("age").gt(35),
    Attr("age").gte(36), Attr("age").between(30, 40), Attr("name").is_in(["Ada", "Grace"]),
    Attr("name").begins_with("A"), Attr("name").contains("d"), Attr("tags").contains("math"),
    Attr("lucky").contains(Decimal("3.5")), Attr("name").exists(), Attr("missing").not_exists(),
    Attr("name").size().eq(3), Attr("history").size().gt(5), Attr("age").attribute_type("N"),
    Attr("nothing").attribute_type("NULL"), Attr("address.city").eq("London"), Attr("history[1]").eq("plain"),
    Attr("avatar").eq(Binary(b"\x89PNG\r\n\x1a\n")), Attr("active").eq(True), Attr("score").eq(Decimal("98.250")),
    Attr("age").eq(36) & Attr("name").eq("Ada"), Attr("age").eq(1) | Attr("name").eq("Ada"), ~Attr("age").eq(1),
    (Attr("age").lt(1) | Attr("age").gt(2)) & ~Attr("missing").exists(),
]
FAILING = [
    Attr("age").eq(37), Attr("age").lt(36), Attr("age").between(37, 40), Attr("name").is_in(["Grace"]),
    Attr("name").begins_with("d"), Attr("tags").contains("art"), Attr("name").not_exists(),
    Attr("missing").exists(), Attr("name").size().gt(3), Attr("age").attribute_type("S"), Attr("age").eq("36"),
    Attr("address.city").eq("Paris"), Attr("age").eq(36) & Attr("name").eq("Grace"), ~Attr("age").eq(36),
]


@pytest.mark.parametrize("condition", HOLDING, ids=[f"holds-{i}" for i in range(len(HOLDING))])
def test_attr_condition_that_holds_lets_the_put_through(table, condition):
    table.put_item(Item=ITEM)
    table.put_item(Item={**ITEM, "seen": True}, ConditionExpression=condition)
    assert table.get_item(Key={"pk": "user#1"})["Item"]["seen"] is True


@pytest.mark.parametrize("condition", FAILING, ids=[f"fails-{i}" for i in range(len(FAILING))])
def test_attr_condition_that_fails_is_conditional_check_failed(table, condition):
    table.put_item(Item=ITEM)
    with aws_error("ConditionalCheckFailedException", "The conditional request failed"):
        table.put_item(Item={**ITEM, "seen": True}, ConditionExpression=condition)
    assert table.get_item(Key={"pk": "user#1"})["Item"] == ITEM


def test_conditional_check_failed_is_a_modeled_exception(table):
    table.put_item(Item={"pk": "once"}, ConditionExpression=Attr("pk").not_exists())
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item={"pk": "once"}, ConditionExpression=Attr("pk").not_exists())


def test_conditional_delete_with_attr(table):
    table.put_item(Item=ITEM)
    with aws_error("ConditionalCheckFailedException"):
        table.delete_item(Key={"pk": "user#1"}, ConditionExpression=Attr("age").gt(40))
    response = table.delete_item(Key={"pk": "user#1"}, ConditionExpression=Attr("age").lte(40),
                                 ReturnValues="ALL_OLD")
    assert response["Attributes"] == ITEM
    assert "Item" not in table.get_item(Key={"pk": "user#1"})


def test_failed_condition_returns_the_old_item_in_wire_form(table):
    table.put_item(Item={"pk": "old", "n": Decimal(1)})
    with aws_error("ConditionalCheckFailedException") as info:
        table.put_item(Item={"pk": "old", "n": Decimal(2)}, ConditionExpression=Attr("n").eq(5),
                       ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert info.value.response["Item"] == {"pk": {"S": "old"}, "n": {"N": "1"}}


def test_resource_reports_consumed_capacity(table):
    response = table.put_item(Item={"pk": "cap"}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 1.0}


def test_table_resource_loads_its_description(dynamodb_resource, table):
    loaded = dynamodb_resource.Table(table.name)
    loaded.load()
    assert loaded.table_status == "ACTIVE"
    assert loaded.key_schema == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert loaded.item_count == 0


def test_resource_create_table_and_wait(dynamodb_resource, dynamodb):
    name = unique_name("res")
    created = dynamodb_resource.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}], BillingMode="PAY_PER_REQUEST",
    )
    try:
        created.wait_until_exists()
        created.put_item(Item={"id": 1, "v": "x"})
        assert created.get_item(Key={"id": 1})["Item"] == {"id": Decimal(1), "v": "x"}
    finally:
        created.delete()
        created.wait_until_not_exists()
    with aws_error("ResourceNotFoundException"):
        dynamodb.describe_table(TableName=name)
