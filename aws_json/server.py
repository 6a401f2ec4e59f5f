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
from typing import Any, Protocol

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from aws_json import errors, sigv4
from aws_json.auth import TAGGING, Gate
from aws_json.limits import read_body
from aws_json.protocol import Service, error_body
from aws_json.sessions import cookie_token

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


def create_app(parts: list[Part], gate: Gate | None = None) -> AwsJsonApp:
    """`gate`: who may call (credentials and policies); None: anyone, unchecked."""
    states = [PartState(p) for p in parts]
    routes: dict[str, tuple[Service, PartState]] = {
        service.prefix: (service, state) for state in states for service in state.part.services
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        starting = asyncio.create_task(_start_all(states))
        try:
            yield
        finally:
            starting.cancel()
            await asyncio.to_thread(_stop_all, states)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> Response:
        ready = all(s.state == "ready" for s in states)
        body = {"status": "ready" if ready else "starting", "parts": {s.part.name: s.report() for s in states}}
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text format: every part's gauges and counters."""
        lines = []
        for state in states:
            if state.state == "ready" and hasattr(state.part, "metrics"):
                lines += [f"{name} {value}" for name, value in state.part.metrics().items()]
        calls = app.state.aws_json.calls if app.state.aws_json else {}
        lines += [f'cdc_bridge_requests_total{{operation="{target}"}} {n}' for target, n in sorted(calls.items())]
        return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    for state in states:  # HTTP routes beyond POST /, e.g. the schema registry
        for router in getattr(state.part, "routers", ()):
            app.include_router(router)
    app.state.parts = states
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
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/":
            body = await read_body(scope, receive)  # already bounded by the Screen in front
            status, content_type, payload = await self.answer(_header(scope, b"x-amz-target"), body, scope)
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]})
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
        prefix, _, operation = target.partition(".")
        route = self.routes.get(prefix)
        if route is None:
            return _error(errors.UnknownOperationException(), "application/x-amz-json-1.0")
        service, state = route
        try:
            if state.state != "ready":
                raise service.errors.ServiceUnavailable()
            principal = self.gate.authenticate(signed_request(scope, body), service) if self.gate.enabled else None
            handler, req = service.request(operation, body)
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
            return _error(exc, service.content_type)
        except errors.AWSError as exc:
            return _error(exc, service.content_type)
        except Exception:
            log.exception("internal error", extra={"target": target})
            return _error(service.errors.InternalServerError(), service.content_type)
        return 200, service.content_type, orjson.dumps(result)


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


async def _start_all(states: list[PartState]) -> None:
    env: dict[str, Any] = {}
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
