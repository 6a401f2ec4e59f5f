"""PutRecord and PutRecordBatch (DirectPut streams): a record is acknowledged only once Kafka has it
in the stream's topic, so nothing acknowledged is lost by a restart. PutRecordBatch takes up to 500
records and 4 MiB, each record up to 1,000 KiB; a record Kafka did not take is reported in its
entry (ServiceUnavailableException, as Firehose's throttled records) and counted in FailedPutCount."""

from __future__ import annotations

from firehose.context import FirehoseContext
from firehose.errors import Firehose
from firehose.ids import record_id
from firehose.service import SERVICE, find_stream, record_data

MAX_BATCH_BYTES = 4 * 1024 * 1024
PARTITION = 0  # one partition per stream: objects keep the order the records were put in


async def writable_topic(ctx: FirehoseContext, name: str) -> str:
    stream = await find_stream(ctx, name)
    if stream["DeliveryStreamType"] != "DirectPut":
        raise Firehose.InvalidArgumentException(
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
    if stream["DeliveryStreamStatus"] != "ACTIVE":
        raise Firehose.ResourceNotFoundException(
            f"Firehose stream {name} under account {ctx.settings.account_id} is not ACTIVE "
            f"(status {stream['DeliveryStreamStatus']}).")
    return stream["Topic"]


@SERVICE.operation("PutRecord")
async def put_record(ctx: FirehoseContext, req: dict) -> dict:
    topic = await writable_topic(ctx, req["DeliveryStreamName"])
    [offset] = await ctx.producer.send(topic, [(PARTITION, None, record_data(req["Record"]["Data"]), None)])
    if not isinstance(offset, int):
        raise Firehose.ServiceUnavailableException()
    return {"RecordId": record_id(PARTITION, offset), "Encrypted": False}


@SERVICE.operation("PutRecordBatch")
async def put_record_batch(ctx: FirehoseContext, req: dict) -> dict:
    topic = await writable_topic(ctx, req["DeliveryStreamName"])
    records = [record_data(r) if isinstance(r, bytes) else record_data(r["Data"]) for r in req["Records"]]
    total = sum(len(r) for r in records)
    if total > MAX_BATCH_BYTES:
        raise Firehose.InvalidArgumentException(
            f"Records size exceeds {MAX_BATCH_BYTES} bytes limit; the request holds {total} bytes of data.")
    offsets = await ctx.producer.send(topic, [(PARTITION, None, data, None) for data in records])
    responses = [{"RecordId": record_id(PARTITION, o)} if isinstance(o, int) else
                 {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."} for o in offsets]
    failed = sum(1 for r in responses if "ErrorCode" in r)
    return {"FailedPutCount": failed, "Encrypted": False, "RequestResponses": responses}
