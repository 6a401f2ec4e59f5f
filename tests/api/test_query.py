"""Query: key conditions, order, paging (Limit, ExclusiveStartKey, 1 MB), filters, projection,
Select, the legacy parameters, boto3's resource API and paginator, and DynamoDB's validation texts.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key

from tests.api.helpers import aws_error, create_table, unique_name, validation_error

NUMBERS = ["-1E+5", "-20", "-2.5", "-1", "-0.001", "0", "0.001", "1", "1.5", "2", "10", "99.99", "1E+20"]


def create(dynamodb, hash_key=("pk", "S"), range_key=None) -> str:
    name = unique_name("q")
    create_table(dynamodb, name, hash_key, range_key)
    return name


@pytest.fixture(scope="module")
def numbers(dynamodb):
    """A table (pk S, sk N) whose partition "p" holds NUMBERS (inserted shuffled), with v = i % 3;
    partitions "o" and "q" around it hold other items."""
    name = create(dynamodb, range_key=("sk", "N"))
    requests = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": n}, "v": {"N": str(i % 3)}}}}
                for i, n in enumerate(NUMBERS)]
    requests += [{"PutRequest": {"Item": {"pk": {"S": p}, "sk": {"N": "0"}}}} for p in ("o", "q")]
    for i in range(0, len(requests), 25):
        dynamodb.batch_write_item(RequestItems={name: requests[i:i + 25][::-1]})
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture(scope="module")
def strings(dynamodb):
    """A table (pk S, sk S) whose partition "p" holds the sort keys of STRINGS."""
    name = create(dynamodb, range_key=("sk", "S"))
    for sk in STRINGS:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    yield name
    dynamodb.delete_table(TableName=name)


STRINGS = ["a", "ab", "abc", "abd", "b", "b\U0001f600", "ba", "\u00e9", "\uffff", "\U0001f600"]


def sort_keys(response: dict, kind: str = "N") -> list[str]:
    return [item["sk"][kind] for item in response["Items"]]


def q(dynamodb, table: str, condition: str, values: dict, **kwargs) -> dict:
    return dynamodb.query(TableName=table, KeyConditionExpression=condition,
                          ExpressionAttributeValues=values, **kwargs)


P = {":p": {"S": "p"}}


# --- key conditions and order ---------------------------------------------------------------------


def test_query_returns_one_partition_in_numeric_sort_key_order(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p", P)
    assert sort_keys(response) == ["-100000", "-20", "-2.5", "-1", "-0.001", "0", "0.001", "1", "1.5",
                                   "2", "10", "99.99", "100000000000000000000"]
    assert response["Count"] == response["ScannedCount"] == len(NUMBERS)
    assert "LastEvaluatedKey" not in response


@pytest.mark.parametrize("condition, values, expected", [
    ("sk = :a", {":a": "1.50"}, ["1.5"]),
    ("sk < :a", {":a": "-1"}, ["-100000", "-20", "-2.5"]),
    ("sk <= :a", {":a": "-1"}, ["-100000", "-20", "-2.5", "-1"]),
    ("sk > :a", {":a": "2"}, ["10", "99.99", "100000000000000000000"]),
    ("sk >= :a", {":a": "2"}, ["2", "10", "99.99", "100000000000000000000"]),
    ("sk BETWEEN :a AND :b", {":a": "-1", ":b": "1"}, ["-1", "-0.001", "0", "0.001", "1"]),
    (":a < sk", {":a": "10"}, ["99.99", "100000000000000000000"]),
    (":a >= sk", {":a": "-20"}, ["-100000", "-20"]),
    ("sk = :a", {":a": "3"}, []),
])
def test_sort_key_conditions_select_a_range_of_numbers(dynamodb, numbers, condition, values, expected):
    values = {**P, **{k: {"N": v} for k, v in values.items()}}
    assert sort_keys(q(dynamodb, numbers, f"pk = :p AND {condition}", values)) == expected


@pytest.mark.parametrize("condition, values, expected", [
    ("begins_with(sk, :a)", {":a": "ab"}, ["ab", "abc", "abd"]),
    ("begins_with(sk, :a)", {":a": "b"}, ["b", "ba", "b\U0001f600"]),
    ("begins_with(sk, :a)", {":a": "\uffff"}, ["\uffff"]),
    ("begins_with(sk, :a)", {":a": "z"}, []),
    ("sk > :a", {":a": "b"}, ["ba", "b\U0001f600", "\u00e9", "\uffff", "\U0001f600"]),
    ("sk BETWEEN :a AND :b", {":a": "abc", ":b": "b"}, ["abc", "abd", "b"]),
])
def test_string_sort_keys_compare_in_utf8_byte_order(dynamodb, strings, condition, values, expected):
    values = {**P, **{k: {"S": v} for k, v in values.items()}}
    assert sort_keys(q(dynamodb, strings, f"pk = :p AND {condition}", values), "S") == expected


def test_begins_with_on_a_binary_sort_key_includes_0xff_bytes(dynamodb):
    table = create(dynamodb, range_key=("sk", "B"))
    keys = [b"\x00", b"\x01", b"\x01\x00", b"\x01\xff", b"\x01\xff\xff", b"\x02", b"\xff", b"\xff\x00"]
    for sk in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"B": sk}})
    for prefix in (b"\x01", b"\x01\xff", b"\xff", b"\x01\xff\xff\xff"):
        response = q(dynamodb, table, "pk = :p AND begins_with(sk, :b)", {**P, ":b": {"B": prefix}})
        assert sort_keys(response, "B") == [k for k in keys if k.startswith(prefix)]
    dynamodb.delete_table(TableName=table)


def test_scan_index_forward_false_returns_the_partition_in_descending_order(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p AND sk <= :a", {**P, ":a": {"N": "0"}}, ScanIndexForward=False)
    assert sort_keys(response) == ["0", "-0.001", "-1", "-2.5", "-20", "-100000"]


def test_query_of_a_hash_only_table_returns_at_most_the_one_item(dynamodb, table):
    table.put_item(Item={"pk": "a", "x": 1})
    table.put_item(Item={"pk": "b"})
    response = q(dynamodb, table.name, "#k = :p", {":p": {"S": "a"}}, ExpressionAttributeNames={"#k": "pk"})
    assert response["Items"] == [{"pk": {"S": "a"}, "x": {"N": "1"}}]
    assert q(dynamodb, table.name, "pk = :p", {":p": {"S": "zzz"}})["Items"] == []


def test_query_of_a_missing_partition_is_empty(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p", {":p": {"S": "nobody"}})
    assert response["Items"] == [] and response["Count"] == 0 and response["ScannedCount"] == 0


# --- paging -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("limit", [1, 2, 5, 13])
def test_limit_and_exclusive_start_key_page_through_the_partition(dynamodb, numbers, forward, limit):
    seen, start, pages = [], {}, 0
    while True:
        response = q(dynamodb, numbers, "pk = :p", P, Limit=limit, ScanIndexForward=forward, **start)
        pages += 1
        assert response["ScannedCount"] <= limit
        seen += sort_keys(response)
        if "LastEvaluatedKey" not in response:
            break
        assert response["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": response["Items"][-1]["sk"]}
        start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
    everything = sort_keys(q(dynamodb, numbers, "pk = :p", P))
    assert seen == (everything if forward else everything[::-1])
    # A page that stops at Limit has a LastEvaluatedKey even when nothing follows.
    assert pages == len(NUMBERS) // limit + 1


def test_paging_resumes_inside_a_sort_key_range(dynamodb, numbers):
    values = {**P, ":a": {"N": "-1"}, ":b": {"N": "10"}}
    first = q(dynamodb, numbers, "pk = :p AND sk BETWEEN :a AND :b", values, Limit=3)
    rest = q(dynamodb, numbers, "pk = :p AND sk BETWEEN :a AND :b", values, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert sort_keys(first) + sort_keys(rest) == ["-1", "-0.001", "0", "0.001", "1", "1.5", "2", "10"]


def test_filter_expression_applies_after_limit(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p", {**P, ":v": {"N": "0"}}, FilterExpression="v = :v", Limit=6)
    assert response["ScannedCount"] == 6
    assert sort_keys(response) == ["-100000", "-1"]  # of the first 6, items 0 and 3 have v = 0
    assert response["Count"] == 2
    assert "LastEvaluatedKey" in response


def test_a_page_stops_after_one_megabyte_of_items_read(dynamodb):
    table = create(dynamodb, range_key=("sk", "N"))
    blob = "x" * (100 * 1024)
    for start in (0, 10):
        dynamodb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": str(i)}, "blob": {"S": blob}}}}
            for i in range(start, start + 10)]})
    first = q(dynamodb, table, "pk = :p", P, Select="COUNT")
    assert 9 <= first["ScannedCount"] <= 11 and first["Count"] == first["ScannedCount"]
    assert "Items" not in first and "LastEvaluatedKey" in first
    rest = q(dynamodb, table, "pk = :p", P, Select="COUNT", ExclusiveStartKey=first["LastEvaluatedKey"])
    assert first["ScannedCount"] + rest["ScannedCount"] == 20
    dynamodb.delete_table(TableName=table)


# --- projection, Select, capacity -------------------------------------------------------------------


def test_projection_expression_returns_only_the_named_attributes(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p AND sk = :z", {**P, ":z": {"N": "0"}},
                 ProjectionExpression="v, nothing")
    assert response["Items"] == [{"v": {"N": "2"}}]


def test_select_count_returns_counts_without_items(dynamodb, numbers):
    response = q(dynamodb, numbers, "pk = :p", P, Select="COUNT")
    assert response["Count"] == len(NUMBERS) and "Items" not in response


def test_select_specific_attributes_needs_a_projection(dynamodb, numbers):
    with validation_error("1 validation error detected: Must specify the AttributesToGet or ProjectionExpression "
                          "when choosing to get SPECIFIC_ATTRIBUTES"):
        q(dynamodb, numbers, "pk = :p", P, Select="SPECIFIC_ATTRIBUTES")
    response = q(dynamodb, numbers, "pk = :p", P, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="sk")
    assert response["Items"][0] == {"sk": {"N": "-100000"}}


@pytest.mark.parametrize("select, what", [("ALL_ATTRIBUTES", "ALL_ATTRIBUTES"), ("COUNT", "only the Count")])
def test_select_other_than_specific_attributes_refuses_a_projection(dynamodb, numbers, select, what):
    with validation_error(f"1 validation error detected: Cannot specify the ProjectionExpression when choosing to get {what}"):
        q(dynamodb, numbers, "pk = :p", P, Select=select, ProjectionExpression="sk")


def test_select_all_projected_attributes_needs_an_index(dynamodb, numbers):
    with validation_error("1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"):
        q(dynamodb, numbers, "pk = :p", P, Select="ALL_PROJECTED_ATTRIBUTES")


@pytest.mark.parametrize("consistent, units", [(True, 1.0), (False, 0.5)])
def test_consistent_read_and_consumed_capacity(dynamodb, numbers, consistent, units):
    response = q(dynamodb, numbers, "pk = :p", P, ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL")
    assert len(response["Items"]) == len(NUMBERS)
    assert response["ConsumedCapacity"] == {"TableName": numbers, "CapacityUnits": units}


# --- legacy parameters --------------------------------------------------------------------------------


def test_legacy_key_conditions_select_the_same_range(dynamodb, numbers):
    response = dynamodb.query(TableName=numbers, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "0"}, {"N": "2"}]},
    }, AttributesToGet=["sk"])
    assert response["Items"] == [{"sk": {"N": n}} for n in ("0", "0.001", "1", "1.5", "2")]


def test_legacy_query_filter_with_conditional_operator_or(dynamodb, numbers):
    response = dynamodb.query(
        TableName=numbers,
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        QueryFilter={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]},
                     "missing": {"ComparisonOperator": "NOT_NULL"}},
        ConditionalOperator="OR",
    )
    assert sort_keys(response) == ["-20", "-0.001", "1", "10"]
    assert response["ScannedCount"] == len(NUMBERS)


def test_legacy_key_conditions_work_with_a_filter_expression(dynamodb, numbers):
    response = dynamodb.query(
        TableName=numbers, FilterExpression="v = :v", ExpressionAttributeValues={":v": {"N": "2"}},
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
                       "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]}},
    )
    assert sort_keys(response) == ["1.5", "99.99"]


@pytest.mark.parametrize("conditions, message", [
    ({"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "p"}]}},
     "Attempted conditional constraint is not an indexable operation"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "sk": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}]}},
     "Attempted conditional constraint is not an indexable operation"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}, {"S": "q"}]}},
     "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "1"}]}},
     "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "sk": {"ComparisonOperator": "LT", "AttributeValueList": [{"BOOL": True}]}},
     "One or more parameter values were invalid: ComparisonOperator LT is not valid for BOOL AttributeValue type"),
    ({}, "Conditions can be of length 1 or 2 only"),
])
def test_legacy_key_conditions_are_checked(dynamodb, numbers, conditions, message):
    with validation_error(message):
        dynamodb.query(TableName=numbers, KeyConditions=conditions)


def test_legacy_and_expression_parameters_cannot_be_mixed(dynamodb, numbers):
    with validation_error("Can not use both expression and non-expression parameters in the same request: "
                          "Non-expression parameters: {AttributesToGet} Expression parameters: {KeyConditionExpression}"):
        q(dynamodb, numbers, "pk = :p", P, AttributesToGet=["sk"])


def test_query_filter_may_not_use_a_key_attribute(dynamodb, numbers):
    with validation_error("QueryFilter can only contain non-primary key attributes: Primary key attribute: sk"):
        dynamodb.query(TableName=numbers,
                       KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                       QueryFilter={"sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}})


# --- boto3's resource API and paginator ------------------------------------------------------------


def test_resource_query_with_key_and_attr_conditions(dynamodb_resource, numbers):
    table = dynamodb_resource.Table(numbers)
    response = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(Decimal("-2.5"), Decimal(2)),
                           FilterExpression=Attr("v").ne(0), ScanIndexForward=False)
    assert [item["sk"] for item in response["Items"]] == [Decimal("1.5"), Decimal(1), Decimal(0), Decimal("-0.001"), Decimal("-2.5")]
    assert response["ScannedCount"] == 8


def test_resource_query_with_begins_with(make_table):
    table = make_table(range_key=("sk", "S"))
    with table.batch_writer() as batch:
        for sk in ("order#1", "order#2", "profile", "order#10"):
            batch.put_item(Item={"pk": "user", "sk": sk})
    response = table.query(KeyConditionExpression=Key("pk").eq("user") & Key("sk").begins_with("order#"))
    assert [item["sk"] for item in response["Items"]] == ["order#1", "order#10", "order#2"]


def test_boto3_paginator_reads_every_page(dynamodb, numbers):
    paginator = dynamodb.get_paginator("query")
    pages = list(paginator.paginate(TableName=numbers, KeyConditionExpression="pk = :p",
                                    ExpressionAttributeValues=P, PaginationConfig={"PageSize": 4}))
    assert len(pages) == 4
    assert [item["sk"]["N"] for page in pages for item in page["Items"]] == sort_keys(q(dynamodb, numbers, "pk = :p", P))
    result = paginator.paginate(TableName=numbers, KeyConditionExpression="pk = :p", ExpressionAttributeValues=P,
                                PaginationConfig={"PageSize": 5, "MaxItems": 7}).build_full_result()
    assert len(result["Items"]) == 7


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("condition, message", [
    ("pk = :p OR sk = :n", "Invalid operator used in KeyConditionExpression: OR"),
    ("NOT sk = :n AND pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
    ("pk = :p AND sk IN (:n)", "Invalid operator used in KeyConditionExpression: IN"),
    ("pk = :p AND sk <> :n", "Invalid operator used in KeyConditionExpression: <>"),
    ("pk = :p AND attribute_exists(sk)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
    ("pk = :p AND size(sk) > :n", "KeyConditionExpressions cannot contain nested operations"),
    ("pk = :p AND sk.x = :n", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = :p AND sk = v", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
    ("pk = :p AND :n = :n", "Invalid condition in KeyConditionExpression: No key attribute specified"),
    ("pk = :p AND sk > :n AND sk < :n", "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND sk > :n AND v < :n", "Conditions can be of length 1 or 2 only"),
    (":n BETWEEN sk AND :n AND pk = :p",
     "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"),
    ("sk = :n", "Query condition missed key schema element: pk"),
    ("pk = :p AND v = :n", "Query condition missed key schema element: sk"),
    ("pk > :p", "Query key condition not supported"),
    ("begins_with(pk, :p)", "Query key condition not supported"),
    ("pk = :n", "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND sk = :p", "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND begins_with(sk, :n)",
     "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"),
])
def test_key_condition_expression_is_checked_with_dynamodb_messages(dynamodb, numbers, condition, message):
    values = {k: v for k, v in {":p": {"S": "p"}, ":n": {"N": "1"}}.items() if k in condition}
    with validation_error(message):
        q(dynamodb, numbers, condition, values)


def test_key_condition_on_a_hash_only_table_may_not_name_a_second_attribute(dynamodb, table):
    with validation_error("Query key condition not supported"):
        q(dynamodb, table.name, "pk = :p AND x = :p", P)


def test_a_query_needs_a_key_condition(lenient, numbers):
    with validation_error("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."):
        lenient.query(TableName=numbers)


def test_filter_expression_may_not_use_a_key_attribute(dynamodb, numbers):
    with validation_error("Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"):
        q(dynamodb, numbers, "pk = :p", {**P, ":n": {"N": "1"}}, FilterExpression="v = :n OR sk > :n")


def test_unused_expression_attribute_values_are_refused(dynamodb, numbers):
    with validation_error("Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"):
        q(dynamodb, numbers, "pk = :p", {**P, ":x": {"S": "x"}})


@pytest.mark.parametrize("start, message", [
    ({"pk": {"S": "p"}}, "The provided starting key is invalid"),
    ({"pk": {"S": "p"}, "other": {"N": "1"}}, "The provided starting key is invalid"),
    ({"pk": {"S": "p"}, "sk": {"S": "1"}}, "The provided key element does not match the schema"),
    ({"pk": {"S": "o"}, "sk": {"N": "1"}}, "The provided starting key is outside query boundaries based on provided conditions"),
])
def test_exclusive_start_key_must_be_a_key_of_the_queried_partition(dynamodb, numbers, start, message):
    with validation_error(message):
        q(dynamodb, numbers, "pk = :p", P, ExclusiveStartKey=start)


def test_exclusive_start_key_with_a_sort_key_on_a_table_without_one_is_refused(dynamodb, table):
    table.put_item(Item={"pk": "p"})
    with validation_error("The provided starting key is invalid"):
        q(dynamodb, table.name, "pk = :p", P, ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "1"}})


def test_exclusive_start_key_must_match_the_range_key_predicate(dynamodb, numbers):
    values = {**P, ":n": {"N": "1"}}
    with validation_error("The provided starting key does not match the range key predicate"):
        q(dynamodb, numbers, "pk = :p AND sk > :n", values, ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"N": "0"}})


def test_an_unknown_index_is_refused(dynamodb, numbers):
    with validation_error("The table does not have the specified index: byV"):
        q(dynamodb, numbers, "pk = :p", P, IndexName="byV")


def test_query_of_a_missing_table_is_resource_not_found(dynamodb):
    with aws_error("ResourceNotFoundException"):
        q(dynamodb, f"missing-{uuid.uuid4().hex[:8]}", "pk = :p", P)
