"""GetItem ProjectionExpression: top-level and nested paths, #name references, and the errors."""

from __future__ import annotations

import pytest

from tests.api.helpers import validation_error

ATTRIBUTES = {
    "a": {"S": "x"},
    "b": {"N": "2"},
    "c": {"L": [{"S": "c0"}, {"S": "c1"}, {"S": "c2"}, {"M": {"d": {"S": "deep"}, "e": {"S": "other"}}}]},
    "m": {"M": {
        "x": {"M": {"y": {"S": "z"}, "w": {"N": "1"}}},
        "k": {"S": "v"},
        "weird key": {"S": "w"},
        "l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}]},
    }},
    "name": {"S": "reserved"},
    "a.b": {"S": "dotted"},
}


@pytest.fixture
def item(dynamodb, module_table, key):
    dynamodb.put_item(TableName=module_table, Item={**key, **ATTRIBUTES})
    return key


def project(dynamodb, table, key, expression, names=None):
    params = {"ProjectionExpression": expression}
    if names is not None:
        params["ExpressionAttributeNames"] = names
    return dynamodb.get_item(TableName=table, Key=key, **params).get("Item")


PROJECTIONS = [
    ("a, b", None, {"a": ATTRIBUTES["a"], "b": ATTRIBUTES["b"]}),
    ("a", None, {"a": ATTRIBUTES["a"]}),
    ("#n", {"#n": "name"}, {"name": ATTRIBUTES["name"]}),
    ("#dotted", {"#dotted": "a.b"}, {"a.b": ATTRIBUTES["a.b"]}),
    ("m.x.y", None, {"m": {"M": {"x": {"M": {"y": {"S": "z"}}}}}}),
    ("m.x.y, m.x.w", None, {"m": {"M": {"x": {"M": {"y": {"S": "z"}, "w": {"N": "1"}}}}}}),
    ("m.x", None, {"m": {"M": {"x": ATTRIBUTES["m"]["M"]["x"]}}}),
    ("c[1]", None, {"c": {"L": [{"S": "c1"}]}}),
    ("c[2], c[0]", None, {"c": {"L": [{"S": "c0"}, {"S": "c2"}]}}),
    ("c[3].d", None, {"c": {"L": [{"M": {"d": {"S": "deep"}}}]}}),
    ("m.l[2], m.k", None, {"m": {"M": {"l": {"L": [{"N": "2"}]}, "k": {"S": "v"}}}}),
    ("m.#w", {"#w": "weird key"}, {"m": {"M": {"weird key": {"S": "w"}}}}),
    ("#m.#x.#y", {"#m": "m", "#x": "x", "#y": "y"}, {"m": {"M": {"x": {"M": {"y": {"S": "z"}}}}}}),
    ("a, absent, m.absent", None, {"a": ATTRIBUTES["a"]}),
    ("b,a", None, {"a": ATTRIBUTES["a"], "b": ATTRIBUTES["b"]}),
    ("  a ,\tb  ", None, {"a": ATTRIBUTES["a"], "b": ATTRIBUTES["b"]}),
]


@pytest.mark.parametrize("expression,names,expected", PROJECTIONS, ids=[p[0] for p in PROJECTIONS])
def test_projection_returns_only_the_named_paths(dynamodb, module_table, item, expression, names, expected):
    assert project(dynamodb, module_table, item, expression, names) == expected


def test_projection_includes_the_key_only_when_asked(dynamodb, module_table, item):
    assert project(dynamodb, module_table, item, "pk, a") == {**item, "a": ATTRIBUTES["a"]}
    assert "pk" not in project(dynamodb, module_table, item, "a")


def test_projection_of_a_missing_item_returns_no_item(dynamodb, module_table, key):
    response = dynamodb.get_item(TableName=module_table, Key=key, ProjectionExpression="a")
    assert "Item" not in response


def test_get_item_without_projection_returns_every_attribute(dynamodb, module_table, item):
    assert dynamodb.get_item(TableName=module_table, Key=item)["Item"] == {**item, **ATTRIBUTES}


ERRORS = [
    ("", None, "Invalid ProjectionExpression: The expression can not be empty;", None),
    ("name", None, "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name", None),
    ("a.abort", None, "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: abort", None),
    ("a, Absolute", None, "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: Absolute", None),
    ("a, #nope", None, "Invalid ProjectionExpression: An expression attribute name used in the document path is not "
                       "defined; attribute name: #nope", None),
    ("a", {"#n": "name"}, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}", None),
    ("m, m.x", None, "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite "
                     "one of these paths; path one: [m], path two: [m, x]", None),
    ("c, #c[1]", {"#c": "c"}, "Invalid ProjectionExpression: Two document paths overlap with each other; must remove "
                              "or rewrite one of these paths; path one: [c], path two: [c, [1]]", None),
    ("m.x, #m[1]", {"#m": "m"}, "Invalid ProjectionExpression: Two document paths conflict with each other; must "
                                "remove or rewrite one of these paths; path one: [m, x], path two: [m, [1]]", None),
] + [
    (expression, None, None, r"^Invalid ProjectionExpression: Syntax error; ")
    for expression in ["a,,b", "a..b", "a[b]", "(a)", "a-b", "a,", ":v", "whatever(a)", "c[-1]", "c[", "a b", "c[1.5]"]
]


@pytest.mark.parametrize("expression,names,message,match", ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_invalid_projection_is_refused(lenient, module_table, item, expression, names, message, match):
    with validation_error(message, match):
        project(lenient, module_table, item, expression, names)


def test_expression_attribute_names_without_projection_are_refused(dynamodb, module_table, item):
    with validation_error("ExpressionAttributeNames can only be specified when using expressions"):
        dynamodb.get_item(TableName=module_table, Key=item, ExpressionAttributeNames={"#n": "name"})
