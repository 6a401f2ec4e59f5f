"""A table's Kinesis streaming destination (EnableKinesisStreamingDestination and its siblings) driven
with boto3: statuses, errors, and the records every item change becomes in the Kinesis stream, in
AWS's JSON format for the feature, read back with GetRecords; the guide's full pipeline through a
Firehose delivery stream to gzip files."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.api.firehose_helpers import client, fast, new_name, objects, read_object, s3_config
from tests.api.firehose_helpers import wait_status as wait_delivery_status
from tests.api.kds_helpers import (
    all_records,
    by_key,
    destination,
    enable_active,
    stream_arn,
    wait_destination,
    wait_records,
)
from tests.api.kinesis_helpers import create_active, needs_own_server
from tests.api.monitoring_helpers import sample, wait_for_sample
from tests.api.ttl_helpers import wait_for
from tests.conftest import _SESSION_SERVERS, session_up_url

pytestmark = needs_own_server()
SERVER = "kds"


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory, request):
    url = session_up_url(SERVER, broker, tmp_path_factory, request, "--ttl-sweep-interval", "1",
                         "--ttl-cooldown-seconds", "0", "--kinesis-grace-seconds", "0.2")
    return url, _SESSION_SERVERS[SERVER].data_dir / "archive"


@pytest.fixture(scope="module")
def ddb(server):
    return client(server[0], "dynamodb")


@pytest.fixture(scope="module")
def kinesis(server):
    return client(server[0], "kinesis")


@pytest.fixture
def table(ddb):
    name = new_name("kds")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    yield name
    ddb.delete_table(TableName=name)


@pytest.fixture
def stream(kinesis) -> tuple[str, str]:
    """(name, ARN) of a new ACTIVE Kinesis stream with 4 shards."""
    name = create_active(kinesis, shards=4)
    return name, stream_arn(kinesis, name)


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


# -- the operations ---------------------------------------------------------------------------------


def test_enable_answers_enabling_then_the_destination_is_active_and_describe_table_does_not_list_it(ddb, table, stream):
    _, arn = stream
    answer = ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert (answer["TableName"], answer["StreamArn"], answer["DestinationStatus"]) == (table, arn, "ENABLING")
    assert answer["EnableKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    assert destination(ddb, table, arn)["DestinationStatus"] in ("ENABLING", "ACTIVE")
    active = wait_destination(ddb, table, arn, "ACTIVE")
    assert active == {"StreamArn": arn, "DestinationStatus": "ACTIVE", "ApproximateCreationDateTimePrecision": "MICROSECOND"}
    described = ddb.describe_table(TableName=table)["Table"]
    assert not any("Kinesis" in member for member in described), described


def test_disable_answers_disabling_then_disabled_and_the_destination_stays_listed(ddb, table, stream):
    _, arn = stream
    enable_active(ddb, table, arn)
    answer = ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert answer["DestinationStatus"] == "DISABLING"
    wait_destination(ddb, table, arn, "DISABLED")
    enable_active(ddb, table, arn)  # enabled again after a disable


def test_update_changes_the_precision_through_updating(ddb, table, stream):
    _, arn = stream
    enable_active(ddb, table, arn, ApproximateCreationDateTimePrecision="MILLISECOND")
    answer = ddb.update_kinesis_streaming_destination(
        TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    assert answer["DestinationStatus"] == "UPDATING"
    assert answer["UpdateKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    assert wait_destination(ddb, table, arn, "ACTIVE")["ApproximateCreationDateTimePrecision"] == "MICROSECOND"


def test_describe_of_a_table_without_destinations_is_an_empty_list(ddb, table):
    answer = ddb.describe_kinesis_streaming_destination(TableName=table)
    assert answer["TableName"] == table and answer["KinesisDataStreamDestinations"] == []


def test_operations_on_a_missing_table_are_resource_not_found(ddb, stream):
    _, arn = stream
    for call in (lambda: ddb.enable_kinesis_streaming_destination(TableName="missing-table", StreamArn=arn),
                 lambda: ddb.disable_kinesis_streaming_destination(TableName="missing-table", StreamArn=arn),
                 lambda: ddb.describe_kinesis_streaming_destination(TableName="missing-table")):
        with pytest.raises(ClientError) as error:
            call()
        assert code(error) == "ResourceNotFoundException"
        assert "Table: missing-table not found" in error.value.response["Error"]["Message"]


def test_enable_refuses_a_missing_stream_a_bad_arn_and_a_bad_precision(server, table, stream):
    _, arn = stream
    ddb = client(server[0], "dynamodb", parameter_validation=False)  # the server's own checks
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn.rsplit("/", 1)[0] + "/no-such-stream-here")
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn="arn:aws:sqs:us-east-1:000000000000:queue/q")
    assert code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn="arn:aws:kinesis")  # under 37 characters
    assert code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn,
                                                 EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "SECOND"})
    assert code(error) == "ValidationException"
    assert ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"] == []


def test_enable_twice_and_a_second_stream_are_refused(ddb, kinesis, table, stream):
    _, arn = stream
    enable_active(ddb, table, arn)
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert code(error) == "ValidationException"
    assert "must be DISABLED or ENABLE_FAILED" in error.value.response["Error"]["Message"]
    other = stream_arn(kinesis, create_active(kinesis, shards=1))
    with pytest.raises(ClientError) as error:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=other)
    assert code(error) == "LimitExceededException"


def test_disable_and_update_need_an_active_destination(ddb, table, stream):
    _, arn = stream
    with pytest.raises(ClientError) as error:
        ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert code(error) == "ValidationException"
    with pytest.raises(ClientError) as error:
        ddb.update_kinesis_streaming_destination(TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={
            "ApproximateCreationDateTimePrecision": "MILLISECOND"})
    assert code(error) == "ValidationException"
    enable_active(ddb, table, arn, ApproximateCreationDateTimePrecision="MILLISECOND")
    with pytest.raises(ClientError) as error:  # the precision it has already
        ddb.update_kinesis_streaming_destination(TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={
            "ApproximateCreationDateTimePrecision": "MILLISECOND"})
    assert code(error) == "ValidationException"


# -- the records ------------------------------------------------------------------------------------


def test_each_change_is_one_record_in_aws_format_with_both_images_and_no_dynamodb_stream_needed(server, ddb, kinesis, table,
                                                                                                 stream):
    name, arn = stream
    ddb.put_item(TableName=table, Item={"pk": {"S": "before"}})  # before the enable: not sent (no back-fill)
    enable_active(ddb, table, arn, ApproximateCreationDateTimePrecision="MILLISECOND")
    start_ms = time.time() * 1000
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :two",
                    ExpressionAttributeValues={":two": {"N": "2"}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    records = wait_records(kinesis, name, 3)
    assert len(records) == 3 and {r["ShardId"] for r in records} == {records[0]["ShardId"]}
    events = [r["Json"] for r in records]
    assert [e["eventName"] for e in events] == ["INSERT", "MODIFY", "REMOVE"]
    first = events[0]
    assert set(first) == {"awsRegion", "eventID", "eventName", "userIdentity", "recordFormat", "tableName",
                          "dynamodb", "eventSource"}
    assert (first["recordFormat"], first["tableName"], first["eventSource"], first["userIdentity"]) == (
        "application/json", table, "aws:dynamodb", None)
    assert first["dynamodb"]["Keys"] == {"pk": {"S": "a"}} and "OldImage" not in first["dynamodb"]
    assert first["dynamodb"]["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
    assert start_ms - 5000 < first["dynamodb"]["ApproximateCreationDateTime"] < start_ms + 60_000  # milliseconds
    assert events[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert events[1]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    assert events[2]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}} and "NewImage" not in events[2]["dynamodb"]
    assert all(e["dynamodb"]["SizeBytes"] > 0 for e in events)
    assert len({e["eventID"] for e in events}) == 3
    # counted in the stream's AWS/Kinesis IncomingRecords and IncomingBytes, as AWS counts them
    assert wait_for_sample(server[0], "aws_kinesis_incoming_records_total", 3, stream_name=name) == 3
    assert sample(server[0], "aws_kinesis_incoming_bytes_total", stream_name=name) == sum(len(r["Record"]["Data"]) for r in records)


def test_records_go_to_the_shard_put_record_would_choose_for_their_partition_key(ddb, kinesis, table, stream):
    name, arn = stream
    enable_active(ddb, table, arn)
    keys = [f"item-{i}" for i in range(24)]
    for key in keys:
        ddb.put_item(TableName=table, Item={"pk": {"S": key}})
    records = wait_records(kinesis, name, len(keys))
    assert len(records) == len(keys)
    ranges = {s["ShardId"]: s["HashKeyRange"] for s in kinesis.list_shards(StreamName=name)["Shards"]}
    for r in records:
        hashed = int.from_bytes(hashlib.md5(r["Record"]["PartitionKey"].encode()).digest(), "big")
        low, high = int(ranges[r["ShardId"]]["StartingHashKey"]), int(ranges[r["ShardId"]]["EndingHashKey"])
        assert low <= hashed <= high
    assert len({r["ShardId"] for r in records}) > 1  # 24 keys spread over the 4 shards
    created = [r["Json"]["dynamodb"]["ApproximateCreationDateTime"] for r in records]
    assert all(c > 10**15 for c in created)  # microseconds, the default precision


def test_disable_stops_the_records(ddb, kinesis, table, stream):
    name, arn = stream
    enable_active(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "on"}})
    ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "off"}})
    enable_active(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "on-again"}})
    records = wait_records(kinesis, name, 2)
    assert sorted(by_key(records)) == ["on", "on-again"]


def test_a_transaction_and_a_batch_reach_the_stream_with_the_dynamodb_stream_on_too(ddb, kinesis, table, stream):
    name, arn = stream
    ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    enable_active(ddb, table, arn)
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": f"t{i}"}}}} for i in range(3)])
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]})
    records = wait_records(kinesis, name, 6)
    assert sorted(by_key(records)) == ["b0", "b1", "b2", "t0", "t1", "t2"]
    assert all("NewImage" in r["Json"]["dynamodb"] for r in records)  # both images, whatever the stream's view type


def test_ttl_deletions_carry_dynamodb_as_their_user_identity(ddb, kinesis, table, stream):
    name, arn = stream
    enable_active(ddb, table, arn)
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "expires": {"N": str(int(time.time()) - 60)}})
    records = wait_for(lambda: (found := all_records(kinesis, name)) and len(found) >= 2 and found,
                       "the TTL deletion's record")
    removal = by_key(records)["old"][-1]
    assert removal["eventName"] == "REMOVE"
    assert removal["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


# -- the guide's pipeline ---------------------------------------------------------------------------


def test_table_to_kinesis_to_firehose_to_gzip_files_holds_every_write_in_order(server, ddb, kinesis, table, stream):
    _, archive = server
    _, arn = stream
    firehose = client(server[0])
    bucket = new_name("archive")
    delivery = new_name("kds-fh")
    firehose.create_delivery_stream(
        DeliveryStreamName=delivery, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": "arn:aws:iam::000000000000:role/firehose"},
        ExtendedS3DestinationConfiguration=s3_config(bucket, CompressionFormat="GZIP", **fast(
            ProcessingConfiguration={"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]})))
    wait_delivery_status(firehose, delivery, "ACTIVE")
    enable_active(ddb, table, arn)
    writes = [(f"user-{i % 5}", step) for step in range(4) for i in range(5)]  # 5 items, 4 versions each
    for key, step in writes:
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "step": {"N": str(step)}})
    deadline = time.monotonic() + 60
    while True:
        lines = [json.loads(line) for path in objects(archive, bucket) for line in read_object(path).splitlines()]
        if len(lines) >= len(writes) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(path.suffix == ".gz" for path in objects(archive, bucket))
    assert len(lines) == len(writes)
    per_key: dict[str, list[dict]] = {}
    for line in sorted(lines, key=lambda e: e["dynamodb"]["ApproximateCreationDateTime"]):
        per_key.setdefault(line["dynamodb"]["Keys"]["pk"]["S"], []).append(line)
    for key, events in per_key.items():
        assert [int(e["dynamodb"]["NewImage"]["step"]["N"]) for e in events] == [0, 1, 2, 3]
        assert [e["eventName"] for e in events] == ["INSERT", "MODIFY", "MODIFY", "MODIFY"]
        assert [e["dynamodb"].get("OldImage", {}).get("step") for e in events] == [None, {"N": "0"}, {"N": "1"}, {"N": "2"}]
    firehose.delete_delivery_stream(DeliveryStreamName=delivery)


def test_a_deleted_kinesis_stream_takes_no_more_records_and_other_changes_still_flow(ddb, kinesis, table, stream):
    name, arn = stream
    enable_active(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "kept"}})
    assert len(wait_records(kinesis, name, 1)) == 1
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    ddb.put_item(TableName=table, Item={"pk": {"S": "dropped"}})  # accepted: the table does not depend on it
    other_name = create_active(kinesis, shards=1)
    other = new_name("kds")
    ddb.create_table(TableName=other, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    try:
        enable_active(ddb, other, stream_arn(kinesis, other_name))
        ddb.put_item(TableName=other, Item={"pk": {"S": "elsewhere"}})
        assert [r["Json"]["dynamodb"]["Keys"]["pk"]["S"] for r in wait_records(kinesis, other_name, 1)] == ["elsewhere"]
    finally:
        ddb.delete_table(TableName=other)
