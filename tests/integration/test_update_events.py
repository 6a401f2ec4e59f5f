"""UpdateItem's change events on Kafka: INSERT when it creates the item (upsert), MODIFY when it
changes it, never REMOVE (UpdateItem never deletes an item), and no event for an update that
changes nothing, fails its condition, is refused, or only removes attributes from a missing item. Read back as any Kafka consumer would."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.integration.cdc_helpers import latest_label, same_item, wire

pytestmark = pytest.mark.timeout(60)

KEY = {"pk": {"S": "k"}}


def update(dynamodb, table: str, expression: str, values: dict | None = None, key: dict = KEY, **params):
    if values:
        params["ExpressionAttributeValues"] = values
    return dynamodb.update_item(TableName=table, Key=key, UpdateExpression=expression, **params)


def test_update_item_events_insert_modify_and_none_for_no_change(cdc, dynamodb, tables):
    table = tables.create("cdc-update", "NEW_AND_OLD_IMAGES")
    one, two = {"N": "1"}, {"N": "2"}
    update(dynamodb, table, "SET n = :one, ss = :ss", {":one": one, ":ss": {"SS": ["a"]}})  # INSERT
    update(dynamodb, table, "SET n = n + :one ADD ss :ss", {":one": one, ":ss": {"SS": ["b"]}})  # MODIFY
    update(dynamodb, table, "SET n = :two", {":two": two})  # the same value: nothing
    update(dynamodb, table, "REMOVE absent")  # nothing to remove: nothing
    update(dynamodb, table, "ADD ss :ss", {":ss": {"SS": ["a"]}})  # already a member: nothing
    update(dynamodb, table, "DELETE ss :ss", {":ss": {"SS": ["z"]}})  # not a member: nothing
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        update(dynamodb, table, "SET n = :one", {":one": one}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError, match="ValidationException"):
        update(dynamodb, table, "SET n = ss + :one", {":one": one})  # refused: nothing
    update(dynamodb, table, "REMOVE n, ss")  # MODIFY, down to the key: never a REMOVE
    update(dynamodb, table, "SET v = :one", {":one": one}, key={"pk": {"S": "legacy"}})  # INSERT
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "legacy"}},
                         AttributeUpdates={"v": {"Action": "ADD", "Value": one}})  # MODIFY (legacy)
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "bare"}})  # INSERT of the key alone
    update(dynamodb, table, "REMOVE a.b", key={"pk": {"S": "ghost"}})  # a missing item stays missing

    events = cdc.events(cdc.stream_topic(table, latest_label(dynamodb, table)))
    by_key = {}
    for event in events:
        by_key.setdefault(event.key["pk"]["S"], []).append(event)
    assert [e.name for e in by_key["k"]] == ["INSERT", "MODIFY", "MODIFY"]
    insert, modify, strip = by_key["k"]
    assert "OldImage" not in insert.record or insert.record["OldImage"] is None
    assert same_item(insert.record["NewImage"], wire({**KEY, "n": one, "ss": {"SS": ["a"]}}))
    assert same_item(modify.record["OldImage"], insert.record["NewImage"])
    assert same_item(modify.record["NewImage"], wire({**KEY, "n": two, "ss": {"SS": ["a", "b"]}}))
    assert same_item(strip.record["NewImage"], wire(KEY))
    assert [e.name for e in by_key["legacy"]] == ["INSERT", "MODIFY"]
    assert same_item(by_key["legacy"][1].record["NewImage"], wire({"pk": {"S": "legacy"}, "v": two}))
    assert [e.name for e in by_key["bare"]] == ["INSERT"]
    assert all(e.name != "REMOVE" for e in events)
    assert len(events) == 6
