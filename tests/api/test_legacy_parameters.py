"""The legacy parameters real code still sends: Expected + ConditionalOperator (PutItem,
DeleteItem, UpdateItem) and AttributeUpdates (UpdateItem), with DynamoDB's semantics and
refusals, and the refusal to mix them with expressions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.helpers import aws_error, validation_error

STORED = {
    "n": {"N": "5"},
    "s": {"S": "hello"},
    "ss": {"SS": ["a", "b"]},
    "l": {"L": [{"N": "1"}, {"S": "two"}]},
    "m": {"M": {"k": {"S": "v"}}},
    "t": {"BOOL": True},
}
INVALID = "One or more parameter values were invalid: "


def n(value: str) -> dict:
    return {"N": value}


def s(value: str) -> dict:
    return {"S": value}


def op(operator: str, *values: dict) -> dict:
    return {"ComparisonOperator": operator, "AttributeValueList": list(values)}


def stored(dynamodb, table: str, key: dict) -> dict | None:
    return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


@pytest.fixture
def item(dynamodb, module_table, key):
    dynamodb.put_item(TableName=module_table, Item={**key, **STORED})
    return {**key, **STORED}


# --- Expected: what holds -----------------------------------------------------------------------

CASES = [
    ({"n": {"Value": n("5")}}, True),
    ({"n": {"Value": n("5.0"), "Exists": True}}, True),
    ({"n": {"Value": n("6")}}, False),
    ({"n": {"Value": s("5")}}, False),
    ({"nope": {"Exists": False}}, True),
    ({"n": {"Exists": False}}, False),
    ({"n": op("EQ", n("5"))}, True),
    ({"m": op("EQ", {"M": {"k": s("v")}})}, True),
    ({"l": op("EQ", {"L": [n("1"), s("two")]})}, True),
    ({"ss": op("EQ", {"SS": ["b", "a"]})}, True),
    ({"n": op("NE", n("6"))}, True),
    ({"n": op("NE", n("5"))}, False),
    ({"nope": op("NE", n("5"))}, True),
    ({"n": op("LT", n("6"))}, True),
    ({"n": op("LE", n("5"))}, True),
    ({"n": op("GT", n("5"))}, False),
    ({"n": op("GE", n("5"))}, True),
    ({"s": op("LT", s("z"))}, True),
    ({"s": op("GT", n("1"))}, False),
    ({"nope": op("GT", n("1"))}, False),
    ({"nope": op("NULL")}, True),
    ({"n": op("NULL")}, False),
    ({"n": op("NOT_NULL")}, True),
    ({"nope": op("NOT_NULL")}, False),
    ({"s": op("CONTAINS", s("ell"))}, True),
    ({"ss": op("CONTAINS", s("a"))}, True),
    ({"l": op("CONTAINS", n("1"))}, True),
    ({"ss": op("CONTAINS", s("z"))}, False),
    ({"nope": op("CONTAINS", s("a"))}, False),
    ({"ss": op("NOT_CONTAINS", s("z"))}, True),
    ({"ss": op("NOT_CONTAINS", s("a"))}, False),
    ({"nope": op("NOT_CONTAINS", s("a"))}, False),
    ({"s": op("BEGINS_WITH", s("he"))}, True),
    ({"s": op("BEGINS_WITH", s("lo"))}, False),
    ({"n": op("IN", n("1"), n("5"))}, True),
    ({"n": op("IN", n("1"), n("2"))}, False),
    ({"n": op("BETWEEN", n("1"), n("5"))}, True),
    ({"n": op("BETWEEN", n("6"), n("9"))}, False),
    ({"n": {"ComparisonOperator": "GT", "Value": n("1")}}, True),
    ({"n": {"Value": n("5")}, "s": {"Value": s("hello")}}, True),
    ({"n": {"Value": n("5")}, "s": {"Value": s("bye")}}, False),
]


@pytest.mark.parametrize("expected, holds", CASES, ids=[repr(c[0]) for c in CASES])
def test_put_item_expected(dynamodb, module_table, key, item, expected, holds):
    replacement = {**key, "v": s("replaced")}
    if holds:
        dynamodb.put_item(TableName=module_table, Item=replacement, Expected=expected)
        assert stored(dynamodb, module_table, key) == replacement
    else:
        with aws_error("ConditionalCheckFailedException", "The conditional request failed"):
            dynamodb.put_item(TableName=module_table, Item=replacement, Expected=expected)
        assert stored(dynamodb, module_table, key) == item


@pytest.mark.parametrize("operator, holds", [("OR", True), ("AND", False)])
def test_conditional_operator_combines_the_expected_entries(dynamodb, module_table, key, item, operator, holds):
    expected = {"n": {"Value": n("5")}, "s": {"Value": s("bye")}}
    if holds:
        dynamodb.delete_item(TableName=module_table, Key=key, Expected=expected, ConditionalOperator=operator)
        assert stored(dynamodb, module_table, key) is None
    else:
        with aws_error("ConditionalCheckFailedException"):
            dynamodb.delete_item(TableName=module_table, Key=key, Expected=expected, ConditionalOperator=operator)
        assert stored(dynamodb, module_table, key) == item


def test_expected_on_a_missing_item_sees_no_attributes(dynamodb, module_table, key):
    dynamodb.put_item(TableName=module_table, Item={**key, "a": n("1")}, Expected={"pk": {"Exists": False}})
    with aws_error("ConditionalCheckFailedException"):
        dynamodb.put_item(TableName=module_table, Item={**key, "a": n("2")}, Expected={"pk": {"Exists": False}})
    assert stored(dynamodb, module_table, key) == {**key, "a": n("1")}


def test_failed_expected_returns_the_old_item_when_asked(dynamodb, module_table, key, item):
    with aws_error("ConditionalCheckFailedException") as info:
        dynamodb.delete_item(TableName=module_table, Key=key, Expected={"n": {"Value": n("0")}},
                             ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert info.value.response["Item"]["n"] == n("5")


def test_update_item_with_expected(dynamodb, module_table, key, item):
    dynamodb.update_item(TableName=module_table, Key=key, AttributeUpdates={"n": {"Value": n("6")}},
                         Expected={"n": {"Value": n("5")}})
    with aws_error("ConditionalCheckFailedException"):
        dynamodb.update_item(TableName=module_table, Key=key, AttributeUpdates={"n": {"Value": n("7")}},
                             Expected={"n": {"Value": n("5")}})
    assert stored(dynamodb, module_table, key)["n"] == n("6")


# --- Expected: what DynamoDB refuses ------------------------------------------------------------

REFUSED = [
    ({"n": {"Exists": True, "ComparisonOperator": "EQ", "AttributeValueList": [n("1")]}},
     "Exists and ComparisonOperator cannot be used together for Attribute: n"),
    ({"n": {"Value": n("1"), "AttributeValueList": [n("1")]}},
     "Value and AttributeValueList cannot be used together for Attribute: n"),
    ({"n": {"AttributeValueList": [n("1")]}}, "AttributeValueList can only be used with a ComparisonOperator for Attribute: n"),
    ({"n": {"Exists": False, "Value": n("1")}}, "Value cannot be used when Exists is false for Attribute: n"),
    ({"n": {}}, "Value must be provided when Exists is null for Attribute: n"),
    ({"n": {"Exists": True}}, "Value must be provided when Exists is true for Attribute: n"),
    ({"n": {"ComparisonOperator": "EQ"}}, "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: n"),
    ({"n": op("NULL", n("1"))}, "Invalid number of argument(s) for the NULL ComparisonOperator"),
    ({"n": op("BETWEEN", n("1"))}, "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
    ({"n": op("IN")}, "Invalid number of argument(s) for the IN ComparisonOperator"),
    ({"n": op("EQ", n("1"), n("2"))}, "Invalid number of argument(s) for the EQ ComparisonOperator"),
    ({"n": op("LT", {"BOOL": True})}, "ComparisonOperator LT is not valid for BOOL AttributeValue type"),
    ({"n": op("CONTAINS", {"SS": ["a"]})}, "ComparisonOperator CONTAINS is not valid for SS AttributeValue type"),
    ({"n": op("BEGINS_WITH", n("1"))}, "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"),
    ({"n": op("IN", n("1"), s("1"))}, "AttributeValues inside AttributeValueList must be of same type"),
    ({"n": {"Value": {"SS": []}}}, "An string set  may not be empty"),
]


@pytest.mark.parametrize("expected, problem", REFUSED, ids=[r[1] for r in REFUSED])
@pytest.mark.parametrize("operation", ["PutItem", "DeleteItem", "UpdateItem"])
def test_invalid_expected_is_refused(dynamodb, module_table, key, expected, problem, operation):
    with validation_error(INVALID + problem):
        call(dynamodb, operation, module_table, key, Expected=expected)
    assert stored(dynamodb, module_table, key) is None


def test_between_bounds_in_the_wrong_order_are_refused(dynamodb, module_table, key):
    with validation_error("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"):
        dynamodb.put_item(TableName=module_table, Item=key, Expected={"n": op("BETWEEN", n("9"), n("1"))})


def test_conditional_operator_needs_two_expected_entries(dynamodb, module_table, key):
    with validation_error("ConditionalOperator cannot be used without Filter or Expected"):
        dynamodb.put_item(TableName=module_table, Item=key, ConditionalOperator="OR")
    with validation_error("ConditionalOperator can only be used when Filter or Expected has two or more elements"):
        dynamodb.put_item(TableName=module_table, Item=key, ConditionalOperator="OR", Expected={"a": {"Exists": False}})


def call(dynamodb, operation: str, table: str, key: dict, **params):
    if operation == "PutItem":
        return dynamodb.put_item(TableName=table, Item=key, **params)
    if operation == "DeleteItem":
        return dynamodb.delete_item(TableName=table, Key=key, **params)
    return dynamodb.update_item(TableName=table, Key=key, **params)


# --- mixing with expressions --------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["PutItem", "DeleteItem", "UpdateItem"])
def test_expected_and_condition_expression_together_are_refused(dynamodb, module_table, key, operation):
    with validation_error("Can not use both expression and non-expression parameters in the same request: "
                          "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"):
        call(dynamodb, operation, module_table, key, Expected={"a": {"Exists": False}},
             ConditionExpression="attribute_not_exists(a)")


def test_every_mixed_parameter_is_named(dynamodb, module_table, key):
    with validation_error("Can not use both expression and non-expression parameters in the same request: "
                          "Non-expression parameters: {AttributeUpdates, Expected, ConditionalOperator} "
                          "Expression parameters: {UpdateExpression, ConditionExpression}"):
        dynamodb.update_item(TableName=module_table, Key=key, AttributeUpdates={"a": {"Value": n("1")}},
                             Expected={"a": {"Exists": False}}, ConditionalOperator="AND",
                             UpdateExpression="SET b = :v", ConditionExpression="attribute_not_exists(b)",
                             ExpressionAttributeValues={":v": n("1")})


def test_attribute_updates_and_update_expression_together_are_refused(dynamodb, module_table, key):
    with validation_error("Can not use both expression and non-expression parameters in the same request: "
                          "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"):
        dynamodb.update_item(TableName=module_table, Key=key, AttributeUpdates={"a": {"Value": n("1")}},
                             UpdateExpression="REMOVE b")


def test_expression_attribute_names_with_only_legacy_parameters_are_refused(dynamodb, module_table, key):
    with validation_error("ExpressionAttributeNames can only be specified when using expressions"):
        dynamodb.put_item(TableName=module_table, Item=key, Expected={"a": {"Exists": False}},
                          ExpressionAttributeNames={"#a": "a"})


# --- AttributeUpdates ---------------------------------------------------------------------------


def update(dynamodb, table: str, key: dict, updates: dict, **params) -> dict:
    return dynamodb.update_item(TableName=table, Key=key, AttributeUpdates=updates, **params)


def test_put_action_is_the_default_and_creates_the_item(dynamodb, module_table, key):
    update(dynamodb, module_table, key, {"a": {"Value": s("x")}, "b": {"Action": "PUT", "Value": n("1")}})
    assert stored(dynamodb, module_table, key) == {**key, "a": s("x"), "b": n("1")}


def test_add_action_adds_numbers_unites_sets_and_appends_lists(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, {
        "n": {"Action": "ADD", "Value": n("-2")},
        "fresh": {"Action": "ADD", "Value": n("3")},
        "ss": {"Action": "ADD", "Value": {"SS": ["b", "c"]}},
        "l": {"Action": "ADD", "Value": {"L": [s("three")]}},
    })
    got = stored(dynamodb, module_table, key)
    assert (got["n"], got["fresh"]) == (n("3"), n("3"))
    assert sorted(got["ss"]["SS"]) == ["a", "b", "c"]
    assert got["l"] == {"L": [n("1"), s("two"), s("three")]}


def test_delete_action_removes_an_attribute_or_set_members(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, {"s": {"Action": "DELETE"}, "ss": {"Action": "DELETE", "Value": {"SS": ["a"]}},
                                         "nope": {"Action": "DELETE"}})
    got = stored(dynamodb, module_table, key)
    assert "s" not in got and got["ss"] == {"SS": ["b"]}
    update(dynamodb, module_table, key, {"ss": {"Action": "DELETE", "Value": {"SS": ["b", "z"]}}})
    assert "ss" not in stored(dynamodb, module_table, key)


def test_deleting_from_a_missing_item_does_not_create_it(dynamodb, module_table, key):
    update(dynamodb, module_table, key, {"a": {"Action": "DELETE"}, "s": {"Action": "DELETE", "Value": {"SS": ["x"]}}})
    assert stored(dynamodb, module_table, key) is None
    update(dynamodb, module_table, key, {})  # no update at all: the item of just its key
    assert stored(dynamodb, module_table, key) == key


@pytest.mark.parametrize("updates", [
    {"ss": {"Action": "ADD", "Value": {"NS": ["1"]}}},
    {"ss": {"Action": "DELETE", "Value": {"NS": ["1"]}}},
    {"n": {"Action": "DELETE", "Value": {"NS": ["1"]}}},
    {"ss": {"Action": "ADD", "Value": n("1")}},
    {"s": {"Action": "ADD", "Value": n("1")}},
])
def test_add_or_delete_on_another_type_is_a_type_mismatch(dynamodb, module_table, key, item, updates):
    with validation_error("Type mismatch for attribute to update"):
        update(dynamodb, module_table, key, updates)
    assert stored(dynamodb, module_table, key) == item


@pytest.mark.parametrize("updates, problem", [
    ({"a": {"Action": "PUT"}}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"a": {"Action": "ADD"}}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"a": {}}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"a": {"Action": "DELETE", "Value": s("x")}}, "DELETE action with value is not supported for the type S"),
    ({"a": {"Action": "DELETE", "Value": {"L": []}}}, "DELETE action with value is not supported for the type L"),
    ({"a": {"Action": "ADD", "Value": s("x")}}, "ADD action is not supported for the type S"),
    ({"a": {"Action": "ADD", "Value": {"M": {}}}}, "ADD action is not supported for the type M"),
    ({"a": {"Action": "ADD", "Value": {"BOOL": True}}}, "ADD action is not supported for the type BOOL"),
    ({"pk": {"Value": s("other")}}, "Cannot update attribute pk. This attribute is part of the key"),
    ({"a": {"Value": {"NS": []}}}, "An number set  may not be empty"),
])
def test_invalid_attribute_updates_are_refused(dynamodb, module_table, key, updates, problem):
    with validation_error(INVALID + problem):
        update(dynamodb, module_table, key, updates)
    assert stored(dynamodb, module_table, key) is None


def test_attribute_updates_return_values_updated_new(dynamodb, module_table, key, item):
    response = update(dynamodb, module_table, key, {"n": {"Action": "ADD", "Value": n("1")}, "s": {"Action": "DELETE"}},
                      ReturnValues="UPDATED_NEW")
    assert response["Attributes"] == {"n": n("6")}


def test_attribute_updates_result_over_400_kb_is_refused(dynamodb, module_table, key):
    with validation_error("Item size to update has exceeded the maximum allowed size"):
        update(dynamodb, module_table, key, {"a": {"Value": s("x" * 300_000)}, "b": {"Value": s("y" * 120_000)}})


# --- the resource API ---------------------------------------------------------------------------


def test_resource_api_legacy_parameters(table):
    table.update_item(Key={"pk": "u"}, AttributeUpdates={"visits": {"Action": "ADD", "Value": 1}},
                      Expected={"visits": {"Exists": False}})
    table.update_item(Key={"pk": "u"}, AttributeUpdates={"visits": {"Action": "ADD", "Value": 1},
                                                          "tags": {"Action": "ADD", "Value": {"x"}}},
                      Expected={"visits": {"ComparisonOperator": "LT", "AttributeValueList": [10]}})
    assert table.get_item(Key={"pk": "u"})["Item"] == {"pk": "u", "visits": Decimal(2), "tags": {"x"}}
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.delete_item(Key={"pk": "u"}, Expected={"visits": {"Value": 1}})
    table.delete_item(Key={"pk": "u"}, Expected={"visits": {"Value": 2}})
    assert "Item" not in table.get_item(Key={"pk": "u"})
