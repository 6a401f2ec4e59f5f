"""The pure parts of a table's Kinesis streaming destination (table_api/kinesis_destinations.py): the
statuses shown while a change settles, AWS's record shape, our partition key, and the routing shared
with the connector's PutRecord (contracts/kinesis_streams.partition_for)."""

from __future__ import annotations

import orjson

from connector.ids import equal_slices, rescaled_slices
from connector.kinesis_shards import new_generation, route
from contracts.kinesis_streams import hash_key, partition_for
from table_api import kinesis_destinations as kds
from table_api.keys import KeySchema

SCHEMA = KeySchema.from_wire([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                             [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}])
ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"


def test_a_change_is_transitional_for_a_moment_then_settled():
    enabled = {**kds.new_state(ARN, "ACTIVE", "MILLISECOND"), "ChangedAt": 1000.0}
    assert kds.status(enabled, 1000.2) == "ENABLING" and kds.status(enabled, 1001.5) == "ACTIVE"
    disabled = {**enabled, "Status": "DISABLED"}
    assert kds.status(disabled, 1000.2) == "DISABLING" and kds.status(disabled, 1001.5) == "DISABLED"
    updated = {**kds.new_state(ARN, "ACTIVE", "MICROSECOND", updated=True), "ChangedAt": 1000.0}
    assert kds.status(updated, 1000.2) == "UPDATING" and kds.status(updated, 1001.5) == "ACTIVE"


def test_only_active_destinations_take_records_and_a_stream_is_stored_once():
    description = kds.replaced({}, kds.new_state(ARN, "ACTIVE", "MILLISECOND"))
    assert [d["StreamArn"] for d in kds.streaming(description)] == [ARN]
    description = kds.replaced(description, kds.new_state(ARN, "DISABLED", "MILLISECOND"))
    assert kds.streaming(description) == [] and len(kds.destinations(description)) == 1


def test_the_record_is_aws_format_with_both_images_and_the_precision_of_the_destination():
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    old, new = {**key, "v": {"N": "1"}}, {**key, "v": {"N": "2"}}
    micro = kds.kinesis_record("T", key, old, new, "eu-west-1", 1_700_000_000_123_456, "MICROSECOND", None, None)
    assert micro["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_000_123_456
    milli = kds.kinesis_record("T", key, old, new, "eu-west-1", 1_700_000_000_123_456, "MILLISECOND", None, None)
    assert milli["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_000_123
    assert milli["dynamodb"]["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
    assert (milli["eventName"], milli["recordFormat"], milli["eventSource"], milli["userIdentity"]) == (
        "MODIFY", "application/json", "aws:dynamodb", None)
    assert milli["dynamodb"]["OldImage"] == old and milli["dynamodb"]["NewImage"] == new
    assert "StreamViewType" not in milli["dynamodb"] and "eventVersion" not in milli
    ttl = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert kds.kinesis_record("T", key, old, None, "r", 1, "MILLISECOND", ttl, None)["userIdentity"] == ttl


def test_the_partition_key_depends_on_the_table_and_the_partition_key_value_only():
    a1 = kds.partition_key("T", SCHEMA, {"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert a1 == kds.partition_key("T", SCHEMA, {"pk": {"S": "a"}, "sk": {"N": "2"}})
    assert a1 != kds.partition_key("T", SCHEMA, {"pk": {"S": "b"}, "sk": {"N": "1"}})
    assert a1 != kds.partition_key("U", SCHEMA, {"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert len(a1) == 32 and int(a1, 16) >= 0


def test_records_are_routed_as_the_connector_routes_put_record_also_after_a_reshard():
    first = new_generation("s", 0, 0, equal_slices(3), 0)
    stream = {"StreamName": "s", "Generations": [first]}
    second = new_generation("s", 1, 3, rescaled_slices(5, equal_slices(3)), 10)
    resharded = {"StreamName": "s", "Generations": [{**first, "ClosedMs": 10}, second]}
    for s in (stream, resharded):
        for i in range(200):
            key = f"key-{i}"
            topic, partition, _ = route(s, hash_key(key))
            assert partition_for(s, key) == (topic, partition)


def test_an_outbox_row_splits_into_the_partition_key_and_the_record():
    stream = {"StreamName": "s", "Generations": [new_generation("s", 0, 0, equal_slices(2), 0)]}
    destination = kds.new_state(ARN, "ACTIVE", "MILLISECOND")
    [(topic, partition, payload, _)] = kds.outbox_rows("T", SCHEMA, {"pk": {"S": "a"}, "sk": {"N": "1"}}, None,
                                                       {"pk": {"S": "a"}, "sk": {"N": "1"}}, "r", None, None,
                                                       [(destination, stream)])
    key, value = kds.split_payload(payload)
    assert key.decode() == kds.partition_key("T", SCHEMA, {"pk": {"S": "a"}})
    assert (topic, partition) == partition_for(stream, key.decode())
    assert orjson.loads(value)["eventName"] == "INSERT"


def test_a_stream_is_gone_only_when_the_catalog_knows_streams_and_none_live_holds_the_topic():
    live = {"StreamName": "s", "StreamStatus": "ACTIVE", "Generations": [{"Topic": "kinesis.s.0"}]}
    assert not kds.stream_gone([], "kinesis.s.0")  # a lost catalog proves nothing
    assert not kds.stream_gone([live], "kinesis.s.0")
    assert kds.stream_gone([{**live, "StreamStatus": "DELETING"}], "kinesis.s.0")
    assert kds.stream_gone([{"StreamName": "s", "Deleted": True, "NextGeneration": 1}], "kinesis.s.0")
