"""TTL deletions on the change stream: each item the sweeper deletes is one REMOVE event whose
userIdentity is DynamoDB's service principal, as on AWS; a user's own DeleteItem has none. Read
both ways a user would: from Kafka with a stock confluent_kafka consumer and AvroDeserializer
(the server's schema registry), and through the DynamoDB Streams API's GetRecords.

One `cdc-bridge up` (table service and connector on one port) with a one-second sweep.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.integration.cdc_helpers import CdcProbe, stock_item
from tests.integration.kafka_reading import read_to_end
from tests.integration.streams_helpers import (
    create_stream_table,
    dynamodb_client,
    read_stream,
    streams_client,
    up_server,
)

pytestmark = pytest.mark.timeout(120)

TTL_PRINCIPAL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
WAIT_S = 30.0


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory):
    server = up_server(broker, tmp_path_factory.mktemp("ttl-events"), "--ttl-sweep-interval", "1").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def swept(server):
    """A table with a stream where one item was deleted by a user and one by TTL, a third kept:
    (table, stream ARN, the old image of the expired item)."""
    dynamodb = dynamodb_client(server.url)
    table, arn = create_stream_table(dynamodb, "NEW_AND_OLD_IMAGES")
    now = int(time.time())
    expired = {"pk": {"S": "expired"}, "expires": {"N": str(now - 60)}, "note": {"S": "gone by TTL"}}
    dynamodb.put_item(TableName=table, Item=expired)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "kept"}, "expires": {"N": str(now + 3600)}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "deleted"}, "expires": {"N": str(now + 3600)}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "deleted"}})
    dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    deadline = time.monotonic() + WAIT_S
    while "Item" in dynamodb.get_item(TableName=table, Key={"pk": {"S": "expired"}}, ConsistentRead=True):
        assert time.monotonic() < deadline, "the expired item was not swept"
        time.sleep(0.1)
    assert "Item" in dynamodb.get_item(TableName=table, Key={"pk": {"S": "kept"}}, ConsistentRead=True)
    return table, arn, expired


def test_a_stock_kafka_consumer_sees_the_ttl_remove_with_the_service_principal(server, swept):
    table, _, expired = swept
    probe = CdcProbe(server.url)
    try:
        label = dynamodb_client(server.url).describe_table(TableName=table)["Table"]["LatestStreamLabel"]
        topic = probe.stream_topic(table, label)
        messages = read_to_end(probe.bootstrap_servers, topic, list(range(probe.partitions(topic))))
        deserializer = AvroDeserializer(SchemaRegistryClient({"url": probe.registry_url}))
    finally:
        probe.close()
    events = [deserializer(m.value(), SerializationContext(topic, MessageField.VALUE, m.headers()))
              for m in messages]
    removes = {stock_item(e["dynamodb"]["Keys"])["pk"]["S"]: e for e in events if e["eventName"] == "REMOVE"}
    assert set(removes) == {"expired", "deleted"}
    assert removes["expired"]["userIdentity"] == TTL_PRINCIPAL
    assert stock_item(removes["expired"]["dynamodb"]["OldImage"]) == expired
    assert removes["deleted"]["userIdentity"] is None  # a user's delete names no service
    assert sorted(e["eventName"] for e in events) == ["INSERT", "INSERT", "INSERT", "REMOVE", "REMOVE"]


def test_get_records_shows_the_ttl_remove_with_the_service_principal(server, swept):
    _, arn, expired = swept
    records = [r for shard in read_stream(streams_client(server.url), arn, total=5, timeout_s=WAIT_S).values()
               for r in shard]
    removes = {r["dynamodb"]["Keys"]["pk"]["S"]: r for r in records if r["eventName"] == "REMOVE"}
    assert set(removes) == {"expired", "deleted"}
    assert removes["expired"]["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    assert removes["expired"]["dynamodb"]["OldImage"]["note"] == {"S": "gone by TTL"}
    assert "NewImage" not in removes["expired"]["dynamodb"]
    assert "userIdentity" not in removes["deleted"]
    assert len(records) == 5  # three INSERTs and two REMOVEs: nothing for the kept item
