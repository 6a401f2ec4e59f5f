"""Records as a mapping hands them to a function (event_sources/sources.py): Lambda's DynamoDB record
(the Streams record plus eventSourceARN; a TTL deletion's userIdentity in Lambda's lower-case
spelling) and Lambda's Kinesis record."""

from __future__ import annotations

import base64

from event_sources.sources import Shard, dynamodb_record, kinesis_record
from schemas.codec import encode_event, frame
from tests.unit.test_avro import make_event

STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/users/stream/2026-12-07T15:00:00.000"
SHARD = Shard("shardId-00000001796656000000-00000002", "dynamodb.users.x", 2, 0, 2, None, 86_400_000, 0)


class Message:
    def __init__(self, value: bytes, offset: int, timestamp_ms: int, key: bytes | None = None):
        self._value, self._offset, self._timestamp, self._key = value, offset, timestamp_ms, key

    def value(self):
        return self._value

    def key(self):
        return self._key

    def offset(self):
        return self._offset

    def timestamp(self):
        return 1, self._timestamp


def test_a_ttl_deletion_carries_lambdas_user_identity_and_the_source_arn():
    event = make_event(eventName="REMOVE", userIdentity={"type": "Service", "principalId": "dynamodb.amazonaws.com"})
    record = dynamodb_record(Message(frame(1, encode_event(event)), 42, 1_700_000_000_123), SHARD, STREAM)
    assert list(record) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                            "eventSourceARN", "userIdentity"]
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert record["eventSourceARN"] == STREAM
    assert record["dynamodb"]["SequenceNumber"] == str(10**30 + 2 * 10**20 + 42)  # as GetRecords numbers it
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_000  # seconds, as the Streams API


def test_a_users_own_write_has_no_user_identity():
    record = dynamodb_record(Message(frame(1, encode_event(make_event())), 0, 0), SHARD, STREAM)
    assert "userIdentity" not in record


def test_a_kinesis_record_as_lambda_sends_it():
    shard = Shard("shardId-000000000003", "kinesis.s.0", 0, 0, 3, None, 86_400_000, 0)
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    record = kinesis_record(Message(b"hello", 7, 1_700_000_000_123, b"pk-1"), shard, arn, "us-east-1",
                            "arn:aws:iam::000000000000:role/r")
    sequence = str(49 * 10**32 + 3 * 10**20 + 7)
    assert record == {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "pk-1", "sequenceNumber": sequence,
                    "data": base64.b64encode(b"hello").decode(), "approximateArrivalTimestamp": 1_700_000_000.123},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000003:{sequence}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::000000000000:role/r",
        "awsRegion": "us-east-1", "eventSourceARN": arn}
