"""AWS JSON protocol glue: `X-Amz-Target` -> registered operation, request-shape validation,
AWS error rendering. Knows no DynamoDB: the table service, the Streams API and the Kinesis API
each make one `Service` and register their operations on it.

Request shapes come from botocore's service models (the same JSON files every AWS SDK is
generated from), so every documented length, range, pattern, enum and required member is
enforced with AWS's own "N validation error(s) detected" message, without restating the model
here. Operations then check only the rules the model cannot express.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import botocore.loaders
import orjson

from aws_json import errors
from aws_json.limits import may_nest_deeper, nesting_exceeds

log = logging.getLogger("cdc_bridge.protocol")

Handler = Callable[[Any, dict], Awaitable[dict] | dict]

# Shapes validated by their own module (values.py), not member by member: a 400 KB item would
# otherwise be walked twice.
OPAQUE_SHAPES = frozenset({"AttributeValue"})
NESTING_TOO_DEEP = "Nesting Levels have exceeded supported limits"


class Service:
    """One AWS JSON service: its target prefix, its model, its registered operations."""

    def __init__(self, model: str, api_version: str, errors_module=errors):
        """`errors_module`: the service's error namespace, with the protocol's errors (errors.protocol_errors)."""
        self.model = load_model(model, api_version)
        self.prefix = self.model["metadata"]["targetPrefix"]
        self.content_type = f"application/x-amz-json-{self.model['metadata']['jsonVersion']}"
        missing = [name for name in errors.PROTOCOL_ERRORS if not hasattr(errors_module, name)]
        if missing:  # the server would crash rendering them: say so at import, not on a bad request
            raise TypeError(f"{self.prefix}: its errors lack {', '.join(missing)} (see errors.protocol_errors)")
        self.errors = errors_module
        # SigV4 scopes a signature to this name (DynamoDB Streams signs as "dynamodb")
        self.signing_name = self.model["metadata"].get("signingName") or self.model["metadata"]["endpointPrefix"]
        # (context, operation, request) -> the IAM checks of a call; set by the service's package
        self.authorization: Callable[[Any, str, dict], list] | None = None
        self.handlers: dict[str, Handler] = {}
        self.required: dict[str, tuple[str, ...]] = {}
        # (context, operation, request or None, result or None, error or None, seconds) after each
        # call: the service's metrics (docs/monitoring.md); None costs nothing
        self.observe: Callable[[Any, str, dict | None, dict | None, errors.AWSError | None, float], None] | None = None
        self.protocols: tuple[str, ...] = tuple(self.model["metadata"].get("protocols", ("json",)))

    def operation(self, name: str, required: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        """Register an operation; `required` adds members the service requires but its model
        no longer marks required (e.g. CreateTable's KeySchema, optional in newer models)."""
        if name not in self.model["operations"]:
            raise KeyError(f"{name} is not an operation of {self.prefix}")

        def register(fn: Handler) -> Handler:
            self.handlers[name] = fn
            self.required[name] = required
            return fn

        return register

    def request(self, name: str, body: bytes) -> tuple[Handler, dict]:
        """Decode and validate a request; raise the AWS error a client must see."""
        if name not in self.handlers:
            raise self.errors.UnknownOperationException()
        try:
            req = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            raise self.errors.SerializationException("Start of structure or map found where not expected.")
        return self.validated(name, req, deep=may_nest_deeper(body))

    def validated(self, name: str, req: Any, deep: bool = True) -> tuple[Handler, dict]:
        """`request` for a body another wire format decoded (aws_json.wires): the same checks."""
        handler = self.handlers.get(name)
        if handler is None:
            raise self.errors.UnknownOperationException()
        if not isinstance(req, dict):
            raise self.errors.SerializationException("Start of structure or map found where not expected.")
        if deep and nesting_exceeds(req):  # deeper than any valid request (limits.py)
            raise self.errors.ValidationException(NESTING_TOO_DEEP)
        input_shape = self.model["operations"][name].get("input")
        if input_shape:
            problems = [
                _violation(None, _member_path("", member), "not be null")
                for member in self.required[name]
                if req.get(member) is None
            ]
            problems += validate(self.model["shapes"], input_shape["shape"], req, "")
            if problems:
                raise serialization_or_validation(self.errors, problems)
        return handler, req


class ShapeProblem(str):
    """A constraint violation; `serialization` marks a wrong JSON type, `member` a missing member."""

    serialization = False
    member = ""


def serialization_or_validation(errors_module, problems: list[ShapeProblem]) -> Exception:
    wrong_types = [p for p in problems if p.serialization]
    if wrong_types:
        return errors_module.SerializationException(wrong_types[0])
    missing = [p.member for p in problems if p.member]
    if missing and hasattr(errors_module, "missing_parameter"):  # a service with its own wording (CloudWatch)
        return errors_module.missing_parameter(missing[0])
    n = len(problems)
    head = f"{n} validation error{'s' if n > 1 else ''} detected: "
    return errors_module.ValidationException(head + "; ".join(problems))


@lru_cache(maxsize=None)
def load_model(service: str, api_version: str) -> dict:
    return botocore.loaders.create_loader().load_service_model(service, "service-2", api_version)


def validate(shapes: dict, shape_name: str, value: Any, path: str) -> list[ShapeProblem]:
    """Check `value` against a botocore shape; return AWS-worded problems."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if shape_name in OPAQUE_SHAPES:
        return [] if isinstance(value, dict) else [_wrong_type(path, "structure")]
    checker = _CHECKERS.get(kind)
    return checker(shapes, shape, value, path) if checker else []


def _wrong_type(path: str, expected: str) -> ShapeProblem:
    problem = ShapeProblem(f"Unexpected value type in payload at '{path or 'request'}': expected {expected}")
    problem.serialization = True
    return problem


def _violation(value: Any, path: str, constraint: str, member: str = "") -> ShapeProblem:
    shown = "null" if value is None else f"'{render(value)}'"
    problem = ShapeProblem(f"Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}")
    problem.member = member
    return problem


def render(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _member_path(path: str, member: str) -> str:
    name = member[:1].lower() + member[1:]
    return f"{path}.{name}" if path else name


def _check_structure(shapes, shape, value, path):
    if not isinstance(value, dict):
        return [_wrong_type(path, "structure")]
    problems = []
    members = shape["members"]
    for name in [n for n, v in value.items() if v is None]:
        del value[name]  # AWS reads a null member as an absent one; operations then see only real values
    for name in shape.get("required", ()):
        if value.get(name) is None:
            problems.append(_violation(None, _member_path(path, name), "not be null", name))
    for name, item in value.items():
        member = members.get(name)
        if member is None:
            continue  # AWS ignores unknown members
        problems += validate(shapes, member["shape"], item, _member_path(path, name))
    return problems


def _check_list(shapes, shape, value, path):
    if not isinstance(value, list):
        return [_wrong_type(path, "list")]
    problems = _check_length(shape, value, path)
    member = shape["member"]["shape"]
    for i, item in enumerate(value, start=1):
        problems += validate(shapes, member, item, f"{path}.{i}.member")
    return problems


def _check_map(shapes, shape, value, path):
    if not isinstance(value, dict):
        return [_wrong_type(path, "map")]
    problems = _check_length(shape, value, path)
    key_shape, value_shape = shape["key"]["shape"], shape["value"]["shape"]
    for k, v in value.items():
        problems += validate(shapes, key_shape, k, f"{path}.key")
        problems += validate(shapes, value_shape, v, f"{path}.{k}.member")
    return problems


def _check_length(shape, value, path):
    problems = []
    if "min" in shape and len(value) < shape["min"]:
        problems.append(_violation(value, path, f"have length greater than or equal to {shape['min']}"))
    if "max" in shape and len(value) > shape["max"]:
        problems.append(_violation(value, path, f"have length less than or equal to {shape['max']}"))
    return problems


def _check_string(shapes, shape, value, path):
    if not isinstance(value, str):
        return [_wrong_type(path, "string")]
    if "enum" in shape and value not in shape["enum"]:
        return [_violation(value, path, f"satisfy enum value set: [{', '.join(shape['enum'])}]")]
    problems = _check_length(shape, value, path)
    if "pattern" in shape and not _pattern(shape["pattern"]).fullmatch(value):
        problems.append(_violation(value, path, f"satisfy regular expression pattern: {shape['pattern']}"))
    return problems


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:  # syntax Python lacks, e.g. \p{L} in Lambda's tag keys: unchecked rather than a 500
        return re.compile(".*", re.DOTALL)


def _check_number(shapes, shape, value, path):
    integral = shape["type"] in ("integer", "long")
    if isinstance(value, bool) or not isinstance(value, int | float) or (integral and not float(value).is_integer()):
        return [_wrong_type(path, "integer" if integral else "number")]
    problems = []
    if "min" in shape and value < shape["min"]:
        problems.append(_violation(value, path, f"have value greater than or equal to {shape['min']}"))
    if "max" in shape and value > shape["max"]:
        problems.append(_violation(value, path, f"have value less than or equal to {shape['max']}"))
    return problems


def _check_boolean(shapes, shape, value, path):
    return [] if isinstance(value, bool) else [_wrong_type(path, "boolean")]


def _check_blob(shapes, shape, value, path):
    if not isinstance(value, str):
        return [_wrong_type(path, "base64-encoded string")]
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return [_wrong_type(path, "base64-encoded string")]
    return _check_length(shape, data, path)


def _check_timestamp(shapes, shape, value, path):
    ok = (isinstance(value, int | float) and not isinstance(value, bool)) or isinstance(value, str)
    return [] if ok else [_wrong_type(path, "timestamp")]


_CHECKERS = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_number,
    "long": _check_number,
    "double": _check_number,
    "float": _check_number,
    "boolean": _check_boolean,
    "blob": _check_blob,
    "timestamp": _check_timestamp,
}


def error_body(exc: errors.AWSError) -> bytes:
    return orjson.dumps(exc.body())
