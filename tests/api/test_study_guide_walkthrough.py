"""The study guide's walk-through, step by step, with the AWS CLI verbatim but for
`--endpoint-url`: MyTable (userId, timestamp) with a GSI on timestamp, on demand -> describe it ->
enable its stream (NEW_AND_OLD_IMAGES) -> the guide's put-item -> enable TTL on expirationTimestamp (the
item's 20231015, read as epoch seconds, is 1970-08-23: more than five years ago, so never deleted) ->
query the GSI -> read the INSERT
through `aws dynamodbstreams` -> update-item (MODIFY, both images) -> delete-item (REMOVE) ->
disable the stream -> the old stream is still listed and readable -> delete-table.

One test per step, in the guide's order: each builds on the ones before (run the module whole).
It runs its own `cdc-bridge up` (table service and connector on one port), as a reader would, with
a one-second TTL sweep so that the TTL step sees sweeps pass.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.streams_helpers import aws_cli_runner, read_stream, start_up, streams_client

pytestmark = pytest.mark.timeout(120)

KEY = '{"userId": {"S": "123"}, "timestamp": {"N": "20231010"}}'
ITEM = {"userId": {"S": "123"}, "timestamp": {"N": "20231010"}, "expirationTimestamp": {"N": "20231015"}}
GSI = json.dumps([{"IndexName": "timestamp-index", "KeySchema": [{"AttributeName": "timestamp", "KeyType": "HASH"}],
                   "Projection": {"ProjectionType": "ALL"}}])


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory):
    process = start_up(broker, tmp_path_factory.mktemp("walkthrough"), "--ttl-sweep-interval", "1")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    return aws_cli_runner(server.url, tmp_path_factory.mktemp("aws-cli"))


@pytest.fixture(scope="module")
def streams(server):
    return streams_client(server.url)


@pytest.fixture(scope="module")
def walk() -> dict:
    """What one step leaves for the next (the stream's ARN, the item's shard)."""
    return {}


def cli_json(aws, *args: str) -> dict:
    return json.loads(aws(*args).stdout or "{}")


def shard_records(aws, walk: dict) -> list[dict]:
    """The item's shard read from TRIM_HORIZON with the CLI: get-shard-iterator, get-records."""
    position = aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", walk["arn"], "--shard-id", walk["shard"],
                   "--shard-iterator-type", "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text")
    return cli_json(aws, "dynamodbstreams", "get-records", "--shard-iterator", position.stdout.strip())["Records"]


def test_create_table_with_a_gsi_on_timestamp_on_demand(aws):
    created = cli_json(aws, "dynamodb", "create-table", "--table-name", "MyTable",
                       "--attribute-definitions", "AttributeName=userId,AttributeType=S",
                       "AttributeName=timestamp,AttributeType=N",
                       "--key-schema", "AttributeName=userId,KeyType=HASH", "AttributeName=timestamp,KeyType=RANGE",
                       "--global-secondary-indexes", GSI, "--billing-mode", "PAY_PER_REQUEST")["TableDescription"]
    assert created["TableName"] == "MyTable"
    assert [i["IndexName"] for i in created["GlobalSecondaryIndexes"]] == ["timestamp-index"]
    aws("dynamodb", "wait", "table-exists", "--table-name", "MyTable")


def test_describe_table_shows_it_active_with_its_gsi_active_and_on_demand(aws):
    table = cli_json(aws, "dynamodb", "describe-table", "--table-name", "MyTable")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["IndexStatus"], index["Projection"]) == (
        "timestamp-index", "ACTIVE", {"ProjectionType": "ALL"})
    assert index["IndexArn"] == f"{table['TableArn']}/index/timestamp-index"


def test_update_table_enables_the_stream_with_new_and_old_images(aws, walk):
    updated = cli_json(aws, "dynamodb", "update-table", "--table-name", "MyTable", "--stream-specification",
                       "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES")["TableDescription"]
    assert updated["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    walk["arn"] = updated["LatestStreamArn"]


def test_put_item_of_the_guide(aws):
    put = aws("dynamodb", "put-item", "--table-name", "MyTable", "--item",
              '{ "userId": {"S": "123"}, "timestamp": {"N": "20231010"}, "expirationTimestamp": {"N": "20231015"} }')
    assert put.stdout.strip() == ""


def test_update_time_to_live_of_the_guide_never_deletes_its_item_from_1970(aws):
    enabled = cli_json(aws, "dynamodb", "update-time-to-live", "--table-name", "MyTable",
                       "--time-to-live-specification", "Enabled=true,AttributeName=expirationTimestamp")
    assert enabled == {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expirationTimestamp"}}
    deadline = time.monotonic() + 30
    while cli_json(aws, "dynamodb", "describe-time-to-live", "--table-name", "MyTable")[
            "TimeToLiveDescription"]["TimeToLiveStatus"] != "ENABLED":
        assert time.monotonic() < deadline, "TTL not ENABLED after 30 s"
        time.sleep(0.5)
    time.sleep(2)  # two more sweeps: DynamoDB leaves an expiry more than five years old alone
    got = cli_json(aws, "dynamodb", "get-item", "--table-name", "MyTable", "--key", KEY)
    assert got == {"Item": ITEM}


def test_query_on_the_gsi_finds_the_item(aws):
    found = cli_json(aws, "dynamodb", "query", "--table-name", "MyTable", "--index-name", "timestamp-index",
                     "--key-condition-expression", "#ts = :ts", "--expression-attribute-names", '{"#ts": "timestamp"}',
                     "--expression-attribute-values", '{":ts": {"N": "20231010"}}')
    assert found["Items"] == [ITEM]


def test_dynamodbstreams_list_describe_iterator_and_records_show_the_insert(aws, streams, walk):
    listed = aws("dynamodbstreams", "list-streams", "--query", "Streams[].StreamArn", "--output", "table").stdout
    assert walk["arn"] in listed
    described = cli_json(aws, "dynamodbstreams", "describe-stream", "--stream-arn", walk["arn"])
    shards = described["StreamDescription"]["Shards"]
    # the shard that holds the item (boto3 waits for the record; the CLI reads it below)
    walk["shard"] = next(s for s, records in read_stream(streams, walk["arn"], 1).items() if records)
    assert walk["shard"] in [s["ShardId"] for s in shards]
    [record] = shard_records(aws, walk)
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["Keys"] == json.loads(KEY)
    assert record["dynamodb"]["NewImage"] == ITEM
    assert "OldImage" not in record["dynamodb"]


def test_update_item_shows_modify_with_both_images(aws, streams, walk):
    aws("dynamodb", "update-item", "--table-name", "MyTable", "--key", KEY, "--update-expression",
        "SET expirationTimestamp = :e", "--expression-attribute-values", '{":e": {"N": "20231020"}}')
    read_stream(streams, walk["arn"], 2)
    modify = shard_records(aws, walk)[-1]
    assert modify["eventName"] == "MODIFY"
    assert modify["dynamodb"]["OldImage"] == ITEM
    assert modify["dynamodb"]["NewImage"] == {**ITEM, "expirationTimestamp": {"N": "20231020"}}


def test_delete_item_shows_remove(aws, streams, walk):
    aws("dynamodb", "delete-item", "--table-name", "MyTable", "--key", KEY)
    read_stream(streams, walk["arn"], 3)
    remove = shard_records(aws, walk)[-1]
    assert remove["eventName"] == "REMOVE"
    assert remove["dynamodb"]["OldImage"] == {**ITEM, "expirationTimestamp": {"N": "20231020"}}
    assert "NewImage" not in remove["dynamodb"]


def test_update_table_disables_the_stream(aws):
    updated = cli_json(aws, "dynamodb", "update-table", "--table-name", "MyTable",
                       "--stream-specification", "StreamEnabled=false")["TableDescription"]
    assert updated["StreamSpecification"] == {"StreamEnabled": False}


def test_the_disabled_stream_is_still_listed_and_its_records_readable(aws, walk):
    listed = aws("dynamodbstreams", "list-streams", "--query", "Streams[].StreamArn", "--output", "table").stdout
    assert walk["arn"] in listed
    status = aws("dynamodbstreams", "describe-stream", "--stream-arn", walk["arn"], "--query",
                 "StreamDescription.StreamStatus", "--output", "text").stdout.strip()
    assert status in ("DISABLING", "DISABLED")
    assert [r["eventName"] for r in shard_records(aws, walk)] == ["INSERT", "MODIFY", "REMOVE"]


def test_delete_table(aws):
    deleted = cli_json(aws, "dynamodb", "delete-table", "--table-name", "MyTable")["TableDescription"]
    assert (deleted["TableName"], deleted["TableStatus"]) == ("MyTable", "DELETING")
    aws("dynamodb", "wait", "table-not-exists", "--table-name", "MyTable")
