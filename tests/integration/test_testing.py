"""What users import for their own tests (cdc_bridge.testing and its pytest plugin), used as a user
would: the README's examples run as a separate pytest session in a folder of their own (so only the
installed plugin's fixtures exist there, not this suite's), and `local()` leaves no process and no
folder behind, also when the test inside it fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cdc_bridge.testing import local
from cdc_bridge.testing.local import alive

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[2]

KAFKA_CONSUMER_TEST = '''
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition


def test_kafka_consumer_reads_decoded_change_events(dynamodb, cdc_bridge, kafka_consumer):
    dynamodb.create_table(TableName="Clicks", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    dynamodb.put_item(TableName="Clicks", Item={"id": {"S": "c-1"}})
    topic = cdc_bridge.stream_topic("Clicks")
    kafka_consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(4)])
    deadline = time.monotonic() + 60
    message = None
    while message is None and time.monotonic() < deadline:
        message = kafka_consumer.poll(0.5)
    assert message is not None
    assert message.key() == {"id": {"S": "c-1"}}
    assert message.value()["eventName"] == "INSERT"
    assert message.value()["dynamodb"]["Keys"] == {"id": {"S": "c-1"}}


def test_streams_and_kinesis_clients_share_the_port(cdc_bridge, dynamodbstreams, kinesis):
    assert dynamodbstreams.meta.endpoint_url == kinesis.meta.endpoint_url == cdc_bridge.get_endpoint_url()
    assert dynamodbstreams.list_streams(TableName="Clicks")["Streams"][0]["TableName"] == "Clicks"
'''

FAILING_TEST = '''
import json
import os


def test_that_fails_after_recording_the_stack(cdc_bridge):
    with open(os.environ["STACK_RECORD"], "w") as record:
        json.dump({"pids": cdc_bridge.pids(), "data_dir": str(cdc_bridge.data_dir)}, record)
    assert False, "failing on purpose"
'''


def readme_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use it in your tests"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def run_user_session(folder: Path, files: dict[str, str], **env: str) -> subprocess.CompletedProcess:
    """A pytest session of its own in `folder`, as a user's project runs it (the plugin comes from the
    installed entry point), on the plugin's local() stack and the embedded broker."""
    for name, text in files.items():
        (folder / name).write_text(text)
    environment = {**os.environ, "CDC_BRIDGE_TESTING": "local", "CDC_BRIDGE_BROKER": "memory", **env}
    environment.pop("CDC_BRIDGE_TEST_ENDPOINT", None)
    environment.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
                           *files], check=False, cwd=folder, env=environment, capture_output=True, text=True, timeout=200)


def outcome(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr


def test_readme_examples_pass_as_a_users_tests_with_the_plugin_fixtures(tmp_path):
    plugin_example, own_fixture_example = readme_examples()
    result = run_user_session(tmp_path, {"test_plugin_example.py": plugin_example,
                                         "test_own_fixture_example.py": own_fixture_example,
                                         "test_kafka_consumer.py": KAFKA_CONSUMER_TEST})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in outcome(result)


def test_a_failing_test_leaves_no_process_and_no_folder_of_the_plugins_stack(tmp_path):
    record = tmp_path / "stack.json"
    result = run_user_session(tmp_path, {"test_fails.py": FAILING_TEST}, STACK_RECORD=str(record))
    assert result.returncode == 1 and "1 failed" in outcome(result), result.stdout + result.stderr
    stack = json.loads(record.read_text())
    assert len(stack["pids"]) >= 2  # `up` and its broker at least
    assert [pid for pid in stack["pids"] if alive(pid)] == []
    assert not Path(stack["data_dir"]).exists()


class FailingTest(Exception):
    """What a failing test raises inside the block."""


def test_local_stops_everything_when_the_block_raises():
    with pytest.raises(FailingTest), local(broker="memory") as stack:
        pids, data_dir = stack.pids(), stack.data_dir
        assert stack.health()["status"] == "ready"
        assert stack.get_kafka_bootstrap_servers() == stack.health()["parts"]["broker"]["bootstrap_servers"]
        assert stack.get_schema_registry_url() == stack.get_endpoint_url()
        raise FailingTest
    assert len(pids) >= 2 and [pid for pid in pids if alive(pid)] == []
    assert not data_dir.exists()


def test_local_that_cannot_start_raises_with_the_reason():
    with pytest.raises(RuntimeError, match="exited with 2(.|\n)*--stream-shards"), local(args=["--stream-shards", "many"]):
        pass
