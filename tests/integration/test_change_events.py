"""Change events end to end: boto3 writes to a live server, and the events are read back from
Kafka as any consumer would, including a stock confluent_kafka consumer in a consumer group
with AvroDeserializer and SchemaRegistryClient pointed at the server's registry.

Exactly one event per item change (INSERT, MODIFY, REMOVE), none for a write that changes
nothing or whose condition fails; images exactly as the view type says; every event's envelope,
Kafka key, timestamp and headers; per-item order in one partition under concurrent writers.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from itertools import pairwise

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.conftest import REGION
from tests.integration.cdc_helpers import (
    FAST_GROUP,
    VIEW_TYPES,
    CdcProbe,
    comparable,
    created_ms,
    every_type_item,
    latest_label,
    new_client,
    same_item,
    stock_item,
    wire,
)

pytestmark = pytest.mark.timeout(60)

def topic_of(cdc: CdcProbe, dynamodb, table: str) -> str:
    """The topic of the table's current stream (LatestStreamLabel)."""
    return cdc.stream_topic(table, latest_label(dynamodb, table))


def expected_images(view_type: str, old: dict | None, new: dict | None) -> tuple[dict | None, dict | None]:
    """(OldImage, NewImage) an event of this view type must carry, in wire form."""
    old_image = wire(old) if old is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None
    new_image = wire(new) if new is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None
    return old_image, new_image


def check_change(view_type: str, record: dict, name: str, change: tuple) -> None:
    """`record` (a StreamRecord in wire form, absent images left out or None) and its event name
    are the change (eventName, key, old item, new item), as the view type shows it."""
    expected_name, key, old, new = change
    assert name == expected_name
    assert record["Keys"] == wire(key)
    old_image, new_image = expected_images(view_type, old, new)
    assert comparable(record.get("OldImage")) == comparable(old_image), f"OldImage of {name} ({view_type})"
    assert comparable(record.get("NewImage")) == comparable(new_image), f"NewImage of {name} ({view_type})"
    assert record["StreamViewType"] == view_type
    assert record["SizeBytes"] > 0


def key_id(key: dict) -> str:
    return repr(sorted(comparable(wire(key)).items()))


def per_key(changes: list[tuple]) -> dict[str, list[tuple]]:
    grouped = defaultdict(list)
    for change in changes:
        grouped[key_id(change[1])].append(change)
    return grouped


def insert_modify_remove(dynamodb, table: str, first: dict, second: dict, other: dict, key_names: tuple) -> list[tuple]:
    """INSERT first, MODIFY it into second, INSERT other, REMOVE the first item; return the
    changes (eventName, key, old, new) in write order."""
    key = {name: first[name] for name in key_names}
    other_key = {name: other[name] for name in key_names}
    dynamodb.put_item(TableName=table, Item=first)
    dynamodb.put_item(TableName=table, Item=second)
    dynamodb.put_item(TableName=table, Item=other)
    dynamodb.delete_item(TableName=table, Key=key)
    return [("INSERT", key, None, first), ("MODIFY", key, first, second),
            ("INSERT", other_key, None, other), ("REMOVE", key, second, None)]


def modified(item: dict) -> dict:
    """The item with attributes changed, added and removed."""
    changed = {name: value for name, value in item.items() if name not in ("bs", "nul")}
    changed["version"] = {"N": str(int(item["version"]["N"]) + 1)}
    changed["s"] = {"S": item["s"]["S"] + " (changed)"}
    changed["added"] = {"L": [{"SS": ["new"]}, {"N": "0.000000000000000000000000000000000000000001"}]}
    return changed


# -- the consumer the issue asks for -------------------------------------------------------------


def test_stock_avro_consumer_group_decodes_keys_and_values_of_every_event_and_view_type(cdc, dynamodb, tables):
    scenarios: dict[str, tuple[str, list[tuple]]] = {}  # topic -> (view type, changes in write order)
    for view_type in VIEW_TYPES:
        table = tables.create(f"cdc-avro-{view_type.lower().replace('_', '')}", view_type)
        first = every_type_item("item-a", 1)
        changes = insert_modify_remove(dynamodb, table, first, modified(first), every_type_item("item-b", 1), ("pk",))
        scenarios[topic_of(cdc, dynamodb, table)] = (view_type, changes)
    # keys of the other types: a number partition key (38 digits) and a binary sort key
    table = tables.create("cdc-avro-nb", "NEW_AND_OLD_IMAGES", hash_key=("id", "N"), range_key=("bin", "B"))
    keys = {"id": {"N": "-1234567890123456789.0123456789012345678"}, "bin": {"B": b"\x00\x01\xfe\xff"}}
    first = {**every_type_item("x", 1), **keys}
    other = {**every_type_item("y", 1), **keys, "bin": {"B": b"\x00"}}
    changes = insert_modify_remove(dynamodb, table, first, modified(first), other, ("id", "bin"))
    scenarios[topic_of(cdc, dynamodb, table)] = ("NEW_AND_OLD_IMAGES", changes)
    cdc.wait_drained()

    subjects = set(cdc.subjects())
    schema_ids = {}
    for topic in scenarios:
        assert {f"{topic}-key", f"{topic}-value"} <= subjects
        schema_ids[topic] = (cdc.latest_schema_id(f"{topic}-key"), cdc.latest_schema_id(f"{topic}-value"))

    registry = SchemaRegistryClient({"url": cdc.registry_url})
    key_deserializer, value_deserializer = AvroDeserializer(registry), AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": cdc.bootstrap_servers,
        "group.id": f"cdc-test-group-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **FAST_GROUP,
    })
    expected_total = sum(len(changes) for _, changes in scenarios.values())
    received: dict[str, list] = defaultdict(list)
    try:
        consumer.subscribe(list(scenarios))
        deadline = time.monotonic() + 30
        while sum(map(len, received.values())) < expected_total and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            topic = message.topic()
            key = key_deserializer(message.key(), SerializationContext(topic, MessageField.KEY, message.headers()))
            value = value_deserializer(message.value(), SerializationContext(topic, MessageField.VALUE, message.headers()))
            received[topic].append((message, key, value))
        extra = consumer.poll(0.5)  # nothing beyond the expected events
        assert extra is None or extra.error(), f"an unexpected record: {extra.topic()}@{extra.offset()}"
        assignment = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        assert assignment == {(topic, p) for topic in scenarios for p in range(cdc.partitions(topic))}
    finally:
        consumer.close()

    for topic, (view_type, changes) in scenarios.items():
        messages = received[topic]
        assert len(messages) == len(changes), f"{topic}: {len(messages)} events, {len(changes)} changes"
        key_schema_id, value_schema_id = schema_ids[topic]
        by_key = defaultdict(list)
        for message, key, value in messages:
            # Confluent framing: magic byte 0, then the id the registry gives the subject
            assert message.key()[0] == 0 and int.from_bytes(message.key()[1:5], "big") == key_schema_id
            assert message.value()[0] == 0 and int.from_bytes(message.value()[1:5], "big") == value_schema_id
            record = value["dynamodb"]
            wire_record = {
                "Keys": stock_item(record["Keys"]),
                "NewImage": stock_item(record["NewImage"]),
                "OldImage": stock_item(record["OldImage"]),
                "SizeBytes": record["SizeBytes"],
                "StreamViewType": record["StreamViewType"],
            }
            assert stock_item(key["Keys"]) == wire_record["Keys"]
            assert created_ms(record["ApproximateCreationDateTime"]) == message.timestamp()[1]
            assert value["eventVersion"] == "1.1" and value["eventSource"] == "aws:dynamodb"
            by_key[repr(sorted(comparable(wire_record["Keys"]).items()))].append((value["eventName"], wire_record, message))
        expected_by_key = per_key(changes)
        assert set(by_key) == set(expected_by_key)
        for kid, events in by_key.items():
            assert len({message.partition() for _, _, message in events}) == 1, "one item, one partition"
            assert [e[0] for e in events] == [c[0] for c in expected_by_key[kid]], f"{topic} {kid}"
            for (name, record, _), change in zip(events, expected_by_key[kid]):
                check_change(view_type, record, name, change)


# -- images and envelope -------------------------------------------------------------------------


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_images_follow_the_view_type_exactly(cdc, dynamodb, tables, view_type):
    table = tables.create("cdc-view", view_type)
    first = every_type_item("a", 1)
    changes = insert_modify_remove(dynamodb, table, first, modified(first), every_type_item("b", 1), ("pk",))
    events = cdc.events(topic_of(cdc, dynamodb, table))
    expected = per_key(changes)
    got = defaultdict(list)
    for event in events:
        got[key_id(event.key)].append(event)
    assert set(got) == set(expected)
    for kid, item_events in got.items():
        assert len(item_events) == len(expected[kid])
        for event, change in zip(item_events, expected[kid]):
            check_change(view_type, event.record, event.name, change)
            present = {part for part in ("NewImage", "OldImage") if part in event.record}
            if view_type == "KEYS_ONLY":
                assert present == set()
            elif view_type == "NEW_IMAGE":
                assert "OldImage" not in present
            elif view_type == "OLD_IMAGE":
                assert "NewImage" not in present


def test_every_event_carries_its_envelope_and_kafka_record_metadata(cdc, dynamodb, tables):
    table = tables.create("cdc-envelope", "NEW_AND_OLD_IMAGES", range_key=("sk", "N"))
    before_ms = int(time.time() * 1000)
    for n in range(6):
        item = {"pk": {"S": f"p{n % 3}"}, "sk": {"N": str(n)}, "v": {"S": "x" * (10 + n)}}
        dynamodb.put_item(TableName=table, Item=item)
        dynamodb.put_item(TableName=table, Item={**item, "v": {"S": "changed"}})
        if n % 2:
            dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    after_ms = int(time.time() * 1000)
    topic = topic_of(cdc, dynamodb, table)
    events = cdc.events(topic)
    assert len(events) == 6 + 6 + 3
    assert sorted(e.name for e in events).count("REMOVE") == 3
    key_id_, value_id = cdc.latest_schema_id(f"{topic}-key"), cdc.latest_schema_id(f"{topic}-value")
    assert len({e.value["eventID"] for e in events}) == len(events), "eventIDs are unique"
    last_seq = {}
    for event in events:
        value, record = event.value, event.record
        assert isinstance(value["eventID"], str) and value["eventID"]
        assert value["eventVersion"] == "1.1"
        assert value["eventSource"] == "aws:dynamodb"
        assert value["awsRegion"] == REGION
        assert value["tableName"] == table
        assert record["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert record["SizeBytes"] > 0
        assert before_ms - 1000 <= record["ApproximateCreationDateTime"] <= after_ms + 1000
        # the Kafka record: timestamp, key, headers, framing
        assert event.timestamp_type == TIMESTAMP_CREATE_TIME
        assert event.timestamp_ms == record["ApproximateCreationDateTime"]
        assert event.key == record["Keys"] and set(event.key) == {"pk", "sk"}
        assert (event.key_schema_id, event.value_schema_id) == (key_id_, value_id)
        assert event.headers["table"] == table.encode()
        assert event.headers["eventName"] == event.name.encode()
        assert len(event.headers["cdc-bridge-seq"]) == 8
        assert event.seq > last_seq.get(event.partition, 0), "outbox sequence grows within a partition"
        last_seq[event.partition] = event.seq
        if event.name == "MODIFY":
            # both images: bigger than the INSERT of the same item, which carries only one
            insert = next(e for e in events if e.name == "INSERT" and e.key == event.key)
            assert record["SizeBytes"] > insert.record["SizeBytes"]


# -- exactly one event per change ----------------------------------------------------------------


def test_no_event_for_a_write_that_changes_nothing_or_whose_condition_fails(cdc, dynamodb, tables):
    table = tables.create("cdc-noop", "NEW_AND_OLD_IMAGES")
    item = {
        "pk": {"S": "k"},
        "n": {"N": "1"},
        "ns": {"NS": ["1", "2.5", "-3"]},
        "ss": {"SS": ["a", "b", "c"]},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "m": {"M": {"x": {"N": "10"}, "y": {"L": [{"N": "100"}, {"S": ""}]}}},
    }
    same_but_spelled_differently = {
        "pk": {"S": "k"},
        "m": {"M": {"y": {"L": [{"N": "1E2"}, {"S": ""}]}, "x": {"N": "10.000"}}},
        "bs": {"BS": [b"\x02", b"\x01"]},
        "ss": {"SS": ["c", "a", "b"]},
        "ns": {"NS": ["-3.0", "2.50", "01"]},
        "n": {"N": "1.0"},
    }
    dynamodb.put_item(TableName=table, Item=item)  # INSERT
    dynamodb.put_item(TableName=table, Item=item)  # identical: nothing
    dynamodb.put_item(TableName=table, Item=same_but_spelled_differently)  # equal: nothing
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        dynamodb.put_item(TableName=table, Item={**item, "n": {"N": "5"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": "k"}}, ConditionExpression="n = :two",
                             ExpressionAttributeValues={":two": {"N": "2"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "ghost"}})  # missing: nothing
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "ghost"}}, ReturnValues="ALL_OLD")
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "ghost"}}, ConditionExpression="attribute_exists(pk)")
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        dynamodb.delete_item(TableName=table, Key={"pk": {"S": "ghost"}}, ConditionExpression="attribute_exists(pk)")
    dynamodb.put_item(TableName=table, Item={**item, "n": {"N": "2"}})  # MODIFY

    events = cdc.events(topic_of(cdc, dynamodb, table))
    assert [(e.name, e.key) for e in events] == [("INSERT", {"pk": {"S": "k"}}), ("MODIFY", {"pk": {"S": "k"}})]
    insert, modify = events
    assert same_item(insert.record["NewImage"], wire(item))
    assert same_item(modify.record["OldImage"], wire(item))
    assert same_item(modify.record["NewImage"], wire({**item, "n": {"N": "2"}}))


def test_table_with_every_write_kind_gives_exactly_one_event_per_change(cdc, dynamodb, tables):
    table = tables.create("cdc-count", "KEYS_ONLY")
    expected = []
    for n in range(20):
        key = {"pk": {"S": f"item-{n}"}}
        dynamodb.put_item(TableName=table, Item={**key, "v": {"N": "1"}})
        expected.append(("INSERT", key))
        if n % 2 == 0:
            dynamodb.put_item(TableName=table, Item={**key, "v": {"N": "2"}})
            expected.append(("MODIFY", key))
        if n % 4 == 0:
            dynamodb.delete_item(TableName=table, Key=key)
            expected.append(("REMOVE", key))
    events = cdc.events(topic_of(cdc, dynamodb, table))
    got = defaultdict(list)
    for event in events:
        got[event.key["pk"]["S"]].append(event.name)
        assert set(event.record) == {"ApproximateCreationDateTime", "Keys", "SizeBytes", "StreamViewType"}
    want = defaultdict(list)
    for name, key in expected:
        want[key["pk"]["S"]].append(name)
    assert dict(got) == dict(want)


# -- order and partitioning ----------------------------------------------------------------------


def test_concurrent_updates_of_a_few_items_are_in_write_order_in_one_partition(cdc, dynamodb, endpoint_url, tables):
    table = tables.create("cdc-order", "NEW_AND_OLD_IMAGES")
    items, writers, writes_each = ["hot-1", "hot-2", "hot-3"], 6, 25
    errors = []

    def write(writer: int) -> None:
        client = new_client(endpoint_url)
        try:
            for n in range(writes_each):
                pk = items[(n + writer) % len(items)]
                client.put_item(TableName=table, Item={"pk": {"S": pk}, "writer": {"N": str(writer)}, "n": {"N": str(n)}})
        except Exception as exc:  # noqa: BLE001 -- a thread's failure is reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(45)
    assert not errors, errors

    events = cdc.events(topic_of(cdc, dynamodb, table))
    assert len(events) == writers * writes_each, "every put wrote a new value: one event each"
    by_item = defaultdict(list)
    for event in events:  # partition, then offset order
        by_item[event.key["pk"]["S"]].append(event)
    assert set(by_item) == set(items)
    for pk, item_events in by_item.items():
        assert len({e.partition for e in item_events}) == 1, f"{pk} is in more than one partition"
        assert [e.name for e in item_events] == ["INSERT"] + ["MODIFY"] * (len(item_events) - 1)
        # each event's old image is the previous event's new image: the events are in write order
        for previous, event in pairwise(item_events):
            assert event.record["OldImage"] == previous.record["NewImage"], f"{pk}: out of order at offset {event.offset}"
        # and each writer's own writes to the item appear in the order it made them
        seen = defaultdict(list)
        for event in item_events:
            seen[event.record["NewImage"]["writer"]["N"]].append(int(event.record["NewImage"]["n"]["N"]))
        for writer, ns in seen.items():
            assert ns == sorted(ns), f"{pk}: writer {writer} out of order: {ns}"
        final = dynamodb.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"]
        assert item_events[-1].record["NewImage"] == final
        assert [e.seq for e in item_events] == sorted(e.seq for e in item_events)


def test_items_sharing_a_partition_key_share_a_partition_chosen_by_the_key_value_alone(cdc, dynamodb, tables):
    composite = tables.create("cdc-part", "KEYS_ONLY", range_key=("sk", "N"))
    simple = tables.create("cdc-part2", "NEW_IMAGE")
    pks = [f"user#{n}" for n in range(12)]
    for pk in pks:
        for sk in range(3):
            dynamodb.put_item(TableName=composite, Item={"pk": {"S": pk}, "sk": {"N": str(sk)}})
        dynamodb.put_item(TableName=simple, Item={"pk": {"S": pk}, "other": {"BOOL": True}})
    composite_events = cdc.events(topic_of(cdc, dynamodb, composite))
    simple_events = cdc.events(topic_of(cdc, dynamodb, simple), drain=False)
    assert len(composite_events) == 36 and len(simple_events) == 12
    partition_of = defaultdict(set)
    for event in composite_events:
        partition_of[event.key["pk"]["S"]].add(event.partition)
    assert all(len(parts) == 1 for parts in partition_of.values()), partition_of
    used = {next(iter(parts)) for parts in partition_of.values()}
    assert len(used) > 1, "twelve partition keys all hashed to one shard"
    # same key value, same shard count -> the same partition, in another table's stream too
    for event in simple_events:
        assert {event.partition} == partition_of[event.key["pk"]["S"]]


# -- observability -------------------------------------------------------------------------------


def test_metrics_show_the_outbox_draining_and_events_published(cdc, dynamodb, tables):
    table = tables.create("cdc-metrics", "KEYS_ONLY")
    before = cdc.wait_drained()
    assert before["cdc_bridge_outbox_oldest_age_seconds"] == 0
    for n in range(25):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"m{n}"}})
    after = cdc.wait_drained()
    assert after["cdc_bridge_events_published_total"] - before["cdc_bridge_events_published_total"] == 25
    assert after["cdc_bridge_outbox_oldest_age_seconds"] == 0
    assert len(cdc.events(topic_of(cdc, dynamodb, table), drain=False)) == 25
