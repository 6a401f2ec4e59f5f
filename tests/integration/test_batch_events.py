"""BatchWriteItem's change events, read back from Kafka as any consumer would: one event per item
the batch changes (INSERT, MODIFY, REMOVE, over several tables), none for a put that changes
nothing or a delete of a missing item, none at all for a batch that is refused."""

from __future__ import annotations

from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

from tests.integration.cdc_helpers import comparable, latest_label, wire

pytestmark = pytest.mark.timeout(60)


def topic_of(cdc, dynamodb, table: str) -> str:
    return cdc.stream_topic(table, latest_label(dynamodb, table))


def by_key(events) -> dict[str, list]:
    grouped = defaultdict(list)
    for event in events:
        grouped[repr(sorted(comparable(event.key).items()))].append(event)
    return grouped


def key_id(key: dict) -> str:
    return repr(sorted(comparable(wire(key)).items()))


def test_batch_write_item_emits_one_event_per_changed_item(cdc, dynamodb, tables):
    first = tables.create("cdc-batch", "NEW_AND_OLD_IMAGES")
    second = tables.create("cdc-batch-sk", "NEW_IMAGE", range_key=("sk", "N"))
    kept = {"pk": {"S": "kept"}, "v": {"N": "1"}}
    changed = {"pk": {"S": "changed"}, "v": {"N": "1"}}
    removed = {"pk": {"S": "removed"}, "b": {"B": b"\x00\xff"}}
    for item in (kept, changed, removed):
        dynamodb.put_item(TableName=first, Item=item)
    new = {"pk": {"S": "new"}, "l": {"L": [{"S": "x"}, {"NULL": True}]}}
    changed_after = {"pk": {"S": "changed"}, "v": {"N": "2"}}
    rows = [{"pk": {"S": "p"}, "sk": {"N": str(i)}, "i": {"N": str(i)}} for i in range(3)]
    dynamodb.batch_write_item(RequestItems={
        first: [{"PutRequest": {"Item": new}}, {"PutRequest": {"Item": kept}},
                {"PutRequest": {"Item": changed_after}}, {"DeleteRequest": {"Key": {"pk": removed["pk"]}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "never-there"}}}}],
        second: [{"PutRequest": {"Item": row}} for row in rows],
    })

    events = by_key(cdc.events(topic_of(cdc, dynamodb, first)))
    names = {kid: [e.name for e in evs] for kid, evs in events.items()}
    assert names == {
        key_id({"pk": kept["pk"]}): ["INSERT"],  # the batch's identical put: no event
        key_id({"pk": changed["pk"]}): ["INSERT", "MODIFY"],
        key_id({"pk": removed["pk"]}): ["INSERT", "REMOVE"],
        key_id({"pk": new["pk"]}): ["INSERT"],
    }
    modify = events[key_id({"pk": changed["pk"]})][1].record
    assert comparable(modify["OldImage"]) == comparable(wire(changed))
    assert comparable(modify["NewImage"]) == comparable(wire(changed_after))
    remove = events[key_id({"pk": removed["pk"]})][1].record
    assert comparable(remove["OldImage"]) == comparable(wire(removed)) and remove.get("NewImage") is None
    insert = events[key_id({"pk": new["pk"]})][0].record
    assert comparable(insert["NewImage"]) == comparable(wire(new))

    second_events = cdc.events(topic_of(cdc, dynamodb, second))
    assert sorted((e.name, e.record["NewImage"]["i"]["N"]) for e in second_events) == [
        ("INSERT", "0"), ("INSERT", "1"), ("INSERT", "2")]
    assert all(e.record.get("OldImage") is None for e in second_events)  # NEW_IMAGE view


def test_a_refused_batch_emits_no_event(cdc, dynamodb, tables):
    table = tables.create("cdc-batch-refused", "KEYS_ONLY")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "marker"}})
    with pytest.raises(ClientError, match="duplicates"):
        dynamodb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"pk": {"S": "a"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]})
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        dynamodb.batch_write_item(RequestItems={
            table: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}],
            "cdc-batch-no-such-table": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]})
    events = cdc.events(topic_of(cdc, dynamodb, table))
    assert [(e.name, e.key) for e in events] == [("INSERT", {"pk": {"S": "marker"}})]
