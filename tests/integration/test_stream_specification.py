"""StreamSpecification on CreateTable and UpdateTable, and what each stream is on Kafka.

DescribeTable reports the stream (StreamSpecification, LatestStreamArn, LatestStreamLabel);
DynamoDB's ValidationExceptions for enabling an enabled stream, disabling a disabled one,
changing the view type in place and malformed specifications; one topic per stream with one
partition per shard and `retention.ms` from the stream retention (both configurable); disabling
a stream or deleting its table stops its events, keeps its topic and marks it DISABLED in the
catalog topic; each enable starts a new stream with a new label, ARN and topic.
"""

from __future__ import annotations

import json
import os
import re

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION, ServerProcess, client_kwargs
from tests.integration.cdc_helpers import (
    LABEL,
    CdcProbe,
    create_stream_table,
    latest_label,
    unique_name,
)

pytestmark = pytest.mark.timeout(60)

DEFAULT_SHARDS = 4
DEFAULT_RETENTION_MS = 24 * 3600 * 1000
TARGET = "DynamoDB_20120810."
AMZ_JSON = "application/x-amz-json-1.0"


@pytest.fixture(scope="module")
def http(endpoint_url):
    with httpx.Client(base_url=endpoint_url, timeout=30) as client:
        yield client


def call(http, operation: str, body: dict) -> httpx.Response:
    return http.post("/", content=json.dumps(body), headers={"X-Amz-Target": TARGET + operation, "Content-Type": AMZ_JSON})


def describe(dynamodb, name: str) -> dict:
    return dynamodb.describe_table(TableName=name)["Table"]


def set_stream(dynamodb, name: str, view_type: str | None) -> dict:
    spec = {"StreamEnabled": False} if view_type is None else {"StreamEnabled": True, "StreamViewType": view_type}
    return dynamodb.update_table(TableName=name, StreamSpecification=spec)["TableDescription"]


def validation_error(dynamodb, name: str, spec: dict) -> str:
    """UpdateTable with this specification fails with ValidationException (HTTP 400); its message."""
    with pytest.raises(ClientError) as info:
        dynamodb.update_table(TableName=name, StreamSpecification=spec)
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


def stream_enabled(description: dict) -> bool:
    return description.get("StreamSpecification", {}).get("StreamEnabled", False)


def assert_reports_stream(description: dict, view_type: str) -> None:
    """The description reports an enabled stream of this view type, with DynamoDB's ARN shape."""
    name, label, arn = description["TableName"], description["LatestStreamLabel"], description["LatestStreamArn"]
    assert description["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": view_type}
    assert LABEL.match(label), label
    assert re.fullmatch(rf"arn:aws:dynamodb:{REGION}:\d{{12}}:table/{re.escape(name)}/stream/{re.escape(label)}", arn), arn
    assert arn == f"{description['TableArn']}/stream/{label}"


def topic_of(cdc: CdcProbe, dynamodb, name: str) -> str:
    return cdc.stream_topic(name, latest_label(dynamodb, name))


# -- enabling --------------------------------------------------------------------------------------


def test_create_table_with_a_stream_reports_it_and_creates_its_topic(cdc, dynamodb, tables):
    name = unique_name("spec-create")
    response = dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    tables.names.append(name)
    created = response["TableDescription"]
    assert_reports_stream(created, "NEW_IMAGE")
    described = describe(dynamodb, name)
    assert_reports_stream(described, "NEW_IMAGE")
    assert (described["LatestStreamArn"], described["LatestStreamLabel"]) == (created["LatestStreamArn"], created["LatestStreamLabel"])

    topic = topic_of(cdc, dynamodb, name)
    assert cdc.partitions(topic) == DEFAULT_SHARDS
    assert cdc.topic_config(topic)["retention.ms"] == str(DEFAULT_RETENTION_MS)
    stream = cdc.catalog()[described["LatestStreamArn"]]
    assert stream["StreamStatus"] == "ENABLED"
    assert stream["StreamViewType"] == "NEW_IMAGE"
    assert stream["StreamLabel"] == described["LatestStreamLabel"]
    assert stream["TableName"] == name
    assert stream["KeySchema"] == described["KeySchema"]
    assert stream.get("Topic", topic) == topic

    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    events = cdc.events(topic)
    assert [(e.name, e.record.get("NewImage")) for e in events] == [("INSERT", {"pk": {"S": "a"}, "v": {"N": "1"}})]
    assert {f"{topic}-key", f"{topic}-value"} <= set(cdc.subjects())


def test_table_without_a_stream_or_with_stream_disabled_gets_no_topic(cdc, dynamodb, tables):
    plain = tables.create("spec-plain", view_type=None)
    explicit = unique_name("spec-none")
    dynamodb.create_table(TableName=explicit, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    tables.names.append(explicit)
    for name in (plain, explicit):
        description = describe(dynamodb, name)
        assert not stream_enabled(description)
        assert "LatestStreamArn" not in description and "LatestStreamLabel" not in description
        dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
        dynamodb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    cdc.wait_drained()
    assert cdc.table_topics(plain) == [] and cdc.table_topics(explicit) == []


def test_update_table_enables_a_stream_whose_events_start_with_the_next_change(cdc, dynamodb, tables):
    name = tables.create("spec-enable", view_type=None)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "before"}, "v": {"N": "1"}})
    updated = set_stream(dynamodb, name, "KEYS_ONLY")
    assert_reports_stream(updated, "KEYS_ONLY")
    assert_reports_stream(describe(dynamodb, name), "KEYS_ONLY")
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "before"}, "v": {"N": "2"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "after"}})
    topic = topic_of(cdc, dynamodb, name)
    assert cdc.partitions(topic) == DEFAULT_SHARDS
    assert cdc.topic_config(topic)["retention.ms"] == str(DEFAULT_RETENTION_MS)
    events = sorted(cdc.events(topic), key=lambda e: e.key["pk"]["S"])
    assert [(e.name, e.key) for e in events] == [("INSERT", {"pk": {"S": "after"}}), ("MODIFY", {"pk": {"S": "before"}})]
    assert all("NewImage" not in e.record and "OldImage" not in e.record for e in events)


# -- DynamoDB's validation -------------------------------------------------------------------------


def test_enabling_an_enabled_stream_is_a_validation_error(cdc, dynamodb, tables):
    name = tables.create("spec-twice", "NEW_IMAGE")
    before = describe(dynamodb, name)
    message = validation_error(dynamodb, name, {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    assert message == f"Table already has an enabled stream: TableName: {name}"
    after = describe(dynamodb, name)
    assert (after["LatestStreamArn"], after["StreamSpecification"]) == (before["LatestStreamArn"], before["StreamSpecification"])
    cdc.wait_drained()
    assert len(cdc.table_topics(name)) == 1


def test_changing_the_view_type_without_disabling_first_is_a_validation_error(cdc, dynamodb, tables):
    name = tables.create("spec-view", "KEYS_ONLY")
    before = describe(dynamodb, name)
    for view_type in ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        message = validation_error(dynamodb, name, {"StreamEnabled": True, "StreamViewType": view_type})
        assert "already has an enabled stream" in message, message
    after = describe(dynamodb, name)
    assert after["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert after["LatestStreamArn"] == before["LatestStreamArn"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    events = cdc.events(topic_of(cdc, dynamodb, name))
    assert [e.record["StreamViewType"] for e in events] == ["KEYS_ONLY"]
    assert len(cdc.table_topics(name)) == 1


def test_disabling_a_disabled_stream_is_a_validation_error(dynamodb, tables):
    never = tables.create("spec-never", view_type=None)
    validation_error(dynamodb, never, {"StreamEnabled": False})
    assert "LatestStreamArn" not in describe(dynamodb, never)

    once = tables.create("spec-once", "OLD_IMAGE")
    arn = describe(dynamodb, once)["LatestStreamArn"]
    set_stream(dynamodb, once, None)
    validation_error(dynamodb, once, {"StreamEnabled": False})
    after = describe(dynamodb, once)
    assert not stream_enabled(after) and after["LatestStreamArn"] == arn


def test_enabling_without_a_view_type_is_a_validation_error(dynamodb, tables):
    name = tables.create("spec-noview", view_type=None)
    validation_error(dynamodb, name, {"StreamEnabled": True})
    assert not stream_enabled(describe(dynamodb, name))
    other = unique_name("spec-noview")
    with pytest.raises(ClientError) as info:
        dynamodb.create_table(TableName=other, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              StreamSpecification={"StreamEnabled": True})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert other not in dynamodb.list_tables()["TableNames"]


MALFORMED = [
    # (specification, error types a client may get; the issue names ValidationException)
    ({"Enabled": True}, ("ValidationException",)),
    ({"Enabled": True, "StreamViewType": "NEW_IMAGE"}, ("ValidationException",)),
    ({}, ("ValidationException",)),
    ({"StreamViewType": "KEYS_ONLY"}, ("ValidationException",)),
    ({"StreamEnabled": True, "StreamViewType": "EVERYTHING"}, ("ValidationException",)),
    ({"StreamEnabled": "yes", "StreamViewType": "KEYS_ONLY"}, ("ValidationException", "SerializationException")),
    ({"StreamEnabled": True, "StreamViewType": 3}, ("ValidationException", "SerializationException")),
    ("NEW_IMAGE", ("ValidationException", "SerializationException")),
    ([{"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}], ("ValidationException", "SerializationException")),
]


def assert_client_error(response: httpx.Response, allowed: tuple[str, ...]) -> None:
    assert response.status_code == 400, (response.status_code, response.text)
    error_type = response.json()["__type"].rsplit("#", 1)[-1]
    assert error_type in allowed, response.text


@pytest.mark.parametrize("spec,allowed", MALFORMED, ids=[json.dumps(m[0]) for m in MALFORMED])
def test_malformed_specification_is_a_clean_client_error(http, dynamodb, tables, spec, allowed):
    name = unique_name("spec-bad")
    response = call(http, "CreateTable", {
        "TableName": name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": spec,
    })
    assert_client_error(response, allowed)
    assert name not in dynamodb.list_tables()["TableNames"]

    existing = tables.create("spec-bad", "NEW_IMAGE")
    before = describe(dynamodb, existing)
    assert_client_error(call(http, "UpdateTable", {"TableName": existing, "StreamSpecification": spec}), allowed)
    after = describe(dynamodb, existing)
    assert (after["StreamSpecification"], after["LatestStreamArn"]) == (before["StreamSpecification"], before["LatestStreamArn"])
    assert call(http, "ListTables", {}).status_code == 200  # the server is still fine


# -- disabling and re-enabling ---------------------------------------------------------------------


def test_disabling_stops_events_keeps_the_topic_and_marks_the_stream_disabled(cdc, dynamodb, tables):
    name = tables.create("spec-disable", "NEW_AND_OLD_IMAGES")
    arn = describe(dynamodb, name)["LatestStreamArn"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    topic = topic_of(cdc, dynamodb, name)

    updated = set_stream(dynamodb, name, None)
    assert not stream_enabled(updated)
    described = describe(dynamodb, name)
    assert not stream_enabled(described)
    assert described["LatestStreamArn"] == arn  # DynamoDB keeps naming the latest stream

    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    dynamodb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    events = cdc.events(topic)
    assert [(e.name, e.key) for e in events] == [("INSERT", {"pk": {"S": "a"}})]
    assert cdc.table_topics(name) == [topic], "the topic stays; no new one"
    stream = cdc.catalog()[arn]
    assert stream["StreamStatus"] == "DISABLED"
    assert stream["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_each_enable_starts_a_new_stream_with_a_new_label_arn_and_topic(cdc, dynamodb, tables):
    name = tables.create("spec-again", "KEYS_ONLY")
    first = describe(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    first_topic = topic_of(cdc, dynamodb, name)

    set_stream(dynamodb, name, None)
    enabled = set_stream(dynamodb, name, "NEW_IMAGE")  # a new view type: disable, then enable
    assert_reports_stream(enabled, "NEW_IMAGE")
    second = describe(dynamodb, name)
    assert_reports_stream(second, "NEW_IMAGE")
    assert second["LatestStreamLabel"] > first["LatestStreamLabel"]
    assert second["LatestStreamArn"] != first["LatestStreamArn"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})

    second_topic = topic_of(cdc, dynamodb, name)
    assert second_topic != first_topic
    assert cdc.table_topics(name) == sorted([first_topic, second_topic])
    old_events, new_events = cdc.events(first_topic), cdc.events(second_topic, drain=False)
    assert [(e.name, e.record["StreamViewType"]) for e in old_events] == [("INSERT", "KEYS_ONLY")]
    assert [(e.name, e.record.get("NewImage")) for e in new_events] == [("MODIFY", {"pk": {"S": "a"}, "v": {"N": "2"}})]
    assert "OldImage" not in new_events[0].record
    assert new_events[0].partition == old_events[0].partition, "the same key value hashes to the same shard"

    catalog = cdc.catalog()
    assert catalog[first["LatestStreamArn"]]["StreamStatus"] == "DISABLED"
    assert catalog[second["LatestStreamArn"]]["StreamStatus"] == "ENABLED"
    assert catalog[second["LatestStreamArn"]]["StreamViewType"] == "NEW_IMAGE"


def test_deleting_a_table_disables_its_stream_and_keeps_its_topic(cdc, dynamodb, tables):
    name = unique_name("spec-delete")
    create_stream_table(dynamodb, name, "NEW_IMAGE")
    arn = describe(dynamodb, name)["LatestStreamArn"]
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    topic = topic_of(cdc, dynamodb, name)
    dynamodb.delete_table(TableName=name)

    assert cdc.catalog()[arn]["StreamStatus"] == "DISABLED"
    assert [e.name for e in cdc.events(topic, drain=False)] == ["INSERT"]

    # a new table of the same name has a new stream; the old topic is left as it was
    create_stream_table(dynamodb, name, "NEW_IMAGE")
    tables.names.append(name)
    assert describe(dynamodb, name)["LatestStreamArn"] != arn
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    new_topic = topic_of(cdc, dynamodb, name)
    assert new_topic != topic
    assert [e.name for e in cdc.events(topic)] == ["INSERT"]
    assert [e.name for e in cdc.events(new_topic, drain=False)] == ["INSERT"]


# -- configuration -----------------------------------------------------------------------------------


def test_shard_count_and_retention_of_new_streams_are_configurable(broker, cdc, tmp_path):
    if os.environ.get("CDC_BRIDGE_TEST_ENDPOINT"):
        pytest.skip("starts its own server against the test broker")
    server = ServerProcess("table-api", tmp_path / "configured", "--kafka-bootstrap-servers", broker.bootstrap_servers,
                           "--stream-shards", "3", "--stream-retention-hours", "1.5")
    server.start()
    try:
        client = boto3.client("dynamodb", **client_kwargs(server.url))
        name = unique_name("spec-config")
        create_stream_table(client, name, "KEYS_ONLY")
        for n in range(12):
            client.put_item(TableName=name, Item={"pk": {"S": f"k{n}"}})
        probe = CdcProbe(server.url)
        try:
            topic = probe.stream_topic(name, latest_label(client, name))
            assert probe.partitions(topic) == 3
            assert probe.topic_config(topic)["retention.ms"] == str(int(1.5 * 3600 * 1000))
            events = probe.events(topic)
            assert len(events) == 12
            assert {e.partition for e in events} <= {0, 1, 2} and len({e.partition for e in events}) > 1
        finally:
            probe.close()
    finally:
        server.stop()
