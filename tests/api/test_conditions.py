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

CE = "Invalid ConditionExpression: "
SYNTAX = r"^Invalid ConditionExpression: Syntax error; token: "
FIVE = {":five": VALUES[":five"]}


def refused(condition, message=None, match=None, case_id=None, **params):
    """A condition DynamoDB refuses. `params` replaces the placeholders the expression would get."""
    return pytest.param(condition, params or None, message, match, id=case_id or condition or "<empty>")


def operands(function, count):
    return f"{CE}Incorrect number of operands for operator or function; operator or function: {function}, " \
           f"number of operands: {count}"


def operand_type(function, kind):
    return f"{CE}Incorrect operand type for operator or function; operator or function: {function}, operand type: {kind}"


def misused(function):
    return f"{CE}The function is not allowed to be used this way in an expression; function: {function}"


def not_distinct(operator, path):
    return (f"{CE}The first operand must be distinct from the remaining operands for this operator or function; "
            f"operator: {operator}, first operand: {path}")


REFUSED = [
    refused("status = :on", f"{CE}Attribute name is a reserved keyword; reserved keyword: status"),
    refused("Name = :on", f"{CE}Attribute name is a reserved keyword; reserved keyword: Name"),
    refused("m.data = :on", f"{CE}Attribute name is a reserved keyword; reserved keyword: data"),
    refused("n = :nope", f"{CE}An expression attribute value used in expression is not defined; attribute value: :nope"),
    refused("n = :five OR n = :nope",
            f"{CE}An expression attribute value used in expression is not defined; attribute value: :nope"),
    refused("#nope = :five",
            f"{CE}An expression attribute name used in the document path is not defined; attribute name: #nope"),
    refused("n = :five", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:six}",
            case_id="unused-value", ExpressionAttributeValues={**FIVE, ":six": VALUES[":six"]}),
    refused("n = :five", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#s}",
            case_id="unused-name", ExpressionAttributeValues=FIVE, ExpressionAttributeNames={"#s": "s"}),
    refused("foo(n)", f"{CE}Invalid function name; function: foo"),
    refused("ATTRIBUTE_EXISTS(n)", f"{CE}Invalid function name; function: ATTRIBUTE_EXISTS"),
    refused("attribute_exists(n, s)", operands("attribute_exists", 2)),
    refused("attribute_not_exists(n, s)", operands("attribute_not_exists", 2)),
    refused("begins_with(s)", operands("begins_with", 1)),
    refused("contains(s)", operands("contains", 1)),
    refused("attribute_type(n)", operands("attribute_type", 1)),
    refused("size(s, n) = :one", operands("size", 2)),
    refused("attribute_exists(:five)",
            f"{CE}Operator or function requires a document path; operator or function: attribute_exists"),
    refused("attribute_not_exists(:five)",
            f"{CE}Operator or function requires a document path; operator or function: attribute_not_exists"),
    refused("size(s)", misused("size")),
    refused("attribute_exists(n) = :true", misused("attribute_exists")),
    refused("n IN (:one, attribute_exists(s))", misused("attribute_exists")),
    refused("begins_with(s, :one)", operand_type("begins_with", "N")),
    refused("attribute_type(n, :one)", operand_type("attribute_type", "N")),
    refused("size(:true) > :one", operand_type("size", "BOOL")),
    refused("attribute_type(n, :bogus)",
            match=r"^Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: \{[A-Z,]+\}$"),
    refused("n BETWEEN :six AND :one",
            f"{CE}The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
            "lower bound operand: AttributeValue: {N:6}, upper bound operand: AttributeValue: {N:1}"),
    refused("n BETWEEN :one AND :hello",
            f"{CE}The BETWEEN operator requires same data type for lower and upper bounds; "
            "lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:hello}"),
    refused("n = n", not_distinct("=", "[n]")),
    refused("#n <> n", not_distinct("<>", "[n]")),
    refused("n = :five AND ((s = :hello AND n2 = :ten))", f"{CE}The expression has redundant parentheses;"),
    refused("n > ((n2))", f"{CE}The expression has redundant parentheses;"),
    refused("", f"{CE}The expression can not be empty;"),
    refused("n = :five", "ExpressionAttributeValues must not be empty", case_id="empty-values",
            ExpressionAttributeValues={}),
    refused("n = :five", "ExpressionAttributeNames must not be empty", case_id="empty-names",
            ExpressionAttributeValues=FIVE, ExpressionAttributeNames={}),
    refused("n = :five", 'ExpressionAttributeValues contains invalid key: Syntax error; key: "six"',
            case_id="value-key-without-colon", ExpressionAttributeValues={**FIVE, "six": VALUES[":six"]}),
    refused("n = :five", 'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"',
            case_id="name-key-without-hash", ExpressionAttributeValues=FIVE, ExpressionAttributeNames={"n": "n"}),
    refused("n = :five",
            "ExpressionAttributeValues contains invalid value: "
            "The parameter cannot be converted to a numeric value: abc for key :five",
            case_id="invalid-number-value", ExpressionAttributeValues={":five": {"N": "abc"}}),
    refused("n = :five",
            "ExpressionAttributeValues contains invalid value: "
            "One or more parameter values were invalid: An string set  may not be empty for key :five",
            case_id="empty-set-value", ExpressionAttributeValues={":five": {"SS": []}}),
] + [
    refused(condition, match=SYNTAX)
    for condition in [
        "n =", "n = = :five", "n :five", "(n = :five", "n = :five)", "AND n = :five", "n IN ()", "n BETWEEN :one",
        "attribute_exists(n", "n. = :five", "l[x] = :five", "l[-1] = :five", "n == :five", "n != :five", ":five",
        "n", "n = :five AND", "n = :five s = :hello", "n ! :five", "ü = :five", "n = 'five'", "n = 5",
    ]
]


@pytest.mark.parametrize("operation", ["put_item", "delete_item"])
@pytest.mark.parametrize("condition,params,message,match", REFUSED)
def test_invalid_condition_is_refused_and_nothing_is_written(
    lenient, module_table, stored, operation, condition, params, message, match
):
    if params is None:
        params = placeholders(condition)
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
