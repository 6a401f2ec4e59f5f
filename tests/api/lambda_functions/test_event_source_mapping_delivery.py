"""What a mapping delivers, with Lambda's semantics: Kinesis records, filters, the batching window,
retries with bisection and the on-failure destinations, partial batch failures, a handler that times
out or raises, and a mapping disabled and enabled again."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import unique_name
from tests.api.lambda_functions.mapping_helpers import TIMED_RECORDER, invocations, put, records, wait_enabled, wait_for
from tests.integration.kafka_reading import read_to_end


@pytest.fixture(scope="session")
def data_dir(lambda_url) -> Path:
    return Path(httpx.get(f"{lambda_url}/health").json()["parts"]["connector"]["data_dir"])


def keys(path: Path) -> list[int]:
    return [int(r["dynamodb"]["Keys"]["sk"]["N"]) for r in records(path)]


def test_put_record_runs_the_handler_with_lambdas_kinesis_record(lam, kinesis, kinesis_stream, recorder, mappings):
    name, arn = kinesis_stream
    function, out = recorder()
    mapping = mappings(FunctionName=function, EventSourceArn=arn)
    wait_enabled(lam, mapping["UUID"])
    put_answer = kinesis.put_record(StreamName=name, PartitionKey="device-1", Data=b'{"temperature": 21}')

    [record] = wait_for(lambda: records(out))
    assert list(record) == ["kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn",
                            "awsRegion", "eventSourceARN"]
    data = record["kinesis"]
    assert (data["kinesisSchemaVersion"], data["partitionKey"]) == ("1.0", "device-1")
    assert base64.b64decode(data["data"]) == b'{"temperature": 21}'
    assert data["sequenceNumber"] == put_answer["SequenceNumber"]
    assert isinstance(data["approximateArrivalTimestamp"], float)
    assert record["eventID"] == f"{put_answer['ShardId']}:{put_answer['SequenceNumber']}"
    assert (record["eventSource"], record["eventName"]) == ("aws:kinesis", "aws:kinesis:record")
    assert record["eventSourceARN"] == arn and record["invokeIdentityArn"].startswith("arn:aws:iam::")


def test_kinesis_filters_match_json_data_and_the_partition_key(lam, kinesis, kinesis_stream, recorder, mappings):
    name, arn = kinesis_stream
    function, out = recorder()
    patterns = [{"data": {"temperature": [{"numeric": [">", 30]}]}}, {"partitionKey": [{"prefix": "alarm-"}]}]
    mapping = mappings(FunctionName=function, EventSourceArn=arn,
                       FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})
    wait_enabled(lam, mapping["UUID"])
    for key, data in [("d", b'{"temperature": 35}'), ("d", b'{"temperature": 20}'), ("alarm-1", b"not json"),
                      ("d", b"not json either"), ("d", b'{"temperature": 31, "last": true}')]:
        kinesis.put_record(StreamName=name, PartitionKey=key, Data=data)
    wait_for(lambda: any(b"last" in base64.b64decode(r["kinesis"]["data"]) for r in records(out)))
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records(out)] == [
        b'{"temperature": 35}', b"not json", b'{"temperature": 31, "last": true}']


def test_at_timestamp_starts_a_kinesis_mapping_at_the_first_record_since(lam, kinesis, kinesis_stream, recorder,
                                                                         mappings):
    name, arn = kinesis_stream
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"before")
    time.sleep(1.1)
    moment = time.time()
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"after")
    function, out = recorder()
    mappings(FunctionName=function, EventSourceArn=arn, StartingPosition="AT_TIMESTAMP",
             StartingPositionTimestamp=moment)
    wait_for(lambda: records(out))
    time.sleep(0.5)
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records(out)] == [b"after"]


def test_filters_pass_only_matching_records(lam, lambda_dynamodb, stream_table, recorder, mappings):
    table, arn = stream_table
    function, out = recorder()
    patterns = [
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"colour": {"S": [{"prefix": "re"}]}}}},
        {"dynamodb": {"NewImage": {"size": {"S": [{"anything-but": ["small", "medium"]}]}}}},
    ]
    mapping = mappings(FunctionName=function, EventSourceArn=arn,
                       FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "p", 1, colour="red")  # first pattern
    put(lambda_dynamodb, table, "p", 2, colour="blue")  # neither
    put(lambda_dynamodb, table, "p", 3, colour="blue", size="large")  # second
    put(lambda_dynamodb, table, "p", 4, colour="green", size="small")  # neither
    put(lambda_dynamodb, table, "p", 1, colour="reddish")  # MODIFY: not the first, no size: not the second
    put(lambda_dynamodb, table, "p", 5, colour="rose")  # neither: "ro" is not "re"
    put(lambda_dynamodb, table, "p", 6, colour="red")  # first, last: everything before it was read
    wait_for(lambda: 6 in keys(out))
    assert keys(out) == [1, 3, 6]


def test_batching_window_gathers_changes_into_one_invocation(lam, lambda_dynamodb, stream_table, recorder, mappings):
    table, arn = stream_table
    function, out = recorder()
    mapping = mappings(FunctionName=function, EventSourceArn=arn, BatchSize=10, MaximumBatchingWindowInSeconds=3)
    wait_enabled(lam, mapping["UUID"])
    for sk in range(4):
        put(lambda_dynamodb, table, "p", sk)
    wait_for(lambda: len(keys(out)) == 4, 30)
    assert [len(event["Records"]) for event in invocations(out)] == [4]


def test_a_failing_batch_is_retried_bisected_and_sent_to_the_kafka_destination(
        lam, lambda_dynamodb, stream_table, recorder, mappings, broker):
    table, arn = stream_table
    function, out = recorder(FAIL_ON="poison")
    topic = unique_name("failures")
    mapping = mappings(FunctionName=function, EventSourceArn=arn, BatchSize=10, MaximumBatchingWindowInSeconds=2,
                       BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
                       DestinationConfig={"OnFailure": {"Destination": f"arn:aws:kafka:us-east-1:000000000000:topic/"
                                                                       f"{topic}"}})
    wait_enabled(lam, mapping["UUID"])
    for sk in range(4):
        put(lambda_dynamodb, table, "p", sk, note="poison" if sk == 2 else "fine")
    put(lambda_dynamodb, table, "p", 9)

    def succeeded():
        return [e for e in invocations(out) if "poison" not in json.dumps(e)]

    # the handler records each event before it fails: wait for 9 in a batch that succeeded
    wait_for(lambda: any(r["dynamodb"]["Keys"]["sk"]["N"] == "9" for e in succeeded() for r in e["Records"]), 60,
             "the shard to move past the poison record")
    succeeded = succeeded()
    assert sorted(int(r["dynamodb"]["Keys"]["sk"]["N"]) for e in succeeded for r in e["Records"]) == [0, 1, 3, 9]
    lone_poison = [e for e in invocations(out) if [r["dynamodb"]["Keys"]["sk"]["N"] for r in e["Records"]] == ["2"]]
    assert len(lone_poison) == 2  # bisected down to the record, then its one retry
    [failure] = [json.loads(m.value()) for m in read_to_end(broker.bootstrap_servers, topic, [0])]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"].endswith(f":function:{function}")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == lone_poison[0]["Records"][0]["dynamodb"][
        "SequenceNumber"]


def test_exhausted_retries_go_to_an_s3_bucket_folder_with_the_payload(lam, lambda_dynamodb, stream_table, recorder,
                                                                      mappings, data_dir):
    table, arn = stream_table
    function, out = recorder(FAIL_ON="poison")
    bucket = unique_name("dlq")
    mapping = mappings(FunctionName=function, EventSourceArn=arn, MaximumRetryAttempts=0,
                       DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}})
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "p", 1, note="poison")
    put(lambda_dynamodb, table, "p", 2)
    wait_for(lambda: 2 in keys(out), 60)
    assert keys(out) == [1, 2]  # no retry: one attempt
    [path] = wait_for(lambda: [p for p in (data_dir / "s3" / bucket).rglob("*") if p.is_file()])
    shard = path.relative_to(data_dir / "s3" / bucket).parts[3]
    assert path.relative_to(data_dir / "s3" / bucket).parts[:3] == ("aws", "lambda", mapping["UUID"])
    assert shard.startswith("shardId-")
    document = json.loads(path.read_text())
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["DDBStreamBatchInfo"]["shardId"] == shard
    assert document["payload"]["Records"][0]["dynamodb"]["NewImage"]["note"] == {"S": "poison"}


def test_exhausted_retries_go_to_a_kinesis_stream_of_ours(lam, kinesis, lambda_dynamodb, stream_table, recorder,
                                                          mappings, kinesis_stream):
    table, arn = stream_table
    name, destination = kinesis_stream
    function, out = recorder(FAIL_ON="INSERT")
    mapping = mappings(FunctionName=function, EventSourceArn=arn, MaximumRetryAttempts=0,
                       DestinationConfig={"OnFailure": {"Destination": destination}})
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "p", 1)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def delivered():
        return kinesis.get_records(ShardIterator=iterator)["Records"]

    [record] = wait_for(delivered, 60, "the failure record on the Kinesis stream")
    assert record["PartitionKey"] == mapping["UUID"]
    failure = json.loads(record["Data"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == records(out)[0]["dynamodb"]["SequenceNumber"]


def test_partial_batch_failures_retry_from_the_first_failed_record(lam, lambda_dynamodb, stream_table, recorder,
                                                                   mappings):
    table, arn = stream_table
    function, out = recorder(PARTIAL_ON="flaky")
    mapping = mappings(FunctionName=function, EventSourceArn=arn, BatchSize=10, MaximumBatchingWindowInSeconds=2,
                       FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=2)
    wait_enabled(lam, mapping["UUID"])
    for sk in range(4):
        put(lambda_dynamodb, table, "p", sk, note="flaky" if sk == 2 else "fine")
    wait_for(lambda: len(invocations(out)) >= 3, 60)
    put(lambda_dynamodb, table, "p", 9)  # after the retries ran out, the shard moves on
    wait_for(lambda: 9 in keys(out), 60)
    batches = [[int(r["dynamodb"]["Keys"]["sk"]["N"]) for r in e["Records"]] for e in invocations(out)]
    assert batches == [[0, 1, 2, 3], [2, 3], [2, 3], [9]]


def test_a_handler_that_times_out_is_retried_and_the_shard_waits(lam, lambda_dynamodb, stream_table, make_function,
                                                                 tmp_path, mappings):
    table, arn = stream_table
    out = tmp_path / "out.jsonl"
    # sleeps past its timeout the first time it sees a record, then succeeds
    source = """
import json, os, time
def handler(event, context):
    marker = os.environ["OUT"] + ".seen"
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(5)
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(event) + "\\n")
"""
    function = make_function(source, Timeout=1, Environment={"Variables": {"OUT": str(out)}})
    mapping = mappings(FunctionName=function, EventSourceArn=arn)
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "p", 1)
    put(lambda_dynamodb, table, "p", 2)
    wait_for(lambda: 2 in keys(out), 60)
    assert sorted(keys(out)) == [1, 2] and keys(out)[0] == 1  # nothing lost, order kept
    assert Path(str(out) + ".seen").exists()


def test_disabled_mapping_delivers_nothing_until_enabled_again(lam, lambda_dynamodb, stream_table, recorder, mappings):
    table, arn = stream_table
    function, out = recorder()
    mapping = mappings(FunctionName=function, EventSourceArn=arn)
    wait_enabled(lam, mapping["UUID"])
    put(lambda_dynamodb, table, "p", 1)
    wait_for(lambda: keys(out) == [1])
    disabling = lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    assert disabling["State"] == "Disabling"
    wait_enabled(lam, mapping["UUID"], "Disabled")
    put(lambda_dynamodb, table, "p", 2)
    time.sleep(2)
    assert keys(out) == [1]
    assert lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)["State"] == "Enabling"
    wait_enabled(lam, mapping["UUID"])
    wait_for(lambda: keys(out) == [1, 2])


WINDOW_COUNTER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    if event["isFinalInvokeForWindow"]:
        return {}
    return {"state": {"count": event["state"].get("count", 0) + len(event["Records"])}}
"""


def test_tumbling_windows_carry_the_state_to_a_final_invocation(lam, lambda_dynamodb, stream_table, make_function,
                                                                tmp_path, mappings):
    table, arn = stream_table
    out = tmp_path / "out.jsonl"
    function = make_function(WINDOW_COUNTER, Environment={"Variables": {"OUT": str(out)}})
    mapping = mappings(FunctionName=function, EventSourceArn=arn, TumblingWindowInSeconds=2, BatchSize=1)
    wait_enabled(lam, mapping["UUID"])
    for sk in range(3):
        put(lambda_dynamodb, table, "p", sk)

    def finals():
        return [e for e in invocations(out) if e["isFinalInvokeForWindow"]]

    wait_for(lambda: sum(e["state"].get("count", 0) for e in finals()) == 3, 30, "the windows' final invocations")
    events = invocations(out)
    assert all(e["Records"] == [] for e in finals())
    first = events[0]
    assert (first["shardId"].startswith("shardId-"), first["eventSourceARN"], first["isWindowTerminatedEarly"]) == \
        (True, arn, False)
    assert first["window"]["start"].endswith("Z") and first["window"]["start"] < first["window"]["end"]
    assert first["state"] == {}  # a window starts empty


def test_parallelization_factor_runs_batches_of_one_shard_side_by_side_in_order_per_item(
        lam, lambda_dynamodb, stream_table, make_function, tmp_path, mappings):
    table, arn = stream_table
    out = tmp_path / "out.jsonl"
    function = make_function(TIMED_RECORDER, Timeout=10, Environment={"Variables": {"OUT": str(out), "SLEEP": "1"}})
    mapping = mappings(FunctionName=function, EventSourceArn=arn, ParallelizationFactor=5,
                       MaximumBatchingWindowInSeconds=2)
    wait_enabled(lam, mapping["UUID"])
    for sk in range(10):
        put(lambda_dynamodb, table, "p", sk)
    put(lambda_dynamodb, table, "p", 0, again="yes")  # the same item again: after its first change
    wait_for(lambda: len(records(out)) == 11, 60)
    events = invocations(out)
    assert len(events) > 1
    overlapping = any(a["started"] < b["ended"] and b["started"] < a["ended"]
                      for i, a in enumerate(events) for b in events[i + 1:])
    assert overlapping
    changes_of_zero = [r for r in records(out) if r["dynamodb"]["Keys"]["sk"]["N"] == "0"]
    assert [r["eventName"] for r in changes_of_zero] == ["INSERT", "MODIFY"]


def test_deleting_a_kinesis_stream_stops_its_mappings_pollers(lam, kinesis, recorder, mappings, lambda_url):
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    function, out = recorder()
    mapping = mappings(FunctionName=function, EventSourceArn=arn)
    wait_enabled(lam, mapping["UUID"])
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"before")
    wait_for(lambda: records(out))
    kinesis.delete_stream(StreamName=name)
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] ==
             "PROBLEM: Stream not found", 30, "the mapping to see its stream go")
    time.sleep(4)  # past the grace period: the stream's topics are deleted now
    assert httpx.get(f"{lambda_url}/health").status_code == 200  # the server lives on
