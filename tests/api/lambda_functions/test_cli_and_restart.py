"""Lambda and CloudWatch Logs with the AWS CLI, as the README shows them, and what survives a restart
of `cdc-bridge up`: function definitions, their code, and their logs."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.lambda_functions.helpers import ROLE, aws, clients, python_package
from tests.conftest import ServerProcess

HANDLER = """
import os
def handler(event, context):
    print("got", event["n"], "stage", os.environ["STAGE"])
    return {"double": event["n"] * 2}
"""


@pytest.fixture
def server(broker, tmp_path):
    process = ServerProcess("up", tmp_path / "data", "--kafka-bootstrap-servers", broker.bootstrap_servers).start()
    yield process
    process.stop()


def create_with_cli(server, tmp_path, name: str) -> dict:
    (tmp_path / "fn.zip").write_bytes(python_package(HANDLER))
    created = aws(server, tmp_path, "lambda", "create-function", "--function-name", name,
                  "--zip-file", "fileb://fn.zip", "--handler", "app.handler", "--runtime", "python3.11",
                  "--role", ROLE, "--environment", "Variables={STAGE=dev}", "--timeout", "15")
    return json.loads(created.stdout)


def test_the_aws_cli_creates_invokes_and_reads_the_logs_of_a_function(server, tmp_path):
    created = create_with_cli(server, tmp_path, "cli-fn")
    assert (created["FunctionName"], created["Runtime"], created["Timeout"]) == ("cli-fn", "python3.11", 15)
    aws(server, tmp_path, "lambda", "wait", "function-active-v2", "--function-name", "cli-fn")

    invoked = json.loads(aws(server, tmp_path, "lambda", "invoke", "--function-name", "cli-fn",
                             "--payload", '{"n": 21}', "--log-type", "Tail", "out.json").stdout)
    assert invoked["StatusCode"] == 200 and "FunctionError" not in invoked
    assert json.loads((tmp_path / "out.json").read_text()) == {"double": 42}
    assert "got 21 stage dev" in base64.b64decode(invoked["LogResult"]).decode()

    listed = json.loads(aws(server, tmp_path, "lambda", "list-functions").stdout)
    assert [f["FunctionName"] for f in listed["Functions"]] == ["cli-fn"]

    group = "/aws/lambda/cli-fn"
    streams = json.loads(aws(server, tmp_path, "logs", "describe-log-streams", "--log-group-name", group).stdout)
    stream = streams["logStreams"][0]["logStreamName"]
    events = json.loads(aws(server, tmp_path, "logs", "get-log-events", "--log-group-name", group,
                            "--log-stream-name", stream, "--start-from-head").stdout)["events"]
    assert "got 21 stage dev" in [e["message"] for e in events]
    filtered = json.loads(aws(server, tmp_path, "logs", "filter-log-events", "--log-group-name", group,
                              "--filter-pattern", "stage").stdout)["events"]
    assert [e["message"] for e in filtered] == ["got 21 stage dev"]


def test_the_aws_cli_shows_lambdas_errors(server, tmp_path):
    missing = aws(server, tmp_path, "lambda", "get-function", "--function-name", "nope", check=False)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr and "Function not found" in missing.stderr
    (tmp_path / "fn.zip").write_bytes(python_package(HANDLER))
    refused = aws(server, tmp_path, "lambda", "create-function", "--function-name", "j", "--zip-file", "fileb://fn.zip",
                  "--handler", "app.handler", "--runtime", "java21", "--role", ROLE, check=False)
    assert refused.returncode != 0 and "InvalidParameterValueException" in refused.stderr


def test_functions_their_code_and_their_logs_survive_a_restart(broker, server, tmp_path):
    create_with_cli(server, tmp_path, "kept")
    lam = clients(server.url, "lambda")
    lam.update_function_code(FunctionName="kept", ZipFile=python_package(
        HANDLER.replace('"double": event["n"] * 2', '"triple": event["n"] * 3')))
    before = lam.get_function(FunctionName="kept")["Configuration"]
    assert json.loads(lam.invoke(FunctionName="kept", Payload=b'{"n": 2}')["Payload"].read()) == {"triple": 6}
    server.stop()

    again = ServerProcess("up", server.data_dir, "--kafka-bootstrap-servers", broker.bootstrap_servers).start()
    try:
        lam = clients(again.url, "lambda")
        after = lam.get_function(FunctionName="kept")["Configuration"]
        assert after == before
        assert json.loads(lam.invoke(FunctionName="kept", Payload=b'{"n": 3}')["Payload"].read()) == {"triple": 9}
        streams = clients(again.url, "logs").describe_log_streams(logGroupName="/aws/lambda/kept")["logStreams"]
        assert len(streams) == 2  # the worker before the restart and the one after
        messages = [e["message"] for e in clients(again.url, "logs").filter_log_events(
            logGroupName="/aws/lambda/kept", filterPattern="got")["events"]]
        assert messages == ["got 2 stage dev", "got 3 stage dev"]
        packages = [p for p in (server.data_dir / "lambda" / "kept").iterdir() if p.is_dir()]
        assert len(packages) == 1  # the package the update replaced is gone
    finally:
        again.stop()
