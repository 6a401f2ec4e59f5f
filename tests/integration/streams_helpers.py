"""What the DynamoDB Streams tests share: `cdc-bridge up` / `cdc-bridge connector` servers of their
own on the session broker, boto3 clients and raw AWS JSON calls against them, tables with a
stream, and reading shards back through the Streams API (never from Kafka directly).

The session-wide `endpoint_url` server runs `cdc-bridge table-api` only (no connector), so these
tests start their own servers; every server shares the session broker and therefore the stream
catalog topic (tables get unique names, so each test only looks at its own streams).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from botocore.exceptions import ClientError

from cdc_bridge.broker import free_port, spawn_child, stop_child
from cdc_bridge.testing import endpoint
from tests.conftest import CREDENTIALS, REGION, ServerProcess

SECRET = "cdc-bridge-streams-tests-shared-secret"
STREAMS_TARGET = "DynamoDBStreams_20120810."
AMZ_JSON = "application/x-amz-json-1.0"
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
MAX_RESPONSE_BYTES = 1024 * 1024

SEQUENCE_NUMBER = re.compile(r"^[0-9]{21,40}$")
SHARD_ID = re.compile(r"^shardId-[0-9]{20}-[0-9a-f]{8}$")
STREAM_LABEL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def unique_name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- servers -------------------------------------------------------------------------------------


def up_server(broker, data_dir: Path, *extra: str, env: dict | None = None) -> ServerProcess:
    """`cdc-bridge up` (table service + connector on one port) on the session broker; not started."""
    return ServerProcess("up", data_dir, "--kafka-bootstrap-servers", broker.bootstrap_servers,
                         "--iterator-secret", SECRET, *extra, env=env)


def connector_server(broker, data_dir: Path, *extra: str, secret: str = SECRET) -> ServerProcess:
    """`cdc-bridge connector` alone on the session broker; not started."""
    return ServerProcess("connector", data_dir, "--kafka-bootstrap-servers", broker.bootstrap_servers,
                         "--iterator-secret", secret, *extra)


def start_up(broker, data_dir: Path, *extra: str) -> ServerProcess:
    return up_server(broker, data_dir, *extra).start()


def start_all(servers: list[ServerProcess], timeout_s: float = 60.0) -> None:
    """Start several servers side by side. The children are spawned from this thread: spawn_child
    ties each child to the thread that spawned it (PR_SET_PDEATHSIG), so a worker thread must
    not spawn them."""
    try:
        for server in servers:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            with open(server.log_path, "ab") as log:  # the child keeps its own descriptors
                server.process = spawn_child(server.argv, env=server.env, stdout=log, stderr=log)
        for server in servers:
            try:
                server.wait_healthy(timeout_s)
            except RuntimeError as exc:
                if "address already in use" not in str(exc):
                    raise
                # Another process took its free port before it bound: start it again on another
                # (ServerProcess.start, from this thread too).
                stop_child(server.process)
                server.take_port(free_port())
                server.start(timeout_s)
    except BaseException:
        for server in servers:
            server.stop()
        raise


def server_log(server: ServerProcess, lines: int = 40) -> str:
    """The tail of a server's log, for assertion messages."""
    try:
        return "\n".join(server.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def streams_client(url: str, **config):
    return endpoint(url).dynamodbstreams_client(**config)


def dynamodb_client(url: str):
    return endpoint(url).dynamodb_client()


# -- raw AWS JSON ----------------------------------------------------------------------------------


def call(url: str, operation: str, body: dict | str | bytes) -> httpx.Response:
    """POST one DynamoDB Streams request as any SDK would, without the SDK's own checks."""
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(url + "/", content=content, timeout=30,
                      headers={"X-Amz-Target": STREAMS_TARGET + operation, "Content-Type": AMZ_JSON})


def error_code(response: httpx.Response) -> str:
    """The AWS error code of a JSON error response (`__type` after the `#`)."""
    try:
        kind = response.json().get("__type", "")
    except ValueError:
        return f"<not JSON: {response.text[:200]!r}>"
    return kind.rpartition("#")[2]


def assert_error(response: httpx.Response, code: str, server: ServerProcess | None = None) -> None:
    detail = f"HTTP {response.status_code}: {response.text[:500]}"
    if server is not None and response.status_code >= 500:
        detail += "\nserver log:\n" + server_log(server)
    assert response.status_code == 400, f"expected 400 {code}, got {detail}"
    assert error_code(response) == code, f"expected {code}, got {detail}"


def client_error(exc: ClientError) -> tuple[str, int]:
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


# -- tables and streams ---------------------------------------------------------------------------


def create_stream_table(dynamodb, view_type: str = "NEW_AND_OLD_IMAGES", *, range_key: bool = False,
                        name: str | None = None) -> tuple[str, str]:
    """A table (pk S, with sk N when `range_key`) with a stream; returns (table name, stream ARN)."""
    name = name or unique_name("st")
    key_schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        key_schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": "N"})
    table = dynamodb.create_table(
        TableName=name, KeySchema=key_schema, AttributeDefinitions=definitions, BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]
    return name, table["LatestStreamArn"]


def set_stream(dynamodb, table: str, view_type: str | None) -> dict:
    spec = {"StreamEnabled": False} if view_type is None else {"StreamEnabled": True, "StreamViewType": view_type}
    return dynamodb.update_table(TableName=table, StreamSpecification=spec)["TableDescription"]


def describe_stream(streams, arn: str, timeout_s: float = 10.0, **kwargs) -> dict:
    """DescribeStream, retried while the stream is not in the connector's catalog yet (the
    table service publishes it asynchronously, within milliseconds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return streams.describe_stream(StreamArn=arn, **kwargs)["StreamDescription"]
        except streams.exceptions.ResourceNotFoundException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def listed_with(streams, arn: str, timeout_s: float = 10.0, **kwargs) -> list[dict]:
    """ListStreams, retried until it lists `arn`: like DescribeStream it reads the connector's
    catalog, which the table service feeds asynchronously (AWS's ListStreams is eventually
    consistent too). Returns the last page's Streams."""
    deadline = time.monotonic() + timeout_s
    while True:
        listed = streams.list_streams(**kwargs)["Streams"]
        if arn in [s["StreamArn"] for s in listed] or time.monotonic() > deadline:
            return listed
        time.sleep(0.02)


def wait_status(streams, arn: str, status: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        description = describe_stream(streams, arn, timeout_s)
        if description["StreamStatus"] == status or time.monotonic() > deadline:
            return description
        time.sleep(0.02)


def shard_ids(streams, arn: str) -> list[str]:
    return [s["ShardId"] for s in describe_stream(streams, arn)["Shards"]]


def iterator(streams, arn: str, shard: str, kind: str = "TRIM_HORIZON", sequence: str | None = None) -> str:
    extra = {"SequenceNumber": sequence} if sequence is not None else {}
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]


def drain(streams, shard_iterator: str, want: int | None = None, timeout_s: float = 10.0,
          limit: int | None = None) -> tuple[list[dict], str | None, list[dict]]:
    """GetRecords from `shard_iterator` on until `want` records were read (or, when `want` is
    None, until the shard ends: no NextShardIterator). Returns (records, next iterator, pages)."""
    records: list[dict] = []
    pages: list[dict] = []
    deadline = time.monotonic() + timeout_s
    current: str | None = shard_iterator
    while current is not None:
        page = streams.get_records(ShardIterator=current, **({"Limit": limit} if limit else {}))
        pages.append(page)
        records += page["Records"]
        current = page.get("NextShardIterator")
        if want is not None and len(records) >= want:
            break
        if time.monotonic() > deadline:
            break
        if not page["Records"]:
            time.sleep(0.005)
    return records, current, pages


def read_stream(streams, arn: str, total: int, timeout_s: float = 10.0) -> dict[str, list[dict]]:
    """Every shard from TRIM_HORIZON until `total` records were read over all shards; then one
    more GetRecords per shard must find nothing more. Returns the records by shard id."""
    positions = {shard: iterator(streams, arn, shard) for shard in shard_ids(streams, arn)}
    by_shard: dict[str, list[dict]] = {shard: [] for shard in positions}
    deadline = time.monotonic() + timeout_s
    while sum(map(len, by_shard.values())) < total and time.monotonic() < deadline:
        for shard, position in positions.items():
            if position is None:
                continue
            page = streams.get_records(ShardIterator=position)
            by_shard[shard] += page["Records"]
            positions[shard] = page.get("NextShardIterator")
    for shard, position in positions.items():
        if position is not None:
            by_shard[shard] += streams.get_records(ShardIterator=position)["Records"]
    return by_shard


# -- the AWS CLI -----------------------------------------------------------------------------------


def aws_cli_runner(endpoint_url: str, tmp_path: Path):
    """The `aws_cli` fixture of tests/conftest.py, pointed at another endpoint."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_PAGER": "",
    }
    aws = str(Path(sys.executable).with_name("aws"))

    def check(args, result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
        if result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def run(*args: str) -> subprocess.CompletedProcess:
        return check(args, subprocess.run([aws, "--endpoint-url", endpoint_url, *args], env=env,
                                          capture_output=True, text=True, timeout=60, check=False))

    def parallel(*commands: list[str]) -> list[subprocess.CompletedProcess]:
        """Independent commands side by side; their results in order."""
        running = [subprocess.Popen([aws, "--endpoint-url", endpoint_url, *args], env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args in commands]
        results = []
        for args, process in zip(commands, running):
            stdout, stderr = process.communicate(timeout=60)
            results.append(check(args, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)))
        return results

    run.parallel = parallel
    return run
