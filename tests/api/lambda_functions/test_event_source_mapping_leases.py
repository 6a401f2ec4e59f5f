"""Two `up`s on one Kafka cluster that both have a mapping's function: one of them delivers each
batch (the lease, event_sources/leases.py), and the other takes over when it stops."""

from __future__ import annotations

import base64
import time
from collections import Counter

import pytest

from tests.api.helpers import unique_name
from tests.api.lambda_functions.helpers import ROLE, clients, python_package
from tests.api.lambda_functions.mapping_helpers import records, wait_for
from tests.conftest import ServerProcess

# Records its events, each record tagged with the instance ($INSTANCE) that ran it.
TAGGING_HANDLER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"Records": [dict(r, instance=os.environ["INSTANCE"]) for r in event["Records"]]}) + "\\n")
"""


@pytest.fixture
def two_instances(broker, tmp_path):
    servers = {}
    try:
        for tag in ("a", "b"):
            servers[tag] = ServerProcess("up", tmp_path / tag, "--kafka-bootstrap-servers",
                                         broker.bootstrap_servers).start(120)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def data(path) -> Counter:
    return Counter(base64.b64decode(r["kinesis"]["data"]).decode() for r in records(path))


def test_one_instance_delivers_a_mapping_and_the_other_takes_over_when_it_stops(two_instances, tmp_path):
    out = tmp_path / "events.jsonl"
    function, stream = unique_name("fn"), unique_name("ks")
    for tag, server in two_instances.items():
        clients(server.url, "lambda").create_function(
            FunctionName=function, Runtime="python3.12", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": python_package(TAGGING_HANDLER)},
            Environment={"Variables": {"OUT": str(out), "INSTANCE": tag}})
    kinesis = {tag: clients(server.url, "kinesis") for tag, server in two_instances.items()}
    kinesis["a"].create_stream(StreamName=stream, ShardCount=2)
    kinesis["a"].get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    arn = kinesis["a"].describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    # the other instance learns the stream from the Kinesis catalog topic, a moment later
    kinesis["b"].get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    lam = clients(two_instances["a"].url, "lambda")
    uuid = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn,
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", 60, "the mapping")

    for n in range(10):
        kinesis["b"].put_record(StreamName=stream, PartitionKey=f"k{n}", Data=f"first-{n}".encode())
    wait_for(lambda: len(data(out)) == 10, 60, "the first ten records")
    time.sleep(2)  # time for a second delivery, if there were one
    first = records(out)
    assert data(out) == Counter(f"first-{n}" for n in range(10))  # each once
    [owner] = {r["instance"] for r in first}

    two_instances.pop(owner).stop()
    [(survivor, server)] = two_instances.items()
    for n in range(10):
        kinesis[survivor].put_record(StreamName=stream, PartitionKey=f"k{n}", Data=f"second-{n}".encode())
    wait_for(lambda: len(data(out)) == 20, 60, "the records written after the first instance stopped")
    assert data(out) == Counter([f"first-{n}" for n in range(10)] + [f"second-{n}" for n in range(10)])
    assert {r["instance"] for r in records(out)[len(first):]} == {survivor}

    clients(server.url, "lambda").delete_event_source_mapping(UUID=uuid)
    kinesis[survivor].delete_stream(StreamName=stream)
