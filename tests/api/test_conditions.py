"""The condition language end to end, through PutItem and DeleteItem ConditionExpressions.

Every case runs against the same stored item (`STORED`, under a key of its own). A condition that
holds lets the write through; one that does not is a ConditionalCheckFailedException; a condition
DynamoDB cannot accept is a ValidationException, and then nothing is written."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import aws_error, validation_error

STORED = {
    "n": {"N": "5"},
    "n2": {"N": "10"},
    "s": {"S": "hello"},
    "b": {"B": b"\x01\x02\x03"},
    "t": {"BOOL": True},
    "nul": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"m": {"N": "3"}}}]},
    "m": {"M": {"a": {"M": {"b": {"L": [{"N": "0"}, {"N": "1"}, {"M": {"c": {"S": "deep"}}}]}}}}},
    "a.b": {"S": "dotted"},
    "status": {"S": "on"},
}

# Placeholders available to every case: each case is sent the ones its expression mentions.
VALUES = {
    ":zero": {"N": "0"}, ":one": {"N": "1"}, ":two": {"N": "2"}, ":three": {"N": "3"}, ":five": {"N": "5"},
    ":five_0": {"N": "5.0"}, ":six": {"N": "6"}, ":ten": {"N": "10"}, ":str5": {"S": "5"},
    ":hello": {"S": "hello"}, ":world": {"S": "world"}, ":he": {"S": "he"}, ":lo": {"S": "lo"},
    ":ell": {"S": "ell"}, ":a": {"S": "a"}, ":z": {"S": "z"}, ":twos": {"S": "two"}, ":deep": {"S": "deep"},
    ":on": {"S": "on"}, ":dotted": {"S": "dotted"},
    ":bin": {"B": b"\x01\x02\x03"}, ":bin12": {"B": b"\x01\x02"}, ":bin23": {"B": b"\x02\x03"},
    ":bin1": {"B": b"\x01"}, ":bin2": {"B": b"\x02"},
    ":true": {"BOOL": True}, ":false": {"BOOL": False}, ":null": {"NULL": True},
    ":ss": {"SS": ["b", "a"]}, ":ss_a": {"SS": ["a"]}, ":ns": {"NS": ["2", "1"]},
    ":l": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"m": {"N": "3"}}}]},
    ":l_rev": {"L": [{"M": {"m": {"N": "3"}}}, {"S": "two"}, {"N": "1"}]},
    ":m": STORED["m"],
    ":S": {"S": "S"}, ":N": {"S": "N"}, ":B": {"S": "B"}, ":BOOL": {"S": "BOOL"}, ":NULL": {"S": "NULL"},
    ":SS": {"S": "SS"}, ":NS": {"S": "NS"}, ":BS": {"S": "BS"}, ":L": {"S": "L"}, ":M": {"S": "M"},
    ":bogus": {"S": "XX"},
}
NAMES = {"#n": "n", "#s": "s", "#status": "status", "#dotted": "a.b", "#m": "m", "#a": "a", "#b": "b",
         "#data": "data"}


def placeholders(expression: str) -> dict:
    values = {v: VALUES[v] for v in re.findall(r":[A-Za-z0-9_]+", expression) if v in VALUES}
    names = {n: NAMES[n] for n in re.findall(r"#[A-Za-z0-9_]+", expression) if n in NAMES}
    params = {}
    if values:
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    return params


@pytest.fixture
def stored(dynamodb, module_table, key):
    item = {**key, **STORED}
    dynamodb.put_item(TableName=module_table, Item=item)
    return item


def put_holds(dynamodb, table, item, condition, **params) -> bool:
    """Write `item` under `condition`: True when it went through, False on a failed check."""
    try:
        dynamodb.put_item(TableName=table, Item=item, ConditionExpression=condition, **params)
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def current(dynamodb, table, key):
    return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


TRUTH = [
    # comparators
    ("n = :five", True), ("n = :six", False), ("n = :five_0", True), ("n <> :six", True), ("n <> :five", False),
    ("n < :six", True), ("n < :five", False), ("n <= :five", True), ("n > :five", False), ("n > :one", True),
    ("n >= :five", True), ("n < :ten", True), ("n2 > n", True), ("n2 <= n", False),
    ("n = :str5", False), ("n <> :str5", True), ("n < :str5", False), ("n > :str5", False),
    ("s < :world", True), ("s > :world", False), ("s >= :hello", True), ("s <= :he", False),
    ("b = :bin", True), ("b > :bin12", True), ("b < :bin2", True), ("b >= :bin23", False),
    ("t = :true", True), ("t = :false", False), ("nul = :null", True),
    ("ss = :ss", True), ("ss = :ss_a", False), ("ns = :ns", True), ("l = :l", True), ("l = :l_rev", False),
    ("m = :m", True), ("absent = :five", False), ("absent <> :five", True), ("absent < :five", False),
    # BETWEEN and IN
    ("n BETWEEN :one AND :five", True), ("n BETWEEN :five AND :ten", True), ("n BETWEEN :six AND :ten", False),
    ("s BETWEEN :a AND :z", True), ("absent BETWEEN :one AND :ten", False),
    ("n IN (:one, :five)", True), ("n IN (:one, :six)", False), ("s IN (:hello)", True),
    ("n IN (:str5, :ten)", False), ("t IN (:false, :true)", True),
    # AND, OR, NOT, parentheses, precedence (NOT before AND before OR)
    ("n = :five AND s = :hello", True), ("n = :five AND s = :world", False),
    ("n = :six OR s = :hello", True), ("n = :six OR s = :world", False),
    ("NOT n = :six", True), ("NOT n = :five", False),
    ("NOT n = :five OR s = :hello", True), ("NOT (n = :five OR s = :hello)", False),
    ("n = :six AND s = :hello OR n = :five", True), ("n = :six AND (s = :hello OR n = :five)", False),
    ("n = :five OR n = :six AND s = :world", True), ("(n = :five OR n = :six) AND s = :world", False),
    ("(n = :five)", True), ("(n = :five) AND (s = :hello)", True), ("NOT absent = :five", True),
    ("n = :five and s = :hello", True), ("n = :six oR nOt n = :six", True), ("n between :one and :ten", True),
    ("n=:five", True), ("  n   =   :five  ", True), ("n\t=\n:five", True),
    # attribute_exists / attribute_not_exists, nested paths
    ("attribute_exists(n)", True), ("attribute_exists(absent)", False),
    ("attribute_not_exists(absent)", True), ("attribute_not_exists(n)", False),
    ("attribute_exists(nul)", True), ("attribute_exists(m.a.b[2].c)", True), ("attribute_exists(m.a.b[3])", False),
    ("attribute_exists(l[0])", True), ("attribute_exists(n.x)", False), ("attribute_exists(m.a.b.c)", False),
    ("attribute_exists(#dotted)", True), ("attribute_exists(a.b)", False), ("attribute_not_exists(m.a.x)", True),
    ("m.a.b[2].c = :deep", True), ("l[2].m = :three", True), ("l[1] = :twos", True), ("l[5] = :one", False),
    ("m.a.b[0] < m.a.b[1]", True), ("m.a.b[1] = l[0]", True),
    # attribute_type
    ("attribute_type(s, :S)", True), ("attribute_type(n, :N)", True), ("attribute_type(b, :B)", True),
    ("attribute_type(t, :BOOL)", True), ("attribute_type(nul, :NULL)", True), ("attribute_type(ss, :SS)", True),
    ("attribute_type(ns, :NS)", True), ("attribute_type(bs, :BS)", True), ("attribute_type(l, :L)", True),
    ("attribute_type(m, :M)", True), ("attribute_type(n, :S)", False), ("attribute_type(absent, :S)", False),
    ("attribute_type(m.a.b, :L)", True),
    # begins_with
    ("begins_with(s, :he)", True), ("begins_with(s, :lo)", False), ("begins_with(s, :hello)", True),
    ("begins_with(b, :bin12)", True), ("begins_with(b, :bin23)", False), ("begins_with(n, :he)", False),
    ("begins_with(absent, :he)", False), ("begins_with(l[1], :twos)", True),
    # contains
    ("contains(s, :ell)", True), ("contains(s, :world)", False), ("contains(ss, :a)", True),
    ("contains(ss, :z)", False), ("contains(ns, :one)", True), ("contains(ns, :five)", False),
    ("contains(bs, :bin1)", True), ("contains(l, :twos)", True), ("contains(l, :one)", True),
    ("contains(l, :three)", False), ("contains(absent, :a)", False), ("contains(b, :bin23)", True),
    # size
    ("size(s) = :five", True), ("size(b) = :three", True), ("size(ss) = :two", True), ("size(ns) = :two", True),
    ("size(bs) = :two", True), ("size(l) = :three", True), ("size(m) = :one", True), ("size(m.a.b) = :three", True),
    ("size(s) > :ten", False), ("size(absent) = :zero", False), ("size(s) BETWEEN :two AND :five", True),
    ("size(l) IN (:one, :three)", True), ("size(s) > size(l)", True),
    # #name references
    ("#n = :five", True), ("#status = :on", True), ("#dotted = :dotted", True), ("#m.#a.#b[2].c = :deep", True),
    ("#m.a.b[1] = :one", True), ("attribute_exists(#m.#a)", True), ("#s = :hello AND #n = :five", True),
]


@pytest.mark.parametrize("condition,expected", TRUTH, ids=[c for c, _ in TRUTH])
def test_put_item_condition_evaluates_like_dynamodb(dynamodb, module_table, stored, condition, expected):
    replacement = {**stored, "written": {"BOOL": True}}
    assert put_holds(dynamodb, module_table, replacement, condition, **placeholders(condition)) is expected
    assert current(dynamodb, module_table, {"pk": stored["pk"]}) == (replacement if expected else stored)


DELETE_CASES = [("n = :five", True), ("n = :six", False), ("attribute_exists(m.a.b[2].c)", True),
                ("contains(ss, :z) OR size(l) > :three", False), ("NOT attribute_exists(absent)", True)]


@pytest.mark.parametrize("condition,expected", DELETE_CASES, ids=[c for c, _ in DELETE_CASES])
def test_delete_item_condition_decides_whether_the_item_is_deleted(dynamodb, module_table, stored, condition, expected):
    key = {"pk": stored["pk"]}
    if expected:
        dynamodb.delete_item(TableName=module_table, Key=key, ConditionExpression=condition, **placeholders(condition))
        assert current(dynamodb, module_table, key) is None
    else:
        with aws_error("ConditionalCheckFailedException", "The conditional request failed"):
            dynamodb.delete_item(TableName=module_table, Key=key, ConditionExpression=condition,
                                 **placeholders(condition))
        assert current(dynamodb, module_table, key) == stored


def test_put_item_if_not_exists_creates_only_once(dynamodb, module_table, key):
    item = {**key, "v": {"N": "1"}}
    dynamodb.put_item(TableName=module_table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with aws_error("ConditionalCheckFailedException"):
        dynamodb.put_item(TableName=module_table, Item={**key, "v": {"N": "2"}},
                          ConditionExpression="attribute_not_exists(pk)")
    assert current(dynamodb, module_table, key) == item


def test_condition_on_a_missing_item_sees_no_attributes(dynamodb, module_table, key):
    with aws_error("ConditionalCheckFailedException"):
        dynamodb.put_item(TableName=module_table, Item=key, ConditionExpression="attribute_exists(pk)")
    assert current(dynamodb, module_table, key) is None
    condition = "attribute_not_exists(n) AND NOT n = :five AND n <> :five"
    assert put_holds(dynamodb, module_table, key, condition, **placeholders(condition))


def test_delete_item_condition_on_missing_item_fails(dynamodb, module_table, key):
    with aws_error("ConditionalCheckFailedException"):
        dynamodb.delete_item(TableName=module_table, Key=key, ConditionExpression="attribute_exists(pk)")


def test_condition_compares_numbers_exactly(dynamodb, module_table, key):
    item = {**key, "big": {"N": "12345678901234567890123456789012345678"}}
    dynamodb.put_item(TableName=module_table, Item=item)
    condition = "big < :bigger"
    values = {":bigger": {"N": "12345678901234567890123456789012345679"}}
    assert put_holds(dynamodb, module_table, item, condition, ExpressionAttributeValues=values)
    values = {":bigger": {"N": "12345678901234567890123456789012345677"}}
    assert not put_holds(dynamodb, module_table, item, condition, ExpressionAttributeValues=values)


# --- expressions DynamoDB refuses: ValidationException, and nothing is written -----------------------

SYNTAX = r"^Invalid ConditionExpression: Syntax error; token: "

REFUSED = [
    # (condition, extra request parameters or None, exact message or None, regex or None)
    ("status = :on", None, "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status", None),
    ("Name = :on", None, "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Name", None),
    ("m.data = :on", None, "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: data", None),
    ("n = :nope", None, "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope", None),
    ("n = :five OR n = :nope", None, "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope", None),
    ("#nope = :five", None, "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope", None),
    ("n = :five", {"ExpressionAttributeValues": {":five": VALUES[":five"], ":six": VALUES[":six"]}},
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:six}", None),
    ("n = :five", {"ExpressionAttributeValues": {":five": VALUES[":five"]}, "ExpressionAttributeNames": {"#s": "s"}},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#s}", None),
    ("foo(n)", None, "Invalid ConditionExpression: Invalid function name; function: foo", None),
    ("ATTRIBUTE_EXISTS(n)", None, "Invalid ConditionExpression: Invalid function name; function: ATTRIBUTE_EXISTS", None),
    ("attribute_exists(n, s)", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2", None),
    ("attribute_not_exists(n, s)", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_not_exists, number of operands: 2", None),
    ("begins_with(s)", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1", None),
    ("contains(s)", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: contains, number of operands: 1", None),
    ("attribute_type(n)", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_type, number of operands: 1", None),
    ("size(s, n) = :one", None, "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: size, number of operands: 2", None),
    ("attribute_exists(:five)", None, "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists", None),
    ("attribute_not_exists(:five)", None, "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_not_exists", None),
    ("size(s)", None, "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size", None),
    ("attribute_exists(n) = :true", None, "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists", None),
    ("n IN (:one, attribute_exists(s))", None, "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists", None),
    ("begins_with(s, :one)", None, "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N", None),
    ("attribute_type(n, :one)", None, "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N", None),
    ("size(:true) > :one", None, "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: BOOL", None),
    ("attribute_type(n, :bogus)", None, None, r"^Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: \{[A-Z,]+\}$"),
    ("n BETWEEN :six AND :one", None, "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:6}, upper bound operand: AttributeValue: {N:1}", None),
    ("n BETWEEN :one AND :hello", None, "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:hello}", None),
    ("n = n", None, "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [n]", None),
    ("#n <> n", None, "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: <>, first operand: [n]", None),
    ("n = :five AND ((s = :hello AND n2 = :ten))", None, "Invalid ConditionExpression: The expression has redundant parentheses;", None),
    ("n > ((n2))", None, "Invalid ConditionExpression: The expression has redundant parentheses;", None),
    ("", None, "Invalid ConditionExpression: The expression can not be empty;", None),
    ("n = :five", {"ExpressionAttributeValues": {}}, "ExpressionAttributeValues must not be empty", None),
    ("n = :five", {"ExpressionAttributeValues": {":five": VALUES[":five"]}, "ExpressionAttributeNames": {}},
     "ExpressionAttributeNames must not be empty", None),
    ("n = :five", {"ExpressionAttributeValues": {":five": VALUES[":five"], "six": VALUES[":six"]}},
     'ExpressionAttributeValues contains invalid key: Syntax error; key: "six"', None),
    ("n = :five", {"ExpressionAttributeValues": {":five": VALUES[":five"]}, "ExpressionAttributeNames": {"n": "n"}},
     'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"', None),
    ("n = :five", {"ExpressionAttributeValues": {":five": {"N": "abc"}}},
     "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric value: abc for key :five", None),
    ("n = :five", {"ExpressionAttributeValues": {":five": {"SS": []}}},
     "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An string set  may not be empty for key :five", None),
    # syntax errors
    ("n =", None, None, SYNTAX), ("n = = :five", None, None, SYNTAX), ("n :five", None, None, SYNTAX),
    ("(n = :five", None, None, SYNTAX), ("n = :five)", None, None, SYNTAX), ("AND n = :five", None, None, SYNTAX),
    ("n IN ()", None, None, SYNTAX), ("n BETWEEN :one", None, None, SYNTAX), ("attribute_exists(n", None, None, SYNTAX),
    ("n. = :five", None, None, SYNTAX), ("l[x] = :five", None, None, SYNTAX), ("l[-1] = :five", None, None, SYNTAX),
    ("n == :five", None, None, SYNTAX), ("n != :five", None, None, SYNTAX), (":five", None, None, SYNTAX),
    ("n", None, None, SYNTAX), ("n = :five AND", None, None, SYNTAX), ("n = :five s = :hello", None, None, SYNTAX),
    ("n ! :five", None, None, SYNTAX), ("ü = :five", None, None, SYNTAX), ("n = 'five'", None, None, SYNTAX),
    ("n = 5", None, None, SYNTAX),
]


def refused_id(case):
    condition, extra, *_ = case
    return (condition or "<empty>") + (" +" + ",".join(sorted(extra)) if extra else "")


@pytest.mark.parametrize("operation", ["put_item", "delete_item"])
@pytest.mark.parametrize("condition,extra,message,match", REFUSED, ids=[refused_id(c) for c in REFUSED])
def test_invalid_condition_is_refused_and_nothing_is_written(
    lenient, module_table, stored, operation, condition, extra, message, match
):
    params = extra if extra is not None else placeholders(condition)
    if operation == "put_item":
        target = {"Item": {**stored, "written": {"BOOL": True}}}
    else:
        target = {"Key": {"pk": stored["pk"]}}
    with validation_error(message, match):
        getattr(lenient, operation)(TableName=module_table, ConditionExpression=condition, **target, **params)
    assert current(lenient, module_table, {"pk": stored["pk"]}) == stored


def test_expression_attribute_names_without_an_expression_are_refused(dynamodb, module_table, stored):
    with validation_error("ExpressionAttributeNames can only be specified when using expressions"):
        dynamodb.put_item(TableName=module_table, Item={**stored, "x": {"S": "y"}}, ExpressionAttributeNames={"#n": "n"})
    assert current(dynamodb, module_table, {"pk": stored["pk"]}) == stored


def test_expression_attribute_values_without_an_expression_are_refused(dynamodb, module_table, stored):
    with validation_error("ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"):
        dynamodb.delete_item(TableName=module_table, Key={"pk": stored["pk"]},
                             ExpressionAttributeValues={":five": VALUES[":five"]})
    assert current(dynamodb, module_table, {"pk": stored["pk"]}) == stored
