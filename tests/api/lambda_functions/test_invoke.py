"""Invoke: what a handler gets (event, context, environment), what the caller gets back (payload,
FunctionError and Lambda's error object, the log tail), timeouts, crashes, warm workers, Event and
DryRun invocations, and a handler calling this server's DynamoDB API with boto3."""

from __future__ import annotations

import base64
import json
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import unique_name
from tests.api.lambda_functions.helpers import error_of, package

ECHO = """
import os
def handler(event, context):
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_ACCESS_KEY_ID", "STAGE")},
    }
"""


def invoke_json(lam, name, event=None, **extra) -> tuple[dict, object]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode() if event is not None else b"",
                          **extra)
    return response, json.loads(response["Payload"].read())


def test_invoke_returns_the_handlers_result(lam, make_function):
    name = make_function("def handler(event, context):\n    return {'sum': event['a'] + event['b']}\n")
    response, payload = invoke_json(lam, name, {"a": 2, "b": 3})
    assert response["StatusCode"] == 200
    assert payload == {"sum": 5}
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"


def test_handler_gets_the_event_and_a_context_with_lambdas_attributes(lam, make_function, lambda_url):
    name = make_function(ECHO, Timeout=20, MemorySize=256, Environment={"Variables": {"STAGE": "test"}})
    _, got = invoke_json(lam, name, {"hello": ["world"]})
    assert got["event"] == {"hello": ["world"]}
    uuid.UUID(got["request_id"])
    assert (got["function_name"], got["function_version"]) == (name, "$LATEST")
    assert got["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert got["memory"] == "256"
    assert got["log_group"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in got["log_stream"]
    assert 0 < got["remaining_ms"] <= 20_000
    assert got["env"] == {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": lambda_url,
                          "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                          "AWS_ACCESS_KEY_ID": got["env"]["AWS_ACCESS_KEY_ID"], "STAGE": "test"}
    assert got["env"]["AWS_ACCESS_KEY_ID"]


def test_invoke_without_a_payload_hands_the_handler_an_empty_object(lam, make_function):
    name = make_function("def handler(event, context):\n    return event\n")
    _, payload = invoke_json(lam, name)
    assert payload == {}


def test_a_handler_returning_none_answers_null(lam, make_function):
    name = make_function("def handler(event, context):\n    pass\n")
    response = lam.invoke(FunctionName=name)
    assert response["Payload"].read() == b"null"


def test_handler_that_raises_gives_function_error_and_lambdas_error_payload(lam, make_function):
    name = make_function("def handler(event, context):\n    fail()\n\ndef fail():\n    raise ValueError('no good')\n")
    response, payload = invoke_json(lam, name, {})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "no good"
    assert any("raise ValueError('no good')" in line for line in payload["stackTrace"])
    assert any("in fail" in line for line in payload["stackTrace"])


def test_handler_that_runs_past_its_timeout_is_killed_with_lambdas_timeout_error(lam, make_function):
    name = make_function("import time\nN = 0\ndef handler(event, context):\n    global N\n    N += 1\n"
                         "    if event.get('sleep'):\n        time.sleep(30)\n    return N\n", Timeout=1)
    assert invoke_json(lam, name, {})[1] == 1  # a warm worker, its counter at 1
    started = time.monotonic()
    response, payload = invoke_json(lam, name, {"sleep": True}, LogType="Tail")
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 10
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in tail and "Status: timeout" in tail
    assert invoke_json(lam, name, {})[1] == 1  # the killed worker was replaced by a fresh one


def test_a_slow_init_does_not_count_toward_the_timeout_and_is_reported(lam, make_function):
    name = make_function("import time\ntime.sleep(1.5)  # a heavy import\n"
                         "def handler(event, context):\n    return context.get_remaining_time_in_millis()\n",
                         Timeout=1)
    response, remaining = invoke_json(lam, name, {}, LogType="Tail")
    assert "FunctionError" not in response
    assert 500 < remaining <= 1000
    report = base64.b64decode(response["LogResult"]).decode().splitlines()[-1]
    init_ms = float(report.split("Init Duration: ")[1].split(" ms")[0])
    assert init_ms >= 1500
    second = lam.invoke(FunctionName=name, LogType="Tail")
    assert "Init Duration" not in base64.b64decode(second["LogResult"]).decode()  # warm: no init


def test_workers_stay_warm_between_invocations(lam, make_function):
    name = make_function("import os\nN = 0\ndef handler(event, context):\n    global N\n    N += 1\n"
                         "    return [N, os.getpid()]\n")
    results = [invoke_json(lam, name, {})[1] for _ in range(3)]
    assert [n for n, _ in results] == [1, 2, 3]
    assert len({pid for _, pid in results}) == 1


def test_concurrent_invocations_run_side_by_side_in_separate_workers(lam, make_function):
    name = make_function("import os, time\ndef handler(event, context):\n    time.sleep(1)\n    return os.getpid()\n",
                         Timeout=10)
    invoke_json(lam, name, {})  # one warm worker; the second call needs another
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        pids = list(pool.map(lambda _: invoke_json(lam, name, {})[1], range(2)))
    assert time.monotonic() - started < 1.9
    assert len(set(pids)) == 2


def test_a_worker_that_exits_gives_runtime_exit_error_and_is_replaced(lam, make_function):
    name = make_function("import os\ndef handler(event, context):\n    if event.get('die'):\n        os._exit(3)\n"
                         "    return 'fine'\n")
    response, payload = invoke_json(lam, name, {"die": True})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert invoke_json(lam, name, {})[1] == "fine"


def test_a_module_that_cannot_be_imported_is_runtime_import_module_error(lam, make_function):
    name = make_function("import no_such_module_here\ndef handler(event, context):\n    return 1\n")
    response, payload = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert payload["errorMessage"] == "Unable to import module 'app': No module named 'no_such_module_here'"


def test_a_handler_missing_from_its_module_is_runtime_handler_not_found(lam, make_function):
    name = make_function("def other(event, context):\n    return 1\n")
    _, payload = invoke_json(lam, name, {})
    assert (payload["errorType"], payload["errorMessage"]) == ("Runtime.HandlerNotFound",
                                                               "Handler 'handler' missing on module 'app'")


def test_a_result_that_is_not_json_is_runtime_marshal_error(lam, make_function):
    name = make_function("def handler(event, context):\n    return {1, 2}\n")
    response, payload = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"
    assert payload["errorMessage"].startswith("Unable to marshal response:")


def test_log_type_tail_returns_the_invocations_log(lam, make_function):
    name = make_function("def handler(event, context):\n    print('marker', event['n'])\n    return 1\n")
    response = lam.invoke(FunctionName=name, Payload=b'{"n": 41}', LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    lines = tail.splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith(" Version: $LATEST")
    assert "marker 41" in lines
    assert lines[-2].startswith("END RequestId: ")
    assert lines[-1].startswith("REPORT RequestId: ") and "Duration: " in lines[-1]
    assert "Memory Size: 128 MB" in lines[-1]


def test_log_type_tail_is_the_last_4_kb(lam, make_function):
    name = make_function("def handler(event, context):\n    for i in range(500):\n        print('line', i)\n")
    tail = base64.b64decode(lam.invoke(FunctionName=name, LogType="Tail")["LogResult"])
    assert len(tail) == 4096
    assert b"line 499" in tail and b"line 0\n" not in tail


def test_without_log_type_no_log_result_header(lam, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    assert "LogResult" not in lam.invoke(FunctionName=name)


def test_event_invocation_answers_202_and_runs_in_the_background(lam, logs, make_function):
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(0.5)\n    print('async', event['k'])\n",
                         Timeout=10)
    key = uuid.uuid4().hex
    started = time.monotonic()
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"k": key}).encode())
    assert time.monotonic() - started < 0.5  # answered before the handler finished
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert wait_for_log(logs, name, f"async {key}")


def test_dry_run_answers_204_and_runs_nothing(lam, logs, make_function):
    name = make_function("def handler(event, context):\n    print('ran')\n")
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as exc:  # no invocation: its log group was never made
        logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_invoke_an_unknown_function_is_resource_not_found(lam):
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=unique_name("missing"), Payload=b"{}")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_invoke_with_a_payload_that_is_not_json_is_invalid_request_content(lam, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, Payload=b"{oops")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json")


def test_invoke_over_6_mb_is_request_too_large(lam, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, Payload=b'"' + b"x" * 6_300_000 + b'"')
    assert error_of(exc) == ("RequestTooLargeException", 413,
                             "Request must be smaller than 6291456 bytes for the InvokeFunction operation")


def test_event_invocation_over_1_mb_is_request_too_large(lam, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'"' + b"x" * 1_100_000 + b'"')
    assert error_of(exc)[:2] == ("RequestTooLargeException", 413)


def test_invoke_with_a_version_qualifier_is_not_found(lam, make_function):
    name = make_function("def handler(event, context):\n    return 1\n")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=name, Qualifier="3")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_a_handler_calls_this_servers_dynamodb_with_boto3(lam, make_function, lambda_dynamodb):
    table = unique_name("lambda-table")
    lambda_dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 BillingMode="PAY_PER_REQUEST")
    try:
        name = make_function("""
import boto3
def handler(event, context):
    table = boto3.resource("dynamodb").Table(event["table"])
    table.put_item(Item={"pk": event["key"], "by": context.function_name})
    return table.get_item(Key={"pk": event["key"]})["Item"]
""", Timeout=30)
        response, payload = invoke_json(lam, name, {"table": table, "key": "k1"})
        assert "FunctionError" not in response, payload
        assert payload == {"pk": "k1", "by": name}
        item = lambda_dynamodb.get_item(TableName=table, Key={"pk": {"S": "k1"}})["Item"]
        assert item == {"pk": {"S": "k1"}, "by": {"S": name}}
    finally:
        lambda_dynamodb.delete_table(TableName=table)


def test_updated_configuration_reaches_the_next_invocation(lam, make_function):
    name = make_function("import os\ndef handler(event, context):\n    return os.environ.get('COLOR')\n",
                         Environment={"Variables": {"COLOR": "red"}})
    assert invoke_json(lam, name, {})[1] == "red"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOR": "blue"}})
    assert invoke_json(lam, name, {})[1] == "blue"


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="nodejs needs `node` on PATH")


@needs_node
def test_nodejs_handler_runs_with_event_and_context(lam, make_function):
    source = ("exports.handler = async (event, context) => {\n  console.log('node says', event.n);\n"
              "  return {n: event.n * 2, fn: context.functionName, id: context.awsRequestId,\n"
              "          left: context.getRemainingTimeInMillis() > 0};\n};\n")
    name = make_function("", Runtime="nodejs20.x", Handler="index.handler",
                         Code={"ZipFile": package({"index.js": source})})
    response = lam.invoke(FunctionName=name, Payload=b'{"n": 21}', LogType="Tail")
    payload = json.loads(response["Payload"].read())
    assert (payload["n"], payload["fn"], payload["left"]) == (42, name, True)
    assert "node says 21" in base64.b64decode(response["LogResult"]).decode()


@needs_node
def test_nodejs_handler_that_throws_gives_function_error(lam, make_function):
    source = "exports.handler = async () => { throw new TypeError('bad type'); };\n"
    name = make_function("", Runtime="nodejs22.x", Handler="index.handler",
                         Code={"ZipFile": package({"index.js": source})})
    response, payload = invoke_json(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == ("TypeError", "bad type")


def wait_for_log(logs, name: str, text: str, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{text}"')["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        if any(e["message"] == text for e in events):
            return True
        time.sleep(0.1)
    return False
