"""Scan: every item once, paging, filters (on any attribute), projection, Select, parallel scan
segments, the legacy ScanFilter, boto3's resource API and paginator, and the validation texts."""

from __future__ import annotations

import uuid

import pytest
from boto3.dynamodb.conditions import Attr

from tests.api.helpers import aws_error, create_table, unique_name, validation_error

COUNT = 60


def create(dynamodb, range_key=None) -> str:
    name = unique_name("s")
    create_table(dynamodb, name, range_key=range_key)
    return name


def fill(dynamodb, name: str, items: list[dict]) -> None:
    for i in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]})


def item(i: int, pk: str | None = None) -> dict:
    return {"pk": {"S": pk or f"item-{i:03d}"}, "sk": {"N": str(i % 4)}, "n": {"N": str(i)},
            "even": {"BOOL": i % 2 == 0}, "tags": {"SS": [f"t{i % 3}", "all"]}}


@pytest.fixture(scope="module")
def filled(dynamodb):
    """A table (pk S, sk N) with COUNT items: keys mixing common prefixes and random UUIDs."""
    name = create(dynamodb, range_key=("sk", "N"))
    items = [item(i, None if i % 2 else str(uuid.uuid4())) for i in range(COUNT)]
    fill(dynamodb, name, items)
    yield name, items
    dynamodb.delete_table(TableName=name)


def ids(items: list[dict]) -> list[int]:
    return sorted(int(item["n"]["N"]) for item in items)


def full_scan(dynamodb, name: str, **kwargs) -> tuple[list[dict], int]:
    """Every page of a scan: (items, pages)."""
    items, pages, start = [], 0, {}
    while True:
        response = dynamodb.scan(TableName=name, **kwargs, **start)
        items += response.get("Items", [])
        pages += 1
        if "LastEvaluatedKey" not in response:
            return items, pages
        start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


# --- reading everything ---------------------------------------------------------------------------


def test_scan_returns_every_item_once(dynamodb, filled):
    name, _ = filled
    response = dynamodb.scan(TableName=name)
    assert ids(response["Items"]) == list(range(COUNT))
    assert response["Count"] == response["ScannedCount"] == COUNT
    assert "LastEvaluatedKey" not in response


@pytest.mark.parametrize("limit", [1, 7, COUNT])
def test_limit_and_exclusive_start_key_page_through_the_table(dynamodb, filled, limit):
    name, _ = filled
    found, pages = full_scan(dynamodb, name, Limit=limit)
    assert ids(found) == list(range(COUNT))
    assert pages == COUNT // limit + 1


def test_filter_expression_may_use_key_attributes_and_applies_after_limit(dynamodb, filled):
    name, _ = filled
    response = dynamodb.scan(TableName=name, Limit=20, FilterExpression="sk = :z AND contains(tags, :t)",
                             ExpressionAttributeValues={":z": {"N": "0"}, ":t": {"S": "t0"}})
    assert response["ScannedCount"] == 20 and "LastEvaluatedKey" in response
    found, _ = full_scan(dynamodb, name, FilterExpression="sk = :z AND contains(tags, :t)",
                         ExpressionAttributeValues={":z": {"N": "0"}, ":t": {"S": "t0"}})
    assert ids(found) == [i for i in range(COUNT) if i % 4 == 0 and i % 3 == 0]


def test_projection_and_select_count(dynamodb, filled):
    name, _ = filled
    response = dynamodb.scan(TableName=name, ProjectionExpression="n, #e", ExpressionAttributeNames={"#e": "even"})
    assert all(set(i) == {"n", "even"} for i in response["Items"])
    counted = dynamodb.scan(TableName=name, Select="COUNT", Limit=10)
    assert counted["Count"] == counted["ScannedCount"] == 10
    assert "Items" not in counted and "LastEvaluatedKey" in counted


def test_select_texts_have_no_validation_count_prefix_in_scan(dynamodb, filled):
    name, _ = filled
    with validation_error("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"):
        dynamodb.scan(TableName=name, Select="SPECIFIC_ATTRIBUTES")
    with validation_error("Cannot specify the AttributesToGet when choosing to get only the Count"):
        dynamodb.scan(TableName=name, Select="COUNT", AttributesToGet=["n"])


def test_scan_of_an_empty_table_is_empty(dynamodb, table):
    response = dynamodb.scan(TableName=table.name, ReturnConsumedCapacity="TOTAL")
    assert response["Items"] == [] and response["Count"] == 0 and response["ScannedCount"] == 0
    assert response["ConsumedCapacity"]["TableName"] == table.name


# --- parallel scan ----------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7])
def test_segments_cover_every_item_exactly_once(dynamodb, filled, total):
    name, _ = filled
    found = []
    for segment in range(total):
        part, _ = full_scan(dynamodb, name, Segment=segment, TotalSegments=total, Limit=9)
        found += part
    assert ids(found) == list(range(COUNT))


def test_exclusive_start_key_must_belong_to_the_segment(dynamodb, filled):
    name, _ = filled
    total = 4
    for segment in range(total):
        response = dynamodb.scan(TableName=name, Segment=segment, TotalSegments=total, Limit=1)
        if "LastEvaluatedKey" in response:
            break
    other = (segment + 1) % total
    with validation_error("The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
                          f"ExclusiveStartKey with correct Segment. TotalSegments: {total} Segment: {other}"):
        dynamodb.scan(TableName=name, Segment=other, TotalSegments=total,
                      ExclusiveStartKey=response["LastEvaluatedKey"])


@pytest.mark.parametrize("params, message", [
    ({"Segment": 1}, ("The TotalSegments parameter is required but was not present in the request when Segment "
                      "parameter is present")),
    ({"TotalSegments": 2}, ("The Segment parameter is required but was not present in the request when parameter "
                            "TotalSegments is present")),
    ({"Segment": 3, "TotalSegments": 3}, ("The Segment parameter is zero-based and must be less than parameter "
                                          "TotalSegments: Segment: 3 is not less than TotalSegments: 3")),
])
def test_segment_parameters_are_checked(dynamodb, filled, params, message):
    with validation_error(message):
        dynamodb.scan(TableName=filled[0], **params)


# --- legacy parameters --------------------------------------------------------------------------------


def test_legacy_scan_filter_with_conditional_operator(dynamodb, filled):
    name, _ = filled
    both = {"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "10"}]},
            "even": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}}
    found, _ = full_scan(dynamodb, name, ScanFilter=both)
    assert ids(found) == [0, 2, 4, 6, 8]
    found, _ = full_scan(dynamodb, name, ScanFilter=both, ConditionalOperator="OR")
    assert ids(found) == sorted(set(range(10)) | set(range(0, COUNT, 2)))


@pytest.mark.parametrize("condition, expected", [
    ({"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "t1"}]}, lambda i: i % 3 != 1),
    ({"ComparisonOperator": "IN", "AttributeValueList": [{"N": "3"}, {"N": "5"}]}, lambda i: i in (3, 5)),
    ({"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "3"}, {"N": "5"}]}, lambda i: 3 <= i <= 5),
    ({"ComparisonOperator": "NULL"}, lambda i: False),
    ({"ComparisonOperator": "NOT_NULL"}, lambda i: True),
])
def test_legacy_comparison_operators(dynamodb, filled, condition, expected):
    name, _ = filled
    attribute = "tags" if condition["ComparisonOperator"] == "NOT_CONTAINS" else "n"
    found, _ = full_scan(dynamodb, name, ScanFilter={attribute: condition})
    assert ids(found) == [i for i in range(COUNT) if expected(i)]


def test_legacy_not_contains_is_false_for_a_missing_attribute(dynamodb, table):
    table.put_item(Item={"pk": "without"})
    table.put_item(Item={"pk": "with", "s": "abc"})
    response = dynamodb.scan(TableName=table.name, ScanFilter={
        "s": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "z"}]}})
    assert [i["pk"]["S"] for i in response["Items"]] == ["with"]


def test_attributes_to_get_projects_top_level_attributes(dynamodb, filled):
    name, _ = filled
    response = dynamodb.scan(TableName=name, AttributesToGet=["n", "missing"], Limit=3)
    assert all(set(i) == {"n"} for i in response["Items"])
    with validation_error("One or more parameter values were invalid: Duplicate value in attribute name: n"):
        dynamodb.scan(TableName=name, AttributesToGet=["n", "n"])


def test_legacy_scan_filter_values_are_checked(dynamodb, filled):
    with validation_error("One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid "
                          "for N AttributeValue type"):
        dynamodb.scan(TableName=filled[0], ScanFilter={
            "n": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "1"}]}})


# --- boto3's resource API and paginator ------------------------------------------------------------


def test_resource_scan_with_attr_conditions(dynamodb_resource, filled):
    name, _ = filled
    table = dynamodb_resource.Table(name)
    response = table.scan(FilterExpression=Attr("n").between(10, 20) & Attr("even").eq(False))
    assert sorted(int(i["n"]) for i in response["Items"]) == [11, 13, 15, 17, 19]


def test_boto3_paginator_reads_every_page(dynamodb, filled):
    name, _ = filled
    pages = list(dynamodb.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 25}))
    assert len(pages) == 3
    assert ids([i for page in pages for i in page["Items"]]) == list(range(COUNT))


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, message", [
    ({"pk": {"S": "x"}}, "The provided starting key is invalid: The provided key element does not match the schema"),
    ({"pk": {"S": "x"}, "sk": {"S": "1"}},
     "The provided starting key is invalid: The provided key element does not match the schema"),
    ({"pk": {"S": "x"}, "sk": {"N": "1"}, "z": {"N": "1"}},
     "The provided starting key is invalid: The provided key element does not match the schema"),
])
def test_exclusive_start_key_must_be_a_key_of_the_table(dynamodb, filled, start, message):
    with validation_error(message):
        dynamodb.scan(TableName=filled[0], ExclusiveStartKey=start)


def test_values_without_a_filter_are_refused(dynamodb, filled):
    with validation_error("ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"):
        dynamodb.scan(TableName=filled[0], ProjectionExpression="n", ExpressionAttributeValues={":v": {"N": "1"}})


def test_scan_of_a_missing_table_is_resource_not_found(dynamodb):
    with aws_error("ResourceNotFoundException"):
        dynamodb.scan(TableName=f"missing-{uuid.uuid4().hex[:8]}")
