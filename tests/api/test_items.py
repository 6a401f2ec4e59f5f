"""PutItem, GetItem and DeleteItem: keys, ReturnValues, ReturnConsumedCapacity and their errors."""

from __future__ import annotations

import pytest

from tests.api.helpers import aws_error, unique_name, validation_error

ITEM = {
    "pk": {"S": "user-1"},
    "name": {"S": "Ada"},
    "age": {"N": "36"},
    "tags": {"SS": ["a", "b"]},
    "profile": {"M": {"langs": {"L": [{"S": "en"}, {"S": "fr"}]}, "admin": {"BOOL": True}}},
}


def get(dynamodb, table, key, **kwargs):
    return dynamodb.get_item(TableName=table.name, Key=key, **kwargs).get("Item")


# --- PutItem / GetItem ------------------------------------------------------------------------------


def test_put_item_then_get_item_returns_it(dynamodb, table):
    response = dynamodb.put_item(TableName=table.name, Item=ITEM)
    assert "Attributes" not in response
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) == ITEM


@pytest.mark.parametrize("consistent", [True, False])
def test_get_item_accepts_consistent_read(dynamodb, table, consistent):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    assert get(dynamodb, table, {"pk": ITEM["pk"]}, ConsistentRead=consistent) == ITEM


def test_get_item_of_missing_key_returns_no_item(dynamodb, table):
    response = dynamodb.get_item(TableName=table.name, Key={"pk": {"S": "nobody"}})
    assert "Item" not in response


def test_put_item_replaces_the_whole_item(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    dynamodb.put_item(TableName=table.name, Item={"pk": ITEM["pk"], "only": {"S": "this"}})
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) == {"pk": ITEM["pk"], "only": {"S": "this"}}


def test_items_with_the_same_hash_key_and_different_sort_keys_are_distinct(dynamodb, composite_table):
    for sk in ("1", "2", "10"):
        dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "p"}, "sk": {"N": sk}, "v": {"S": sk}})
    for sk in ("1", "2", "10"):
        item = get(dynamodb, composite_table, {"pk": {"S": "p"}, "sk": {"N": sk}})
        assert item == {"pk": {"S": "p"}, "sk": {"N": sk}, "v": {"S": sk}}


def test_sort_key_numbers_are_compared_as_numbers(dynamodb, composite_table):
    dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "p"}, "sk": {"N": "1.50"}, "v": {"S": "x"}})
    item = get(dynamodb, composite_table, {"pk": {"S": "p"}, "sk": {"N": "1.5"}})
    assert item == {"pk": {"S": "p"}, "sk": {"N": "1.5"}, "v": {"S": "x"}}


def test_items_in_different_tables_are_independent(dynamodb, make_table):
    first, second = make_table(), make_table()
    dynamodb.put_item(TableName=first.name, Item=ITEM)
    assert get(dynamodb, second, {"pk": ITEM["pk"]}) is None


def test_binary_hash_key_round_trips(dynamodb, make_table):
    table = make_table(hash_key=("pk", "B"))
    key = {"pk": {"B": b"\x00\xffkey"}}
    dynamodb.put_item(TableName=table.name, Item={**key, "v": {"S": "bin"}})
    assert get(dynamodb, table, key) == {**key, "v": {"S": "bin"}}


def test_number_hash_key_is_matched_by_value(dynamodb, make_table):
    table = make_table(hash_key=("id", "N"))
    dynamodb.put_item(TableName=table.name, Item={"id": {"N": "100"}, "v": {"S": "x"}})
    assert get(dynamodb, table, {"id": {"N": "1E2"}}) == {"id": {"N": "100"}, "v": {"S": "x"}}


def test_empty_string_and_binary_are_allowed_outside_keys(dynamodb, table):
    item = {"pk": {"S": "e"}, "s": {"S": ""}, "b": {"B": b""}, "l": {"L": [{"S": ""}]}, "m": {"M": {"k": {"S": ""}}}}
    dynamodb.put_item(TableName=table.name, Item=item)
    assert get(dynamodb, table, {"pk": {"S": "e"}}) == item


# --- ReturnValues -----------------------------------------------------------------------------------


def test_put_item_return_values_all_old_returns_the_replaced_item(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    response = dynamodb.put_item(TableName=table.name, Item={"pk": ITEM["pk"], "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == ITEM


def test_put_item_return_values_all_old_of_new_item_returns_nothing(dynamodb, table):
    response = dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnValues="ALL_OLD")
    assert "Attributes" not in response


def test_put_item_return_values_none_returns_nothing(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    response = dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnValues="NONE")
    assert "Attributes" not in response


@pytest.mark.parametrize("return_values", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_put_item_return_values_other_than_all_old_or_none_are_refused(dynamodb, table, return_values):
    with validation_error("ReturnValues can only be ALL_OLD or NONE"):
        dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnValues=return_values)
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) is None


def test_unknown_return_values_is_refused(dynamodb, table):
    with validation_error(
        "1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
    ):
        dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnValues="SOME")


# --- DeleteItem -------------------------------------------------------------------------------------


def test_delete_item_removes_it(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    response = dynamodb.delete_item(TableName=table.name, Key={"pk": ITEM["pk"]})
    assert "Attributes" not in response
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) is None


def test_delete_item_return_values_all_old_returns_the_deleted_item(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    response = dynamodb.delete_item(TableName=table.name, Key={"pk": ITEM["pk"]}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == ITEM


def test_delete_item_of_missing_key_succeeds_with_nothing_returned(dynamodb, table):
    response = dynamodb.delete_item(TableName=table.name, Key={"pk": {"S": "ghost"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in response


def test_delete_item_with_sort_key_removes_only_that_item(dynamodb, composite_table):
    for sk in ("1", "2"):
        dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "p"}, "sk": {"N": sk}})
    dynamodb.delete_item(TableName=composite_table.name, Key={"pk": {"S": "p"}, "sk": {"N": "1"}})
    assert get(dynamodb, composite_table, {"pk": {"S": "p"}, "sk": {"N": "1"}}) is None
    assert get(dynamodb, composite_table, {"pk": {"S": "p"}, "sk": {"N": "2"}}) is not None


@pytest.mark.parametrize("return_values", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_delete_item_return_values_other_than_all_old_or_none_are_refused(dynamodb, table, return_values):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    with validation_error("ReturnValues can only be ALL_OLD or NONE"):
        dynamodb.delete_item(TableName=table.name, Key={"pk": ITEM["pk"]}, ReturnValues=return_values)
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) == ITEM


# --- conditions, as the item operations report them ---------------------------------------------------


def test_failed_condition_is_conditional_check_failed_and_writes_nothing(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    with aws_error("ConditionalCheckFailedException", "The conditional request failed") as info:
        dynamodb.put_item(TableName=table.name, Item={"pk": ITEM["pk"]}, ConditionExpression="attribute_not_exists(pk)")
    assert "Item" not in info.value.response
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) == ITEM


def test_failed_put_condition_returns_the_old_item_when_asked(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    with aws_error("ConditionalCheckFailedException", "The conditional request failed") as info:
        dynamodb.put_item(
            TableName=table.name, Item={"pk": ITEM["pk"]}, ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert info.value.response["Item"] == ITEM


def test_failed_delete_condition_returns_the_old_item_when_asked(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    with aws_error("ConditionalCheckFailedException", "The conditional request failed") as info:
        dynamodb.delete_item(
            TableName=table.name, Key={"pk": ITEM["pk"]}, ConditionExpression="age > :limit",
            ExpressionAttributeValues={":limit": {"N": "40"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert info.value.response["Item"] == ITEM
    assert get(dynamodb, table, {"pk": ITEM["pk"]}) == ITEM


def test_failed_condition_on_missing_item_returns_no_old_item(dynamodb, table):
    with aws_error("ConditionalCheckFailedException") as info:
        dynamodb.delete_item(
            TableName=table.name, Key={"pk": {"S": "ghost"}}, ConditionExpression="attribute_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert "Item" not in info.value.response


def test_return_values_on_condition_check_failure_none_returns_no_item(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    with aws_error("ConditionalCheckFailedException") as info:
        dynamodb.put_item(
            TableName=table.name, Item=ITEM, ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="NONE",
        )
    assert "Item" not in info.value.response


# --- ReturnConsumedCapacity -------------------------------------------------------------------------


def test_put_item_reports_consumed_capacity(dynamodb, table):
    total = dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnConsumedCapacity="TOTAL")
    assert total["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 1.0}
    indexes = dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnConsumedCapacity="INDEXES")
    assert indexes["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    none = dynamodb.put_item(TableName=table.name, Item=ITEM, ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in none


def test_put_item_of_more_than_1_kb_consumes_a_unit_per_kb(dynamodb, table):
    item = {"pk": {"S": "big"}, "d": {"S": "x" * 1500}}
    response = dynamodb.put_item(TableName=table.name, Item=item, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 2.0}


def test_get_item_reports_half_a_unit_for_eventually_consistent_reads(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item=ITEM)
    eventual = dynamodb.get_item(TableName=table.name, Key={"pk": ITEM["pk"]}, ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 0.5}
    strong = dynamodb.get_item(
        TableName=table.name, Key={"pk": ITEM["pk"]}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )
    assert strong["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 1.0}


def test_delete_item_reports_consumed_capacity(dynamodb, table):
    response = dynamodb.delete_item(TableName=table.name, Key={"pk": {"S": "ghost"}}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 1.0}


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["put_item", "get_item", "delete_item"])
def test_item_operation_on_unknown_table_is_resource_not_found(dynamodb, operation):
    args = {"Item": {"pk": {"S": "a"}}} if operation == "put_item" else {"Key": {"pk": {"S": "a"}}}
    with aws_error("ResourceNotFoundException", "Requested resource not found"):
        getattr(dynamodb, operation)(TableName=unique_name(), **args)


@pytest.mark.parametrize(
    "key",
    [
        {},
        {"other": {"S": "a"}},
        {"pk": {"S": "a"}, "extra": {"S": "b"}},
        {"pk": {"N": "1"}},
        {"pk": {"B": b"a"}},
        {"pk": {"SS": ["a"]}},
        {"pk": {"BOOL": True}},
        {"pk": {"NULL": True}},
        {"pk": {"M": {}}},
        {"pk": {"L": []}},
    ],
    ids=["empty", "other-name", "extra-attribute", "N", "B", "SS", "BOOL", "NULL", "M", "L"],
)
@pytest.mark.parametrize("operation", ["get_item", "delete_item"])
def test_key_not_matching_the_schema_is_refused(dynamodb, table, operation, key):
    with validation_error("The provided key element does not match the schema"):
        getattr(dynamodb, operation)(TableName=table.name, Key=key)


@pytest.mark.parametrize("operation", ["get_item", "delete_item"])
def test_key_without_the_sort_key_is_refused(dynamodb, composite_table, operation):
    with validation_error("The provided key element does not match the schema"):
        getattr(dynamodb, operation)(TableName=composite_table.name, Key={"pk": {"S": "p"}})


def test_put_item_without_the_hash_key_is_refused(dynamodb, table):
    with validation_error("One or more parameter values were invalid: Missing the key pk in the item"):
        dynamodb.put_item(TableName=table.name, Item={"other": {"S": "a"}})


def test_put_item_without_the_sort_key_is_refused(dynamodb, composite_table):
    with validation_error("One or more parameter values were invalid: Missing the key sk in the item"):
        dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "p"}})


@pytest.mark.parametrize("value,actual", [({"N": "1"}, "N"), ({"B": b"a"}, "B"), ({"SS": ["a"]}, "SS"),
                                          ({"BOOL": False}, "BOOL"), ({"M": {}}, "M"), ({"L": []}, "L")])
def test_put_item_with_hash_key_of_wrong_type_is_refused(dynamodb, table, value, actual):
    with validation_error(f"One or more parameter values were invalid: Type mismatch for key pk expected: S actual: {actual}"):
        dynamodb.put_item(TableName=table.name, Item={"pk": value})


def test_put_item_with_sort_key_of_wrong_type_is_refused(dynamodb, composite_table):
    with validation_error("One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"):
        dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "p"}, "sk": {"S": "1"}})


@pytest.mark.parametrize("operation", ["put_item", "get_item", "delete_item"])
def test_table_name_outside_the_pattern_is_refused(dynamodb, operation):
    args = {"Item": {"pk": {"S": "a"}}} if operation == "put_item" else {"Key": {"pk": {"S": "a"}}}
    with validation_error(
        "1 validation error detected: Value 'abc;' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    ):
        getattr(dynamodb, operation)(TableName="abc;", **args)


def test_missing_table_name_is_refused(lenient):
    with validation_error(
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    ):
        lenient.get_item(Key={"pk": {"S": "a"}})


def test_get_item_with_legacy_attributes_to_get_returns_those_top_level_attributes(dynamodb, table):
    dynamodb.put_item(TableName=table.name, Item={"pk": {"S": "atg"}, "a": {"N": "1"}, "b": {"S": "x"},
                                                  "m": {"M": {"c": {"S": "y"}}}})
    item = dynamodb.get_item(TableName=table.name, Key={"pk": {"S": "atg"}}, AttributesToGet=["a", "m"])["Item"]
    assert item == {"a": {"N": "1"}, "m": {"M": {"c": {"S": "y"}}}}


def test_get_item_refuses_attributes_to_get_with_a_projection_expression(dynamodb, table):
    with validation_error(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
    ):
        dynamodb.get_item(TableName=table.name, Key={"pk": {"S": "atg"}}, AttributesToGet=["a"],
                          ProjectionExpression="a")
