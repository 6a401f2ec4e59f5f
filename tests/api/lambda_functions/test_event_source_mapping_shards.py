"""How a mapping goes through the shards of a Kinesis stream, as Lambda does: a parent shard is finished
before its children after resharding, ParallelizationFactor keeps several batches of one shard in
flight (in order per partition key), and records older than MaximumRecordAgeInSeconds go to the
on-failure destination while the shard moves on."""

from __future__ import annotations

import base64
import json
import time

from confluent_kafka import Producer

from tests.api.helpers import unique_name
from tests.api.lambda_functions.mapping_helpers import TIMED_RECORDER, invocations, records, wait_enabled, wait_for
from tests.integration.kafka_reading import read_to_end


def data_of(record: dict) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


def test_a_parent_shard_is_finished_before_its_children_after_resharding(lam, kinesis, kinesis_stream, recorder,
                                                                          mappings):
    name, arn = kinesis_stream
    parent = "shardId-000000000000"
    function, out = recorder(SLOW_ON=parent, SLEEP="0.5")  # the parent's records are handled slowly
    mapping = mappings(FunctionName=function, EventSourceArn=arn, BatchSize=1, StartingPosition="TRIM_HORIZON")
    wait_enabled(lam, mapping["UUID"])
    for n in range(4):
        kinesis.put_record(StreamName=name, PartitionKey="sensor", Data=f"before-{n}".encode())
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    children = [s for s in kinesis.list_shards(StreamName=name)["Shards"] if s.get("ParentShardId") == parent]
    assert len(children) == 2
    for n in range(3):
        kinesis.put_record(StreamName=name, PartitionKey="sensor", Data=f"after-{n}".encode())

    wait_for(lambda: len(records(out)) == 7, 60, "all seven records")
    delivered = records(out)
    assert [data_of(r) for r in delivered] == [f"before-{n}" for n in range(4)] + [f"after-{n}" for n in range(3)]
    assert {r["eventID"].split(":")[0] for r in delivered[4:]} < {c["ShardId"] for c in children}


def most_at_once(events: list[dict]) -> int:
    """The largest number of invocations that were running at one moment."""
    return max(sum(e["started"] <= moment["started"] < e["ended"] for e in events) for moment in events)


def test_parallelization_factor_keeps_batches_of_one_shard_in_flight_in_order_per_key(
        lam, kinesis, kinesis_stream, make_function, tmp_path, mappings):
    name, arn = kinesis_stream
    out = tmp_path / "out.jsonl"
    function = make_function(TIMED_RECORDER, Timeout=10, Environment={"Variables": {"OUT": str(out), "SLEEP": "0.5"}})
    mapping = mappings(FunctionName=function, EventSourceArn=arn, ParallelizationFactor=4, BatchSize=2)
    wait_enabled(lam, mapping["UUID"])
    entries = [{"PartitionKey": f"key-{k}", "Data": f"{k}:{n}".encode()} for n in range(3) for k in range(8)]
    kinesis.put_records(StreamName=name, Records=entries)

    wait_for(lambda: len(records(out)) == 24, 60, "all 24 records")
    events = sorted(invocations(out), key=lambda e: e["started"])
    assert all(len(e["Records"]) <= 2 for e in events)
    assert most_at_once(events) >= 3  # one shard, several batches at once (BatchSize 2: not one batch split)
    for k in range(8):
        of_key = [data_of(r) for e in events for r in e["Records"] if r["kinesis"]["partitionKey"] == f"key-{k}"]
        assert of_key == [f"{k}:{n}" for n in range(3)]


def test_an_update_of_parallelization_factor_applies_to_the_next_records(lam, kinesis, kinesis_stream, make_function,
                                                                         tmp_path, mappings):
    name, arn = kinesis_stream
    out = tmp_path / "out.jsonl"
    function = make_function(TIMED_RECORDER, Timeout=10, Environment={"Variables": {"OUT": str(out), "SLEEP": "0.5"}})
    mapping = mappings(FunctionName=function, EventSourceArn=arn, BatchSize=1)
    wait_enabled(lam, mapping["UUID"])
    kinesis.put_records(StreamName=name, Records=[{"PartitionKey": f"key-{k}", "Data": b"one"} for k in range(4)])
    wait_for(lambda: len(records(out)) == 4, 60, "the first four records")
    assert most_at_once(invocations(out)) == 1  # one batch at a time

    lam.update_event_source_mapping(UUID=mapping["UUID"], ParallelizationFactor=4)
    wait_enabled(lam, mapping["UUID"])
    kinesis.put_records(StreamName=name, Records=[{"PartitionKey": f"key-{k}", "Data": b"four"} for k in range(8)])
    wait_for(lambda: len(records(out)) == 12, 60, "the next eight records")
    assert most_at_once(invocations(out)[4:]) >= 3


def test_records_past_their_maximum_age_go_to_the_destination_and_the_shard_moves_on(
        lam, kinesis, kinesis_stream, recorder, mappings, broker):
    """Records 52 s old when written (a plain Kafka producer sets their arrival time; Lambda's minimum
    MaximumRecordAgeInSeconds is 60) fail until they are older than 60 s; then they go to the
    destination with Lambda's failure record, and a new record is delivered."""
    name, arn = kinesis_stream
    function, out = recorder(FAIL_ON="stale")
    topic = unique_name("expired")
    mapping = mappings(FunctionName=function, EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                       MaximumRecordAgeInSeconds=60, BatchSize=10,
                       DestinationConfig={"OnFailure": {"Destination": f"arn:aws:kafka:us-east-1:000000000000:topic/"
                                                                       f"{topic}"}})
    wait_enabled(lam, mapping["UUID"])
    written_at = int(time.time() * 1000) - 52_000
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for n in range(2):
        producer.produce(f"kinesis.{name}.0", f"old-{n}".encode(), b"stale", partition=0, timestamp=written_at)
    producer.flush(10)
    wait_for(lambda: records(out), 30, "the stale records' first attempt")

    wait_for(lambda: read_to_end(broker.bootstrap_servers, topic, [0]) if topic in producer.list_topics(
        timeout=10).topics else [], 60, "the failure record")
    [message] = read_to_end(broker.bootstrap_servers, topic, [0])
    failure = json.loads(message.value())
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] >= 1
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["KinesisBatchInfo"]
    assert (info["batchSize"], info["shardId"], info["streamArn"]) == (2, "shardId-000000000000", arn)
    tried = [r["kinesis"]["sequenceNumber"] for r in invocations(out)[0]["Records"]]
    assert [info["startSequenceNumber"], info["endSequenceNumber"]] == tried

    kinesis.put_record(StreamName=name, PartitionKey="fresh", Data=b"new")
    wait_for(lambda: any(data_of(r) == "new" for r in records(out)), 30, "the shard to move on")
    attempts = [e for e in invocations(out) if "stale" in json.dumps(e)]
    assert len(attempts) == failure["requestContext"]["approximateInvokeCount"]
