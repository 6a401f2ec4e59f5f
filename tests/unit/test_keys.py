"""Key schemas, DynamoDB's key validation messages, and the order-preserving key encoding."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from table_api.errors import ValidationException
from table_api.keys import KeySchema, decode_key_value, encode_key, encode_key_value
from table_api.values import validate_item

HASH = KeySchema.from_wire([{"AttributeName": "a", "KeyType": "HASH"}], [{"AttributeName": "a", "AttributeType": "S"}])
RANGE = KeySchema.from_wire(
    [{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "RANGE"}],
    [{"AttributeName": "b", "AttributeType": "B"}, {"AttributeName": "a", "AttributeType": "S"}],
)


def message_of(call, *args) -> str:
    with pytest.raises(ValidationException) as info:
        call(*args)
    return info.value.message


# -- the schema --------------------------------------------------------------------------------


def test_schema_is_read_from_the_table_description():
    assert RANGE == KeySchema("a", "S", "b", "B")
    assert HASH.range_name is None and HASH.range_type is None
    assert RANGE.names == ("a", "b")


def test_key_of_keeps_only_key_attributes():
    assert RANGE.key_of({"a": {"S": "x"}, "b": {"B": "YQ=="}, "c": {"N": "1"}}) == {"a": {"S": "x"}, "b": {"B": "YQ=="}}


# -- Key parameters (GetItem, DeleteItem) ------------------------------------------------------


@pytest.mark.parametrize(
    "key", [{}, {"b": {"S": "a"}}, {"a": {"N": "1"}}, {"a": {"S": "a"}, "b": {"S": "b"}}, {"a": {"SS": ["a"]}}]
)
def test_key_that_does_not_match_the_schema_is_refused(key):
    assert message_of(HASH.validate_key, key) == "The provided key element does not match the schema"


def test_key_without_its_range_part_is_refused():
    assert message_of(RANGE.validate_key, {"a": {"S": "a"}}) == "The provided key element does not match the schema"


def test_inexact_key_may_carry_other_attributes():
    assert HASH.validate_key({"a": {"S": "x"}, "z": {"N": "1"}}, exact=False) == {"a": {"S": "x"}}


def test_empty_string_key_is_refused():
    assert message_of(HASH.validate_key, {"a": {"S": ""}}) == (
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: a"
    )


def test_empty_binary_key_is_refused():
    assert message_of(RANGE.validate_key, {"a": {"S": "a"}, "b": {"B": ""}}) == (
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: b"
    )


def test_key_sizes_are_limited():
    assert message_of(HASH.validate_key, {"a": {"S": "x" * 2049}}) == (
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
    )
    big_range = {"a": {"S": "a"}, "b": {"B": base64.b64encode(b"x" * 1025).decode()}}
    assert message_of(RANGE.validate_key, big_range) == (
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    )
    assert HASH.validate_key({"a": {"S": "x" * 2048}})


def test_validated_key_has_a_canonical_number():
    schema = KeySchema("n", "N")
    assert schema.validate_key(validate_item({"n": {"N": "1.50"}}, what="Key")) == {"n": {"N": "1.5"}}


# -- PutItem items -----------------------------------------------------------------------------


@pytest.mark.parametrize("item", [{}, {"b": {"S": "a"}}])
def test_item_without_its_key_is_refused(item):
    assert message_of(HASH.validate_item_key, item) == "One or more parameter values were invalid: Missing the key a in the item"


def test_item_without_its_range_key_is_refused():
    assert message_of(RANGE.validate_item_key, {"a": {"S": "a"}}) == (
        "One or more parameter values were invalid: Missing the key b in the item"
    )


@pytest.mark.parametrize("value", [{"B": "abcd"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}, {"SS": ["a"]}, {"M": {}}, {"L": []}])
def test_item_key_of_the_wrong_type_is_refused(value):
    actual = next(iter(value))
    assert message_of(HASH.validate_item_key, {"a": value}) == (
        f"One or more parameter values were invalid: Type mismatch for key a expected: S actual: {actual}"
    )


def test_item_with_empty_key_is_refused():
    assert message_of(HASH.validate_item_key, {"a": {"S": ""}}).endswith("cannot contain an empty string value. Key: a")


def test_item_with_a_valid_key_passes():
    HASH.validate_item_key({"a": {"S": "x"}, "other": {"S": ""}})


# -- the encoding ------------------------------------------------------------------------------


def test_encode_key_gives_partition_and_sort_bytes():
    assert encode_key(HASH, {"a": {"S": "é"}}) == ("é".encode(), b"")
    assert encode_key(RANGE, {"a": {"S": "x"}, "b": {"B": "AP8="}}) == (b"x", b"\x00\xff")


def test_numbers_encode_in_numeric_order():
    spelled = ["-1e125", "-10", "-9.5", "-1", "-0.001", "0", "1e-130", "0.5", "2", "10", "9.99e125"]
    encoded = [encode_key_value({"N": n}) for n in spelled]
    assert encoded == sorted(encoded)


def test_equal_numbers_encode_identically():
    assert encode_key_value({"N": "1.0"}) == encode_key_value({"N": "1"}) == encode_key_value({"N": "0.1e1"})
    assert encode_key_value({"N": "-0"}) == encode_key_value({"N": "0.000"})


def test_numbers_decode_to_canonical_form():
    assert decode_key_value(encode_key_value({"N": "-001.50e2"}), "N") == {"N": "-150"}


def test_non_key_types_cannot_be_encoded():
    with pytest.raises(ValueError):
        encode_key_value({"BOOL": True})


# -- properties --------------------------------------------------------------------------------


def dynamo_numbers() -> st.SearchStrategy[Decimal]:
    """Any number DynamoDB stores: zero, or up to 38 digits with exponent -130..125, either sign."""
    digits = st.integers(1, 10**38 - 1).map(str)
    nonzero = st.builds(
        lambda negative, d, exp: Decimal(f"{'-' if negative else ''}{d[0]}.{d[1:]}E{exp}"),
        st.booleans(), digits, st.integers(-130, 125),
    )
    return nonzero | st.just(Decimal(0)) | st.integers(-1000, 1000).map(Decimal)


def spelling(value: Decimal, zeros: int) -> str:
    """Another spelling of the same number: exponent notation with padding zeros."""
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)) + "0" * zeros
    return f"{'-' if sign else ''}{text}E{exponent - zeros}"


def sign(x) -> int:
    return (x > 0) - (x < 0)


@given(dynamo_numbers(), dynamo_numbers())
def test_number_encoding_order_is_numeric_order(x, y):
    ex, ey = encode_key_value({"N": str(x)}), encode_key_value({"N": str(y)})
    assert sign((ex > ey) - (ex < ey)) == sign(x - y)


@given(dynamo_numbers(), st.integers(0, 5))
def test_number_encoding_ignores_spelling(x, zeros):
    assert encode_key_value({"N": spelling(x, zeros)}) == encode_key_value({"N": str(x)})


@given(dynamo_numbers())
def test_numbers_round_trip_through_the_encoding(x):
    decoded = decode_key_value(encode_key_value({"N": str(x)}), "N")["N"]
    assert Decimal(decoded) == x
    assert "E" not in decoded.upper()


@given(st.text(), st.text())
def test_string_encoding_order_is_utf8_order(a, b):
    ea, eb = encode_key_value({"S": a}), encode_key_value({"S": b})
    assert (ea < eb) == (a.encode() < b.encode())
    assert decode_key_value(ea, "S") == {"S": a}


@given(st.binary(), st.binary())
def test_binary_encoding_order_is_unsigned_byte_order(a, b):
    wire_a = {"B": base64.b64encode(a).decode()}
    ea, eb = encode_key_value(wire_a), encode_key_value({"B": base64.b64encode(b).decode()})
    assert (ea < eb) == (a < b)
    assert decode_key_value(ea, "B") == wire_a
