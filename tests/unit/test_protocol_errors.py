"""The errors the shared server raises for any service (aws_json.errors.protocol_errors), answered by
every service `up` mounts on `POST /` in its own protocol: DynamoDB and DynamoDB Streams in DynamoDB's
JSON 1.0 namespace, Kinesis, Firehose and CloudWatch Logs in JSON 1.1 with bare names (Kinesis names
a crash InternalFailure), CloudWatch in JSON 1.0 with its query-compatible names. The parts are built
as `up` builds them, and never started."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from aws_json.protocol import Service
from aws_json.server import create_app
from cdc_bridge.cli import build_parser, parts_of

DYNAMODB = ("application/x-amz-json-1.0", "com.amazonaws.dynamodb.v20120810#", "InternalServerError",
            "Internal server error")
JSON_11 = ("application/x-amz-json-1.1", "", "InternalServerError", "Internal server error")
# X-Amz-Target prefix -> (content type, __type prefix, the name of a crash, its message)
PROTOCOLS = {
    "DynamoDB_20120810": DYNAMODB,
    "DynamoDBStreams_20120810": DYNAMODB,
    "Kinesis_20131202": ("application/x-amz-json-1.1", "", "InternalFailure", "Internal service failure."),
    "Firehose_20150804": JSON_11,
    "Logs_20140328": JSON_11,
    "GraniteServiceVersion20100801": ("application/x-amz-json-1.0", "", "InternalServerError", "Internal service error"),
}
# CloudWatch words two of them its own way (its JSON protocol is query-compatible: InvalidAction,
# InvalidParameterValue in x-amzn-query-error)
UNKNOWN_OPERATION = ("UnknownOperationException", "An unknown operation was requested.")
SERIALIZATION = ("SerializationException", "Start of structure or map found where not expected.")
WORDING = {"GraniteServiceVersion20100801": {
    UNKNOWN_OPERATION: ("UnknownOperationException",
                        "The action or operation requested is invalid. Verify that the action is typed correctly."),
    SERIALIZATION: ("InvalidParameterValueException", "Start of structure or map found where not expected.")}}


def worded(prefix: str, error: tuple[str, str]) -> tuple[str, str]:
    return WORDING.get(prefix, {}).get(error, error)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path_factory.mktemp("protocol-errors"))])
    return create_app(parts_of(args))


@pytest.fixture
def ready(app):
    """Every mounted service's part marked ready (the parts themselves stay unstarted)."""
    for _, state in app.routes.values():
        state.state = "ready"
    yield app
    for _, state in app.routes.values():
        state.state = "starting"


def answer(app, target: str, body: bytes) -> tuple[int, str, dict]:
    status, content_type, payload = asyncio.run(app.answer(target, body))
    return status, content_type, orjson.loads(payload)


def test_every_mounted_service_is_listed_here(app):
    assert set(app.routes) == set(PROTOCOLS)


@pytest.mark.parametrize("prefix", PROTOCOLS)
def test_an_unknown_operation_is_answered_in_the_services_protocol(ready, prefix):
    content_type, namespace, _, _ = PROTOCOLS[prefix]
    name, message = worded(prefix, UNKNOWN_OPERATION)
    assert answer(ready, f"{prefix}.NoSuchOperation", b"{}") == (400, content_type, {
        "__type": f"{namespace}{name}", "message": message})


@pytest.mark.parametrize("prefix", PROTOCOLS)
def test_a_malformed_body_is_a_serialization_error_in_the_services_protocol(ready, prefix):
    content_type, namespace, _, _ = PROTOCOLS[prefix]
    operation = next(iter(ready.routes[prefix][0].handlers))
    name, message = worded(prefix, SERIALIZATION)
    for body in (b"{not json", b"[1, 2]"):
        assert answer(ready, f"{prefix}.{operation}", body) == (400, content_type, {
            "__type": f"{namespace}{name}", "message": message})


@pytest.mark.parametrize("prefix", PROTOCOLS)
def test_nesting_deeper_than_any_request_is_a_validation_error_in_the_services_protocol(ready, prefix):
    content_type, namespace, _, _ = PROTOCOLS[prefix]
    operation = next(iter(ready.routes[prefix][0].handlers))
    assert answer(ready, f"{prefix}.{operation}", b'{"x":' * 120 + b"1" + b"}" * 120) == (400, content_type, {
        "__type": f"{namespace}ValidationException", "message": "Nesting Levels have exceeded supported limits"})


@pytest.mark.parametrize("prefix", PROTOCOLS)
def test_a_call_before_the_service_is_ready_is_service_unavailable(app, prefix):
    content_type, namespace, _, _ = PROTOCOLS[prefix]
    operation = next(iter(app.routes[prefix][0].handlers))
    assert answer(app, f"{prefix}.{operation}", b"{}") == (503, content_type, {
        "__type": f"{namespace}ServiceUnavailable", "message": "The service is starting up"})


@pytest.mark.parametrize("prefix", PROTOCOLS)
def test_a_crash_is_the_services_internal_error(ready, prefix, monkeypatch):
    content_type, namespace, crash, message = PROTOCOLS[prefix]
    service = ready.routes[prefix][0]
    operation = without_required_members(service)

    def crashing(ctx, req):
        raise RuntimeError("a bug")

    monkeypatch.setitem(service.handlers, operation, crashing)
    assert answer(ready, f"{prefix}.{operation}", b"{}") == (500, content_type, {
        "__type": f"{namespace}{crash}", "message": message})


def test_a_service_whose_errors_lack_the_protocols_is_refused_at_once():
    class Incomplete:
        class ValidationException(Exception):
            pass

    with pytest.raises(TypeError, match="SerializationException, UnknownOperationException"):
        Service("firehose", "2015-08-04", Incomplete)


def without_required_members(service: Service) -> str:
    """A registered operation that `{}` calls validly (e.g. a List call)."""
    shapes = service.model["shapes"]
    inputs = {name: service.model["operations"][name].get("input", {}).get("shape") for name in service.handlers}
    return next(name for name, shape in inputs.items()
                if not service.required[name] and not (shape and shapes[shape].get("required")))

