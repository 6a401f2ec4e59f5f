"""PutRecordBatch's per-record results when Kafka takes some records and not others (a real broker
cannot be made to refuse one record of a batch on demand; the producer is faked, the handler is real)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from firehose.operations.records import put_record_batch


class Producer:
    def __init__(self, results):
        self.results = results
        self.sent = []

    def send(self, topic, records):
        self.sent.append((topic, records))
        future = asyncio.get_running_loop().create_future()
        future.set_result(self.results)
        return future


def context(results) -> SimpleNamespace:
    stream = {"DeliveryStreamName": "s", "DeliveryStreamType": "DirectPut", "DeliveryStreamStatus": "ACTIVE",
              "Topic": "firehose.s.1"}
    catalog = SimpleNamespace(get=lambda name: stream if name == "s" else None)
    return SimpleNamespace(catalog=catalog, producer=Producer(results),
                           settings=SimpleNamespace(account_id="000000000000"))


def test_a_record_kafka_did_not_take_is_an_entry_error_counted_in_failed_put_count():
    ctx = context([7, RuntimeError("broker gone"), 8])
    answer = asyncio.run(put_record_batch(ctx, {"DeliveryStreamName": "s", "Records": [b"a", b"b", b"c"]}))
    assert answer["FailedPutCount"] == 1
    ok, failed, last = answer["RequestResponses"]
    assert ok["RecordId"].endswith("7") and last["RecordId"].endswith("8") and len(ok["RecordId"]) == 56
    assert failed == {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}
    assert ctx.producer.sent == [("firehose.s.1", [(0, None, b"a", None), (0, None, b"b", None), (0, None, b"c", None)])]
