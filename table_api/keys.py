"""Key schema helpers and the order-preserving key encoding.

Keys are encoded once, at the storage boundary, into bytes whose memcmp order (SQLite's BLOB
order) is DynamoDB's order for the key's type:
- S: the UTF-8 bytes (code point order, which is DynamoDB's string order);
- B: the raw bytes (unsigned byte order);
- N: sign tag, exponent byte, then the significant digits in base 100 (see `_encode_number`).
No type tag: all values of one key attribute have the attribute's one type.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from table_api.errors import ValidationException
from table_api.values import AttributeValue, Item, decimal_parts, format_number, type_of, utf8

MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024

SCHEMA_MISMATCH = "The provided key element does not match the schema"
INVALID = "One or more parameter values were invalid: "
EMPTY_KEY = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {} value. Key: {}"
HASH_TOO_BIG = INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
RANGE_TOO_BIG = INVALID + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"


@dataclass(frozen=True)
class KeySchema:
    hash_name: str
    hash_type: str
    range_name: str | None = None
    range_type: str | None = None

    @classmethod
    def from_wire(cls, key_schema: list[dict], attribute_definitions: list[dict]) -> KeySchema:
        """From a (valid) table description's KeySchema and AttributeDefinitions."""
        types = {d["AttributeName"]: d["AttributeType"] for d in attribute_definitions}
        names = {e["KeyType"]: e["AttributeName"] for e in key_schema}
        range_name = names.get("RANGE")
        return cls(names["HASH"], types[names["HASH"]], range_name, types.get(range_name))

    @cached_property  # asked several times per item written
    def names(self) -> tuple[str, ...]:
        return (self.hash_name,) if self.range_name is None else (self.hash_name, self.range_name)

    def parts(self) -> list[tuple[str, str, bool]]:
        """(name, type, is_hash) of each key attribute, hash first."""
        parts = [(self.hash_name, self.hash_type, True)]
        if self.range_name is not None:
            parts.append((self.range_name, self.range_type, False))
        return parts

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.names}

    def validate_key(self, key: Item, *, exact: bool = True) -> Item:
        """Check a `Key` parameter (already through `values.validate_item`) against the schema
        and return just its key attributes. `exact=False` tolerates other attributes."""
        if exact and len(key) != len(self.names):
            raise ValidationException(SCHEMA_MISMATCH)
        for name, kind, is_hash in self.parts():
            av = key.get(name)
            if not isinstance(av, dict) or av.get(kind) is None:
                raise ValidationException(SCHEMA_MISMATCH)
            check_key_value(name, av, is_hash)
        return self.key_of(key)

    def validate_item_key(self, item: Item) -> None:
        """Check the key attributes of a PutItem `Item` (already through `values.validate_item`)."""
        for name, kind, is_hash in self.parts():
            av = item.get(name)
            if av is None:
                raise ValidationException(INVALID + f"Missing the key {name} in the item")
            if type_of(av) != kind:
                raise ValidationException(INVALID + f"Type mismatch for key {name} expected: {kind} actual: {type_of(av)}")
            check_key_value(name, av, is_hash)


def check_key_value(name: str, av: AttributeValue, is_hash: bool) -> None:
    """DynamoDB's rules for a key attribute's value: not empty, not too big."""
    kind = type_of(av)
    if kind == "N":
        return
    size = len(encode_key_value(av))
    if size == 0:
        raise ValidationException(EMPTY_KEY.format("string" if kind == "S" else "binary", name))
    if size > (MAX_HASH_KEY_BYTES if is_hash else MAX_RANGE_KEY_BYTES):
        raise ValidationException(HASH_TOO_BIG if is_hash else RANGE_TOO_BIG)


def encode_key(schema: KeySchema, key: Item) -> tuple[bytes, bytes]:
    """(partition bytes, sort bytes); the sort bytes are b"" for a table without a sort key."""
    pk = encode_key_value(key[schema.hash_name])
    sk = b"" if schema.range_name is None else encode_key_value(key[schema.range_name])
    return pk, sk


def encode_key_value(av: AttributeValue) -> bytes:
    kind = type_of(av)
    match kind:
        case "S":
            return utf8(av["S"])
        case "B":
            return base64.b64decode(av["B"])
        case "N":
            return _encode_number(av["N"])
    raise ValueError(f"not a key type: {kind}")


def decode_key_value(data: bytes, type: str) -> AttributeValue:
    match type:
        case "S":
            return {"S": data.decode("utf-8", "surrogatepass")}
        case "B":
            return {"B": base64.b64encode(data).decode("ascii")}
        case "N":
            return {"N": _decode_number(data)}
    raise ValueError(f"not a key type: {type}")


# -- numbers -----------------------------------------------------------------------------------
#
#   negative:  0x00, 125 - exponent, (99 - pair) for each digit pair, 100 (terminator)
#   zero:      0x01
#   positive:  0x02, exponent + 130, pair for each digit pair
#
# `exponent` is that of the first significant digit (-130..125, so both exponent bytes fit in
# 0..255), and larger magnitudes have larger exponents. Digits are paired from the first one,
# the last pair padded with a 0; a canonical digit string never ends in 0, so neither does its
# last pair, and a shorter encoding that is a prefix of a longer one is the smaller magnitude.
# For negatives, everything is inverted, and the terminator (above any inverted pair) makes the
# shorter (smaller magnitude) sort after the longer. Equal numbers give equal bytes.

_NEGATIVE, _ZERO, _POSITIVE = 0, 1, 2
_END = 100


def _encode_number(text: str) -> bytes:
    negative, digits, exponent = decimal_parts(Decimal(text))
    if not digits:
        return bytes([_ZERO])
    if len(digits) % 2:
        digits += "0"
    pairs = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    if negative:
        return bytes([_NEGATIVE, 125 - exponent, *(99 - p for p in pairs), _END])
    return bytes([_POSITIVE, exponent + 130, *pairs])


def _decode_number(data: bytes) -> str:
    tag = data[0]
    if tag == _ZERO:
        return "0"
    if tag == _NEGATIVE:
        exponent, pairs = 125 - data[1], [99 - p for p in data[2:-1]]
    else:
        exponent, pairs = data[1] - 130, list(data[2:])
    digits = "".join(f"{p:02d}" for p in pairs)
    value = Decimal((tag == _NEGATIVE, tuple(map(int, digits)), exponent - len(digits) + 1))
    return format_number(value)
