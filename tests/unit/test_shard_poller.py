"""The decisions of a shard poller (event_sources/poller.py) that need no Kafka or worker: records
older than MaximumRecordAgeInSeconds go to the destination unprocessed, and how a function's answer
decides what is retried (ReportBatchItemFailures)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import orjson

from event_sources.poller import Item, MappingHolder, ShardPoller
from event_sources.sources import Shard

SHARD = Shard("shardId-00000001796656000000-00000000", "t", 0, 0, 0, None, 86_400_000, 0)


class Message:
    def __init__(self, offset: int, timestamp_ms: int):
        self._offset, self._timestamp = offset, timestamp_ms

    def offset(self):
        return self._offset

    def timestamp(self):
        return 1, self._timestamp


def mapping(**overrides) -> dict:
    return {"UUID": "u-1", "EventSourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x",
            "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f", "MaximumRecordAgeInSeconds": -1,
            "FunctionResponseTypes": [], "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::b"}},
            **overrides}


def item(offset: int, age_s: float) -> Item:
    sequence = str(10**30 + offset)
    return Item(Message(offset, int((time.time() - age_s) * 1000)), {"dynamodb": {"SequenceNumber": sequence}})


def poller(sent: list) -> ShardPoller:
    destinations = SimpleNamespace(send=lambda destination, m, shard, failure, payload: sent.append(failure))
    runtime = SimpleNamespace(destinations=destinations, leases=SimpleNamespace(owns=lambda uuid: True))
    return ShardPoller(runtime, MappingHolder(mapping()), SHARD)


def test_records_older_than_the_maximum_age_go_to_the_destination_unprocessed():
    sent: list = []
    batch = [item(0, 120), item(1, 90), item(2, 1)]
    kept = poller(sent).drop_expired(mapping(MaximumRecordAgeInSeconds=60), batch, 0)
    assert kept == batch[2:]
    [failure] = sent
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert poller(sent).drop_expired(mapping(), batch, 0) == batch  # -1: no age limit


def answer(payload, error=None):
    return SimpleNamespace(payload=orjson.dumps(payload), function_error=error)


def test_a_batch_response_decides_what_is_retried():
    p, reporting = poller([]), mapping(FunctionResponseTypes=["ReportBatchItemFailures"])
    batch = [item(0, 1), item(1, 1), item(2, 1)]
    sequence = batch[1].record["dynamodb"]["SequenceNumber"]
    assert p.failed_from(reporting, batch, answer({"batchItemFailures": [{"itemIdentifier": sequence}]})) == 1
    assert p.failed_from(reporting, batch, answer({"batchItemFailures": []})) is None
    assert p.failed_from(reporting, batch, answer(None)) is None
    assert p.failed_from(reporting, batch, answer({"batchItemFailures": [{"itemIdentifier": "9"}]})) == 0
    assert p.failed_from(reporting, batch, answer({"batchItemFailures": [{}]})) == 0
    assert p.failed_from(mapping(), batch, answer({"batchItemFailures": [{"itemIdentifier": sequence}]})) is None
    assert p.failed_from(reporting, batch, answer({"errorMessage": "x"}, error="Unhandled")) == 0
