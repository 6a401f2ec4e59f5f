"""Firehose delivery streams, black-box with boto3: create / describe / list / delete, tags, and the
errors Firehose gives for each (missing or existing streams, destinations, buffering hints, prefixes)."""

from __future__ import annotations

import time

import pytest

from tests.api.firehose_helpers import ROLE, client, create_active, fast, new_name, s3_config, wait_status
from tests.api.helpers import aws_error
from tests.api.kinesis_helpers import needs_own_server

pytestmark = needs_own_server()


@pytest.fixture(scope="module")
def lenient(firehose_url):
    """Sends what it is given: the server's validation answers, not botocore's."""
    return client(firehose_url, parameter_validation=False)


def test_create_gives_the_arn_and_the_stream_turns_active_with_firehose_defaults(firehose):
    name = new_name()
    arn = firehose.create_delivery_stream(DeliveryStreamName=name,
                                          ExtendedS3DestinationConfiguration=s3_config("bucket-a"))["DeliveryStreamARN"]
    assert arn == f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"
    description = wait_status(firehose, name, "ACTIVE")
    assert description["DeliveryStreamARN"] == arn
    assert description["DeliveryStreamType"] == "DirectPut"
    assert description["VersionId"] == "1"
    assert description["HasMoreDestinations"] is False
    [destination] = description["Destinations"]
    assert destination["DestinationId"] == "destinationId-000000000001"
    s3 = destination["ExtendedS3DestinationDescription"]
    assert s3["BucketARN"] == "arn:aws:s3:::bucket-a" and s3["RoleARN"] == ROLE
    assert s3["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert s3["CompressionFormat"] == "UNCOMPRESSED"


def test_create_twice_is_resource_in_use(firehose):
    name = create_active(firehose)
    with aws_error("ResourceInUseException", match=f"{name} under account 000000000000 already exists"):
        firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config("b"))


def test_describe_a_missing_stream_is_resource_not_found(firehose):
    with aws_error("ResourceNotFoundException", "Firehose stream nope-x under account 000000000000 not found."):
        firehose.describe_delivery_stream(DeliveryStreamName="nope-x")


def test_list_pages_by_name_and_filters_by_type(firehose):
    prefix = new_name("list")
    names = sorted(create_active(firehose, name=f"{prefix}-{i}", bucket="b") for i in range(3))
    listed = firehose.list_delivery_streams(Limit=10000, DeliveryStreamType="DirectPut")["DeliveryStreamNames"]
    assert [n for n in listed if n.startswith(prefix)] == names
    page = firehose.list_delivery_streams(Limit=1, ExclusiveStartDeliveryStreamName=names[0])
    assert page["DeliveryStreamNames"] == [names[1]] and page["HasMoreDeliveryStreams"] is True
    kinesis_sourced = firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource", Limit=10000)
    assert not set(names) & set(kinesis_sourced["DeliveryStreamNames"])


def test_delete_removes_the_stream(firehose):
    name = create_active(firehose)
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    for _ in range(200):
        if name not in firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]:
            break
        time.sleep(0.05)
    with aws_error("ResourceNotFoundException"):
        firehose.describe_delivery_stream(DeliveryStreamName=name)
    with aws_error("ResourceNotFoundException"):
        firehose.delete_delivery_stream(DeliveryStreamName=name)


def test_tags_are_added_replaced_removed_and_listed_in_pages(firehose):
    name = new_name()
    firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config("b"),
                                    Tags=[{"Key": "team", "Value": "data"}])
    wait_status(firehose, name, "ACTIVE")
    firehose.tag_delivery_stream(DeliveryStreamName=name,
                                 Tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "x"}])
    listed = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)
    assert listed["Tags"] == [{"Key": "env", "Value": "x"}, {"Key": "team", "Value": "ml"}]
    assert listed["HasMoreTags"] is False
    page = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name, Limit=1, ExclusiveStartTagKey="a")
    assert page["Tags"] == [{"Key": "env", "Value": "x"}] and page["HasMoreTags"] is True
    firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["env"])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_more_than_50_tags_is_limit_exceeded(firehose):
    name = create_active(firehose)
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with aws_error("LimitExceededException"):
        firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "one-more", "Value": "v"}])


def test_tags_of_a_missing_stream_are_resource_not_found(firehose):
    with aws_error("ResourceNotFoundException"):
        firehose.list_tags_for_delivery_stream(DeliveryStreamName="missing-stream")
    with aws_error("ResourceNotFoundException"):
        firehose.tag_delivery_stream(DeliveryStreamName="missing-stream", Tags=[{"Key": "a", "Value": "b"}])


def test_a_name_outside_the_pattern_is_a_validation_error(lenient):
    with aws_error("ValidationException", match="failed to satisfy constraint: Member must satisfy regular expression"):
        lenient.create_delivery_stream(DeliveryStreamName="bad name!",
                                       ExtendedS3DestinationConfiguration=s3_config("b"))


def test_buffering_hints_outside_firehose_ranges_are_validation_errors(lenient):
    with aws_error("ValidationException", match="sizeInMBs' failed to satisfy constraint: Member must have value "
                                                "less than or equal to 128"):
        lenient.create_delivery_stream(DeliveryStreamName=new_name(), ExtendedS3DestinationConfiguration=s3_config(
            "b", BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))
    with aws_error("ValidationException", match="less than or equal to 900"):
        lenient.create_delivery_stream(DeliveryStreamName=new_name(), ExtendedS3DestinationConfiguration=s3_config(
            "b", BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 901}))


@pytest.mark.parametrize("destination, message", [
    ({"BufferingHints": {"SizeInMBs": 5}}, "BufferingHints must specify both"),
    ({"CompressionFormat": "ZIP"}, "CompressionFormat ZIP is not supported"),
    ({"Prefix": "x/!{timestamp:yyyy}/"}, "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions."),
    ({"Prefix": "!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"},
     "only allowed in ErrorOutputPrefix"),
    ({"Prefix": "!{foo:bar}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"}, "unknown expression namespace"),
    ({"Prefix": "a/!{timestamp:yyyy/", "ErrorOutputPrefix": "e/"}, "not closed"),
    ({"ErrorOutputPrefix": "e/!{timestamp:yyyy}/"}, "must contain !{firehose:error-output-type}"),
    ({"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda"}]}},
     "Processor type Lambda is not supported"),
])
def test_destinations_firehose_refuses_are_invalid_arguments(firehose, destination, message):
    with aws_error("InvalidArgumentException", match=message.replace("{", r"\{").replace("}", r"\}")
                   .replace("(", r"\(").replace(".", r"\.")):
        firehose.create_delivery_stream(DeliveryStreamName=new_name(),
                                        ExtendedS3DestinationConfiguration=s3_config("b", **destination))


def test_a_stream_without_a_destination_is_an_invalid_argument(firehose):
    with aws_error("InvalidArgumentException", match="Exactly one destination"):
        firehose.create_delivery_stream(DeliveryStreamName=new_name())


def test_a_kinesis_source_that_does_not_exist_is_an_invalid_argument(firehose):
    with aws_error("InvalidArgumentException", match="Stream nope-source under account 000000000000 not found"):
        firehose.create_delivery_stream(
            DeliveryStreamName=new_name(), DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/nope-source", "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration=s3_config("b", **fast()))


def test_put_record_to_a_missing_stream_is_resource_not_found(firehose):
    with aws_error("ResourceNotFoundException", match="not found"):
        firehose.put_record(DeliveryStreamName="missing-stream", Record={"Data": b"x"})
    with aws_error("ResourceNotFoundException", match="not found"):
        firehose.put_record_batch(DeliveryStreamName="missing-stream", Records=[{"Data": b"x"}])


def test_put_record_batch_limits(firehose, lenient):
    name = create_active(firehose)
    with aws_error("ValidationException", match="have length less than or equal to 500"):
        lenient.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
    with aws_error("ValidationException", match="have length less than or equal to 1024000"):
        lenient.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x" * 1_024_001}])
    with aws_error("ValidationException", match="have length less than or equal to 1024000"):
        lenient.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001})
    with aws_error("InvalidArgumentException", match="exceeds 4194304 bytes"):
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x" * 1_000_000}] * 5)
    with aws_error("ValidationException", match="have length greater than or equal to 1"):
        lenient.put_record_batch(DeliveryStreamName=name, Records=[])
