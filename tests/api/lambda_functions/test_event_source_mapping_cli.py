"""The guide's pipeline with the AWS CLI on a server of its own: a table with a stream, a function from
a zip, `create-event-source-mapping --starting-position LATEST`, put-item → the handler ran once with
the INSERT record; then `up` restarted in the middle of a stream of changes: nothing is lost, and only
the batch in flight is delivered again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.api.lambda_functions.helpers import ROLE, aws, clients, python_package
from tests.api.lambda_functions.mapping_helpers import records, wait_for
from tests.conftest import ServerProcess

SLOW_RECORDER = """
import json, os, time

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    time.sleep(0.3)  # slow enough for the test to restart the server mid-stream
"""


@pytest.fixture
def server(broker, tmp_path):
    process = ServerProcess("up", tmp_path / "data", "--kafka-bootstrap-servers", broker.bootstrap_servers).start()
    yield process
    process.stop()


def test_the_guides_pipeline_with_the_cli_survives_a_restart_mid_stream(server, tmp_path):
    out = tmp_path / "events.jsonl"
    aws(server, tmp_path, "dynamodb", "create-table", "--table-name", "Music",
        "--attribute-definitions", "AttributeName=Artist,AttributeType=S", "AttributeName=SongTitle,AttributeType=S",
        "--key-schema", "AttributeName=Artist,KeyType=HASH", "AttributeName=SongTitle,KeyType=RANGE",
        "--billing-mode", "PAY_PER_REQUEST", "--stream-specification", "StreamEnabled=true,StreamViewType=NEW_IMAGE")
    stream_arn = json.loads(aws(server, tmp_path, "dynamodb", "describe-table", "--table-name", "Music").stdout)[
        "Table"]["LatestStreamArn"]
    (tmp_path / "fn.zip").write_bytes(python_package(SLOW_RECORDER))
    aws(server, tmp_path, "lambda", "create-function", "--function-name", "music-trigger", "--zip-file",
        "fileb://fn.zip", "--handler", "app.handler", "--runtime", "python3.12", "--role", ROLE,
        "--environment", f"Variables={{OUT={out}}}")
    mapping = json.loads(aws(server, tmp_path, "lambda", "create-event-source-mapping", "--function-name",
                             "music-trigger", "--event-source-arn", stream_arn, "--starting-position", "LATEST",
                             "--batch-size", "1").stdout)
    assert mapping["State"] == "Creating"

    def state() -> str:
        return json.loads(aws(server, tmp_path, "lambda", "get-event-source-mapping", "--uuid",
                              mapping["UUID"]).stdout)["State"]

    wait_for(lambda: state() == "Enabled", 60, "the mapping to be Enabled")
    aws(server, tmp_path, "dynamodb", "put-item", "--table-name", "Music", "--item",
        '{"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}}')
    [record] = wait_for(lambda: records(out), 60)
    assert record["eventName"] == "INSERT" and record["eventSourceARN"] == stream_arn
    assert record["dynamodb"]["NewImage"]["SongTitle"] == {"S": "Call Me Today"}

    dynamodb = clients(server.url, "dynamodb")
    titles = [f"song-{i}" for i in range(8)]
    for title in titles:  # one partition key: one shard, in order
        dynamodb.put_item(TableName="Music", Item={"Artist": {"S": "No One You Know"}, "SongTitle": {"S": title}})
    wait_for(lambda: len(records(out)) >= 3, 60, "the stream to be under way")
    server.stop()
    handled_before = len(records(out))
    assert handled_before < 1 + len(titles), "the restart came too late to be mid-stream"
    server.start()

    def delivered() -> list[str]:
        return [r["dynamodb"]["NewImage"]["SongTitle"]["S"] for r in records(out)]

    wait_for(lambda: set(titles) <= set(delivered()), 90, "every change after the restart")
    counts = Counter(delivered())
    assert all(counts[t] >= 1 for t in titles)  # nothing lost
    assert sum(n - 1 for n in counts.values()) <= 1  # at most the batch in flight again
    order = [t for t in dict.fromkeys(delivered()) if t.startswith("song-")]
    assert order == titles  # in order per shard


ZIP_SHIM = """#!/usr/bin/env python3
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as archive:
    for path in sys.argv[2:]:
        archive.write(path)
"""


def readme_block(heading: str) -> str:
    """The first ```sh block after `heading` in the README."""
    text = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    after = text[text.index(heading):]
    start = after.index("```sh\n") + len("```sh\n")
    return after[start:after.index("\n```", start)]


def test_the_readmes_trigger_example_runs_as_written(server, tmp_path):
    script = readme_block("### Triggers: DynamoDB").replace("http://127.0.0.1:8000", server.url)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if shutil.which("zip") is None:  # the example uses Info-ZIP's zip; a stand-in where it is missing
        (bin_dir / "zip").write_text(ZIP_SHIM)
        (bin_dir / "zip").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "AWS_CONFIG_FILE": str(tmp_path / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"),
           "AWS_PAGER": ""}
    result = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["event"] == "INSERT" and last["keys"]["SongTitle"] == {"S": "Call Me Today"}


def test_kinesis_put_record_with_the_cli_runs_the_handler_once(server, tmp_path):
    out = tmp_path / "events.jsonl"
    aws(server, tmp_path, "kinesis", "create-stream", "--stream-name", "clicks", "--shard-count", "1")
    aws(server, tmp_path, "kinesis", "wait", "stream-exists", "--stream-name", "clicks")
    stream_arn = json.loads(aws(server, tmp_path, "kinesis", "describe-stream-summary", "--stream-name",
                                "clicks").stdout)["StreamDescriptionSummary"]["StreamARN"]
    (tmp_path / "fn.zip").write_bytes(python_package(SLOW_RECORDER))
    aws(server, tmp_path, "lambda", "create-function", "--function-name", "click-trigger", "--zip-file",
        "fileb://fn.zip", "--handler", "app.handler", "--runtime", "python3.12", "--role", ROLE,
        "--environment", f"Variables={{OUT={out}}}")
    uuid = json.loads(aws(server, tmp_path, "lambda", "create-event-source-mapping", "--function-name",
                          "click-trigger", "--event-source-arn", stream_arn, "--starting-position",
                          "LATEST").stdout)["UUID"]
    wait_for(lambda: json.loads(aws(server, tmp_path, "lambda", "get-event-source-mapping", "--uuid", uuid).stdout)[
        "State"] == "Enabled", 60, "the mapping to be Enabled")
    put = json.loads(aws(server, tmp_path, "kinesis", "put-record", "--stream-name", "clicks", "--partition-key",
                         "user-1", "--data", "aGVsbG8=").stdout)
    [record] = wait_for(lambda: records(out), 60)
    assert record["eventSource"] == "aws:kinesis" and record["eventSourceARN"] == stream_arn
    assert record["kinesis"]["partitionKey"] == "user-1"
    assert record["kinesis"]["sequenceNumber"] == put["SequenceNumber"]
    assert record["eventID"] == f"{put['ShardId']}:{put['SequenceNumber']}"
    time.sleep(1)
    assert len(records(out)) == 1  # once
