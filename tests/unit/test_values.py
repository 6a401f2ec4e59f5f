"""The AttributeValue model: validation messages, canonical numbers, sizes, equality, order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from table_api.errors import SerializationException, ValidationException
from table_api.values import (
    MAX_ITEM_SIZE,
    compare,
    decimal_parts,
    equal,
    format_number,
    item_size,
    normalize_number,
    number,
    number_size,
    parse_number,
    type_of,
    validate_item,
    validate_item_size,
    validate_value,
)


def message_of(item) -> str:
    with pytest.raises(ValidationException) as info:
        validate_item(item)
    return info.value.message


def nested(levels: int, leaf=None) -> dict:
    value = leaf or {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}}
    return value


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire, canonical",
    [
        ("1.50", "1.5"), ("01", "1"), ("1e2", "100"), ("-0", "0"), ("0.0", "0"), ("1E-5", "0.00001"),
        ("1.0E+3", "1000"), ("+7", "7"), (".5", "0.5"), ("5.", "5"), ("-0015.789e6", "-15789000"),
        ("0000012345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("-00001.23456789012345678901234567890123456780000", "-1.2345678901234567890123456789012345678"),
        ("0009.99999999999999999999999999999999999990000e125", "9" * 38 + "0" * 88),
        ("0001.000e-130", "0." + "0" * 129 + "1"),
    ],
)
def test_numbers_come_back_in_dynamodb_canonical_form(wire, canonical):
    assert normalize_number(wire) == canonical


@pytest.mark.parametrize(
    "wire, message",
    [
        ("", "The parameter cannot be converted to a numeric value"),
        ("b", "The parameter cannot be converted to a numeric value: b"),
        ("1e", "The parameter cannot be converted to a numeric value: 1e"),
        ("NaN", "The parameter cannot be converted to a numeric value: NaN"),
        ("Infinity", "The parameter cannot be converted to a numeric value: Infinity"),
        (" 1", "The parameter cannot be converted to a numeric value:  1"),
        ("1_000", "The parameter cannot be converted to a numeric value: 1_000"),
        ("١", "The parameter cannot be converted to a numeric value: ١"),  # Arabic-Indic digit
        ("1e99999999999", "The parameter cannot be converted to a numeric value: 1e99999999999"),
        ("123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
        ("-1.23456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
        ("1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("-1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        ("-1e-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ],
)
def test_invalid_numbers_are_refused_with_dynamodb_messages(wire, message):
    assert message_of({"a": {"N": wire}}) == message


def test_zero_with_any_exponent_is_zero():
    assert normalize_number("0e999999") == "0"
    assert normalize_number("-0.000e-400") == "0"


def slow_normalize(text: str) -> str:
    """The exact path that `normalize_number` skips for numbers already canonical."""
    return format_number(parse_number(text))


def outcome(normalize, text: str):
    try:
        return normalize(text)
    except ValidationException as exc:
        return ("refused", exc.message)


NUMBER_TEXTS = st.one_of(
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: f"{d:f}"),
    st.from_regex(r"\A[+-]?[0-9]{0,42}(\.[0-9]{0,42})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.text("0123456789.-+eE", max_size=45),
)


@settings(max_examples=1000)
@given(NUMBER_TEXTS)
def test_the_canonical_number_shortcut_agrees_with_the_exact_path(text):
    assert outcome(normalize_number, text) == outcome(slow_normalize, text)


@settings(max_examples=1000)
@given(NUMBER_TEXTS)
def test_sizes_of_canonical_numbers_read_from_their_text_agree_with_decimal(text):
    try:
        canonical = normalize_number(text)
    except ValidationException:
        return
    negative, digits, exponent = decimal_parts(Decimal(canonical))
    pairs = exponent // 2 - (exponent - len(digits) + 1) // 2 + 1
    assert number_size(canonical) == (1 + pairs + negative if digits else 1)


@pytest.mark.parametrize("text", ["0", "-1", "7", "-0.5", "0.001", "123.456", "9" * 38, "0." + "0" * 35 + "1"])
def test_canonical_numbers_come_back_as_sent(text):
    assert normalize_number(text) == slow_normalize(text) == text


def test_number_reads_long_canonical_numbers_exactly():
    assert number({"N": "1" + "0" * 39}) == Decimal("1e39")


# -- the shape of an AttributeValue -----------------------------------------------------------


@pytest.mark.parametrize("value", [{}, {"a": ""}, {"S": None}, {"M": {"a": {}}}, {"L": [{}]}, {"L": [{"a": {}}]}])
def test_value_without_a_known_type_is_empty(value):
    assert message_of({"a": value}) == "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"


def test_value_with_two_types_is_refused():
    assert message_of({"a": {"S": "a", "N": "1"}}) == (
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
    )


def test_a_bad_number_is_reported_before_a_second_type():
    assert message_of({"a": {"S": "a", "N": "b"}}) == "The parameter cannot be converted to a numeric value: b"


def test_unknown_members_of_a_value_are_ignored():
    assert validate_item({"a": {"S": "x", "Z": 1}}) == {"a": {"S": "x"}}


@pytest.mark.parametrize(
    "value, message",
    [
        ({"S": 1}, "NUMBER_VALUE can not be converted to a String"),
        ({"S": True}, "TRUE_VALUE can not be converted to a String"),
        ({"S": ["a"]}, "Start of list found where not expected"),
        ({"N": {"a": 1}}, "Start of structure or map found where not expected."),
        ({"BOOL": "true"}, "STRING_VALUE can not be converted to a Boolean"),
        ({"SS": "a"}, "Expected list or null"),
        ({"M": 1}, "Expected map or null"),
        ("x", "Expected null"),
        ({"B": "abc"}, "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"),
        ({"B": "ab!="}, "'ab!=' can not be converted to a Blob: Invalid Base64 character: '!'"),
    ],
)
def test_json_of_the_wrong_type_is_a_serialization_error(value, message):
    with pytest.raises(SerializationException) as info:
        validate_item({"a": value})
    assert info.value.message == message


def test_null_must_be_true():
    assert message_of({"a": {"NULL": False}}) == (
        "One or more parameter values were invalid: Null attribute value types must have the value of true"
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ({"SS": []}, "An string set  may not be empty"),
        ({"NS": []}, "An number set  may not be empty"),
        ({"BS": []}, "Binary sets should not be empty"),
        ({"SS": ["a", "a"]}, "Input collection [a, a] contains duplicates."),
        ({"BS": ["Yg==", "Yg=="]}, "Input collection [Yg==, Yg==]of type BS contains duplicates."),
    ],
)
def test_sets_must_be_non_empty_and_unique(value, message):
    assert message_of({"a": value}) == "One or more parameter values were invalid: " + message


def test_number_set_duplicates_compare_numerically():
    assert message_of({"a": {"NS": ["1", "1.0"]}}) == "Input collection contains duplicates"


@pytest.mark.parametrize(
    "value, message",
    [
        ({"NS": ["1", ""]}, "The parameter cannot be converted to a numeric value"),
        ({"NS": ["1", "b"]}, "The parameter cannot be converted to a numeric value: b"),
    ],
)
def test_number_set_members_are_numbers(value, message):
    assert message_of({"a": value}) == message


def test_empty_strings_and_binaries_are_allowed_outside_keys():
    item = {"b": {"S": ""}, "c": {"B": ""}, "d": {"SS": [""]}, "e": {"BS": [""]}}
    assert validate_item(item) == item


def test_validation_normalises_numbers_everywhere():
    item = {"n": {"N": "1.50"}, "ns": {"NS": ["1e2", "-0"]}, "l": {"L": [{"N": "01"}]}, "m": {"M": {"x": {"N": "2.0"}}}}
    assert validate_item(item) == {
        "n": {"N": "1.5"}, "ns": {"NS": ["100", "0"]}, "l": {"L": [{"N": "1"}]}, "m": {"M": {"x": {"N": "2"}}},
    }


def test_binary_stays_base64_text():
    assert validate_item({"b": {"B": "YWJj"}, "bs": {"BS": ["Yg=="]}}) == {"b": {"B": "YWJj"}, "bs": {"BS": ["Yg=="]}}


def test_a_null_attribute_value_is_refused():
    assert message_of({"a": None}) == "The supplied Item contains a null AttributeValue"


NESTING = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"


def test_items_may_nest_31_maps_or_lists():
    assert validate_item({"a": nested(31)})


def test_items_may_not_nest_32_maps_or_lists():
    assert message_of({"a": nested(32)}) == NESTING
    assert message_of({"a": nested(31, {"L": []})}) == NESTING


def test_nesting_is_reported_before_a_bad_number_below_it():
    assert message_of({"a": nested(40, {"N": "abc"})}) == NESTING


def test_validate_value_checks_a_single_value():
    assert validate_value({"N": "1.0"}) == {"N": "1"}
    with pytest.raises(ValidationException, match="Supplied AttributeValue is empty"):
        validate_value({})


# -- size --------------------------------------------------------------------------------------


def test_string_size_is_name_plus_utf8_bytes():
    assert item_size({"ab": {"S": "é"}}) == 2 + 2


def test_binary_size_is_the_raw_length():
    assert item_size({"b": {"B": "YWJj"}}) == 1 + 3


def test_bool_and_null_are_one_byte():
    assert item_size({"f": {"BOOL": False}, "n": {"NULL": True}}) == 4


def test_list_and_map_have_3_bytes_overhead_plus_1_per_element():
    assert item_size({"l": {"L": []}}) == 1 + 3
    assert item_size({"l": {"L": [{"S": "xy"}]}}) == 1 + 3 + 1 + 2
    assert item_size({"m": {"M": {"k": {"S": "xy"}}}}) == 1 + 3 + 1 + 1 + 2


def test_sets_count_their_members():
    assert item_size({"s": {"SS": ["a", "bc"]}, "b": {"BS": ["Yg==", "YWJj"]}}) == 1 + 3 + 1 + 4


@pytest.mark.parametrize(
    "n, size",
    [
        ("0", 1), ("1", 2), ("12", 2), ("1.2", 3), ("123", 3), ("123.4", 4), ("-1", 3),
        ("1" + "0" * 125, 2), ("11" + "0" * 124, 2), ("11111" + "0" * 121, 4), ("111111" + "0" * 120, 4),
        ("1111111" + "0" * 119, 5), ("1" * 38 + "0" * 88, 20),
    ],
)
def test_number_size_is_one_byte_per_digit_pair_plus_one(n, size):
    # The large cases are dynalite's byte-exact item size limit tests against DynamoDB.
    assert item_size({"": {"N": n}}) == size


def test_item_size_limit_is_400_kb():
    key = {"a": {"S": "k"}}
    validate_item_size({**key, "b": {"S": "x" * (MAX_ITEM_SIZE - 3)}})
    with pytest.raises(ValidationException, match="^Item size has exceeded the maximum allowed size$"):
        validate_item_size({**key, "b": {"S": "x" * (MAX_ITEM_SIZE - 2)}})


# -- equality and order ------------------------------------------------------------------------


def test_numbers_are_equal_by_value():
    assert equal({"N": "1"}, {"N": "1.00"})
    assert not equal({"N": "1"}, {"S": "1"})


def test_sets_are_equal_regardless_of_order():
    assert equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert equal({"NS": ["1", "2"]}, {"NS": ["2.0", "1"]})
    assert not equal({"SS": ["a"]}, {"SS": ["a", "b"]})


def test_maps_and_lists_compare_deeply():
    assert equal({"M": {"a": {"L": [{"N": "1"}]}}}, {"M": {"a": {"L": [{"N": "1.0"}]}}})
    assert not equal({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})
    assert not equal({"M": {"a": {"NULL": True}}}, {"M": {"b": {"NULL": True}}})


def test_binary_equality_is_by_bytes():
    assert equal({"B": "YWJj"}, {"B": "YWJj"})
    assert not equal({"B": "YWJj"}, {"B": "YWJk"})


def test_strings_order_by_utf8_bytes():
    assert compare({"S": "a"}, {"S": "b"}) == -1
    assert compare({"S": "\uffff"}, {"S": "\U0001f600"}) == -1  # UTF-16 order would say otherwise
    assert compare({"S": "Z"}, {"S": "a"}) == -1


def test_numbers_order_by_value():
    assert compare({"N": "-10"}, {"N": "9"}) == -1
    assert compare({"N": "1.0"}, {"N": "1"}) == 0


def test_binaries_order_as_unsigned_bytes():
    assert compare({"B": "AA=="}, {"B": "/w=="}) == -1  # 0x00 < 0xff


@pytest.mark.parametrize("a, b", [({"S": "1"}, {"N": "1"}), ({"BOOL": True}, {"BOOL": False}), ({"L": []}, {"L": []})])
def test_other_pairs_have_no_order(a, b):
    assert compare(a, b) is None


def test_type_of_names_the_one_type():
    assert type_of({"NS": ["1"]}) == "NS"


# -- properties --------------------------------------------------------------------------------


def numbers_38() -> st.SearchStrategy[str]:
    """Numbers of up to 38 significant digits over DynamoDB's whole range, in odd spellings."""
    digits = st.integers(1, 10**38 - 1).map(str).map(lambda d: d.rstrip("0") or "0")
    return st.builds(
        lambda sign, d, exp, pad: f"{sign}{'0' * pad}{d[0]}.{d[1:]}{'0' * pad}E{exp}",
        st.sampled_from(["", "-", "+"]), digits, st.integers(-130, 125), st.integers(0, 3),
    )


@given(numbers_38())
def test_normalize_number_keeps_the_exact_value(text):
    canonical = normalize_number(text)
    assert Decimal(canonical) == Decimal(text)
    assert normalize_number(canonical) == canonical
    assert "E" not in canonical.upper()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["1", "-1.5e3", "", "YWJj", "Yg==", "1e200"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["S", "N", "B", "SS", "NS", "BS", "M", "L", "BOOL", "NULL", "x"]), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=3), json_values, max_size=4) | json_values)
def test_validate_item_raises_only_aws_errors_on_junk(junk):
    try:
        item = validate_item(junk)
    except (ValidationException, SerializationException):
        return
    assert validate_item(item) == item  # what passes is normalised for good
    item_size(item)
