"""`cdc-bridge tail`'s pure parts: what a target names, how records are rendered, when progress is
said. (Following live streams is tests/integration/test_tail.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from cdc_bridge import tail

ENDPOINT = "http://127.0.0.1:1"
KINESIS_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"


class StubbedSession:
    """A boto3 session whose clients answer from Stubbers (no network)."""

    def __init__(self):
        self.session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
        self.clients, self.stubs = {}, {}

    def client(self, service, endpoint_url=None):
        if service not in self.clients:
            self.clients[service] = self.session.client(service, endpoint_url=endpoint_url)
            self.stubs[service] = Stubber(self.clients[service])
            self.stubs[service].activate()
        return self.clients[service]

    def stub(self, service) -> Stubber:
        self.client(service)
        return self.stubs[service]


def summary(arn: str) -> dict:
    return {"StreamDescriptionSummary": {
        "StreamName": "s", "StreamARN": arn, "StreamStatus": "ACTIVE", "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": datetime(2026, 1, 1, tzinfo=UTC), "EnhancedMonitoring": [],
        "OpenShardCount": 1}}


def test_a_name_that_cannot_be_a_table_is_looked_up_as_a_kinesis_stream():
    session = StubbedSession()
    session.stub("dynamodb").add_client_error("describe_table", "ValidationException", http_status_code=400)
    session.stub("kinesis").add_response("describe_stream_summary", summary(KINESIS_ARN), {"StreamName": "s1"})
    stream = tail.resolve("s1", session, ENDPOINT, 100)
    assert isinstance(stream, tail.KinesisStream) and stream.arn == KINESIS_ARN


def test_a_name_that_is_neither_says_so():
    session = StubbedSession()
    session.stub("dynamodb").add_client_error("describe_table", "ResourceNotFoundException", http_status_code=400)
    session.stub("kinesis").add_client_error("describe_stream_summary", "ResourceNotFoundException",
                                             http_status_code=400)
    with pytest.raises(tail.TailError, match="no table and no Kinesis stream of that name"):
        tail.resolve("nothing", session, ENDPOINT, 100)


def test_arns_need_no_lookup():
    session = StubbedSession()
    dynamodb_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2026-01-01T00:00:00.000"
    assert isinstance(tail.resolve(dynamodb_arn, session, ENDPOINT, 100), tail.DynamoDBStream)
    assert isinstance(tail.resolve(KINESIS_ARN, session, ENDPOINT, 100), tail.KinesisStream)


def test_records_render_as_the_aws_cli_prints_them():
    record = {"Data": b"\x00hi", "ApproximateArrivalTimestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert json.loads(json.dumps(record, default=tail.as_json)) == {
        "Data": "AGhp", "ApproximateArrivalTimestamp": "2026-01-02T03:04:05+00:00"}


def test_progress_is_said_while_behind_at_most_every_interval_then_once_caught_up():
    said = []
    progress = tail.Progress(said.append)
    for now in (0.0, 0.5, 1.0, tail.PROGRESS_EVERY_S + 0.1):
        progress.record_printed()
        progress.after_round(behind=True, now=now)
    progress.after_round(behind=False, now=10.0)
    progress.after_round(behind=False, now=11.0)
    assert said == ["catching up: 1 records so far", "catching up: 4 records so far", "caught up: 4 records; following"]


def test_a_child_shard_waits_until_its_parent_is_read_to_its_end():
    class Listed:
        def shards(self):
            return [("parent", None), ("child", "parent")]

    follower = tail.Tail(Listed(), "TRIM_HORIZON", print, tail.Progress(print))
    follower.discover()
    assert [s.shard_id for s in follower.readable()] == ["parent"]
    follower.shards["parent"].finished = True
    assert [s.shard_id for s in follower.readable()] == ["child"]
