"""The HTTP surface shared by every part: one `POST /` that routes AWS JSON requests by the
`X-Amz-Target` prefix, and `GET /health`. Knows no DynamoDB.

A *part* (the broker, the table service, the connector) brings its services, a context object
handed to its operations, and a blocking `start(env)` / `stop()`. Parts start in order in a
background thread while the server already answers: `/health` is 503 until every part is ready,
and a request for a part that is not ready yet gets 503 as well.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import Counter
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any, Protocol

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from aws_json import errors, sigv4, wires
from aws_json.auth import TAGGING, Gate
from aws_json.limits import read_body
from aws_json.protocol import Service, error_body
from aws_json.sessions import cookie_token
from monitoring.prometheus import CONTENT_TYPE_LATEST, exposition
from monitoring.store import MetricStore

log = logging.getLogger("cdc_bridge.server")


class Part(Protocol):
    name: str
    services: list[Service]
    context: Any

    def start(self, env: dict[str, Any]) -> None: ...
    def stop(self) -> None: ...
    def health(self) -> dict[str, Any]: ...


class PartState:
    def __init__(self, part: Part):
        self.part = part
        self.state = "starting"
        self.error: str | None = None

    def report(self) -> dict[str, Any]:
        info = {"state": self.state, **(self.part.health() if self.state == "ready" else {})}
        if self.error:
            info["error"] = self.error
        return info


def create_app(parts: list[Part], gate: Gate | None = None, store: MetricStore | None = None) -> AwsJsonApp:
    """`gate`: who may call (credentials and policies); None: anyone, unchecked. `store`: the
    metrics the parts record into (handed to each in its start environment as `metrics`)."""
    states = [PartState(p) for p in parts]
    store = store if store is not None else MetricStore()
    routes: dict[str, tuple[Service, PartState]] = {
        service.prefix: (service, state) for state in states for service in state.part.services
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store.start()
        starting = asyncio.create_task(_start_all(states, {"metrics": store}))
        try:
            yield
        finally:
            starting.cancel()
            await asyncio.to_thread(_stop_all, states)
            store.stop()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> Response:
        ready = all(s.state == "ready" for s in states)
        body = {"status": "ready" if ready else "starting", "parts": {s.part.name: s.report() for s in states}}
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

    def figures() -> dict[str, float]:
        """The parts' own figures, and the valid calls per X-Amz-Target (the console's charts)."""
        found: dict[str, float] = {}
        for state in states:
            if state.state == "ready" and hasattr(state.part, "metrics"):
                found.update(state.part.metrics())
        calls = app.state.aws_json.calls if app.state.aws_json else {}
        found.update({f'cdc_bridge_requests_total{{operation="{target}"}}': n for target, n in sorted(calls.items())})
        return found

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text format, written by the Prometheus client library (monitoring/prometheus.py)."""
        body = await asyncio.to_thread(exposition, store, figures)  # parts' figures may read SQLite
        return Response(body, headers={"content-type": CONTENT_TYPE_LATEST})

    for state in states:  # HTTP routes beyond POST /, e.g. the schema registry
        for router in getattr(state.part, "routers", ()):
            app.include_router(router)
    app.state.parts = states
    app.state.metrics = store
    app.state.aws_json = None  # the AwsJsonApp below: the console's live tail calls the APIs through it
    app.state.gate = gate = gate or Gate(None, "")  # REST routes (Lambda) check calls through it too
    return AwsJsonApp(app, routes, gate)


class AwsJsonApp:
    """The ASGI application: `POST /` (every AWS JSON call) is answered here directly, without
    FastAPI's routing and middleware (about a fifth of a PutItem's server CPU); every other
    request and the lifespan go to the FastAPI app."""

    def __init__(self, app: FastAPI, routes: dict[str, tuple[Service, PartState]], gate: Gate):
        self.app = app
        self.state = app.state
        self.routes = routes
        self.gate = gate
        self.calls: Counter[str] = Counter()  # valid calls per X-Amz-Target: /metrics, the console's charts
        app.state.aws_json = self

    async def __call__(self, scope, receive, send) -> None:
        wire, target = _wire(scope) if scope["type"] == "http" and scope["method"] == "POST" else (None, "")
        if wire is not None:
            body = await read_body(scope, receive)  # already bounded by the Screen in front
            if wire == "json":
                status, content_type, payload, headers = await self.reply(target, body, scope)
            else:
                status, content_type, payload, headers = await self.reply_other(wire, body, scope)
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode()), *headers]})
            await send({"type": "http.response.body", "body": payload})
        elif scope["type"] == "http" and not self.gate.admits_basic(scope["path"], _header(scope, b"authorization"),
                                                                      cookie_token(scope["headers"])):
            # /metrics and the schema registry: their clients cannot sign, they send HTTP basic auth
            await send({"type": "http.response.start", "status": 401, "headers": [
                (b"www-authenticate", b'Basic realm="cdc-bridge"'), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
        else:
            await self.app(scope, receive, send)

    async def answer(self, target: str, body: bytes, scope: dict | None = None) -> tuple[int, str, bytes]:
        """One AWS JSON call: (HTTP status, content type, body)."""
        status, content_type, payload, _ = await self.reply(target, body, scope)
        return status, content_type, payload

    async def reply(self, target: str, body: bytes, scope: dict | None = None, wire: str = "json",
                    decoded: dict | None = None) -> tuple[int, str, bytes, wires.Headers]:
        """One call in any wire format: (HTTP status, content type, body, more headers). `decoded`:
        the request another wire format has decoded (then `body` is only what was signed)."""
        prefix, _, operation = target.partition(".")
        route = self.routes.get(prefix)
        if route is None:
            return (*_error(errors.UnknownOperationException(), "application/x-amz-json-1.0"), [])
        service, state = route
        started, req = perf_counter(), None
        try:
            if state.state != "ready":
                raise service.errors.ServiceUnavailable()
            principal = self.gate.authenticate(signed_request(scope, body), service) if self.gate.enabled else None
            if decoded is None:
                handler, req = service.request(operation, body)
            else:
                handler, req = service.validated(operation, decoded)
            self.calls[target] += 1
            if principal is not None or operation in TAGGING:
                client = (scope or {}).get("client") or (None,)
                self.gate.authorize(principal, service, state.part.context, operation, req, client[0],
                                    (scope or {}).get("scheme") == "https")
            result = handler(state.part.context, req)
            if inspect.isawaitable(result):
                result = await result
        except errors.AuthFailure as exc:
            if service.content_type.endswith("1.1"):  # JSON 1.1 (Kinesis) names errors bare
                exc.namespace = ""
            _observe(service, state, operation, req, None, exc, started)
            return _failure(service, wire, exc)
        except errors.AWSError as exc:
            _observe(service, state, operation, req, None, exc, started)
            return _failure(service, wire, exc)
        except Exception:
            log.exception("internal error", extra={"target": target})
            exc = service.errors.InternalServerError()
            _observe(service, state, operation, req, None, exc, started)
            return _failure(service, wire, exc)
        _observe(service, state, operation, req, result, None, started)
        if wire == "cbor":
            output = service.model["operations"][operation].get("output")
            return 200, wires.CBOR_TYPE, wires.cbor_answer(service.model["shapes"], output and output["shape"],
                                                           result), [(b"smithy-protocol", b"rpc-v2-cbor")]
        if wire == "query":
            return 200, wires.XML_TYPE, wires.query_answer(service.model, operation, result), []
        return 200, service.content_type, orjson.dumps(result), []

    async def reply_other(self, wire: str, body: bytes, scope: dict) -> tuple[int, str, bytes, wires.Headers]:
        """A call in smithy-rpc-v2-cbor or the query protocol (aws_json/wires.py): decoded to the
        request JSON would carry, then answered by `reply`."""
        if wire == "cbor":
            target = wires.cbor_target(scope["path"]) or ""
            service = self.routes.get(target.partition(".")[0], (None,))[0]
            try:
                decoded = wires.cbor_request(body)
            except Exception:  # noqa: BLE001 -- any malformed CBOR
                decoded = None
            if service is not None and decoded is None:
                return _failure(service, wire, service.errors.SerializationException("Malformed CBOR body"))
            return await self.reply(target, body, scope, wire, decoded if decoded is not None else {})
        params = wires.query_params(body)
        service = self.query_services().get(params.get("Version", ""))
        if service is None:
            return (*_error(errors.UnknownOperationException(), "application/x-amz-json-1.0"), [])
        operation = params.get("Action", "")
        spec = service.model["operations"].get(operation, {})
        decoded = wires.query_request(service.model["shapes"], spec.get("input", {}).get("shape"), params)
        return await self.reply(f"{service.prefix}.{operation}", body, scope, wire, decoded)

    def query_services(self) -> dict[str, Service]:
        """The services that speak the query protocol, by API version (a query request names only that)."""
        return {s.model["metadata"]["apiVersion"]: s for s, _ in self.routes.values() if "query" in s.protocols}


def _wire(scope) -> tuple[str | None, str]:
    """Which wire format a POST speaks, and its X-Amz-Target: json (the target, or none: an unknown
    operation), cbor, query (a form to / without a target); None: not an AWS call."""
    path = scope["path"]
    if path == "/":
        target = _header(scope, b"x-amz-target")
        if target or not _header(scope, b"content-type").startswith("application/x-www-form-urlencoded"):
            return "json", target
        return "query", ""
    if path.startswith("/service/") and _header(scope, b"smithy-protocol") == "rpc-v2-cbor":
        return "cbor", ""
    return None, ""


def _observe(service: Service, state: PartState, operation: str, req: dict | None, result: dict | None,
             error: errors.AWSError | None, started: float) -> None:
    """The service's metrics of one call (Service.observe); a fault there never fails the call."""
    if service.observe is not None:
        try:
            service.observe(state.part.context, operation, req, result, error, perf_counter() - started)
        except Exception:  # a bug in a metric must not fail a call that succeeded
            log.exception("metrics of a call failed", extra={"operation": operation})


def _failure(service: Service, wire: str, exc: errors.AWSError) -> tuple[int, str, bytes, wires.Headers]:
    if wire == "query":
        return exc.status, wires.XML_TYPE, wires.query_error(service.model, exc), []
    headers = wires.query_error_header(exc) if "awsQueryCompatible" in service.model["metadata"] else []
    if wire == "cbor":
        return exc.status, wires.CBOR_TYPE, wires.cbor_error(exc), [(b"smithy-protocol", b"rpc-v2-cbor"), *headers]
    return (*_error(exc, service.content_type), headers)


def signed_request(scope: dict | None, body: bytes) -> sigv4.Request:
    scope = scope or {"method": "POST", "headers": []}
    return sigv4.Request(scope["method"], scope.get("raw_path") or scope.get("path", "/").encode(),
                         scope.get("query_string", b""), scope["headers"], body)


def _header(scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:  # ASGI servers lower-case header names
            return value.decode("latin-1")
    return ""


def _error(exc: errors.AWSError, content_type: str) -> tuple[int, str, bytes]:
    return exc.status, content_type, error_body(exc)


async def _start_all(states: list[PartState], env: dict[str, Any]) -> None:
    for state in states:
        started = time.monotonic()
        try:
            await asyncio.to_thread(state.part.start, env)
        except Exception as exc:
            state.state, state.error = "failed", f"{type(exc).__name__}: {exc}"
            log.error("part failed to start", extra={"part": state.part.name, "error": state.error})
            return
        state.state = "ready"
        log.info("part ready", extra={"part": state.part.name, "seconds": round(time.monotonic() - started, 3)})


def _stop_all(states: list[PartState]) -> None:
    for state in reversed(states):
        if state.state != "stopped":  # "starting" too: stop() cancels a start still under way
            try:
                state.part.stop()
            except Exception:
                log.exception("part failed to stop", extra={"part": state.part.name})
        state.state = "stopped"
