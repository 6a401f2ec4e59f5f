"""The DynamoDB JSON 1.0 wire protocol, spoken raw with httpx (cdc-bridge accepts unsigned requests):
routing by X-Amz-Target, serialization and validation errors, and never a 500 for bad input."""

from __future__ import annotations

import json
import string

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import unique_name

PREFIX = "DynamoDB_20120810."
AMZ_JSON = "application/x-amz-json-1.0"
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def http(endpoint_url):
    with httpx.Client(base_url=endpoint_url, timeout=30) as client:
        yield client


def call(http, target, body, content_type=AMZ_JSON):
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = target if target.startswith(PREFIX) or "." in target else PREFIX + target
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return http.post("/", content=content, headers=headers)


def error_of(response) -> tuple[str, str | None]:
    """(error name after '#', message) of an AWS JSON error body."""
    body = response.json()
    name = body["__type"].rsplit("#", 1)[-1]
    return name, body.get("message", body.get("Message"))


def assert_error(response, *names):
    assert response.status_code == 400, (response.status_code, response.text)
    assert error_of(response)[0] in names, response.text


# --- routing ------------------------------------------------------------------------------------------


def test_unsigned_request_is_served(http):
    response = call(http, "ListTables", {})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["TableNames"], list)
    assert response.headers["content-type"].startswith(AMZ_JSON)


def test_plain_application_json_is_accepted(http):
    response = call(http, "ListTables", {}, content_type="application/json")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("target", ["DynamoDB_20120810.ListTable", "DynamoDB_20120810.Nope", "whatever",
                                    "DynamoDB_20120810.", "DynamoDB_20110924.ListTables"])
def test_unknown_target_is_unknown_operation(http, target):
    assert_error(call(http, target, {}), "UnknownOperationException")


def test_missing_target_is_unknown_operation(http):
    assert_error(call(http, None, {}), "UnknownOperationException")


def test_dynamodb_errors_carry_the_dynamodb_type_prefix(http):
    response = call(http, "DescribeTable", {"TableName": unique_name()})
    assert response.status_code == 400
    assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    assert error_of(response)[1].startswith("Requested resource not found")


# --- serialization ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["{", "hi", "{\"TableName\": }", "\x00\xff", "{\"a\":1}}"])
def test_malformed_json_is_a_serialization_exception(http, body):
    assert_error(call(http, "ListTables", body), "SerializationException")


@pytest.mark.parametrize("body", ["[]", "1", "\"text\"", "true"])
def test_json_that_is_not_an_object_is_refused(http, body):
    assert_error(call(http, "DescribeTable", body), "SerializationException", "ValidationException")


WRONG_TYPES = [  # "abc" stands for the table under test (see the test below)
    ("DescribeTable", {"TableName": 1}),
    ("DescribeTable", {"TableName": ["t"]}),
    ("DescribeTable", {"TableName": {"S": "t"}}),
    ("ListTables", {"Limit": "ten"}),
    ("ListTables", {"Limit": True}),
    ("ListTables", {"ExclusiveStartTableName": 5}),
    ("GetItem", {"TableName": "abc", "Key": []}),
    ("GetItem", {"TableName": "abc", "Key": {"pk": "plain"}}),
    ("GetItem", {"TableName": "abc", "Key": {"pk": {"S": 1}}}),
    ("GetItem", {"TableName": "abc", "Key": {"pk": {"S": "a"}}, "ConsistentRead": "yes"}),
    ("GetItem", {"TableName": "abc", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": ["a"]}),
    ("PutItem", {"TableName": "abc", "Item": "item"}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"X": "a"}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"B": "not base64!"}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"N": 1}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"BOOL": "true"}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"SS": "a"}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"L": {}}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"M": []}}}),
    ("PutItem", {"TableName": "abc", "Item": {"pk": {"S": "a"}}, "ExpressionAttributeNames": {"#a": 1}}),
    ("DeleteItem", {"TableName": "abc", "Key": {"pk": {"S": "a"}}, "ConditionExpression": 7}),
    ("CreateTable", {"TableName": "abc", "KeySchema": "pk", "AttributeDefinitions": []}),
    ("CreateTable", {"TableName": "abc", "KeySchema": [{"AttributeName": 1, "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}),
    ("CreateTable", {"TableName": "abc", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                     "ProvisionedThroughput": {"ReadCapacityUnits": "1", "WriteCapacityUnits": 1}}),
]


@pytest.mark.parametrize("operation,body", WRONG_TYPES, ids=[f"{o}-{json.dumps(b)[:60]}" for o, b in WRONG_TYPES])
def test_wrong_json_types_are_refused(http, module_table, operation, body):
    if body.get("TableName") == "abc" and operation != "CreateTable":
        body = {**body, "TableName": module_table}
    assert_error(call(http, operation, body), "SerializationException", "ValidationException")


@pytest.mark.parametrize("value", [{"N": 1}, {"B": "not base64!"}, {"S": False}, {"L": {}}])
def test_wrong_json_types_are_refused_before_the_table_is_looked_up(http, value):
    """AWS checks the request's shape before it looks for the table."""
    response = call(http, "PutItem", {"TableName": unique_name(), "Item": {"pk": value}})
    assert_error(response, "SerializationException", "ValidationException")


# --- required members ---------------------------------------------------------------------------------

TABLE_NAME_NULL = "Value null at 'tableName' failed to satisfy constraint: Member must not be null"


@pytest.mark.parametrize("operation,body", [
    ("DescribeTable", {}), ("DeleteTable", {}), ("GetItem", {"Key": {"pk": {"S": "a"}}}),
    ("DeleteItem", {"Key": {"pk": {"S": "a"}}}), ("PutItem", {"Item": {"pk": {"S": "a"}}}),
])
def test_missing_table_name_is_one_validation_error(http, operation, body):
    response = call(http, operation, body)
    assert_error(response, "ValidationException")
    assert error_of(response)[1] == f"1 validation error detected: {TABLE_NAME_NULL}"


def test_every_missing_member_is_listed(http):
    response = call(http, "PutItem", {})
    assert_error(response, "ValidationException")
    message = error_of(response)[1]
    assert message.startswith("2 validation errors detected: ")
    assert TABLE_NAME_NULL in message
    assert "Value null at 'item' failed to satisfy constraint: Member must not be null" in message


def test_explicit_null_members_count_as_missing(http):
    response = call(http, "DescribeTable", {"TableName": None})
    assert_error(response, "ValidationException")
    assert error_of(response)[1] == f"1 validation error detected: {TABLE_NAME_NULL}"


def test_unknown_members_are_ignored(http):
    response = call(http, "ListTables", {"Hello": "world", "Limit": 1})
    assert response.status_code == 200, response.text


def test_members_of_other_operations_are_ignored(http, module_table):
    """GetItem has no ExpressionAttributeValues member: like any unknown member, it is ignored."""
    response = call(http, "GetItem", {"TableName": module_table, "Key": {"pk": {"S": "none"}},
                                      "ProjectionExpression": "a", "ExpressionAttributeValues": {":v": {"S": "x"}}})
    assert response.status_code == 200, response.text


ERROR_SAMPLES = {
    "ValidationException": ("DescribeTable", {}),
    "SerializationException": ("ListTables", "{"),
    "UnknownOperationException": ("Nope", {}),
    "ResourceNotFoundException": ("DescribeTable", {"TableName": "no-such-table-here"}),
}


@pytest.mark.parametrize("name", ERROR_SAMPLES)
def test_errors_are_json_with_type_and_message(http, own_server, name):
    operation, body = ERROR_SAMPLES[name]
    response = call(http, operation, body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(AMZ_JSON)
    payload = response.json()
    assert payload["__type"].endswith("#" + name)
    if own_server:  # cdc-bridge renders every error in DynamoDB's own namespace
        assert payload["__type"] == f"com.amazonaws.dynamodb.v20120810#{name}"
    if name != "UnknownOperationException" and name != "SerializationException":
        assert payload.get("message", payload.get("Message"))


# --- fuzzing: whatever arrives, the answer is never a 500 ----------------------------------------------

OPERATIONS = ["PutItem", "GetItem", "DeleteItem", "CreateTable"]
MEMBERS = ["TableName", "Item", "Key", "KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
           "ConditionExpression", "ProjectionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues",
           "ReturnValues", "ReturnConsumedCapacity", "ReturnValuesOnConditionCheckFailure", "ConsistentRead",
           "StreamSpecification", "Tags", "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS",
           "AttributeName", "KeyType", "AttributeType", "ReadCapacityUnits", "WriteCapacityUnits"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                    st.sampled_from(["S", "N", "B", "HASH", "RANGE", "PAY_PER_REQUEST", "PROVISIONED", "ALL_OLD",
                                     "1", "1e400", "", "YQ==", "pk", "abc", ":v", "#n"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(MEMBERS), st.text(max_size=8)), inner, max_size=5)),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def created_by_fuzz(dynamodb):
    """Tables a fuzzed CreateTable happened to create, deleted at the end."""
    names: set[str] = set()
    yield names
    for name in names:
        try:
            dynamodb.delete_table(TableName=name)
        except Exception:
            pass


def check_not_5xx(response, operation, body, created):
    assert response.status_code < 500, (operation, body, response.status_code, response.text)
    if response.status_code == 200 and operation == "CreateTable":
        created.add(response.json()["TableDescription"]["TableName"])


@FUZZ
@given(operation=st.sampled_from(OPERATIONS), body=st.binary(max_size=300))
def test_random_bytes_never_cause_a_server_error(http, created_by_fuzz, operation, body):
    check_not_5xx(call(http, operation, body), operation, body, created_by_fuzz)


@FUZZ
@given(operation=st.sampled_from(OPERATIONS), body=st.dictionaries(st.sampled_from(MEMBERS), json_values, max_size=6))
def test_random_json_requests_never_cause_a_server_error(http, created_by_fuzz, operation, body):
    check_not_5xx(call(http, operation, body), operation, body, created_by_fuzz)


attribute_values = st.recursive(
    st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=10)),
        st.builds(lambda n: {"N": n}, st.one_of(st.sampled_from(["0", "-1.5", "1e125", "1e126", "1e-131", "NaN", "",
                                                                  "1" * 39, "00.10", "abc", " 1"]),
                                                 st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,40})?([eE][-+]?[0-9]{1,3})?",
                                                               fullmatch=True))),
        st.builds(lambda b: {"B": b}, st.sampled_from(["", "YQ==", "AAEC", "not base64", "YQ"])),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.builds(lambda b: {"NULL": b}, st.booleans()),
        st.builds(lambda ss: {"SS": ss}, st.lists(st.text(max_size=3), max_size=3)),
        st.builds(lambda ns: {"NS": ns}, st.lists(st.sampled_from(["1", "1.0", "2", "x", ""]), max_size=3)),
        st.builds(lambda bs: {"BS": bs}, st.lists(st.sampled_from(["YQ==", "Yg==", ""]), max_size=3)),
        st.dictionaries(st.sampled_from(["S", "N", "X", "SS"]), scalars, max_size=2),
    ),
    lambda inner: st.one_of(st.builds(lambda l: {"L": l}, st.lists(inner, max_size=3)),
                            st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=4), inner, max_size=3))),
    max_leaves=12,
)


@FUZZ
@given(item=st.dictionaries(st.sampled_from(["pk", "a", "b", "", "n"]), attribute_values, max_size=4),
       with_key=st.booleans())
def test_random_items_never_cause_a_server_error(http, module_table, item, with_key):
    if with_key:
        item = {**item, "pk": {"S": "fuzz"}}
    body = {"TableName": module_table, "Item": item}
    response = call(http, "PutItem", body)
    assert response.status_code < 500, (body, response.status_code, response.text)
    if response.status_code == 400:
        assert error_of(response)[0] in ("ValidationException", "SerializationException"), response.text


# The expression alphabet: words, functions, placeholders, operators and punctuation, joined at random.
EXPRESSION_TOKENS = [
    "a", "b", "n", "pk", "m", "l", "x1", "status", "size", "AND", "OR", "NOT", "BETWEEN", "IN", "and", "between",
    "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size", "foo",
    "#n", "#x", "#", ":v", ":w", ":", "(", ")", ",", ".", "[", "]", "0", "1", "99999999999", "-1",
    "=", "<>", "<", "<=", ">", ">=", "!=", "==", " ", "  ", "\t", "'", "\"", "ü", "$", "_",
]
expressions = st.one_of(
    st.lists(st.sampled_from(EXPRESSION_TOKENS), max_size=14).map("".join),
    st.lists(st.sampled_from(EXPRESSION_TOKENS), max_size=14).map(" ".join),
    st.text(alphabet=string.ascii_letters + string.digits + " #:()[],.<>=_-!'\"", max_size=40),
)
placeholder_sets = st.fixed_dictionaries({}, optional={
    "ExpressionAttributeNames": st.dictionaries(st.sampled_from(["#n", "#x", "n", "#"]),
                                                st.sampled_from(["n", "a", "a.b", "", "status"]), max_size=2),
    "ExpressionAttributeValues": st.dictionaries(st.sampled_from([":v", ":w", "v", ":"]), attribute_values,
                                                 max_size=2),
})


@FUZZ
@given(operation=st.sampled_from(["PutItem", "DeleteItem", "GetItem"]), expression=expressions,
       placeholders=placeholder_sets)
def test_random_expressions_never_cause_a_server_error(http, module_table, operation, expression, placeholders):
    body = {"TableName": module_table, **placeholders}
    if operation == "PutItem":
        body.update(Item={"pk": {"S": "expr"}, "n": {"N": "1"}, "a": {"S": "x"}}, ConditionExpression=expression)
    elif operation == "DeleteItem":
        body.update(Key={"pk": {"S": "expr-missing"}}, ConditionExpression=expression)
    else:
        body.update(Key={"pk": {"S": "expr"}}, ProjectionExpression=expression)
    response = call(http, operation, body)
    assert response.status_code < 500, (body, response.status_code, response.text)
    if response.status_code == 400:
        assert error_of(response)[0] in (
            "ValidationException", "SerializationException", "ConditionalCheckFailedException"), response.text
