"""What a delivery stream writes, read back from the archive folder and compared with the writes:
records concatenated as Firehose writes them (no delimiter unless AppendDelimiterToRecord), GZIP,
Avro container files (bytes records, and Confluent-framed records in a registry schema, with the
records that do not decode in the error output), Firehose's key layout, prefix expressions, a
Kinesis stream of ours as the source, and the delivery figures on /metrics."""

from __future__ import annotations

import io
import json
import re
import struct
import time

import fastavro
import httpx

from tests.api.firehose_helpers import (
    ROLE,
    avro_rows,
    client,
    create_active,
    fast,
    new_name,
    objects,
    read_object,
    s3_config,
    wait_lines,
    wait_status,
)
from tests.api.helpers import aws_error
from tests.api.kinesis_helpers import create_active as create_kinesis_stream
from tests.api.kinesis_helpers import needs_own_server

pytestmark = needs_own_server()
NEWLINE = {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}}
KEY = re.compile(r"(?P<prefix>.*)(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/(?P<h>\d\d)/(?P<stream>.+)-1-"
                 r"(?P=y)-(?P=m)-(?P=d)-(?P=h)-\d\d-\d\d-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                 r"(?P<ext>\.gz)?$")


def wait_objects(archive, bucket: str, timeout_s: float = 60.0, count: int = 1) -> list:
    deadline = time.monotonic() + timeout_s
    while len(objects(archive, bucket)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return objects(archive, bucket)


def put_batches(firehose, name: str, records: list[bytes], size: int = 500) -> None:
    for i in range(0, len(records), size):
        answer = firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records[i:i + size]])
        assert answer["FailedPutCount"] == 0
        assert all(len(r["RecordId"]) == 56 for r in answer["RequestResponses"])


def test_records_are_concatenated_without_a_delimiter_under_firehose_key_layout(firehose, archive):
    name = create_active(firehose, **fast(Prefix="raw/"))
    writes = [b"alpha", b"beta", b"gamma"]
    for data in writes:
        assert firehose.put_record(DeliveryStreamName=name, Record={"Data": data})["RecordId"]
    deadline = time.monotonic() + 60
    while sum(len(read_object(p)) for p in objects(archive, name)) < 14 and time.monotonic() < deadline:
        time.sleep(0.2)
    paths = objects(archive, name)
    # each object holds consecutive writes with nothing between them: in order, they make up every write once
    contents = sorted((read_object(p) for p in paths), key=b"alphabetagamma".index)
    assert b"".join(contents) == b"alphabetagamma"
    for path in paths:
        match = KEY.fullmatch(path.relative_to(archive / name).as_posix())
        assert match and match["prefix"] == "raw/" and match["stream"] == name and match["ext"] is None


def test_gzip_objects_with_delimiters_hold_every_record_once_in_order(firehose, archive):
    name = create_active(firehose, CompressionFormat="GZIP", **fast(**NEWLINE))
    writes = [f"{i:06d}".encode() for i in range(3000)]
    put_batches(firehose, name, writes)
    per_object = wait_lines(archive, name, len(writes))
    assert all(p.suffix == ".gz" for p in objects(archive, name))
    assert [line for lines in per_object for line in lines] == writes  # every record once, in put order


def test_avro_bytes_conversion_writes_container_files(firehose, archive):
    conversion = {"DataFormatConversionConfiguration": {"Enabled": True, "SchemaConfiguration": {
        "DatabaseName": "cdc-bridge", "TableName": "bytes"}}}
    name = create_active(firehose, **fast(**conversion))
    writes = [f"record-{i}".encode() for i in range(100)]
    put_batches(firehose, name, writes)
    deadline = time.monotonic() + 60
    rows = []
    while len(rows) < len(writes) and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = [row for p in objects(archive, name) for row in avro_rows(p)]
    assert sorted(row["data"] for row in rows) == sorted(writes)
    assert all(p.suffix == ".avro" for p in objects(archive, name))
    assert all(row["approximateArrivalTimestamp"].year >= 2024 for row in rows)


def test_avro_registry_conversion_decodes_confluent_records_and_sends_the_rest_to_the_error_output(
        firehose, archive, firehose_url):
    subject = new_name("orders") + "-value"
    schema = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"},
                                                             {"name": "qty", "type": "int"}]}
    answer = httpx.post(f"{firehose_url}/subjects/{subject}/versions", json={"schema": json.dumps(schema)}, timeout=30)
    schema_id = answer.json()["id"]
    parsed = fastavro.parse_schema(schema)

    def framed(order: dict) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, order)
        return b"\0" + struct.pack(">I", schema_id) + out.getvalue()

    conversion = {"DataFormatConversionConfiguration": {"Enabled": True, "SchemaConfiguration": {
        "DatabaseName": "cdc-bridge", "TableName": subject}}}
    name = create_active(firehose, **fast(ErrorOutputPrefix="errors/!{firehose:error-output-type}/", **conversion))
    orders = [{"id": f"o{i}", "qty": i} for i in range(20)]
    put_batches(firehose, name, [framed(o) for o in orders] + [b"not avro"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        paths = objects(archive, name)
        rows = [row for p in paths if p.suffix == ".avro" for row in avro_rows(p)]
        errors = [p for p in paths if p.parts[-2] == "format-conversion-failed"]
        if len(rows) == len(orders) and errors:
            break
        time.sleep(0.2)
    assert rows == orders
    [error] = errors
    [line] = error.read_bytes().splitlines()
    assert json.loads(line)["rawData"] == "bm90IGF2cm8="  # base64 of b"not avro"
    assert error.relative_to(archive / name).as_posix().startswith("errors/format-conversion-failed/")


def test_prefix_expressions_are_evaluated_and_replace_the_default_time_folders(firehose, archive):
    name = create_active(firehose, **fast(
        Prefix="dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/!{firehose:random-string}/",
        ErrorOutputPrefix="failed/!{firehose:error-output-type}/"))
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    [path] = wait_objects(archive, name)
    relative = path.relative_to(archive / name).as_posix()
    assert re.fullmatch(rf"dt=\d{{4}}-\d\d-\d\d/h=\d\d/[A-Za-z0-9]{{11}}/{name}-1-\d{{4}}(-\d\d){{5}}-[0-9a-f-]{{36}}",
                        relative), relative


def test_a_kinesis_stream_of_ours_as_the_source(firehose, archive, firehose_url):
    kinesis = client(firehose_url, "kinesis")
    source = create_kinesis_stream(kinesis, 2)
    arn = kinesis.describe_stream_summary(StreamName=source)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_record(StreamName=source, PartitionKey="before", Data=b"written-before-the-delivery-stream\n")
    name = new_name()
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_config(name, CompressionFormat="GZIP", **fast()))
    description = wait_status(firehose, name, "ACTIVE")
    assert description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == arn
    with aws_error("InvalidArgumentException",
                   "This operation is not permitted on KinesisStreamAsSource delivery stream type."):
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    writes = {key: [f"{key}:{i:04d}".encode() for i in range(200)] for key in ("a", "b", "c", "d")}
    for i in range(0, 200, 50):
        batch = [{"PartitionKey": key, "Data": data + b"\n"} for key, records in writes.items()
                 for data in records[i:i + 50]]
        kinesis.put_records(StreamName=source, Records=batch)
    per_object = wait_lines(archive, name, 800)
    lines = [line for lines in per_object for line in lines]
    assert sorted(lines) == sorted(d for records in writes.values() for d in records)  # once each; LATEST start
    for key, records in writes.items():  # one partition key = one shard: its order is kept
        assert [line for line in lines if line.startswith(key.encode() + b":")] == records


def test_delivery_figures_are_on_metrics(firehose, archive, firehose_url):
    name = create_active(firehose, **fast())
    put_batches(firehose, name, [b"0123456789"] * 100)
    wait_objects(archive, name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = httpx.get(f"{firehose_url}/metrics", timeout=10).text
        if f'cdc_bridge_firehose_records_delivered_total{{delivery_stream="{name}"}} 100' in text:
            break
        time.sleep(0.2)
    assert f'cdc_bridge_firehose_records_delivered_total{{delivery_stream="{name}"}} 100' in text
    assert f'cdc_bridge_firehose_bytes_delivered_total{{delivery_stream="{name}"}} 1000' in text
    assert f'cdc_bridge_firehose_objects_total{{delivery_stream="{name}"}} 1' in text
    assert f'cdc_bridge_firehose_delivery_lag_seconds{{delivery_stream="{name}"}}' in text


def test_deleting_the_kinesis_source_leaves_the_delivery_stream_and_the_server_well(
        firehose, archive, firehose_url):
    kinesis = client(firehose_url, "kinesis")
    source = create_kinesis_stream(kinesis, 1)
    arn = kinesis.describe_stream_summary(StreamName=source)["StreamDescriptionSummary"]["StreamARN"]
    name = new_name()
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_config(name, **fast(**NEWLINE)))
    wait_status(firehose, name, "ACTIVE")
    kinesis.put_records(StreamName=source, Records=[{"PartitionKey": "k", "Data": b"r%d" % i} for i in range(10)])
    assert sum(len(lines) for lines in wait_lines(archive, name, 10)) == 10
    kinesis.delete_stream(StreamName=source)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=source, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
    time.sleep(1.0)  # the source's topics are gone: the deliverer let go of them first
    assert httpx.get(f"{firehose_url}/health", timeout=10).status_code == 200
    assert wait_status(firehose, name, "ACTIVE")["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == arn


def test_a_stream_is_delivered_by_the_instance_that_created_it_only(firehose, archive, cdc_bridge):
    """The suite's other `up` shares this Kafka cluster, so it reads the same delivery stream catalog:
    it answers for the stream but writes no object of it (else each object would be written once per
    instance), and deleting the stream here leaves it running (its consumer was never on the topic)."""
    name = create_active(firehose, **fast(), **NEWLINE)
    other = client(cdc_bridge.get_endpoint_url())
    deadline = time.monotonic() + 30  # the other instance answers for it, once its catalog view has it
    while (status := described_status(other, name)) != "ACTIVE":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    put_batches(firehose, name, [b"r%d" % i for i in range(50)])
    assert [line for p in wait_objects(archive, name) for line in read_object(p).splitlines()][:1] == [b"r0"]
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    deadline = time.monotonic() + 60
    while name in firehose.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]:
        assert time.monotonic() < deadline, "the stream was not deleted"
        time.sleep(0.2)
    assert objects(cdc_bridge.data_dir / "archive", name) == []
    assert other.list_delivery_streams()["DeliveryStreamNames"] is not None  # still up


def described_status(firehose, name: str) -> str:
    try:
        return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamStatus"]
    except firehose.exceptions.ResourceNotFoundException:
        return "not found"
