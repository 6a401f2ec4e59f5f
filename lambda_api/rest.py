"""REST-JSON glue, from botocore's service model: each registered operation becomes a route with the
model's method, path and success status; a request's members are gathered from where the model puts
them (the path, the query string, headers, the JSON body or a raw payload) into one dict with AWS's
member names, validated by the shared shape validator (aws_json/protocol.py), and a result dict is
rendered back the same way (headers, status code, payload). Knows no Lambda beyond its errors.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from aws_json.auth import Gate
from aws_json.errors import AuthFailure
from aws_json.protocol import load_model, serialization_or_validation, validate
from aws_json.server import signed_request
from lambda_api import errors

log = logging.getLogger("cdc_bridge.lambda")

Handler = Callable[[Any, dict], Awaitable[dict] | dict]


@dataclass(frozen=True)
class RestOperation:
    name: str
    method: str
    path: str
    status: int
    handler: Handler


class RestService:
    def __init__(self, model: str, api_version: str):
        self.model = load_model(model, api_version)
        self.shapes = self.model["shapes"]
        self.operations: list[RestOperation] = []
        # as aws_json's Service: the SigV4 signing name, and (context, operation, request) -> IAM checks
        self.signing_name = self.model["metadata"].get("signingName") or self.model["metadata"]["endpointPrefix"]
        self.authorization: Callable[[Any, str, dict], list] | None = None

    def operation(self, name: str) -> Callable[[Handler], Handler]:
        http = self.model["operations"][name]["http"]

        def register(fn: Handler) -> Handler:
            path = http["requestUri"].split("?")[0]
            self.operations.append(RestOperation(name, http["method"], path, http.get("responseCode", 200), fn))
            return fn

        return register

    def router(self, context: Callable[[], Any], prefixes: tuple[str, ...]) -> APIRouter:
        """The routes of every registered operation; any other path under `prefixes` is an unknown
        operation (not FastAPI's 404 page). `context()` is None until the part has started."""
        router = APIRouter()
        for op in self.operations:
            router.add_api_route(op.path, self.endpoint(op, context), methods=[op.method], include_in_schema=False)
        for prefix in prefixes:
            router.add_api_route(prefix + "/{rest:path}", unknown_operation, include_in_schema=False,
                                 methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        return router

    def endpoint(self, op: RestOperation, context: Callable[[], Any]):
        async def answer(request: Request) -> Response:
            try:
                ctx = context()
                if ctx is None:
                    raise errors.ResourceNotReadyException()
                body = await request.body()
                gate: Gate | None = getattr(request.app.state, "gate", None)
                principal = gate.authenticate(signed_request(request.scope, body), self) if gate and gate.enabled \
                    else None
                req = self.bind(op.name, request.path_params, request.query_params, request.headers, body)
                if gate is not None:
                    client = request.scope.get("client") or (None,)
                    gate.authorize(principal, self, ctx, op.name, req, client[0], request.url.scheme == "https")
                result = op.handler(ctx, req)
                if inspect.isawaitable(result):
                    result = await result
                status, headers, body = self.render(op, result)
            except errors.LambdaError as exc:
                status, headers, body = exc.render()
            except AuthFailure as exc:  # signature or policy: REST-JSON services answer these with 403
                status, headers, body = errors.render_auth_failure(exc)
            except Exception:
                log.exception("internal error", extra={"operation": op.name})
                status, headers, body = errors.ServiceException().render()
            return Response(body, status_code=status, headers=headers, media_type="application/json")

        return answer

    # -- requests ------------------------------------------------------------------------------------

    def bind(self, name: str, path: dict, query, headers, body: bytes) -> dict:
        """The request as one dict of model members; the raw payload member (Invoke's Payload) as bytes."""
        shape_name = self.model["operations"][name]["input"]["shape"]
        shape = self.shapes[shape_name]
        payload = shape.get("payload")
        req = {} if payload else json_body(body)
        for member, spec in shape["members"].items():
            where, key = spec.get("location"), spec.get("locationName", member)
            raw = {"uri": path, "querystring": query, "header": headers}.get(where, {}).get(key)
            if raw is not None:
                req[member] = self.from_text(spec["shape"], raw, key)
        problems = validate(self.shapes, shape_name, req, "")
        if problems:
            raise serialization_or_validation(errors, problems)
        if payload:
            req[payload] = body
        return req

    def from_text(self, shape_name: str, text: str, key: str) -> Any:
        kind = self.shapes[shape_name]["type"]
        if kind in ("integer", "long"):
            try:
                return int(text)
            except ValueError:
                raise errors.InvalidParameterValueException(f"Invalid value for parameter {key}: {text}") from None
        if kind == "boolean":
            return text.lower() == "true"
        return text

    # -- responses -----------------------------------------------------------------------------------

    def render(self, op: RestOperation, result: dict) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a result dict: members the model puts in headers or the status
        line go there, a payload member is the body as it is, the rest is the JSON body."""
        output = self.model["operations"][op.name].get("output")
        shape = self.shapes[output["shape"]] if output else {"members": {}}
        status, headers, body = op.status, {}, dict(result)
        for member, spec in shape["members"].items():
            if member not in body:
                continue
            if spec.get("location") == "header":
                headers[spec.get("locationName", member)] = str(body.pop(member))
            elif spec.get("location") == "statusCode":
                status = body.pop(member)
        payload = shape.get("payload")
        if payload:
            return status, headers, body.get(payload, b"")
        return status, headers, orjson.dumps(body) if status != 204 else b""


def json_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
    if not isinstance(req, dict):
        raise errors.InvalidRequestContentException("Could not parse request body into json: expected an object")
    return req


async def unknown_operation(request: Request) -> Response:
    status, headers, body = errors.UnknownOperationException().render()
    return Response(body, status_code=status, headers=headers, media_type="application/json")
