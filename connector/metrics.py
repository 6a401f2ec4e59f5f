"""What the connector records into the metric store (monitoring/): AWS/DynamoDB's UserErrors and
ReturnedRecordsCount for the DynamoDB Streams API, AWS/Kinesis's per-stream figures for Kinesis.
`observe_*` run after each call (the server calls them); `record_*` inside GetRecords, which alone
knows the stream an iterator reads."""

from __future__ import annotations

from aws_json.errors import AWSError
from connector.context import ConnectorContext


def observe_streams(ctx: ConnectorContext | None, operation: str, req: dict | None, result: dict | None,
                    error: AWSError | None, seconds: float) -> None:
    """DynamoDB Streams calls answered 400 are DynamoDB's UserErrors too, as on AWS."""
    if ctx is not None and error is not None and error.status == 400:
        ctx.dynamodb_metrics.user_errors.add(1)


def record_returned(ctx: ConnectorContext, stream_arn: str, records: int, seconds: float) -> None:
    """ReturnedRecordsCount and SuccessfulRequestLatency (Operation GetRecords) of one GetRecords;
    the ARN names the table and the stream's label
    (arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>). The latency includes a wait
    at the end of an open shard for its next record (bounded), as the caller waited it too."""
    table, _, label = stream_arn.partition(":table/")[2].partition("/stream/")
    ctx.dynamodb_metrics.stream_records(table, label).add(records)
    ctx.dynamodb_metrics.table(table).operation("SuccessfulRequestLatency", "GetRecords").add(seconds * 1000)


def observe_kinesis(ctx: ConnectorContext | None, operation: str, req: dict | None, result: dict | None,
                    error: AWSError | None, seconds: float) -> None:
    """IncomingRecords and IncomingBytes (the records' data) of successful puts, PutRecord.Latency."""
    if ctx is None or error is not None or operation not in ("PutRecord", "PutRecords"):
        return
    stream = ctx.kinesis_metrics.stream(stream_name(req))
    if operation == "PutRecord":
        stream.put_record_latency.add(seconds * 1000)
        stream.incoming_records.add(1)
        stream.incoming_bytes.add(base64_size(req["Data"]))
        return
    written = [entry for entry, answer in zip(req["Records"], result["Records"]) if "SequenceNumber" in answer]
    stream.incoming_records.add(len(written))
    stream.incoming_bytes.add(sum(base64_size(entry["Data"]) for entry in written))


def record_read(ctx: ConnectorContext, name: str, records: int, data_bytes: int, behind_ms: int) -> None:
    """GetRecords.Records, .Bytes and .IteratorAgeMilliseconds (the last returned record's age, 0 at
    the end of the shard: MillisBehindLatest)."""
    stream = ctx.kinesis_metrics.stream(name)
    stream.get_records_records.add(records)
    stream.get_records_bytes.add(data_bytes)
    stream.iterator_age.add(behind_ms)


def stream_name(req: dict) -> str:
    return req.get("StreamName") or req.get("StreamARN", "").rpartition(":stream/")[2]


def base64_size(data: str | bytes) -> int:
    """The decoded size of a record's Data: base64 text (not decoded for this), or bytes the
    request's fast path already decoded."""
    if isinstance(data, bytes | bytearray):
        return len(data)
    return len(data) * 3 // 4 - data[-2:].count("=")
