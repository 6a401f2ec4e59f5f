"""The Avro codec of everything written to Kafka: round trips, framing, the registered schemas,
and what a stock Confluent consumer reads from our bytes."""

import base64
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import codec
from schemas.codec import (
    KEY_SCHEMA,
    VALUE_SCHEMA,
    decode_event,
    decode_key,
    encode_event,
    encode_key,
    frame,
    from_avro_event,
    from_avro_value,
    key_schema_str,
    to_avro_event,
    to_avro_value,
    unframe,
    value_schema_str,
)

SCHEMAS = Path(codec.__file__).parent
TYPES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")
DIGITS_38 = "12345678901234567890123456789012345678"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_event(**overrides) -> dict:
    stream_record = {
        "ApproximateCreationDateTime": 1_700_000_000_123,
        "Keys": {"pk": {"S": "user#1"}, "sk": {"N": "7"}},
        "NewImage": {"pk": {"S": "user#1"}, "sk": {"N": "7"}, "name": {"S": "Ada"}},
        "SizeBytes": 31,
        "StreamViewType": "NEW_IMAGE",
    }
    stream_record.update(overrides.pop("dynamodb", {}))
    event = {
        "eventID": "0f5a3c2e9b7d4e1f8a6b5c4d3e2f1a0b",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "tableName": "users",
        "dynamodb": stream_record,
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not None}


def event_with_value(av: dict) -> dict:
    return make_event(dynamodb={"NewImage": {"pk": {"S": "user#1"}, "sk": {"N": "7"}, "v": av}})


def nested(depth: int, kinds: str) -> dict:
    """A value `depth` M/L levels deep, the kinds cycling through `kinds` from the outside in."""
    value = {"S": "leaf"}
    for level in reversed(range(depth)):
        value = {"M": {"k": value}} if kinds[level % len(kinds)] == "M" else {"L": [value]}
    return value


# -- every type ---------------------------------------------------------------------------------

VALUES = {
    "string": {"S": "héllo ✓ 𝄞"},
    "empty string": {"S": ""},
    "zero": {"N": "0"},
    "negative decimal": {"N": "-1.5"},
    "38 digits": {"N": DIGITS_38},
    "38 digits negative fraction": {"N": "-0." + DIGITS_38},
    "largest magnitude": {"N": "9" * 38 + "0" * 88},
    "smallest magnitude": {"N": "0." + "0" * 129 + "1"},
    "binary": {"B": b64(bytes(range(256)))},
    "empty binary": {"B": ""},
    "true": {"BOOL": True},
    "false": {"BOOL": False},
    "null": {"NULL": True},
    "empty map": {"M": {}},
    "map": {"M": {"a": {"S": "x"}, "": {"N": "1"}, "b": {"M": {"c": {"BOOL": False}}}}},
    "empty list": {"L": []},
    "list of every type": {"L": [{"S": ""}, {"N": "1"}, {"B": ""}, {"BOOL": False}, {"NULL": True}, {"M": {}},
                                 {"L": []}, {"SS": ["a"]}, {"NS": ["1"]}, {"BS": ["AA=="]}]},
    "string set": {"SS": ["b", "a", ""]},
    "number set": {"NS": [DIGITS_38, "-0.5", "1" + "0" * 125]},
    "binary set": {"BS": [b64(b"\xff\x00"), "", b64(b"x")]},
}


@pytest.mark.parametrize("av", VALUES.values(), ids=VALUES.keys())
def test_every_type_round_trips_in_events_and_keys(av):
    assert from_avro_value(to_avro_value(av)) == av
    event = event_with_value(av)
    assert decode_event(encode_event(event)) == event
    assert decode_key(encode_key({"pk": av})) == {"pk": av}


def test_numbers_are_written_as_their_exact_text():
    body = encode_event(event_with_value({"N": "-0." + DIGITS_38}))
    assert ("-0." + DIGITS_38).encode() in body
    assert decode_event(body)["dynamodb"]["NewImage"]["v"] == {"N": "-0." + DIGITS_38}


def test_binary_is_written_as_decoded_bytes():
    assert to_avro_value({"B": "AAH/"}) == {"B": b"\x00\x01\xff"}
    assert to_avro_value({"BS": ["AAE=", ""]}) == {"BS": [b"\x00\x01", b""]}
    assert to_avro_value({"M": {"b": {"B": "AAE="}}}) == {"M": {"b": {"B": b"\x00\x01"}}}
    assert to_avro_value({"L": [{"B": "AAE="}]}) == {"L": [{"B": b"\x00\x01"}]}
    body = encode_key({"pk": {"B": b64(b"\x01\x02\x03\x04\x05\x06")}})
    assert b"\x01\x02\x03\x04\x05\x06" in body and b"AQIDBAUG" not in body


def test_sets_keep_their_members_and_order():
    for av in ({"SS": ["z", "a", "m"]}, {"NS": ["3", "-1", "2.5"]}, {"BS": ["Ag==", "AQ==", ""]}):
        assert decode_key(encode_key({"k": av})) == {"k": av}


@pytest.mark.parametrize("depth", [30, 32])
@pytest.mark.parametrize("kinds", ["M", "L", "ML", "LLM"])
def test_values_nested_deeply_round_trip(depth, kinds):
    av = nested(depth, kinds)
    event = event_with_value(av)
    assert decode_event(encode_event(event)) == event
    assert from_avro_value(to_avro_value(av)) == av


def test_from_avro_value_reads_the_full_record_a_stock_consumer_sees():
    full = dict.fromkeys(TYPES)
    assert from_avro_value({**full, "S": ""}) == {"S": ""}
    assert from_avro_value({**full, "BOOL": False}) == {"BOOL": False}
    assert from_avro_value({**full, "L": []}) == {"L": []}
    assert from_avro_value({**full, "B": b""}) == {"B": ""}
    assert from_avro_value({**full, "M": {"x": {**full, "BS": [b"\x00"]}}}) == {"M": {"x": {"BS": ["AA=="]}}}


@pytest.mark.parametrize("record", [{}, dict.fromkeys(TYPES), {"S": "a", "N": "1"}, {"S": "", "BOOL": False}])
def test_from_avro_value_rejects_a_record_without_exactly_one_type(record):
    with pytest.raises(ValueError, match="exactly one type"):
        from_avro_value(record)


@pytest.mark.parametrize("av", [{}, {"S": "a", "N": "1"}])
def test_encoding_rejects_a_value_without_exactly_one_type(av):
    with pytest.raises(ValueError, match="exactly one type"):
        encode_event(event_with_value(av))
    with pytest.raises(ValueError, match="exactly one type"):
        encode_key({"pk": av})


# -- events -------------------------------------------------------------------------------------


def test_event_with_both_images_and_user_identity_round_trips():
    event = make_event(
        eventName="REMOVE",
        userIdentity={"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        dynamodb={"NewImage": None, "OldImage": {"pk": {"S": "user#1"}, "sk": {"N": "7"}, "ttl": {"N": "1700000000"}},
                  "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    event["dynamodb"].pop("NewImage")
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_absent_images_and_identity_stay_absent(view):
    event = make_event(eventName="MODIFY", dynamodb={"StreamViewType": view})
    del event["dynamodb"]["NewImage"]
    decoded = decode_event(encode_event(event))
    assert decoded == event
    assert "NewImage" not in decoded["dynamodb"] and "OldImage" not in decoded["dynamodb"]
    assert "userIdentity" not in decoded


@pytest.mark.parametrize("millis", [0, -1, 1_700_000_000_123, 2**63 - 1, -(2**63)])
def test_creation_time_stays_an_int_of_milliseconds_over_the_whole_long_range(millis):
    event = make_event(dynamodb={"ApproximateCreationDateTime": millis})
    assert decode_event(encode_event(event))["dynamodb"]["ApproximateCreationDateTime"] == millis


@pytest.mark.parametrize("change", [
    {"SequenceNumber": "000000000000000000042"},          # not in the schema: it is the Kafka offset
    {"dynamodb": {"SequenceNumber": "000000000000000000042"}},
    {"eventName": "UPSERT"},
    {"dynamodb": {"StreamViewType": "ALL"}},
    {"dynamodb": {"NewImage": {"v": {"X": "unknown type"}}}},
])
def test_encoding_rejects_what_the_schema_does_not_know(change):
    event = make_event()
    event["dynamodb"].update(change.pop("dynamodb", {}))
    event.update(change)
    with pytest.raises(ValueError):
        encode_event(event)


@pytest.mark.parametrize("field", ["eventID", "tableName", "awsRegion"])
def test_encoding_rejects_a_missing_required_field(field):
    event = make_event()
    del event[field]
    with pytest.raises(ValueError):
        encode_event(event)


@pytest.mark.parametrize("av", [{"B": "!!!!"}, {"B": "AAE"}, {"BS": ["AA==", "A*=="]}])
def test_encoding_rejects_invalid_base64(av):
    with pytest.raises(ValueError):
        encode_event(event_with_value(av))


def test_encoding_rejects_a_string_avro_cannot_carry():
    # A lone surrogate (from a JSON "\ud800" escape) has no UTF-8 encoding, and Avro strings are UTF-8.
    with pytest.raises(ValueError):
        encode_event(event_with_value({"S": "\ud800"}))


def test_decoding_rejects_bytes_that_are_not_a_change_event():
    body = encode_event(make_event())
    for data in (b"", body[:-1], body[: len(body) // 2], body + b"\x00", frame(1, body), b"\xff" * 40):
        with pytest.raises(ValueError, match="not an Avro ChangeEvent body"):
            decode_event(data)
    with pytest.raises(ValueError, match="not an Avro ItemKey body"):
        decode_key(encode_key({"pk": {"S": "a"}}) + b"\x00")


def test_equal_keys_encode_to_equal_bytes_whatever_the_attribute_order():
    one = encode_key({"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert one == encode_key({"sk": {"N": "1"}, "pk": {"S": "a"}})
    assert decode_key(one) == {"pk": {"S": "a"}, "sk": {"N": "1"}}


# -- Confluent framing --------------------------------------------------------------------------


def test_frame_is_magic_byte_then_big_endian_schema_id_then_body():
    assert frame(1, b"body") == b"\x00\x00\x00\x00\x01body"
    assert frame(0x01020304, b"") == b"\x00\x01\x02\x03\x04"


@pytest.mark.parametrize("schema_id", [0, 1, 255, 256, 100_000, 2**31 - 1])
def test_frame_round_trips(schema_id):
    body = encode_event(make_event())
    assert unframe(frame(schema_id, body)) == (schema_id, body)
    assert unframe(bytearray(frame(schema_id, body))) == (schema_id, body)
    assert unframe(memoryview(frame(schema_id, b""))) == (schema_id, b"")


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_unframe_rejects_short_data(data):
    with pytest.raises(ValueError, match="at least 5 needed"):
        unframe(data)


@pytest.mark.parametrize("magic", [1, 2, 0x7B, 0xFF])  # 1: Confluent's GUID framing; 0x7B: "{", JSON
def test_unframe_rejects_a_bad_magic_byte(magic):
    with pytest.raises(ValueError, match=f"magic byte {magic}"):
        unframe(bytes([magic]) + b"\x00\x00\x00\x01body")


@pytest.mark.parametrize("schema_id", [-1, 2**31, 2**32])
def test_frame_rejects_a_schema_id_out_of_range(schema_id):
    with pytest.raises(ValueError, match="schema id out of range"):
        frame(schema_id, b"")


# -- the registered schemas ---------------------------------------------------------------------


def named_definitions(node, found):
    """Every named type defined (not just referenced) in a schema, with its definition."""
    if isinstance(node, list):
        for branch in node:
            named_definitions(branch, found)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed"):
            found.append(node)
        for field in node.get("fields", []):
            named_definitions(field["type"], found)
        for part in ("items", "values", "type"):
            if isinstance(node.get(part), (dict, list)):
                named_definitions(node[part], found)
    return found


@pytest.mark.parametrize("text", [value_schema_str(), key_schema_str()], ids=["value", "key"])
def test_registered_schemas_are_self_contained_with_attribute_value_defined_once(text):
    schema = json.loads(text)
    fastavro.parse_schema(schema, named_schemas={})  # no outside names needed
    attribute_values = [d for d in named_definitions(schema, []) if d["name"] == "AttributeValue"]
    assert attribute_values == [json.loads((SCHEMAS / "attribute_value.avsc").read_text())]
    assert "__fastavro" not in text
    assert text == json.dumps(schema, separators=(",", ":"))


def test_attribute_value_is_defined_at_its_first_use():
    value = json.loads(value_schema_str())
    stream_record = {f["name"]: f for f in value["fields"]}["dynamodb"]["type"]
    keys = {f["name"]: f for f in stream_record["fields"]}["Keys"]
    assert keys["type"]["values"]["name"] == "AttributeValue"
    key = json.loads(key_schema_str())
    assert key["fields"][0]["type"]["values"]["name"] == "AttributeValue"


def test_attribute_value_fields_are_nullable_dynamodb_types():
    schema = json.loads((SCHEMAS / "attribute_value.avsc").read_text())
    assert schema["namespace"] == "io.cdcbridge.dynamodb"
    fields = {f["name"]: f for f in schema["fields"]}
    assert tuple(fields) == TYPES
    assert all(f["type"][0] == "null" and f["default"] is None and f["doc"] for f in fields.values())
    assert fields["N"]["type"] == ["null", "string"]
    assert fields["NS"]["type"] == ["null", {"type": "array", "items": "string"}]
    assert fields["B"]["type"] == ["null", "bytes"]
    assert fields["BS"]["type"] == ["null", {"type": "array", "items": "bytes"}]


def test_change_event_carries_a_stream_record_without_sequence_number():
    value = json.loads(value_schema_str())
    assert value["name"] == "ChangeEvent" and value["namespace"] == "io.cdcbridge.dynamodb"
    fields = {f["name"]: f for f in value["fields"]}
    assert list(fields) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "tableName",
                            "dynamodb", "userIdentity"]
    stream_record = {f["name"]: f for f in fields["dynamodb"]["type"]["fields"]}
    assert list(stream_record) == ["ApproximateCreationDateTime", "Keys", "NewImage", "OldImage", "SizeBytes",
                                   "StreamViewType"]
    assert stream_record["ApproximateCreationDateTime"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["eventName"]["type"]["symbols"] == ["INSERT", "MODIFY", "REMOVE"]
    assert stream_record["StreamViewType"]["type"]["symbols"] == ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                                                  "NEW_AND_OLD_IMAGES"]
    assert all(f["doc"] for f in [*fields.values(), *stream_record.values()])
    assert "SequenceNumber" not in fields and "SequenceNumber" not in stream_record


def test_parsed_schemas_are_the_registered_ones():
    assert VALUE_SCHEMA["name"] == "io.cdcbridge.dynamodb.ChangeEvent"
    assert KEY_SCHEMA["name"] == "io.cdcbridge.dynamodb.ItemKey"
    assert fastavro.parse_schema(json.loads(value_schema_str())) == VALUE_SCHEMA
    assert fastavro.parse_schema(json.loads(key_schema_str())) == KEY_SCHEMA


# -- what a stock consumer reads ----------------------------------------------------------------

RICH_EVENT = make_event(
    eventName="MODIFY",
    userIdentity={"type": "Service", "principalId": "dynamodb.amazonaws.com"},
    dynamodb={
        "NewImage": {"pk": {"S": "user#1"}, "sk": {"N": "7"}, **{name: av for name, av in VALUES.items()}},
        "OldImage": {"pk": {"S": "user#1"}, "sk": {"N": "7"}, "deep": nested(32, "ML")},
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
)


def every_attribute_value_record(record: dict):
    """The AttributeValue records of a stock reader's ChangeEvent."""
    stream_record = record["dynamodb"]
    stack = [av for image in ("Keys", "NewImage", "OldImage") for av in (stream_record[image] or {}).values()]
    while stack:
        av = stack.pop()
        yield av
        stack.extend((av["M"] or {}).values())
        stack.extend(av["L"] or [])


def assert_stock_view_maps_back(record: dict, event: dict):
    """A stock reader sees DynamoDB JSON with every type present (null if not set) and a datetime."""
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], datetime)
    assert "NewImage" in record["dynamodb"] and "OldImage" in record["dynamodb"] and "userIdentity" in record
    avs = list(every_attribute_value_record(record))
    assert avs and all(tuple(av) == TYPES and sum(v is not None for v in av.values()) == 1 for av in avs)
    assert from_avro_event(record) == event


def test_a_stock_avro_reader_with_the_registered_schema_reads_our_bytes():
    # What a stock deserializer does with our record: unframe, look the id up, read with the
    # schema text it got from the registry.
    registered = fastavro.parse_schema(json.loads(value_schema_str()))
    schema_id, body = unframe(frame(42, encode_event(RICH_EVENT)))
    record = fastavro.schemaless_reader(io.BytesIO(body), registered, None)
    assert schema_id == 42
    assert record["dynamodb"]["ApproximateCreationDateTime"] == datetime(2023, 11, 14, 22, 13, 20, 123000,
                                                                          tzinfo=timezone.utc)
    assert record["dynamodb"]["NewImage"]["binary"]["B"] == bytes(range(256))
    assert record["dynamodb"]["NewImage"]["38 digits"]["N"] == DIGITS_38
    assert_stock_view_maps_back(record, RICH_EVENT)
    key = fastavro.schemaless_reader(io.BytesIO(encode_key({"pk": {"S": "a"}})),
                                     fastavro.parse_schema(json.loads(key_schema_str())), None)
    assert key == {"Keys": {"pk": {**dict.fromkeys(TYPES), "S": "a"}}}


@pytest.fixture
def registry():
    # confluent_kafka's registry serdes need its [schemaregistry] extra (authlib, cachetools).
    pytest.importorskip("confluent_kafka.schema_registry.avro", reason="confluent-kafka[schemaregistry] not installed",
                        exc_type=ImportError)
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient.new_client({"url": "mock://cdc-bridge-test-avro"})  # in-memory registry


def test_confluent_avro_deserializer_reads_our_framed_records(registry):
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    value_id = registry.register_schema("users-stream-value", Schema(value_schema_str(), "AVRO"))
    key_id = registry.register_schema("users-stream-key", Schema(key_schema_str(), "AVRO"))
    deserializer = AvroDeserializer(registry)

    framed = frame(value_id, encode_event(RICH_EVENT))
    record = deserializer(framed, SerializationContext("users-stream", MessageField.VALUE))
    assert_stock_view_maps_back(record, RICH_EVENT)
    key = deserializer(frame(key_id, encode_key({"pk": {"S": "user#1"}, "sk": {"N": "7"}})),
                       SerializationContext("users-stream", MessageField.KEY))
    assert {name: from_avro_value(av) for name, av in key["Keys"].items()} == {"pk": {"S": "user#1"}, "sk": {"N": "7"}}


def test_we_read_what_confluent_avro_serializer_writes(registry):
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serializer = AvroSerializer(registry, value_schema_str())
    data = serializer(to_avro_event(RICH_EVENT), SerializationContext("users-stream", MessageField.VALUE))
    schema_id, body = unframe(data)
    assert schema_id == registry.get_latest_version("users-stream-value").schema_id
    assert decode_event(body) == RICH_EVENT


# -- properties ---------------------------------------------------------------------------------

names = st.text(min_size=1, max_size=8)
strings = st.text(max_size=12)
decimal_texts = st.builds(
    lambda sign, digits, point: sign + (digits[:point] + "." + digits[point:] if 0 < point < len(digits) else digits),
    st.sampled_from(["", "-"]), st.text("0123456789", min_size=1, max_size=38), st.integers(0, 38))
binaries = st.binary(max_size=12).map(b64)
scalars = st.one_of(
    st.builds(lambda v: {"S": v}, strings),
    st.builds(lambda v: {"N": v}, decimal_texts),
    st.builds(lambda v: {"B": v}, binaries),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"SS": v}, st.lists(strings, min_size=1, max_size=4, unique=True)),
    st.builds(lambda v: {"NS": v}, st.lists(decimal_texts, min_size=1, max_size=4, unique=True)),
    st.builds(lambda v: {"BS": v}, st.lists(binaries, min_size=1, max_size=4, unique=True)),
)
attribute_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.builds(lambda v: {"L": v}, st.lists(children, max_size=4)),
                               st.builds(lambda v: {"M": v}, st.dictionaries(names, children, max_size=4))),
    max_leaves=20,
)
items = st.dictionaries(names, attribute_values, max_size=5)
key_values = st.one_of(st.builds(lambda v: {"S": v}, strings), st.builds(lambda v: {"N": v}, decimal_texts),
                       st.builds(lambda v: {"B": v}, binaries))
keys = st.dictionaries(names, key_values, min_size=1, max_size=2)
longs = st.integers(-(2**63), 2**63 - 1)


@st.composite
def events(draw, creation_times=longs):
    stream_record = {
        "ApproximateCreationDateTime": draw(creation_times),
        "Keys": draw(keys),
        "SizeBytes": draw(longs),
        "StreamViewType": draw(st.sampled_from(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])),
    }
    for image in ("NewImage", "OldImage"):
        if draw(st.booleans()):
            stream_record[image] = draw(items)
    event = {
        "eventID": draw(strings), "eventName": draw(st.sampled_from(["INSERT", "MODIFY", "REMOVE"])),
        "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": draw(strings),
        "tableName": draw(strings), "dynamodb": stream_record,
    }
    if draw(st.booleans()):
        event["userIdentity"] = {"type": draw(strings), "principalId": draw(strings)}
    return event


fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(attribute_values)
def test_any_attribute_value_round_trips(av):
    assert from_avro_value(to_avro_value(av)) == av
    event = event_with_value(av)
    assert decode_event(encode_event(event)) == event


@fast
@given(keys)
def test_any_key_round_trips(item_key):
    assert decode_key(encode_key(item_key)) == item_key


@fast
@given(events())
def test_any_event_round_trips(event):
    assert decode_event(encode_event(event)) == event
    assert unframe(frame(7, encode_event(event))) == (7, encode_event(event))
    assert from_avro_event(to_avro_event(event)) == event


_REGISTERED_VALUE = fastavro.parse_schema(json.loads(value_schema_str()))


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(creation_times=st.integers(0, 253_402_300_799_999)))  # up to 9999-12-31, datetime's range
def test_a_stock_reader_reads_any_event(event):
    record = fastavro.schemaless_reader(io.BytesIO(encode_event(event)), _REGISTERED_VALUE, None)
    assert from_avro_event(record) == event


# -- the fast codec (schemas/binary.py) against fastavro's generic one ---------------------------


@settings(max_examples=300, deadline=None)
@given(event=events())
def test_fast_codec_writes_the_same_bytes_as_fastavro(event):
    from schemas.codec import decode_event_with_fastavro, encode_event_with_fastavro

    assert encode_event(event) == encode_event_with_fastavro(event)
    assert decode_event_with_fastavro(encode_event(event)) == event


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_fast_decoder_rejects_junk_with_value_error_only(data):
    try:
        decode_event(data)
    except ValueError:
        pass
