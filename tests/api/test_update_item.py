"""UpdateItem with expressions: every UpdateExpression clause, upsert, ConditionExpression,
ReturnValues, and DynamoDB's refusals (each a ValidationException with DynamoDB's message,
after which nothing is written). The legacy AttributeUpdates / Expected are in
test_legacy_parameters.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr

from tests.api.helpers import MAX_ITEM_BYTES, aws_error, validation_error

STORED = {
    "n": {"N": "5"},
    "s": {"S": "text"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}]},
    "m": {"M": {"x": {"N": "1"}, "child": {"M": {"y": {"S": "deep"}}}}},
}
INVALID_PATH = "The document path provided in the update expression is invalid for update"
WRONG_TYPE = "An operand in the update expression has an incorrect data type"
MISSING = "The provided expression refers to an attribute that does not exist in the item"


def update(dynamodb, table: str, key: dict, expression: str | None = None, values: dict | None = None,
           names: dict | None = None, **kwargs) -> dict:
    params = {"TableName": table, "Key": key, **kwargs}
    if expression is not None:
        params["UpdateExpression"] = expression
    if values:
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    return dynamodb.update_item(**params)


def stored(dynamodb, table: str, key: dict) -> dict | None:
    return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def sets_sorted(item: dict | None) -> dict | None:
    """An item with its sets in sorted order (a set's order carries no meaning)."""
    if item is None:
        return None
    return {k: {t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in av.items()} for k, av in item.items()}


@pytest.fixture
def item(dynamodb, module_table, key):
    """STORED under the test's own key in the module's table."""
    dynamodb.put_item(TableName=module_table, Item={**key, **STORED})
    return {**key, **STORED}


# --- upsert -------------------------------------------------------------------------------------


def test_update_item_of_a_missing_item_creates_it(dynamodb, module_table, key):
    update(dynamodb, module_table, key, "SET a = :v", {":v": {"S": "x"}})
    assert stored(dynamodb, module_table, key) == {**key, "a": {"S": "x"}}


def test_update_item_without_update_expression_creates_an_item_of_just_the_key(dynamodb, module_table, key):
    update(dynamodb, module_table, key)
    assert stored(dynamodb, module_table, key) == key


def test_update_item_of_a_composite_key_creates_the_item_with_both_keys(dynamodb, composite_table):
    key = {"pk": {"S": "p"}, "sk": {"N": "7"}}
    update(dynamodb, composite_table.name, key, "ADD hits :one", {":one": {"N": "1"}})
    update(dynamodb, composite_table.name, key, "ADD hits :one", {":one": {"N": "1"}})
    assert stored(dynamodb, composite_table.name, key) == {**key, "hits": {"N": "2"}}


@pytest.mark.parametrize("expression", ["REMOVE a", "REMOVE a.b, c[0]", "DELETE s :set", "REMOVE a DELETE s :set"])
def test_an_update_that_only_removes_does_not_create_a_missing_item(dynamodb, module_table, key, expression):
    values = {":set": {"SS": ["x"]}} if ":set" in expression else None
    response = update(dynamodb, module_table, key, expression, values, ReturnValues="ALL_NEW")
    assert "Attributes" not in response
    assert stored(dynamodb, module_table, key) is None


def test_update_item_never_deletes_the_item(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "REMOVE n, s, ss, ns, l, m")
    assert stored(dynamodb, module_table, key) == key


# --- SET ----------------------------------------------------------------------------------------


def test_set_replaces_and_adds_attributes(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET s = :s, fresh = :b", {":s": {"S": "new"}, ":b": {"BOOL": True}})
    assert stored(dynamodb, module_table, key) == {**item, "s": {"S": "new"}, "fresh": {"BOOL": True}}


def test_set_arithmetic_adds_and_subtracts(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET n = n + :d, down = :ten - n",
           {":d": {"N": "0.25"}, ":ten": {"N": "10"}})
    got = stored(dynamodb, module_table, key)
    assert (got["n"], got["down"]) == ({"N": "5.25"}, {"N": "5"})


def test_counter_with_if_not_exists_starts_at_zero(dynamodb, module_table, key):
    for _ in range(3):
        update(dynamodb, module_table, key, "SET #c = if_not_exists(#c, :zero) + :one",
               {":zero": {"N": "0"}, ":one": {"N": "1"}}, {"#c": "count"})
    assert stored(dynamodb, module_table, key)["count"] == {"N": "3"}


def test_set_reads_operands_from_the_item_before_the_update(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET n = s, s = n")
    got = stored(dynamodb, module_table, key)
    assert (got["n"], got["s"]) == (STORED["s"], STORED["n"])


def test_list_append_at_either_end(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET l = list_append(:first, l)", {":first": {"L": [{"S": "a"}]}})
    update(dynamodb, module_table, key, "SET l = list_append(l, :last)", {":last": {"L": [{"S": "z"}]}})
    assert stored(dynamodb, module_table, key)["l"] == {"L": [{"S": "a"}, *STORED["l"]["L"], {"S": "z"}]}


def test_set_nested_paths_in_existing_maps_and_lists(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET m.child.z = :v, m.x = :v, l[1] = :v", {":v": {"N": "9"}})
    got = stored(dynamodb, module_table, key)
    assert got["m"] == {"M": {"x": {"N": "9"}, "child": {"M": {"y": {"S": "deep"}, "z": {"N": "9"}}}}}
    assert got["l"]["L"][1] == {"N": "9"}


def test_set_past_the_end_of_a_list_appends(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET l[99] = :b, l[10] = :a", {":a": {"S": "a"}, ":b": {"S": "b"}})
    assert stored(dynamodb, module_table, key)["l"]["L"] == [*STORED["l"]["L"], {"S": "a"}, {"S": "b"}]


@pytest.mark.parametrize("expression", ["SET nope.a = :v", "SET nope[0] = :v", "SET s.a = :v", "SET m[0] = :v",
                                        "SET l.a = :v", "SET m.nope.a = :v", "REMOVE nope.a", "REMOVE s[0]",
                                        "ADD nope.a :v", "DELETE m[1] :set"])
def test_a_path_through_a_missing_or_mistyped_parent_is_refused(dynamodb, module_table, key, item, expression):
    values = {k: v for k, v in {":set": {"SS": ["a"]}, ":v": {"N": "1"}}.items() if k in expression}
    with validation_error(INVALID_PATH):
        update(dynamodb, module_table, key, expression, values)
    assert stored(dynamodb, module_table, key) == item


def test_a_nested_path_in_a_new_item_is_refused_and_nothing_is_created(dynamodb, module_table, key):
    with validation_error(INVALID_PATH):
        update(dynamodb, module_table, key, "SET a.b = :v", {":v": {"N": "1"}})
    assert stored(dynamodb, module_table, key) is None


# --- REMOVE -------------------------------------------------------------------------------------


def test_remove_attributes_nested_entries_and_list_elements(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "REMOVE s, m.child.y, l[0], l[2], nope")
    got = stored(dynamodb, module_table, key)
    assert "s" not in got and got["m"]["M"]["child"] == {"M": {}}
    assert got["l"] == {"L": [{"S": "l1"}]}


def test_remove_of_an_index_past_the_end_changes_nothing(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "REMOVE l[3]")
    assert stored(dynamodb, module_table, key) == item


# --- ADD / DELETE -------------------------------------------------------------------------------


def test_add_to_numbers_missing_attributes_and_sets(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "ADD n :n, fresh :n, ss :ss, m.x :n",
           {":n": {"N": "-1.5"}, ":ss": {"SS": ["b", "c"]}})
    got = sets_sorted(stored(dynamodb, module_table, key))
    assert (got["n"], got["fresh"], got["ss"]) == ({"N": "3.5"}, {"N": "-1.5"}, {"SS": ["a", "b", "c"]})
    assert got["m"]["M"]["x"] == {"N": "-0.5"}


def test_delete_takes_members_out_of_a_set_and_an_emptied_set_disappears(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "DELETE ss :ss, ns :ns", {":ss": {"SS": ["a"]}, ":ns": {"NS": ["1", "2", "3"]}})
    got = stored(dynamodb, module_table, key)
    assert got["ss"] == {"SS": ["b"]} and "ns" not in got


def test_delete_from_a_missing_attribute_changes_nothing(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "DELETE nope :ss", {":ss": {"SS": ["a"]}})
    assert stored(dynamodb, module_table, key) == item


def test_all_four_clauses_in_one_expression(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET s = :s REMOVE l ADD n :one DELETE ss :ss",
           {":s": {"S": "new"}, ":one": {"N": "1"}, ":ss": {"SS": ["b"]}})
    got = stored(dynamodb, module_table, key)
    expected = {**item, "s": {"S": "new"}, "n": {"N": "6"}, "ss": {"SS": ["a"]}}
    del expected["l"]
    assert sets_sorted(got) == sets_sorted(expected)


# --- what DynamoDB refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("expression, values", [
    ("SET n = s + :one", {":one": {"N": "1"}}),
    ("SET n = :one - ss", {":one": {"N": "1"}}),
    ("SET l = list_append(s, :l)", {":l": {"L": []}}),
    ("ADD s :one", {":one": {"N": "1"}}),
    ("ADD ss :ns", {":ns": {"NS": ["1"]}}),
    ("ADD n :ss", {":ss": {"SS": ["1"]}}),
    ("DELETE ns :ss", {":ss": {"SS": ["1"]}}),
    ("DELETE n :ns", {":ns": {"NS": ["1"]}}),
])
def test_operands_of_the_wrong_type_are_refused(dynamodb, module_table, key, item, expression, values):
    with validation_error(WRONG_TYPE):
        update(dynamodb, module_table, key, expression, values)
    assert stored(dynamodb, module_table, key) == item


@pytest.mark.parametrize("expression", ["SET a = nope", "SET a = nope + :one", "SET l = list_append(nope, :l)"])
def test_reading_a_missing_attribute_is_refused(dynamodb, module_table, key, item, expression):
    values = {k: v for k, v in {":one": {"N": "1"}, ":l": {"L": []}}.items() if k in expression}
    with validation_error(MISSING):
        update(dynamodb, module_table, key, expression, values)


@pytest.mark.parametrize("expression, values, message", [
    ("SET n = :big + :big", {":big": {"N": "9.99E+125"}},
     "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("ADD n :precise", {":precise": {"N": "0.12345678901234567890123456789012345678"}},
     "Attempting to store more than 38 significant digits in a Number"),
])
def test_arithmetic_results_past_dynamodb_numbers_are_refused(dynamodb, module_table, key, item, expression, values, message):
    with validation_error(message):
        update(dynamodb, module_table, key, expression, values)
    assert stored(dynamodb, module_table, key) == item


def test_an_update_making_the_item_larger_than_400_kb_is_refused(dynamodb, module_table, key, item):
    big = {"S": "x" * (MAX_ITEM_BYTES - 1000)}
    update(dynamodb, module_table, key, "SET big = :big", {":big": big})
    with validation_error("Item size to update has exceeded the maximum allowed size"):
        update(dynamodb, module_table, key, "SET more = :more", {":more": {"S": "y" * 2000}})
    assert stored(dynamodb, module_table, key) == {**item, "big": big}


@pytest.mark.parametrize("expression", ["SET pk = :v", "REMOVE pk", "ADD pk.b :n", "SET a = :v, pk = :v"])
def test_updating_a_key_attribute_is_refused(dynamodb, module_table, key, expression):
    values = {k: v for k, v in {":v": {"S": "x"}, ":n": {"N": "1"}}.items() if k in expression}
    with validation_error("One or more parameter values were invalid: Cannot update attribute pk. "
                          "This attribute is part of the key"):
        update(dynamodb, module_table, key, expression, values)
    assert stored(dynamodb, module_table, key) is None


def test_updating_the_sort_key_is_refused(dynamodb, composite_table):
    with validation_error("One or more parameter values were invalid: Cannot update attribute sk. "
                          "This attribute is part of the key"):
        update(dynamodb, composite_table.name, {"pk": {"S": "p"}, "sk": {"N": "1"}}, "SET sk = :v", {":v": {"N": "2"}})


def test_looking_into_a_key_attribute_is_refused(dynamodb, module_table, key):
    with validation_error("Key attributes must be scalars; list random access '[]' and map lookup '.' "
                          "are not allowed: Key: pk"):
        update(dynamodb, module_table, key, "SET a = pk.b")


def test_overlapping_paths_are_refused(dynamodb, module_table, key):
    with validation_error("Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
                          "rewrite one of these paths; path one: [m], path two: [m, x]"):
        update(dynamodb, module_table, key, "SET m = :v REMOVE m.x", {":v": {"N": "1"}})


def test_expression_attribute_values_without_any_expression_are_refused(dynamodb, module_table, key):
    with validation_error("ExpressionAttributeValues can only be specified when using expressions: "
                          "UpdateExpression and ConditionExpression are null"):
        update(dynamodb, module_table, key, values={":v": {"N": "1"}})


def test_unused_values_are_refused_across_update_and_condition(dynamodb, module_table, key):
    with validation_error("Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"):
        update(dynamodb, module_table, key, "SET a = :v", {":v": {"N": "1"}, ":c": {"N": "1"}, ":unused": {"N": "2"}},
               ConditionExpression="attribute_not_exists(a) OR a = :c")


def test_only_if_not_exists_may_be_nested_in_a_function(dynamodb, module_table, key):
    with validation_error("Invalid UpdateExpression: The function is not allowed to be used this way in an "
                          "expression; function: list_append"):
        update(dynamodb, module_table, key, "SET l = list_append(list_append(:l, :l), :l)", {":l": {"L": []}})


def test_an_invalid_update_expression_is_refused(dynamodb, module_table, key):
    with validation_error('Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "= "'):
        update(dynamodb, module_table, key, "SET a = ")


# --- ConditionExpression ------------------------------------------------------------------------


def test_update_happens_when_the_condition_holds(dynamodb, module_table, key, item):
    update(dynamodb, module_table, key, "SET n = n + :one", {":one": {"N": "1"}, ":five": {"N": "5"}},
           ConditionExpression="n = :five")
    assert stored(dynamodb, module_table, key)["n"] == {"N": "6"}


def test_failed_condition_writes_nothing(dynamodb, module_table, key, item):
    with aws_error("ConditionalCheckFailedException", "The conditional request failed") as info:
        update(dynamodb, module_table, key, "SET n = :one", {":one": {"N": "1"}}, ConditionExpression="n = :one")
    assert "Item" not in info.value.response
    assert stored(dynamodb, module_table, key) == item


def test_failed_condition_returns_the_old_item_when_asked(dynamodb, module_table, key, item):
    with aws_error("ConditionalCheckFailedException") as info:
        update(dynamodb, module_table, key, "SET n = :one", {":one": {"N": "1"}},
               ConditionExpression="attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert sets_sorted(info.value.response["Item"]) == sets_sorted(item)


def test_condition_on_a_missing_item_sees_no_attributes(dynamodb, module_table, key):
    with aws_error("ConditionalCheckFailedException"):
        update(dynamodb, module_table, key, "SET a = :one", {":one": {"N": "1"}}, ConditionExpression="attribute_exists(pk)")
    assert stored(dynamodb, module_table, key) is None


def test_the_condition_is_checked_before_the_update_is_applied(dynamodb, module_table, key, item):
    with aws_error("ConditionalCheckFailedException"):
        update(dynamodb, module_table, key, "SET s = s + :one", {":one": {"N": "1"}}, ConditionExpression="attribute_not_exists(n)")


# --- ReturnValues -------------------------------------------------------------------------------


def test_return_values_none_returns_no_attributes(dynamodb, module_table, key, item):
    response = update(dynamodb, module_table, key, "SET n = :v", {":v": {"N": "1"}}, ReturnValues="NONE")
    assert "Attributes" not in response


def test_return_values_all_old_and_all_new_return_whole_items(dynamodb, module_table, key, item):
    old = update(dynamodb, module_table, key, "SET n = :v", {":v": {"N": "1"}}, ReturnValues="ALL_OLD")
    new = update(dynamodb, module_table, key, "SET n = :v", {":v": {"N": "2"}}, ReturnValues="ALL_NEW")
    assert sets_sorted(old["Attributes"]) == sets_sorted(item)
    assert sets_sorted(new["Attributes"]) == sets_sorted({**item, "n": {"N": "2"}})


def test_return_values_updated_old_and_new_return_only_the_updated_paths(dynamodb, module_table, key, item):
    values = {":v": {"N": "7"}}
    old = update(dynamodb, module_table, key, "SET m.x = :v, fresh = :v REMOVE s", values, ReturnValues="UPDATED_OLD")
    assert old["Attributes"] == {"m": {"M": {"x": {"N": "1"}}}, "s": {"S": "text"}}
    new = update(dynamodb, module_table, key, "SET m.x = :v, fresh = :v REMOVE s", values, ReturnValues="UPDATED_NEW")
    assert new["Attributes"] == {"m": {"M": {"x": {"N": "7"}}}, "fresh": {"N": "7"}}


def test_return_values_old_of_a_new_item_return_nothing(dynamodb, module_table, key):
    for return_values in ("ALL_OLD", "UPDATED_OLD"):
        response = update(dynamodb, module_table, key, "SET a = :v", {":v": {"N": "1"}}, ReturnValues=return_values)
        assert "Attributes" not in response
        dynamodb.delete_item(TableName=module_table, Key=key)


def test_return_values_all_new_of_a_new_item_returns_it(dynamodb, module_table, key):
    response = update(dynamodb, module_table, key, "SET a = :v", {":v": {"N": "1"}}, ReturnValues="ALL_NEW")
    assert response["Attributes"] == {**key, "a": {"N": "1"}}


def test_update_item_reports_consumed_capacity(dynamodb, module_table, key):
    response = update(dynamodb, module_table, key, "SET a = :v", {":v": {"N": "1"}}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": module_table, "CapacityUnits": 1.0}


def test_update_item_on_unknown_table_is_resource_not_found(dynamodb, key):
    with aws_error("ResourceNotFoundException", "Requested resource not found"):
        update(dynamodb, "no-such-table", key, "SET a = :v", {":v": {"N": "1"}})


def test_update_item_key_not_matching_the_schema_is_refused(dynamodb, module_table):
    with validation_error("The provided key element does not match the schema"):
        update(dynamodb, module_table, {"pk": {"N": "1"}}, "SET a = :v", {":v": {"N": "1"}})


# --- the resource API ---------------------------------------------------------------------------


def test_resource_api_update_item_with_python_values_and_conditions(table):
    table.put_item(Item={"pk": "u", "visits": Decimal(1), "tags": {"a"}})
    response = table.update_item(
        Key={"pk": "u"},
        UpdateExpression="SET visits = visits + :one, last_seen = :now ADD tags :tags",
        ConditionExpression=Attr("visits").lt(10) & Attr("tags").contains("a"),
        ExpressionAttributeValues={":one": 1, ":now": "2024-01-01", ":tags": {"b"}},
        ReturnValues="ALL_NEW",
    )
    assert response["Attributes"] == {"pk": "u", "visits": Decimal(2), "last_seen": "2024-01-01", "tags": {"a", "b"}}


def test_resource_api_failed_condition_raises_the_modelled_exception(table):
    table.put_item(Item={"pk": "u", "state": "done"})
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.update_item(Key={"pk": "u"}, UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "state"},
                          ExpressionAttributeValues={":s": "open"}, ConditionExpression=Attr("state").eq("open"))
    assert table.get_item(Key={"pk": "u"})["Item"]["state"] == "done"
