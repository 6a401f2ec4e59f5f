"""A hand-written Avro binary encoder and decoder for the two schemas we write, fast enough for
the publisher and the connector's hot paths (fastavro's generic writer spends ~100 µs resolving
the ten nullable unions of every attribute value; this spends a few µs).

Field orders, union branches and enum symbols are read from the schemas at import, so the
`.avsc` files stay the one definition; tests check the bytes against fastavro's for random
events. Avro binary encoding in brief: a record is its fields in order; `["null", T]` is the
branch index as a zig-zag varint (null 0, T 1) and then T; strings and bytes are a length and
the bytes; maps and arrays are one block (a count, the entries) and a zero count; enums are
the symbol's index; longs are zig-zag varints.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

_ONE_BYTE = [bytes([(n << 1) ^ (n >> 63) if n < 64 else 0]) for n in range(64)]


def _long(n: int) -> bytes:
    if 0 <= n < 64:
        return _ONE_BYTE[n]
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string(value: str, out: list) -> None:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    _bytes(value.encode("utf-8"), out)


def _bytes(value: bytes, out: list) -> None:
    out.append(_long(len(value)))
    out.append(value)


class Schemas:
    """The layout facts the encoder needs, taken from the parsed ChangeEvent schema JSON."""

    def __init__(self, change_event: dict):
        fields = {f["name"]: f for f in change_event["fields"]}
        self.event_fields = [f["name"] for f in change_event["fields"]]
        self.operation_types = fields["eventName"]["type"]["symbols"]
        stream_record = fields["dynamodb"]["type"]
        self.record_fields = [f["name"] for f in stream_record["fields"]]
        record_types = {f["name"]: f["type"] for f in stream_record["fields"]}
        self.view_types = record_types["StreamViewType"]["symbols"]
        attribute_value = record_types["Keys"]["values"]
        self.av_types = [f["name"] for f in attribute_value["fields"]]
        identity = fields["userIdentity"]["type"][1]
        self.identity_fields = [f["name"] for f in identity["fields"]]


class Codec:
    def __init__(self, schemas: Schemas):
        self.s = schemas
        n = len(schemas.av_types)
        # An AttributeValue record: every field null but the one set (branch 1, index byte 0x02).
        self.av_prefix = {t: b"\x00" * i + b"\x02" for i, t in enumerate(schemas.av_types)}
        self.av_suffix = {t: b"\x00" * (n - 1 - i) for i, t in enumerate(schemas.av_types)}
        self.operation_index = {s: _long(i) for i, s in enumerate(schemas.operation_types)}
        self.view_index = {s: _long(i) for i, s in enumerate(schemas.view_types)}
        self.known_event_fields = set(schemas.event_fields)
        self.known_record_fields = set(schemas.record_fields)
        self._decoding_plans()

    # -- encoding ------------------------------------------------------------------------------

    def encode_event(self, event: dict) -> bytes:
        out: list[bytes] = []
        try:
            self._check_fields(event, self.known_event_fields, "event")
            record = event["dynamodb"]
            self._check_fields(record, self.known_record_fields, "dynamodb")
            for name in self.s.event_fields:
                if name == "eventName":
                    out.append(self.operation_index[event["eventName"]])
                elif name == "dynamodb":
                    self._record(record, out)
                elif name == "userIdentity":
                    self._identity(event.get("userIdentity"), out)
                else:
                    _string(event[name], out)
        except (KeyError, TypeError, AttributeError, UnicodeEncodeError, binascii.Error) as exc:
            raise ValueError(f"not a valid change event: {type(exc).__name__}: {exc}") from None
        return b"".join(out)

    def encode_key(self, keys: dict) -> bytes:
        out: list[bytes] = []
        try:
            self._item({name: keys[name] for name in sorted(keys)}, out)
        except (KeyError, TypeError, AttributeError, UnicodeEncodeError, binascii.Error) as exc:
            raise ValueError(f"not a valid key: {type(exc).__name__}: {exc}") from None
        return b"".join(out)

    @staticmethod
    def _check_fields(value: dict, known: set, what: str) -> None:
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"{what} has fields the schema does not know: {sorted(unknown)}")

    def _record(self, record: dict, out: list) -> None:
        for name in self.s.record_fields:
            if name == "ApproximateCreationDateTime" or name == "SizeBytes":
                value = record[name]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise TypeError(f"{name} must be an int")
                out.append(_long(value))
            elif name == "Keys":
                self._item(record["Keys"], out)
            elif name == "StreamViewType":
                out.append(self.view_index[record[name]])
            else:  # NewImage / OldImage: ["null", map]
                image = record.get(name)
                if image is None:
                    out.append(b"\x00")
                else:
                    out.append(b"\x02")
                    self._item(image, out)

    def _identity(self, identity: dict | None, out: list) -> None:
        if identity is None:
            out.append(b"\x00")
            return
        out.append(b"\x02")
        for name in self.s.identity_fields:
            _string(identity[name], out)

    def _item(self, item: dict, out: list) -> None:
        if item:
            out.append(_long(len(item)))
            for name, value in item.items():
                _string(name, out)
                self._value(value, out)
        out.append(b"\x00")

    def _value(self, av: dict, out: list) -> None:
        if len(av) != 1:
            raise ValueError(f"an AttributeValue has exactly one type, not {sorted(av)}")
        (kind, value), = av.items()
        out.append(self.av_prefix[kind])
        if kind == "S" or kind == "N":
            _string(value, out)
        elif kind == "M":
            self._item(value, out)
        elif kind == "L":
            if value:
                out.append(_long(len(value)))
                for element in value:
                    self._value(element, out)
            out.append(b"\x00")
        elif kind == "BOOL" or kind == "NULL":
            if not isinstance(value, bool):
                raise TypeError(f"{kind} must be a boolean")
            out.append(b"\x01" if value else b"\x00")
        elif kind == "B":
            _bytes(base64.b64decode(value, validate=True), out)
        else:  # SS, NS, BS
            if value:
                out.append(_long(len(value)))
                for element in value:
                    if kind == "BS":
                        _bytes(base64.b64decode(element, validate=True), out)
                    else:
                        _string(element, out)
            out.append(b"\x00")
        out.append(self.av_suffix[kind])

    # -- decoding ------------------------------------------------------------------------------
    # Functions of (data, position) returning (value, next position). The connector decodes every
    # record it serves, so calls per value matter: the record layouts become lists of field
    # readers once, and strings with a one-byte length (names, most values) take a short path.

    def _decoding_plans(self) -> None:
        s = self.s
        self.av_suffixes = [self.av_suffix[t] for t in s.av_types]
        self.event_plan = []
        for name in s.event_fields:
            if name == "eventName":
                read = _symbol_reader(s.operation_types)
            elif name == "dynamodb":
                read = self._read_record
            elif name == "userIdentity":
                read = self._read_identity
            else:
                read = _read_string
            self.event_plan.append((name, read))
        self.record_plan = []
        for name in s.record_fields:
            if name == "ApproximateCreationDateTime" or name == "SizeBytes":
                read = _read_long
            elif name == "Keys":
                read = self._read_item
            elif name == "StreamViewType":
                read = _symbol_reader(s.view_types)
            else:  # NewImage / OldImage: ["null", map]
                read = self._read_optional_item
            self.record_plan.append((name, read))

    def decode_event(self, data: bytes) -> dict:
        try:
            event, pos = _read_fields(self.event_plan, data, 0)
            _finish(data, pos)
        except (IndexError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"not an Avro ChangeEvent body: {type(exc).__name__}: {exc}") from None
        return event

    def decode_key(self, data: bytes) -> dict:
        try:
            keys, pos = self._read_item(data, 0)
            _finish(data, pos)
        except (IndexError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"not an Avro ItemKey body: {type(exc).__name__}: {exc}") from None
        return keys

    def _read_record(self, data: bytes, pos: int) -> tuple[dict, int]:
        return _read_fields(self.record_plan, data, pos)

    def _read_identity(self, data: bytes, pos: int) -> tuple[dict | None, int]:
        present, pos = _read_branch(data, pos)
        if not present:
            return None, pos
        identity = {}
        for field in self.s.identity_fields:
            identity[field], pos = _read_string(data, pos)
        return identity, pos

    def _read_optional_item(self, data: bytes, pos: int) -> tuple[dict | None, int]:
        present, pos = _read_branch(data, pos)
        return self._read_item(data, pos) if present else (None, pos)

    def _read_item(self, data: bytes, pos: int) -> tuple[dict, int]:
        item = {}
        read_value = self._read_value
        while True:
            count = data[pos]
            if count < 0x80 and not count & 1:  # a one-byte, non-negative count
                count, pos = count >> 1, pos + 1
            else:
                count, pos = _read_block_count(data, pos)
            if count == 0:
                return item, pos
            for _ in range(count):
                name, pos = _read_string(data, pos)
                item[name], pos = read_value(data, pos)

    def _read_value(self, data: bytes, pos: int) -> tuple[dict, int]:
        # Every field but one is null: skip the null branch bytes (0x00) up to the one set
        # (0x02), read its value, then check that the remaining fields are null too.
        start = pos
        while data[pos] == 0:
            pos += 1
        index = pos - start
        types = self.s.av_types
        if data[pos] != 2 or index >= len(types):
            raise ValueError("an AttributeValue with no type, or a bad union branch")
        pos += 1
        kind = types[index]
        if kind == "S" or kind == "N":
            value, pos = _read_string(data, pos)
        elif kind == "M":
            value, pos = self._read_item(data, pos)
        elif kind == "BOOL" or kind == "NULL":
            value = data[pos]
            if value > 1:
                raise ValueError(f"boolean byte {value}")
            value, pos = value == 1, pos + 1
        else:  # the arrays: L, SS, NS, B (one), BS
            value, pos = self._read_array(kind, data, pos)
        suffix = self.av_suffixes[index]
        if not data.startswith(suffix, pos):
            raise ValueError("an AttributeValue with more than one type")
        return {kind: value}, pos + len(suffix)

    def _read_array(self, kind: str, data: bytes, pos: int) -> tuple[Any, int]:
        if kind == "B":
            raw, pos = _read_bytes(data, pos)
            return base64.b64encode(raw).decode("ascii"), pos
        values: list = []
        while True:
            count, pos = _read_block_count(data, pos)
            if count == 0:
                return values, pos
            for _ in range(count):
                if kind == "L":
                    value, pos = self._read_value(data, pos)
                elif kind == "BS":
                    raw, pos = _read_bytes(data, pos)
                    value = base64.b64encode(raw).decode("ascii")
                else:  # SS, NS
                    value, pos = _read_string(data, pos)
                values.append(value)


def _read_fields(plan: list, data: bytes, pos: int) -> tuple[dict, int]:
    """A record from its plan of (field name, reader); a reader's None is an absent optional field."""
    record = {}
    for name, read in plan:
        value, pos = read(data, pos)
        if value is not None:
            record[name] = value
    return record, pos


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    pos += 1
    if byte < 0x80:
        return (byte >> 1) ^ -(byte & 1), pos
    n, shift = byte & 0x7F, 7
    while byte & 0x80:
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    size = data[pos]
    if size < 0x80:
        size, pos = (size >> 1) ^ -(size & 1), pos + 1
    else:
        size, pos = _read_long(data, pos)
    end = pos + size
    if size < 0 or end > len(data):
        raise IndexError("bytes past the end")
    return data[pos:end], end


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    size = data[pos]
    if size < 0x80 and not size & 1:  # a one-byte, non-negative length: most strings
        end = pos + 1 + (size >> 1)
        if end > len(data):
            raise IndexError("string past the end")
        return data[pos + 1:end].decode("utf-8"), end
    raw, pos = _read_bytes(data, pos)
    return raw.decode("utf-8"), pos


def _symbol_reader(symbols: list[str]):
    """A reader of the enum with these symbols."""
    def read(data: bytes, pos: int) -> tuple[str, int]:
        index, pos = _read_long(data, pos)
        if not 0 <= index < len(symbols):
            raise ValueError(f"enum index {index} out of range")
        return symbols[index], pos
    return read


def _read_branch(data: bytes, pos: int) -> tuple[bool, int]:
    index, pos = _read_long(data, pos)
    if index not in (0, 1):
        raise ValueError(f"union branch {index} out of range")
    return index == 1, pos


def _read_block_count(data: bytes, pos: int) -> tuple[int, int]:
    """The entry count of the next block of a map or array (0: the end)."""
    count, pos = _read_long(data, pos)
    if count < 0:  # a negative count is followed by the block's size in bytes
        count = -count
        _, pos = _read_long(data, pos)
    if count > len(data):
        raise ValueError("block count larger than the data")
    return count, pos


def _finish(data: bytes, pos: int) -> None:
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes left over")
