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

    def decode_event(self, data: bytes) -> dict:
        reader = Reader(data)
        try:
            event: dict = {}
            for name in self.s.event_fields:
                if name == "eventName":
                    event[name] = reader.symbol(self.s.operation_types)
                elif name == "dynamodb":
                    event[name] = self._read_record(reader)
                elif name == "userIdentity":
                    if reader.branch():
                        event[name] = {f: reader.string() for f in self.s.identity_fields}
                else:
                    event[name] = reader.string()
            reader.finish()
        except (IndexError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"not an Avro ChangeEvent body: {type(exc).__name__}: {exc}") from None
        return event

    def decode_key(self, data: bytes) -> dict:
        reader = Reader(data)
        try:
            keys = self._read_item(reader)
            reader.finish()
        except (IndexError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"not an Avro ItemKey body: {type(exc).__name__}: {exc}") from None
        return keys

    def _read_record(self, reader: Reader) -> dict:
        record: dict = {}
        for name in self.s.record_fields:
            if name == "ApproximateCreationDateTime" or name == "SizeBytes":
                record[name] = reader.long()
            elif name == "Keys":
                record[name] = self._read_item(reader)
            elif name == "StreamViewType":
                record[name] = reader.symbol(self.s.view_types)
            elif reader.branch():
                record[name] = self._read_item(reader)
        return record

    def _read_item(self, reader: Reader) -> dict:
        item = {}
        for _ in reader.blocks():
            name = reader.string()
            item[name] = self._read_value(reader)
        return item

    def _read_value(self, reader: Reader) -> dict:
        # Every field but one is null: skip the null branch bytes (0x00) up to the one set
        # (0x02), read its value, then check that the remaining fields are null too.
        data, pos, types = reader.data, reader.pos, self.s.av_types
        index = 0
        while data[pos] == 0:
            pos += 1
            index += 1
        if data[pos] != 2 or index >= len(types):
            raise ValueError("an AttributeValue with no type, or a bad union branch")
        reader.pos = pos + 1
        kind = types[index]
        if kind == "S" or kind == "N":
            value = reader.string()
        elif kind == "M":
            value = self._read_item(reader)
        elif kind == "L":
            value = [self._read_value(reader) for _ in reader.blocks()]
        elif kind == "BOOL" or kind == "NULL":
            value = reader.boolean()
        elif kind == "B":
            value = base64.b64encode(reader.bytes()).decode("ascii")
        elif kind == "BS":
            value = [base64.b64encode(reader.bytes()).decode("ascii") for _ in reader.blocks()]
        else:  # SS, NS
            value = [reader.string() for _ in reader.blocks()]
        rest = len(types) - 1 - index
        end = reader.pos + rest
        if data[reader.pos:end] != self.av_suffix[kind] or end > len(data):
            raise ValueError("an AttributeValue with more than one type")
        reader.pos = end
        return {kind: value}


class Reader:
    """Reads Avro primitives from a bytes object; IndexError past its end."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def long(self) -> int:
        data, pos = self.data, self.pos
        byte = data[pos]
        pos += 1
        n, shift = byte & 0x7F, 7
        while byte & 0x80:
            byte = data[pos]
            pos += 1
            n |= (byte & 0x7F) << shift
            shift += 7
        self.pos = pos
        return (n >> 1) ^ -(n & 1)

    def symbol(self, symbols: list[str]) -> str:
        index = self.long()
        if not 0 <= index < len(symbols):
            raise ValueError(f"enum index {index} out of range")
        return symbols[index]

    def branch(self) -> bool:
        index = self.long()
        if index not in (0, 1):
            raise ValueError(f"union branch {index} out of range")
        return index == 1

    def boolean(self) -> bool:
        value = self.data[self.pos]
        self.pos += 1
        if value > 1:
            raise ValueError(f"boolean byte {value}")
        return value == 1

    def bytes(self) -> bytes:
        size = self.long()
        if size < 0 or self.pos + size > len(self.data):
            raise IndexError("bytes past the end")
        start, self.pos = self.pos, self.pos + size
        return self.data[start:self.pos]

    def string(self) -> str:
        return self.bytes().decode("utf-8")

    def blocks(self):
        """Yield once per entry of a map or array (blocks until a zero count)."""
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:  # a negative count is followed by the block's size in bytes
                count = -count
                self.long()
            if count > len(self.data):
                raise ValueError("block count larger than the data")
            for _ in range(count):
                yield

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise ValueError(f"{len(self.data) - self.pos} bytes left over")
