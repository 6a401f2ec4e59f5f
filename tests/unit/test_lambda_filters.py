"""Lambda's event filtering pattern language (lambda_api/filters.py): each rule as Lambda's
documentation states it, and the patterns Lambda refuses."""

from __future__ import annotations

import json

import pytest

from lambda_api.filters import InvalidPattern, parse_filters, passes


def matches(pattern: dict, record: dict) -> bool:
    return passes(parse_filters({"Filters": [{"Pattern": json.dumps(pattern)}]}), record)


RECORD = {"eventName": "INSERT", "dynamodb": {"NewImage": {"colour": {"S": "Red"}, "size": {"N": "7"}}},
          "tags": ["a", "b"], "price": 12.5, "flag": True, "nothing": None}


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"eventName": ["INSERT"]}, True),
    ({"eventName": ["MODIFY", "REMOVE"]}, False),
    ({"dynamodb": {"NewImage": {"colour": {"S": ["Red"]}}}}, True),
    ({"dynamodb": {"NewImage": {"colour": {"S": ["red"]}}}}, False),  # exact is case-sensitive
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"equals-ignore-case": "RED"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"prefix": "Re"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"suffix": "ed"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"anything-but": ["Red", "Blue"]}]}}}}, False),
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"anything-but": "Blue"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"colour": {"S": [{"anything-but": {"prefix": "R"}}]}}}}, False),
    ({"price": [{"numeric": [">", 10, "<=", 12.5]}]}, True),
    ({"price": [{"numeric": ["<", 10]}]}, False),
    ({"price": [12.50]}, True),  # numbers compare as numbers
    ({"dynamodb": {"NewImage": {"size": {"N": [{"numeric": [">", 5]}]}}}}, False),  # "7" is a string
    ({"flag": [True]}, True),
    ({"nothing": [None]}, True),
    ({"tags": ["b"]}, True),  # a list field matches when one element does
    ({"missing": [{"exists": False}]}, True),
    ({"eventName": [{"exists": True}]}, True),
    ({"eventName": [{"exists": False}]}, False),
    ({"missing": ["x"]}, False),
    ({"eventName": ["INSERT"], "flag": [False]}, False),  # every field must match
    ({"$or": [{"eventName": ["REMOVE"]}, {"flag": [True]}]}, True),
    ({"$or": [{"eventName": ["REMOVE"]}, {"flag": [False]}]}, False),
])
def test_pattern_rules(pattern, expected):
    assert matches(pattern, RECORD) is expected


def test_any_of_several_filters_passes_a_record_and_none_passes_all():
    criteria = {"Filters": [{"Pattern": '{"eventName": ["REMOVE"]}'}, {"Pattern": '{"flag": [true]}'}]}
    assert passes(parse_filters(criteria), RECORD)
    assert passes(parse_filters(None), RECORD) and passes(parse_filters({"Filters": []}), RECORD)


@pytest.mark.parametrize("pattern", [
    "not json", "[1, 2]", '{"a": "b"}', '{"a": []}', '{"a": [{"numeric": [">", "x"]}]}',
    '{"a": [{"numeric": ["!", 1]}]}', '{"a": [{"prefix": 1}]}', '{"a": [{"exists": "yes"}]}',
    '{"a": [{"wildcard-ish": "x"}]}', '{"$or": [{"a": ["b"]}]}',
])
def test_patterns_lambda_refuses(pattern):
    with pytest.raises(InvalidPattern, match="Invalid filter pattern definition"):
        parse_filters({"Filters": [{"Pattern": pattern}]})


def test_more_than_five_filters_are_refused():
    with pytest.raises(InvalidPattern, match="maximum of 5"):
        parse_filters({"Filters": [{"Pattern": '{"a": ["b"]}'}] * 6})
