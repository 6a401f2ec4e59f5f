"""Delivery to a real S3-compatible endpoint (`--s3-endpoint-url`): moto's S3 server stands in for
it, and the objects are read back with boto3's S3 client, under Firehose's key layout, gzip undone."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import pytest

from cdc_bridge.broker import free_port, spawn_child, stop_child
from tests.api.firehose_helpers import client, create_active
from tests.api.kinesis_helpers import needs_own_server
from tests.conftest import CREDENTIALS, REGION, ServerProcess

pytestmark = needs_own_server()
NEWLINE = {"ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}}


@pytest.fixture
def s3_endpoint(tmp_path):
    port = free_port()
    moto = spawn_child([str(Path(sys.executable).with_name("moto_server")), "-p", str(port)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "moto_server did not start"
            time.sleep(0.1)
    yield url
    stop_child(moto)


def test_objects_go_to_the_s3_endpoint_complete_under_firehose_keys(broker, tmp_path, s3_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **CREDENTIALS)
    s3.create_bucket(Bucket="archive")
    server = ServerProcess("up", tmp_path / "data", "--kafka-bootstrap-servers", broker.bootstrap_servers,
                           "--s3-endpoint-url", s3_endpoint, "--s3-access-key-id", CREDENTIALS["aws_access_key_id"],
                           "--s3-secret-access-key", CREDENTIALS["aws_secret_access_key"]).start(timeout_s=120)
    try:
        firehose = client(server.url)
        name = create_active(firehose, bucket="archive", Prefix="events/", CompressionFormat="GZIP",
                             BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}, **NEWLINE)
        writes = [f"event-{i:05d}".encode() for i in range(1000)]
        for i in range(0, len(writes), 500):
            firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in writes[i:i + 500]])
        deadline, lines = time.monotonic() + 60, []
        while len(lines) < len(writes) and time.monotonic() < deadline:
            time.sleep(0.3)
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="archive").get("Contents", [])]
            bodies = [gzip.decompress(s3.get_object(Bucket="archive", Key=k)["Body"].read()) for k in keys]
            lines = sorted(line for body in bodies for line in body.splitlines())
        assert lines == writes
        layout = rf"events/\d{{4}}/\d\d/\d\d/\d\d/{name}-1-\d{{4}}(-\d\d){{5}}-[0-9a-f-]{{36}}\.gz"
        assert keys and all(re.fullmatch(layout, k) for k in keys), keys
        assert not (tmp_path / "data" / "archive").exists()  # nothing went to the local folder
    finally:
        server.stop()
