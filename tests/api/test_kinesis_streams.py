"""Kinesis stream operations against a live `cdc-bridge up`, with boto3: CreateStream,
DeleteStream, DescribeStream, DescribeStreamSummary, ListStreams, ListShards, DescribeLimits,
retention, tags, UpdateShardCount; AWS's errors and messages."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.api.helpers import aws_error, validation_error
from tests.api.kinesis_helpers import (
    MIN_RETENTION_HOURS,
    SHARD_LIMIT,
    client,
    create_active,
    kinesis_server_url,
    needs_own_server,
    new_name,
    read_all,
    shard_records,
    wait_active,
    wait_status,
)

ACCOUNT = "000000000000"


@pytest.fixture(scope="session")
def kinesis_url(broker, tmp_path_factory, request):
    return kinesis_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def kinesis(kinesis_url):
    return client(kinesis_url)


@pytest.fixture(scope="session")
def lenient(kinesis_url):
    return client(kinesis_url, parameter_validation=False)


@pytest.fixture(scope="module")
def stream(kinesis):
    """A 3-shard stream the read-only tests of this module share."""
    return create_active(kinesis, 3)


# -- CreateStream, DescribeStream, DescribeStreamSummary ------------------------------------------


def test_create_stream_answers_at_once_and_the_stream_turns_active(kinesis):
    name = new_name()
    assert kinesis.create_stream(StreamName=name, ShardCount=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
    status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
    assert status in ("CREATING", "ACTIVE")
    wait_active(kinesis, name)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "ACTIVE"


def test_describe_stream_shows_equal_hash_key_slices(kinesis, stream):
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert description["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["RetentionPeriodHours"] == 24 and description["HasMoreShards"] is False
    assert description["EncryptionType"] == "NONE"
    width = 2**128 // 3
    assert [s["ShardId"] for s in description["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in description["Shards"]] == [
        (0, width - 1), (width, 2 * width - 1), (2 * width, 2**128 - 1)]
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] for s in description["Shards"])


def test_describe_stream_pages_its_shards(kinesis, stream):
    first = kinesis.describe_stream(StreamName=stream, Limit=2)["StreamDescription"]
    assert len(first["Shards"]) == 2 and first["HasMoreShards"] is True
    rest = kinesis.describe_stream(StreamName=stream, ExclusiveStartShardId=first["Shards"][-1]["ShardId"])
    assert [s["ShardId"] for s in rest["StreamDescription"]["Shards"]] == ["shardId-000000000002"]


def test_describe_stream_summary(kinesis, stream):
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3 and summary["ConsumerCount"] == 0
    assert summary["StreamStatus"] == "ACTIVE" and summary["RetentionPeriodHours"] == 24
    assert summary["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_a_stream_is_addressable_by_its_arn(kinesis, stream):
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == stream
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 3
    put = kinesis.put_record(StreamARN=arn, PartitionKey="a", Data=b"by arn")
    assert any(r["Data"] == b"by arn" for r in shard_records(kinesis, stream, put["ShardId"]))
    with aws_error("InvalidArgumentException"):
        kinesis.describe_stream(StreamARN=arn, StreamName="another")


def test_an_unknown_stream_is_resource_not_found(kinesis):
    with aws_error("ResourceNotFoundException", f"Stream nope-x under account {ACCOUNT} not found."):
        kinesis.describe_stream(StreamName="nope-x")
    with aws_error("ResourceNotFoundException"):
        kinesis.describe_stream_summary(StreamARN=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/nope-x")


def test_kinesis_errors_carry_a_bare_type_name(kinesis_url):
    response = httpx.post(kinesis_url, content=b'{"StreamName": "nope-y"}', headers={
        "X-Amz-Target": "Kinesis_20131202.DescribeStream", "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.json() == {"__type": "ResourceNotFoundException",
                               "message": f"Stream nope-y under account {ACCOUNT} not found."}


def test_neither_stream_name_nor_arn_is_invalid(lenient):
    with aws_error("InvalidArgumentException"):
        lenient.describe_stream()


def test_creating_an_existing_stream_is_resource_in_use(kinesis, stream):
    with aws_error("ResourceInUseException", f"Stream {stream} under account {ACCOUNT} already exists."):
        kinesis.create_stream(StreamName=stream, ShardCount=1)


def test_create_stream_validates_its_request(lenient):
    with validation_error("1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
                          "Member must have value greater than or equal to 1"):
        lenient.create_stream(StreamName=new_name(), ShardCount=0)
    with validation_error(match="Member must satisfy regular expression pattern"):
        lenient.create_stream(StreamName="bad name", ShardCount=1)
    with validation_error(match="Member must have length less than or equal to 128"):
        lenient.create_stream(StreamName="a" * 129, ShardCount=1)
    with aws_error("InvalidArgumentException"):
        lenient.create_stream(StreamName=new_name())  # PROVISIONED needs a ShardCount


@needs_own_server()
def test_shards_beyond_the_account_limit_are_limit_exceeded(kinesis):
    with aws_error("LimitExceededException", match=f"Limit: {SHARD_LIMIT}. Number of additional shards that "
                                                   f"would have resulted from this request: {SHARD_LIMIT + 1}"):
        kinesis.create_stream(StreamName=new_name(), ShardCount=SHARD_LIMIT + 1)


def test_an_on_demand_stream_starts_with_four_shards(kinesis):
    name = new_name()
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait_active(kinesis, name)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"} and summary["OpenShardCount"] == 4
    assert kinesis.describe_limits()["OnDemandStreamCount"] >= 1
    with aws_error("ValidationException"):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=5, ScalingType="UNIFORM_SCALING")


# -- ListStreams, ListShards, DescribeLimits --------------------------------------------------------


def test_list_streams_pages_by_name(kinesis, stream):
    names = sorted([stream, create_active(kinesis, 1, name=stream + "-b")])
    listed = kinesis.list_streams(ExclusiveStartStreamName=names[0][:-1], Limit=1)
    assert listed["StreamNames"] == [names[0]] and listed["HasMoreStreams"] is True
    assert listed["StreamSummaries"][0]["StreamStatus"] == "ACTIVE"
    following = kinesis.list_streams(NextToken=listed["NextToken"], Limit=1)
    assert following["StreamNames"] == [names[1]]
    everything = kinesis.list_streams(Limit=10000)["StreamNames"]
    assert everything == sorted(everything) and set(names) <= set(everything)
    with aws_error("InvalidArgumentException"):
        kinesis.list_streams(NextToken="not-a-token")


def test_list_shards_pages_with_a_next_token(kinesis, stream):
    first = kinesis.list_shards(StreamName=stream, MaxResults=2)
    assert [s["ShardId"] for s in first["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert [s["ShardId"] for s in rest["Shards"]] == ["shardId-000000000002"] and "NextToken" not in rest
    after = kinesis.list_shards(StreamName=stream, ExclusiveStartShardId="shardId-000000000000")
    assert len(after["Shards"]) == 2
    with aws_error("InvalidArgumentException", "NextToken and StreamName cannot be provided together."):
        kinesis.list_shards(StreamName=stream, NextToken=first["NextToken"])
    with aws_error("InvalidArgumentException", "Either NextToken or StreamName should be provided."):
        kinesis.list_shards()
    with aws_error("InvalidArgumentException"):
        kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AFTER_SHARD_ID"})


@needs_own_server()
def test_describe_limits(kinesis, stream):
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] == SHARD_LIMIT and limits["OpenShardCount"] >= 3
    assert limits["OnDemandStreamCountLimit"] == 50


# -- DeleteStream -----------------------------------------------------------------------------------


def test_delete_stream_goes_through_deleting_and_the_name_can_be_used_again(kinesis):
    name = create_active(kinesis, 1)
    kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"old")
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "DELETING"
    with aws_error("ResourceNotFoundException"):
        kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"x")
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert name not in kinesis.list_streams(Limit=10000)["StreamNames"]
    create_active(kinesis, 1, name=name)
    assert shard_records(kinesis, name, "shardId-000000000000") == []  # a new stream: the old records are gone
    with aws_error("ResourceNotFoundException"):
        kinesis.delete_stream(StreamName=new_name())


# -- retention ----------------------------------------------------------------------------------------


def test_retention_increases_and_decreases_within_limits(kinesis):
    name = create_active(kinesis, 1)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    with aws_error("InvalidArgumentException", f"Requested retention period (30 hours) for stream {name} can not be "
                   "shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API."):
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=30)
    with aws_error("InvalidArgumentException", f"Requested retention period (72 hours) for stream {name} can not be "
                   "longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API."):
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
    with aws_error("InvalidArgumentException", "Maximum allowed retention period is 8760 hours. Requested retention "
                   "period (8761 hours) is too long."):
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8761)
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 24


@needs_own_server()
def test_retention_below_the_configured_minimum_is_refused(kinesis):
    name = create_active(kinesis, 1)
    with aws_error("InvalidArgumentException", f"Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. "
                   "Requested retention period (0 hours) is too short."):
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=0)


# -- tags ---------------------------------------------------------------------------------------------


def test_tags_are_added_listed_in_key_order_and_removed(kinesis):
    name = create_active(kinesis, 1, Tags={"team": "data"})
    kinesis.add_tags_to_stream(StreamName=name, Tags={"b": "2", "a": "1", "team": "streams"})
    tags = kinesis.list_tags_for_stream(StreamName=name)
    assert tags["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}, {"Key": "team", "Value": "streams"}]
    assert tags["HasMoreTags"] is False
    page = kinesis.list_tags_for_stream(StreamName=name, ExclusiveStartTagKey="a", Limit=1)
    assert page["Tags"] == [{"Key": "b", "Value": "2"}] and page["HasMoreTags"] is True
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["a", "missing"])
    assert [t["Key"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]] == ["b", "team"]


def test_tags_with_invalid_characters_or_too_many_tags_are_refused(kinesis):
    name = create_active(kinesis, 1)
    with aws_error("InvalidArgumentException", "Some tags contain invalid characters. Valid characters: Unicode "
                   "letters, digits, white space, _ . / = + - % @."):
        kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "b;"})
    with aws_error("InvalidArgumentException", match="because some tags contained illegal characters"):
        kinesis.add_tags_to_stream(StreamName=name, Tags={"a%": "b"})
    kinesis.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(50)})
    with aws_error("InvalidArgumentException", match="cannot have more than 50 tags"):
        kinesis.add_tags_to_stream(StreamName=name, Tags={"one-more": "v"})


# -- UpdateShardCount, SplitShard, MergeShards --------------------------------------------------------


def shard_of(shards: list[dict], key: str) -> str:
    hashed = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
    [shard] = [s["ShardId"] for s in shards
               if int(s["HashKeyRange"]["StartingHashKey"]) <= hashed <= int(s["HashKeyRange"]["EndingHashKey"])]
    return shard


def test_doubling_the_shard_count_closes_the_old_shards_and_opens_children(kinesis):
    name = create_active(kinesis, 2)
    before = [kinesis.put_record(StreamName=name, PartitionKey=f"k{i}", Data=b"before %d" % i) for i in range(6)]
    answer = kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (answer["CurrentShardCount"], answer["TargetShardCount"], answer["StreamName"]) == (2, 4, name)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "UPDATING"
    after = kinesis.put_record(StreamName=name, PartitionKey="k0", Data=b"after")
    assert after["ShardId"] not in ("shardId-000000000000", "shardId-000000000001")
    assert wait_status(kinesis, name, "ACTIVE")["OpenShardCount"] == 4

    shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(6)]
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards[:2])
    assert [s.get("ParentShardId") for s in shards[2:]] == ["shardId-000000000000"] * 2 + ["shardId-000000000001"] * 2
    assert after["ShardId"] == shard_of(shards[2:], "k0")
    latest = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in latest] == [s["ShardId"] for s in shards[2:]]

    # Reading a closed shard to its end gives its records, then no next iterator and its children.
    old = shards[0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=old, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = kinesis.get_records(ShardIterator=it)
    assert [r["SequenceNumber"] for r in page["Records"]] == [p["SequenceNumber"] for p in before if p["ShardId"] == old]
    if "NextShardIterator" in page:
        page = kinesis.get_records(ShardIterator=page["NextShardIterator"])
    assert "NextShardIterator" not in page
    assert [c["ShardId"] for c in page["ChildShards"]] == ["shardId-000000000002", "shardId-000000000003"]
    assert page["ChildShards"][0]["ParentShards"] == [old]
    assert [r["Data"] for r in read_all(kinesis, kinesis.get_shard_iterator(
        StreamName=name, ShardId=after["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"])] == [b"after"]


def test_halving_gives_new_shards_a_parent_and_an_adjacent_parent(kinesis):
    name = create_active(kinesis, 4)
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    wait_status(kinesis, name, "ACTIVE")
    shards = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [(s["ShardId"], s["ParentShardId"], s["AdjacentParentShardId"]) for s in shards] == [
        ("shardId-000000000004", "shardId-000000000000", "shardId-000000000001"),
        ("shardId-000000000005", "shardId-000000000002", "shardId-000000000003"),
    ]
    everything = kinesis.list_shards(StreamName=name, ShardFilter={"Type": "FROM_TRIM_HORIZON"})["Shards"]
    assert len(everything) == 6


def test_update_shard_count_limits(kinesis):
    name = create_active(kinesis, 5)
    with aws_error("InvalidArgumentException", "UpdateShardCount cannot scale up over double your current open shard "
                   "count. Current open shard count: 5 Target shard count: 11"):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=11, ScalingType="UNIFORM_SCALING")
    with aws_error("InvalidArgumentException", "UpdateShardCount cannot scale down below half your current open "
                   "shard count. Current open shard count: 5 Target shard count: 2"):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    with aws_error("InvalidArgumentException", match="more than two current shards"):
        kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    with validation_error(match="Member must satisfy enum value set: \\[UNIFORM_SCALING\\]"):
        client_without_checks(kinesis).update_shard_count(StreamName=name, TargetShardCount=6, ScalingType="X")


def client_without_checks(kinesis):
    return client(kinesis.meta.endpoint_url, parameter_validation=False)


def test_split_and_merge_point_to_update_shard_count(kinesis, stream):
    with aws_error("InvalidArgumentException", match="SplitShard is not supported.*Use UpdateShardCount"):
        kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey="10")
    with aws_error("InvalidArgumentException", match="MergeShards is not supported.*Use UpdateShardCount"):
        kinesis.merge_shards(StreamName=stream, ShardToMerge="shardId-000000000000",
                             AdjacentShardToMerge="shardId-000000000001")
