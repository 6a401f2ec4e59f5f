"""What the Firehose tests share (tests/api/test_firehose_*.py, tests/integration/test_firehose_*.py):
one `cdc-bridge up` per session with its archive folder known, clients, a stream made ACTIVE, and
the objects delivered, read back (gzip and Avro undone)."""

from __future__ import annotations

import gzip
import io
import time
import uuid
from pathlib import Path

import boto3
import fastavro
from botocore.config import Config

from tests.conftest import CREDENTIALS, REGION, _SESSION_SERVERS, session_up_url

ROLE = "arn:aws:iam::000000000000:role/firehose"
SERVER = "firehose"


def firehose_server(broker, tmp_path_factory, request) -> tuple[str, Path]:
    """(endpoint, archive folder) of the session's Firehose server."""
    url = session_up_url(SERVER, broker, tmp_path_factory, request, "--kinesis-grace-seconds", "0.2")
    return url, _SESSION_SERVERS[SERVER].data_dir / "archive"


def client(url: str, service: str = "firehose", **config):
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        config=Config(retries={"max_attempts": 1}, **config), **CREDENTIALS)


def new_name(prefix: str = "fh") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_config(bucket: str, **extra) -> dict:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", **extra}


def fast(**extra) -> dict:
    """The smallest buffer: an object per second at most."""
    return {"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}, **extra}


def wait_status(firehose, name: str, status: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        if description["DeliveryStreamStatus"] == status:
            return description
        assert time.monotonic() < deadline, f"{name} still {description['DeliveryStreamStatus']}, not {status}"
        time.sleep(0.05)


def create_active(firehose, bucket: str | None = None, name: str | None = None, **destination) -> str:
    name = name or new_name()
    firehose.create_delivery_stream(DeliveryStreamName=name,
                                    ExtendedS3DestinationConfiguration=s3_config(bucket or name, **destination))
    wait_status(firehose, name, "ACTIVE")
    return name


def objects(archive: Path, bucket: str) -> list[Path]:
    """The bucket's complete objects (temporary files of a write under way are hidden, `.…tmp`)."""
    root = archive / bucket
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")) if root.exists() else []


def read_object(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def avro_rows(path: Path) -> list[dict]:
    return list(fastavro.reader(io.BytesIO(path.read_bytes())))


def wait_lines(archive: Path, bucket: str, count: int, timeout_s: float = 60.0) -> list[list[bytes]]:
    """Each object's newline-delimited records, oldest record first, once `count` records are there."""
    deadline = time.monotonic() + timeout_s
    while True:
        per_object = [read_object(p).splitlines() for p in objects(archive, bucket)]
        if sum(len(lines) for lines in per_object) >= count or time.monotonic() > deadline:
            return sorted(per_object, key=lambda lines: lines[0] if lines else b"")
        time.sleep(0.2)
