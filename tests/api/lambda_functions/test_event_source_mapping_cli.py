"""The guide's pipeline with the AWS CLI on a server of its own: a table with a stream, a function from
a zip, `create-event-source-mapping --starting-position LATEST`, put-item → the handler ran once with
the INSERT record; then `up` restarted in the middle of a stream of changes: nothing is lost, and only
the batch in flight is delivered again."""

from __future__ import annotations

import json
from collections import Counter

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
