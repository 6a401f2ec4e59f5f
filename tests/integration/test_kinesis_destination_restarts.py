"""A table's Kinesis streaming destination across restarts of `cdc-bridge up` (on the session's broker,
which outlives it): the destination is still ACTIVE, and every acknowledged write is in the Kinesis
stream exactly once, in order per item, also when the process was killed with changes still in its
outbox and other writers (PutRecords) share the stream's shards. Runs on Apache Kafka in CI too."""

from __future__ import annotations

from tests.api.firehose_helpers import client
from tests.api.kds_helpers import by_key, destination, enable_active, stream_arn, wait_records
from tests.api.kinesis_helpers import create_active, needs_own_server

pytestmark = needs_own_server()
ITEMS, VERSIONS = 10, 6


def write_versions(ddb, kinesis, table: str, stream: str, versions: range) -> None:
    """Each item's versions in turn, with a record of another writer in every shard between them."""
    for version in versions:
        for i in range(ITEMS):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"item-{i}"}, "v": {"N": str(version)}})
        kinesis.put_records(StreamName=stream, Records=[{"Data": b"other", "PartitionKey": f"other-{version}-{k}"}
                                                        for k in range(8)])


def test_after_a_kill_and_a_restart_the_destination_is_active_and_each_write_is_there_once_in_order(up):
    server = up()
    ddb, kinesis = client(server.url, "dynamodb"), client(server.url, "kinesis")
    table = "kds-restart"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    stream = create_active(kinesis, shards=2)
    arn = stream_arn(kinesis, stream)
    enable_active(ddb, table, arn)
    write_versions(ddb, kinesis, table, stream, range(VERSIONS // 2))
    server.process.kill()  # no clean stop: acknowledged changes may still wait in the outbox
    server.process.wait()

    server = up()
    ddb, kinesis = client(server.url, "dynamodb"), client(server.url, "kinesis")
    assert destination(ddb, table, arn)["DestinationStatus"] == "ACTIVE"
    write_versions(ddb, kinesis, table, stream, range(VERSIONS // 2, VERSIONS))
    records = wait_records(kinesis, stream, ITEMS * VERSIONS + 8 * VERSIONS)
    ours = [r for r in records if r["Record"]["Data"] != b"other"]
    assert len(ours) == ITEMS * VERSIONS
    for key, events in by_key(ours).items():
        assert [int(e["dynamodb"]["NewImage"]["v"]["N"]) for e in events] == list(range(VERSIONS)), key
    assert len(records) - len(ours) == 8 * VERSIONS

