"""The AttributeValue model: validation, normalisation, comparison and size.

Attribute values stay in wire form: a dict with exactly one key, e.g. {"S": "x"},
{"N": "1.5"}, {"L": [...]}. This module owns all type logic.

Internal forms, as `validate_item` / `validate_value` return them:
- N (and NS members): a string in DynamoDB's canonical form, the one DynamoDB answers
  with: no exponent, no leading or trailing zeros, no "-0" ("1.50" -> "1.5", "1e2" -> "100").
  Numbers are exact decimals; `number()` gives their `Decimal`, never a float.
- B (and BS members): the base64 *string* as on the wire, re-encoded canonically. It is
  decoded only where bytes matter: size, comparison, key encoding (`binary()`).
- Everything else exactly as on the wire.

Validation raises ValidationException with DynamoDB's own messages, and
SerializationException where AWS's JSON layer would (a JSON value of the wrong type).
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from functools import lru_cache
from typing import Any

from table_api.errors import SerializationException, ValidationException

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

# For arithmetic on numbers (UpdateExpression +/-, ADD): 38 digits, magnitude 1E-130 .. <1E+126.
# Exact values are read with Decimal(), never through a context (which would round).
DYNAMO = Context(prec=38, Emin=-130, Emax=125, traps=[Inexact, Rounded, Overflow, Underflow, Clamped])

MAX_ITEM_SIZE = 400 * 1024
MAX_NESTING = 32  # M/L levels; the item is level 0, its attributes' values level 1
# The order in which DynamoDB looks at the members of an AttributeValue: the first problem wins.
TYPES = ("S", "SS", "N", "NS", "B", "BS", "M", "L", "BOOL", "NULL")

INVALID = "One or more parameter values were invalid: "
EMPTY_VALUE = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
MANY_TYPES = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
NOT_NUMERIC = "The parameter cannot be converted to a numeric value"
TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
NESTING = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
NULL_FALSE = INVALID + "Null attribute value types must have the value of true"
EMPTY_SET = {"SS": INVALID + "An string set  may not be empty", "NS": INVALID + "An number set  may not be empty",
             "BS": INVALID + "Binary sets should not be empty"}
TOO_LARGE = "Item size has exceeded the maximum allowed size"

# Java BigDecimal syntax; its exponent must fit in a 32-bit int.
# (Unambiguous on purpose: a pattern like [0-9]+\.?[0-9]* backtracks quadratically on long junk.)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_BASE64_CHAR = re.compile(r"[^A-Za-z0-9+/=]")


def number(av: AttributeValue) -> Decimal:
    return Decimal(av["N"])


def binary(av: AttributeValue) -> bytes:
    return base64.b64decode(av["B"])


def type_of(av: AttributeValue) -> str:
    return next(iter(av))


def utf8(text: str) -> bytes:
    """A string's UTF-8 bytes; never fails (a lone surrogate from a JSON escape passes through)."""
    return text.encode("utf-8", "surrogatepass")


# -- numbers -----------------------------------------------------------------------------------


def parse_number(text: str) -> Decimal:
    """The exact value of a wire number; ValidationException if DynamoDB would refuse it."""
    if not text:
        raise ValidationException(NOT_NUMERIC)
    match = _NUMBER.fullmatch(text)
    if match is None or not _fits_int32(match.group(1)):
        raise ValidationException(f"{NOT_NUMERIC}: {text}")
    return check_number(Decimal(text))


def _fits_int32(exponent: str | None) -> bool:
    if exponent is None:
        return True
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    return len(digits) <= 10 and int(digits) < 2**31


def check_number(value: Decimal) -> Decimal:
    """`value` if DynamoDB can store it (also for results of arithmetic), else ValidationException."""
    _, digits, exponent = decimal_parts(value)
    if not digits:
        return value
    if exponent > 125:
        raise ValidationException(OVERFLOW)
    if exponent < -130:
        raise ValidationException(UNDERFLOW)
    if len(digits) > 38:
        raise ValidationException(TOO_PRECISE)
    return value


def decimal_parts(value: Decimal) -> tuple[bool, str, int]:
    """(negative, significant digits, exponent of the first digit); zero is (False, "", 0)."""
    sign, digit_tuple, exponent = value.as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    significant = digits.rstrip("0")
    if not significant:
        return False, "", 0
    last = exponent + len(digits) - len(significant)  # exponent of the last significant digit
    return bool(sign), significant, last + len(significant) - 1


def format_number(value: Decimal) -> str:
    """DynamoDB's canonical spelling: plain notation, no redundant zeros, never "-0"."""
    negative, digits, exponent = decimal_parts(value)
    if not digits:
        return "0"
    point = exponent + 1  # digits before the decimal point
    if point <= 0:
        text = "0." + "0" * -point + digits
    elif point >= len(digits):
        text = digits + "0" * (point - len(digits))
    else:
        text = digits[:point] + "." + digits[point:]
    return "-" + text if negative else text


# Numbers already in canonical form, the common case (plain integers, short decimals): no leading
# zeros, no trailing zeros after the point, no exponent, at most 38 characters (so at most 38
# digits and far inside the exponent range). They normalise to themselves; "-0" does not.
_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")


def _canonical_parts(text: str) -> tuple[bool, str, int]:
    """`decimal_parts` of a number in canonical form, read from its text (no Decimal)."""
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    if whole != "0":  # the first significant digit is the first digit
        return negative, (whole + fraction).rstrip("0"), len(whole) - 1
    digits = fraction.lstrip("0")
    if not digits:
        return False, "", 0
    return negative, digits, len(digits) - len(fraction) - 1


def normalize_number(text: str) -> str:
    if len(text) <= 38 and _CANONICAL.fullmatch(text) and text != "-0":
        return text
    return format_number(parse_number(text))


# Wide enough that the sum of two storable numbers (exponents 125 .. -130, 38 digits) is exact.
_EXACT = Context(prec=300)


def add_numbers(a: str, b: str, *, subtract: bool = False) -> str:
    """`a + b` (or `a - b`) of two wire numbers, exactly, in canonical form; ValidationException
    (overflow, underflow, more than 38 digits) if DynamoDB could not store the result."""
    x, y = Decimal(a), Decimal(b)
    result = _EXACT.subtract(x, y) if subtract else _EXACT.add(x, y)
    return format_number(check_number(result))


# -- validation --------------------------------------------------------------------------------


def validate_item(item: Any, *, what: str = "Item") -> Item:
    """Validate an item (or a Key, `what="Key"`) and return it normalised."""
    if not isinstance(item, dict):
        raise _json_type_error(item, "map")
    return {name: _member(value, 1, what) for name, value in item.items()}


def validate_value(av: Any) -> AttributeValue:
    """Validate a single value (e.g. one of ExpressionAttributeValues) and return it normalised."""
    if av is None:
        raise ValidationException(EMPTY_VALUE)
    return _value(av, 0)


def _member(av: Any, depth: int, what: str = "Item") -> AttributeValue:
    if av is None:
        raise ValidationException(f"The supplied {what} contains a null AttributeValue")
    return _value(av, depth)


def _value(av: Any, depth: int) -> AttributeValue:
    if not isinstance(av, dict):
        raise _json_type_error(av, "structure")
    if len(av) == 1:  # the usual shape, checked without looking up every type
        [(kind, value)] = av.items()
        check = _CHECKS.get(kind)
        if check is not None and value is not None:
            return {kind: check(value, depth)}
    out = {t: _CHECKS[t](av[t], depth) for t in TYPES if av.get(t) is not None}
    if len(out) != 1:
        raise ValidationException(MANY_TYPES if out else EMPTY_VALUE)
    return out


def _string(value: Any, depth: int = 0) -> str:
    if not isinstance(value, str):
        raise _json_type_error(value, "String")
    return value


def _number(value: Any, depth: int = 0) -> str:
    return normalize_number(_string(value))


def _blob(value: Any, depth: int = 0) -> str:
    if not isinstance(value, str):
        raise _json_type_error(value, "Blob")
    try:
        return base64.b64encode(base64.b64decode(value, validate=True)).decode("ascii")
    except (binascii.Error, ValueError):
        raise SerializationException(_blob_error(value)) from None


def _blob_error(value: str) -> str:
    prefix = f"'{value}' can not be converted to a Blob: "
    if len(value) % 4:
        return prefix + f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}"
    bad = _BASE64_CHAR.search(value)
    return prefix + f"Invalid Base64 character: '{bad.group() if bad else '='}'"


def _boolean(value: Any, depth: int = 0) -> bool:
    if not isinstance(value, bool):
        raise _json_type_error(value, "Boolean")
    return value


def _null(value: Any, depth: int = 0) -> bool:
    if not _boolean(value):
        raise ValidationException(NULL_FALSE)
    return True


def _set(kind: str, member) -> Any:
    def check(value: Any, depth: int = 0) -> list:
        members = [member(m) for m in _list(value)]
        if not members:
            raise ValidationException(EMPTY_SET[kind])
        if len(set(members)) != len(members):
            raise ValidationException(_duplicates_message(kind, value))
        return members

    return check


def _duplicates_message(kind: str, original: list) -> str:
    if kind == "NS":
        return "Input collection contains duplicates"
    listed = "[" + ", ".join(m for m in original if m is not None) + "]"
    return INVALID + f"Input collection {listed}" + ("of type BS" if kind == "BS" else "") + " contains duplicates."


def _list(value: Any) -> list:
    """A JSON array; AWS's JSON layer drops null elements."""
    if not isinstance(value, list):
        raise _json_type_error(value, "list")
    return [v for v in value if v is not None]


def _l(value: Any, depth: int) -> list:
    members = _list(value)
    _check_depth(depth)
    return [_value(v, depth + 1) for v in members]


def _m(value: Any, depth: int) -> dict:
    if not isinstance(value, dict):
        raise _json_type_error(value, "map")
    _check_depth(depth)
    return {name: _member(v, depth + 1) for name, v in value.items()}


def _check_depth(depth: int) -> None:
    if depth >= MAX_NESTING:
        raise ValidationException(NESTING)


_CHECKS = {"S": _string, "N": _number, "B": _blob, "BOOL": _boolean, "NULL": _null,
           "SS": _set("SS", _string), "NS": _set("NS", _number), "BS": _set("BS", _blob), "L": _l, "M": _m}


def _json_type_error(value: Any, expected: str) -> SerializationException:
    """What AWS's JSON layer says when a JSON value has the wrong type for `expected`."""
    if isinstance(value, list):
        return SerializationException("Start of list found where not expected")
    if isinstance(value, dict):
        return SerializationException("Start of structure or map found where not expected.")
    if expected in ("list", "map"):
        return SerializationException(f"Expected {expected} or null")
    if expected == "structure":
        return SerializationException("Expected null")
    if isinstance(value, bool):
        kind = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, (int, float)):
        kind = "NUMBER_VALUE"
    elif isinstance(value, str):
        kind = "STRING_VALUE"
    else:
        return SerializationException("Unexpected value type in payload")
    return SerializationException(f"{kind} can not be converted to a {expected}")


# -- size --------------------------------------------------------------------------------------


def item_size(item: Item) -> int:
    """Bytes as DynamoDB counts them: each attribute name's UTF-8 length plus its value's size."""
    return sum(len(utf8(name)) + value_size(av) for name, av in item.items())


def value_size(av: AttributeValue) -> int:
    kind = type_of(av)
    value = av[kind]
    match kind:
        case "S":
            return len(utf8(value))
        case "N":
            return number_size(value)
        case "B":
            return _binary_length(value)
        case "SS":
            return sum(len(utf8(v)) for v in value)
        case "NS":
            return sum(number_size(v) for v in value)
        case "BS":
            return sum(_binary_length(v) for v in value)
        case "L":
            return 3 + sum(1 + value_size(v) for v in value)
        case "M":
            return 3 + sum(1 + len(utf8(name)) + value_size(v) for name, v in value.items())
        case _:  # BOOL, NULL
            return 1


@lru_cache(maxsize=65536)  # numbers repeat
def number_size(text: str) -> int:
    """One byte per pair of significant digits (pairs aligned on the decimal point, as DynamoDB
    stores numbers in base 100), one byte of exponent, one more for a negative number."""
    negative, digits, exponent = _canonical_parts(text) if _CANONICAL.fullmatch(text) else decimal_parts(Decimal(text))
    if not digits:
        return 1
    pairs = exponent // 2 - (exponent - len(digits) + 1) // 2 + 1
    return 1 + pairs + negative


def _binary_length(text: str) -> int:
    return len(text) * 3 // 4 - text[-2:].count("=")


def validate_item_size(item: Item) -> int:
    """The item's size (callers carry it on: it is counted once per write), or TOO_LARGE."""
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise ValidationException(TOO_LARGE)
    return size


def too_deep(item: Item) -> bool:
    """Whether the item nests M/L values deeper than DynamoDB stores (the limit `validate_item`
    enforces on input; an update can build deeper values out of valid parts)."""
    return any(_nests_too_deep(av, 1) for av in item.values())


def _nests_too_deep(av: AttributeValue, depth: int) -> bool:
    if "M" in av:
        children = av["M"].values()
    elif "L" in av:
        children = av["L"]
    else:
        return False
    return depth >= MAX_NESTING or any(_nests_too_deep(child, depth + 1) for child in children)


# -- sets --------------------------------------------------------------------------------------
# Members are in canonical form (validated input), so equal members are equal strings.


def set_union(members: list, more: list) -> list:
    """The members of a set with those of another added (ADD): existing order, then new ones."""
    present = set(members)
    return members + [m for m in more if m not in present]


def set_difference(members: list, removed: list) -> list:
    """The members of a set without those of another (DELETE); empty when all are removed."""
    gone = set(removed)
    return [m for m in members if m not in gone]


# -- equality and order ------------------------------------------------------------------------


def equal(a: AttributeValue, b: AttributeValue) -> bool:
    """DynamoDB equality: numbers by value, sets unordered, B by bytes, M and L deep."""
    kind = type_of(a)
    if kind != type_of(b):
        return False
    x, y = a[kind], b[kind]
    match kind:
        case "N":
            return Decimal(x) == Decimal(y)
        case "B":
            return base64.b64decode(x) == base64.b64decode(y)
        case "SS":
            return set(x) == set(y)
        case "NS":
            return set(map(Decimal, x)) == set(map(Decimal, y))
        case "BS":
            return set(map(base64.b64decode, x)) == set(map(base64.b64decode, y))
        case "L":
            return len(x) == len(y) and all(map(equal, x, y))
        case "M":
            return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
        case _:  # S, BOOL, NULL
            return x == y


def compare(a: AttributeValue, b: AttributeValue) -> int | None:
    """-1, 0 or 1 for S/S (UTF-8 bytes), N/N (value), B/B (unsigned bytes); None for any other
    pair, for which `< <= > >= BETWEEN` are simply false in DynamoDB."""
    kind = type_of(a)
    if kind != type_of(b) or kind not in _ORDER_KEYS:
        return None
    x, y = _ORDER_KEYS[kind](a), _ORDER_KEYS[kind](b)
    return (x > y) - (x < y)


_ORDER_KEYS = {"S": lambda av: utf8(av["S"]), "N": number, "B": binary}
