"""AttributeValues: every type round-trips, numbers come back in DynamoDB's canonical form, and each
invalid value, oversized item or too deep document is a ValidationException that writes nothing."""

from __future__ import annotations

import base64
import math

import pytest

from tests.api.helpers import MAX_ITEM_BYTES, validation_error

ORIGINAL = {"marker": {"S": "original"}}


def normalized(value):
    """Sets come back in any order: sort them, recursively, to compare."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def stored(dynamodb, table, key):
    return dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def assert_put_refused(client, table, key, attributes, message=None, match=None):
    """Store an original item, try to overwrite it with `attributes`: refused, and the original stays."""
    client.put_item(TableName=table, Item={**key, **ORIGINAL})
    with validation_error(message, match):
        client.put_item(TableName=table, Item={**key, **attributes})
    assert stored(client, table, key) == {**key, **ORIGINAL}


# --- every type round-trips --------------------------------------------------------------------------

VALUES = {
    "S": {"S": "héllo wörld 🌍 \t\n\"quoted\" \\ /"},
    "S-long": {"S": "x" * 5000},
    "N-int": {"N": "42"},
    "N-negative-fraction": {"N": "-12.5"},
    "B": {"B": bytes(range(256))},
    "BOOL-true": {"BOOL": True},
    "BOOL-false": {"BOOL": False},
    "NULL": {"NULL": True},
    "M": {"M": {"s": {"S": "a"}, "n": {"N": "1"}, "inner": {"M": {"deep": {"L": [{"BOOL": False}]}}}}},
    "M-empty": {"M": {}},
    "L": {"L": [{"S": "a"}, {"N": "1"}, {"B": b"\x00"}, {"NULL": True}, {"L": []}, {"M": {}}, {"SS": ["x"]}]},
    "L-empty": {"L": []},
    "SS": {"SS": ["b", "a", "ü", "A"]},
    "NS": {"NS": ["3", "-1", "2.5", "1000"]},
    "BS": {"BS": [b"\x00", b"\xff", b"ab"]},
    "M-odd-keys": {"M": {"": {"S": "empty key"}, "a.b": {"S": "dot"}, "#x": {"S": "hash"}, "ключ": {"S": "utf8"}}},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_attribute_value_round_trips_exactly(dynamodb, module_table, key, value):
    dynamodb.put_item(TableName=module_table, Item={**key, "v": value})
    assert normalized(stored(dynamodb, module_table, key)) == normalized({**key, "v": value})


def test_item_with_every_type_round_trips(dynamodb, module_table, key):
    item = {**key, **{name.replace("-", "_"): value for name, value in VALUES.items()}}
    dynamodb.put_item(TableName=module_table, Item=item)
    assert normalized(stored(dynamodb, module_table, key)) == normalized(item)


def test_binary_is_sent_and_returned_as_base64_on_the_wire(dynamodb, module_table, key):
    """boto3 decodes base64 for us; the raw bytes must survive exactly, including non-UTF-8 ones."""
    raw = bytes([0, 0xC3, 0x28, 0xFF, 0xFE, 0x80])
    dynamodb.put_item(TableName=module_table, Item={**key, "b": {"B": raw}, "bs": {"BS": [raw, b"x"]}})
    item = stored(dynamodb, module_table, key)
    assert item["b"] == {"B": raw}
    assert sorted(item["bs"]["BS"]) == sorted([raw, b"x"])
    assert base64.b64encode(raw) == b"AMMo//6A"


# --- numbers: exact decimals in canonical form ---------------------------------------------------------

CANONICAL = [
    ("1.50", "1.5"), ("0001", "1"), ("0.0", "0"), ("-0", "0"), ("1e3", "1000"), ("1E+2", "100"),
    ("1.0E2", "100"), ("0.0010", "0.001"), ("-00.100", "-0.1"), ("-1.23e-5", "-0.0000123"), ("100", "100"),
    ("0000012345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ("-00001.23456789012345678901234567890123456780000", "-1.2345678901234567890123456789012345678"),
    ("0009.99999999999999999999999999999999999990000e125", "9" * 38 + "0" * 88),
    ("-0009.99999999999999999999999999999999999990000e125", "-" + "9" * 38 + "0" * 88),
    ("0001.000e-130", "0." + "0" * 129 + "1"),
    ("-0001.000e-130", "-0." + "0" * 129 + "1"),
    ("1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000"),
    ("0.1", "0.1"), ("3.14159265358979323846264338327950288", "3.14159265358979323846264338327950288"),
]


@pytest.mark.parametrize("sent,returned", CANONICAL, ids=[s for s, _ in CANONICAL])
def test_number_is_returned_in_canonical_form(dynamodb, module_table, key, sent, returned):
    dynamodb.put_item(TableName=module_table, Item={**key, "n": {"N": sent}})
    assert stored(dynamodb, module_table, key)["n"] == {"N": returned}


def test_numbers_inside_sets_lists_and_maps_are_canonical(dynamodb, module_table, key):
    dynamodb.put_item(TableName=module_table, Item={
        **key, "ns": {"NS": ["1.0", "2.50", "-0.10"]},
        "l": {"L": [{"N": "01"}, {"M": {"x": {"N": "5.000"}}}]},
    })
    item = stored(dynamodb, module_table, key)
    assert sorted(item["ns"]["NS"]) == sorted(["1", "2.5", "-0.1"])
    assert item["l"] == {"L": [{"N": "1"}, {"M": {"x": {"N": "5"}}}]}


def test_numbers_are_never_floats(dynamodb, module_table, key):
    """0.1 + 0.2 style values and 38-digit values survive without binary floating point rounding."""
    numbers = ["0.1", "0.2", "0.3", "1.1", "9007199254740993", "12345678901234567890.123456789012345678"]
    dynamodb.put_item(TableName=module_table, Item={**key, **{f"n{i}": {"N": n} for i, n in enumerate(numbers)}})
    item = stored(dynamodb, module_table, key)
    assert [item[f"n{i}"]["N"] for i in range(len(numbers))] == numbers


NUMBER_ERRORS = [
    ("123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
    ("-1.23456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
    ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("-1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ("1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ("-1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ("b", "The parameter cannot be converted to a numeric value: b"),
    ("", "The parameter cannot be converted to a numeric value"),
    ("1.2.3", "The parameter cannot be converted to a numeric value: 1.2.3"),
]


@pytest.mark.parametrize("number,message", NUMBER_ERRORS, ids=[n or "<empty>" for n, _ in NUMBER_ERRORS])
def test_invalid_number_is_refused(dynamodb, module_table, key, number, message):
    assert_put_refused(dynamodb, module_table, key, {"n": {"N": number}}, message)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "0x10", "1,000", "1_000", " 1", "1e", "e5", "--1"])
def test_number_that_is_not_a_decimal_is_refused(dynamodb, module_table, key, number):
    assert_put_refused(dynamodb, module_table, key, {"n": {"N": number}})


def test_invalid_number_inside_a_document_is_refused(dynamodb, module_table, key):
    message = "The parameter cannot be converted to a numeric value: abc"
    assert_put_refused(dynamodb, module_table, key, {"m": {"M": {"x": {"L": [{"N": "abc"}]}}}}, message)


def test_invalid_number_in_a_number_set_is_refused(dynamodb, module_table, key):
    message = "The parameter cannot be converted to a numeric value: b"
    assert_put_refused(dynamodb, module_table, key, {"ns": {"NS": ["1", "b"]}}, message)


def test_number_of_38_significant_digits_at_the_range_limits_is_accepted(dynamodb, module_table, key):
    item = {**key, "big": {"N": "9.9999999999999999999999999999999999999E+125"}, "small": {"N": "1E-130"},
            "neg": {"N": "-9.9999999999999999999999999999999999999E+125"}}
    dynamodb.put_item(TableName=module_table, Item=item)
    got = stored(dynamodb, module_table, key)
    assert got["big"]["N"] == "9" * 38 + "0" * 88
    assert got["small"]["N"] == "0." + "0" * 129 + "1"
    assert got["neg"]["N"] == "-" + "9" * 38 + "0" * 88


# --- sets, NULL and the shape of an AttributeValue ---------------------------------------------------

INVALID = [
    ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty", None),
    ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty", None),
    ({"BS": []}, "One or more parameter values were invalid: Binary sets should not be empty", None),
    ({"SS": ["a", "a"]}, "One or more parameter values were invalid: Input collection [a, a] contains duplicates.", None),
    ({"BS": [b"b", b"b"]},
     "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates.", None),
    ({"NS": ["1", "1"]}, None, "contains duplicates"),
    ({"NULL": False}, "One or more parameter values were invalid: Null attribute value types must have the value of true", None),
    ({"L": [{"SS": []}]}, "One or more parameter values were invalid: An string set  may not be empty", None),
    ({"M": {"x": {"NS": ["2", "2"]}}}, None, "contains duplicates"),
]


@pytest.mark.parametrize("value,message,match", INVALID, ids=[str(v) for v, _, _ in INVALID])
def test_invalid_attribute_value_is_refused(dynamodb, module_table, key, value, message, match):
    assert_put_refused(dynamodb, module_table, key, {"v": value}, message, match)


@pytest.mark.parametrize("value", [{}, {"M": {"x": {}}}, {"L": [{}]}], ids=["top", "in-map", "in-list"])
def test_attribute_value_without_a_type_is_refused(lenient, module_table, key, value):
    message = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    assert_put_refused(lenient, module_table, key, {"v": value}, message)


def test_attribute_value_with_two_types_is_refused(lenient, module_table, key):
    message = ("Supplied AttributeValue has more than one datatypes set, "
               "must contain exactly one of the supported datatypes")
    assert_put_refused(lenient, module_table, key, {"v": {"S": "a", "N": "1"}}, message)


# --- key attributes ----------------------------------------------------------------------------------


def test_empty_string_hash_key_is_refused(dynamodb, module_table):
    with validation_error(match=r"The AttributeValue for a key attribute cannot contain an empty string value\. Key: pk$"):
        dynamodb.put_item(TableName=module_table, Item={"pk": {"S": ""}, "v": {"S": "x"}})


def test_empty_string_key_in_get_item_is_refused(dynamodb, module_table):
    with validation_error(match=r"The AttributeValue for a key attribute cannot contain an empty string value\. Key: pk$"):
        dynamodb.get_item(TableName=module_table, Key={"pk": {"S": ""}})


def test_empty_binary_sort_key_is_refused(dynamodb, make_table):
    table = make_table(range_key=("sk", "B"))
    with validation_error(match=r"The AttributeValue for a key attribute cannot contain an empty binary value\. Key: sk$"):
        dynamodb.put_item(TableName=table.name, Item={"pk": {"S": "a"}, "sk": {"B": b""}})


def test_key_of_the_wrong_type_is_refused_and_nothing_is_written(dynamodb, composite_table):
    with validation_error("One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S"):
        dynamodb.put_item(TableName=composite_table.name, Item={"pk": {"S": "a"}, "sk": {"S": "1"}})
    assert stored(dynamodb, composite_table.name, {"pk": {"S": "a"}, "sk": {"N": "1"}}) is None


# --- item size: 400 KB, counted the way DynamoDB counts it --------------------------------------------
# AWS, "Item sizes and formats": attribute name bytes (UTF-8) plus: String -> UTF-8 bytes; Number ->
# 1 byte per two significant digits + 1; Binary -> raw bytes; Null/Boolean -> 1; List/Map -> 3 bytes +
# the elements, plus 1 byte per element (a Map element also counts its key). Sets: their elements.


def value_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "B":
        return len(v)
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0").rstrip("0")
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(e) + 1 for k, e in v.items())
    raise AssertionError(kind)


def item_size(item: dict) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def padded(item: dict, pad_name: str, total: int, fill: str = "x") -> dict:
    """`item` plus a string attribute that brings its size to exactly `total` bytes (`fill` repeated,
    then ASCII for any remainder)."""
    room = total - item_size(item) - len(pad_name.encode())
    unit = len(fill.encode())
    assert room >= 0
    result = {**item, pad_name: {"S": fill * (room // unit) + "x" * (room % unit)}}
    assert item_size(result) == total
    return result


def test_size_rules_match_dynamodbs_worked_examples():
    """Items that AWS bills at exactly 4 KB (dynalite's GetItem capacity tests, recorded against AWS)."""
    first = {"a": {"S": "x" * 10}, "bb": {"S": "b" * 3999}, "ccc": {"N": "12.3456"}, "dddd": {"B": b"\x01\x02"},
             "eeeee": {"BS": [b"\x01\x02", b"\x02", b"\x01"]}, "ffffff": {"NULL": True}, "ggggggg": {"BOOL": False},
             "hhhhhhhh": {"L": [{"S": "a"}, {"S": "aa"}, {"S": "bb"}, {"S": "ccc"}]},
             "iiiiiiiii": {"M": {"aa": {"S": "aa"}, "bbb": {"S": "bbb"}}}}
    second = {"a": {"S": "x" * 10}, "ab": {"S": "b" * 4026}, "abc": {"NULL": True}, "abcd": {"BOOL": True},
              "abcde": {"L": [{"S": "aa"}, {"N": "12.3456"}, {"B": b"\x01\x02"}]},
              "abcdef": {"M": {"aa": {"S": "aa"}, "bbb": {"N": "12.3456"}, "cccc": {"B": b"\x01\x02"}}}}
    assert item_size(first) == 4096
    assert item_size(second) == 4096


@pytest.mark.parametrize("total,accepted", [(MAX_ITEM_BYTES, True), (MAX_ITEM_BYTES + 1, False)],
                         ids=["exactly-400KB", "one-byte-over"])
def test_item_size_limit_with_string_attributes(dynamodb, module_table, key, total, accepted):
    check_size_limit(dynamodb, module_table, key, padded(dict(key), "d", total), accepted)


@pytest.mark.parametrize("total,accepted", [(MAX_ITEM_BYTES, True), (MAX_ITEM_BYTES + 1, False)],
                         ids=["exactly-400KB", "one-byte-over"])
def test_item_size_limit_counts_utf8_bytes(dynamodb, module_table, key, total, accepted):
    item = padded({**key, "ñame": {"S": "日本"}}, "é", total, fill="é")
    check_size_limit(dynamodb, module_table, key, item, accepted)


@pytest.mark.parametrize("total,accepted", [(MAX_ITEM_BYTES, True), (MAX_ITEM_BYTES + 1, False)],
                         ids=["exactly-400KB", "one-byte-over"])
def test_item_size_limit_counts_raw_binary_bytes(dynamodb, module_table, key, total, accepted):
    base = {**key, "b": {"B": b""}}
    room = total - item_size(base)
    item = {**key, "b": {"B": bytes(i % 256 for i in range(room))}}
    assert item_size(item) == total
    check_size_limit(dynamodb, module_table, key, item, accepted)


@pytest.mark.parametrize("total,accepted", [(MAX_ITEM_BYTES, True), (MAX_ITEM_BYTES + 1, False)],
                         ids=["exactly-400KB", "one-byte-over"])
def test_item_size_limit_counts_every_type(dynamodb, module_table, key, total, accepted):
    base = {**key, "n": {"N": "12.3456"}, "t": {"BOOL": True}, "z": {"NULL": True}, "bin": {"B": b"\x01\x02\x03"},
            "bs": {"BS": [b"\x01\x02", b"\x03"]},
            "l": {"L": [{"S": "aa"}, {"N": "12.3456"}, {"B": b"\x01\x02"}]},
            "mp": {"M": {"aa": {"S": "aa"}, "bbb": {"N": "12.3456"}, "cccc": {"B": b"\x01\x02"}}}}
    check_size_limit(dynamodb, module_table, key, padded(base, "pad", total), accepted)


def check_size_limit(dynamodb, table, key, item, accepted):
    dynamodb.put_item(TableName=table, Item={**key, **ORIGINAL})
    if accepted:
        dynamodb.put_item(TableName=table, Item=item)
        assert normalized(stored(dynamodb, table, key)) == normalized(item)
    else:
        with validation_error("Item size has exceeded the maximum allowed size"):
            dynamodb.put_item(TableName=table, Item=item)
        assert stored(dynamodb, table, key) == {**key, **ORIGINAL}


# --- nesting: at most 32 levels -----------------------------------------------------------------------


def nested(levels: int, kind: str) -> dict:
    """The attribute itself is level 1: `levels` containers around a scalar put it at level levels+1."""
    value = {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}} if kind == "M" else {"L": [value]}
    return value


@pytest.mark.parametrize("kind", ["M", "L"])
def test_document_nested_32_levels_is_accepted(dynamodb, module_table, key, kind):
    item = {**key, "deep": nested(31, kind)}
    dynamodb.put_item(TableName=module_table, Item=item)
    assert stored(dynamodb, module_table, key) == item


@pytest.mark.parametrize("kind", ["M", "L"])
def test_document_nested_33_levels_is_refused(dynamodb, module_table, key, kind):
    assert_put_refused(dynamodb, module_table, key, {"deep": nested(32, kind)},
                       match=r"^Nesting Levels have exceeded supported limits")
