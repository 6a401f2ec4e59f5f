"""Event source mappings over a DynamoDB stream: the API (create, get, list, update, delete, Lambda's
validation errors) and the handler running on each change, with Lambda's event format."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.lambda_functions.helpers import error_of
from tests.api.lambda_functions.mapping_helpers import put, records, wait_enabled, wait_for


def test_create_answers_creating_with_lambdas_defaults_then_enabled(lam, stream_table, recorder, mappings):
    _, arn = stream_table
    function, _ = recorder()
    created = mappings(FunctionName=function, EventSourceArn=arn)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["StateTransitionReason"] == "User action"
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"], created["ParallelizationFactor"]) == \
        (100, 0, 1)
    assert (created["MaximumRetryAttempts"], created["MaximumRecordAgeInSeconds"]) == (-1, -1)
    assert created["BisectBatchOnFunctionError"] is False and created["TumblingWindowInSeconds"] == 0
    assert created["LastProcessingResult"] == "No records processed"
    assert created["FunctionArn"].endswith(f":function:{function}") and created["EventSourceArn"] == arn
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    assert wait_enabled(lam, created["UUID"])["StartingPosition"] == "LATEST"


def test_list_by_function_and_by_source_then_update_and_delete(lam, stream_table, recorder, mappings):
    _, arn = stream_table
    first, _ = recorder()
    second, _ = recorder()
    one = mappings(FunctionName=first, EventSourceArn=arn)
    two = mappings(FunctionName=second, EventSourceArn=arn, BatchSize=10)
    by_source = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [one["UUID"], two["UUID"]]
    by_function = lam.list_event_source_mappings(FunctionName=second)["EventSourceMappings"]
    assert [m["UUID"] for m in by_function] == [two["UUID"]]
    page = lam.list_event_source_mappings(EventSourceArn=arn, MaxItems=1)
    assert [m["UUID"] for m in page["EventSourceMappings"]] == [one["UUID"]]
    rest = lam.list_event_source_mappings(EventSourceArn=arn, Marker=page["NextMarker"])
    assert [m["UUID"] for m in rest["EventSourceMappings"]] == [two["UUID"]] and "NextMarker" not in rest

    wait_enabled(lam, two["UUID"])
    updated = lam.update_event_source_mapping(UUID=two["UUID"], BatchSize=50, MaximumRetryAttempts=3)
    assert (updated["State"], updated["BatchSize"], updated["MaximumRetryAttempts"]) == ("Updating", 50, 3)
    assert wait_enabled(lam, two["UUID"])["BatchSize"] == 50

    deleted = lam.delete_event_source_mapping(UUID=two["UUID"])
    assert deleted["State"] == "Deleting"

    def gone():
        try:
            lam.get_event_source_mapping(UUID=two["UUID"])
        except lam.exceptions.ResourceNotFoundException:
            return True
        return False

    wait_for(gone, what="the mapping to be deleted")
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == \
        [one["UUID"]]


@pytest.mark.parametrize(("request_members", "message"), [
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:queue"}, "Unrecognized event source."),
    ({"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1}, "Unsupported starting position"),
    ({"MaximumRecordAgeInSeconds": 10}, "MaximumRecordAgeInSeconds must be -1"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}, "Invalid filter pattern definition"),
    ({"FilterCriteria": {"Filters": [{"Pattern": '{"a": [{"numeric": [">", "x"]}]}'}]}},
     "Invalid filter pattern definition"),
    ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}}},
     "The provided destination config"),
])
def test_create_refuses_what_lambda_refuses(lam, stream_table, recorder, request_members, message):
    _, arn = stream_table
    function, _ = recorder()
    request = {"FunctionName": function, "EventSourceArn": arn, "StartingPosition": "LATEST", **request_members}
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(**request)
    code, status, text = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400) and message in text


def test_model_limits_and_missing_things_get_lambdas_errors(lam, stream_table, recorder, mappings):
    _, arn = stream_table
    function, _ = recorder()
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn, StartingPosition="LATEST",
                                        BatchSize=10001)
    assert error_of(exc)[0] in ("ValidationException", "InvalidParameterValueException")
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(FunctionName="no-such-function", EventSourceArn=arn, StartingPosition="LATEST")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn.replace("stream/2", "stream/1"),
                                        StartingPosition="LATEST")
    code, _, message = error_of(exc)
    assert code == "InvalidParameterValueException" and message.startswith("Cannot access stream arn:aws:dynamodb:")
    with pytest.raises(ClientError) as exc:
        lam.get_event_source_mapping(UUID="2b2dd2e4-0f8d-4c39-9fc4-1c9b2f29a0f4")
    assert error_of(exc) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")
    existing = mappings(FunctionName=function, EventSourceArn=arn)
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn, StartingPosition="LATEST")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == (f'The event source arn (" {arn} ") and function (" {function} ") provided mapping already exists. '
                       f"Please update or delete the existing mapping with UUID {existing['UUID']}")


def test_put_item_runs_the_handler_once_with_lambdas_insert_record(lam, lambda_dynamodb, streams, stream_table,
                                                                   recorder, mappings):
    table, arn = stream_table
    function, out = recorder()
    mapping = mappings(FunctionName=function, EventSourceArn=arn)
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "a", 1, colour="red")

    [record] = wait_for(lambda: records(out))
    assert list(record) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                            "eventSourceARN"]
    assert (record["eventName"], record["eventSource"], record["eventVersion"]) == ("INSERT", "aws:dynamodb", "1.1")
    assert record["eventSourceARN"] == arn and record["awsRegion"] == "us-east-1"
    data = record["dynamodb"]
    assert data["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert data["NewImage"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "colour": {"S": "red"}}
    assert data["StreamViewType"] == "NEW_AND_OLD_IMAGES" and isinstance(data["ApproximateCreationDateTime"], int)
    # the same record, with the same sequence number, as the DynamoDB Streams API gives it
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    seen = []
    for shard in shards:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        seen += streams.get_records(ShardIterator=iterator)["Records"]
    [streamed] = seen
    assert streamed["dynamodb"]["SequenceNumber"] == data["SequenceNumber"]
    assert streamed["eventID"] == record["eventID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK",
             what="LastProcessingResult OK")
    assert len(records(out)) == 1  # once


def test_changes_before_the_mapping_are_not_delivered_with_latest_but_are_with_trim_horizon(
        lam, lambda_dynamodb, stream_table, recorder, mappings):
    table, arn = stream_table
    put(lambda_dynamodb, table, "old", 1)
    latest_fn, latest_out = recorder()
    horizon_fn, horizon_out = recorder()
    latest = mappings(FunctionName=latest_fn, EventSourceArn=arn)
    horizon = mappings(FunctionName=horizon_fn, EventSourceArn=arn, StartingPosition="TRIM_HORIZON")
    wait_enabled(lam, latest["UUID"])
    wait_enabled(lam, horizon["UUID"])
    put(lambda_dynamodb, table, "new", 1)
    wait_for(lambda: len(records(horizon_out)) == 2 and len(records(latest_out)) == 1, 20,
             f"{records(horizon_out)} {records(latest_out)}")
    assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in records(horizon_out)) == ["new", "old"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records(latest_out)] == ["new"]
