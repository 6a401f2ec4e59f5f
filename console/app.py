"""The console as a part of `cdc-bridge up`: its routes on the shared port. It owns no state but the
gate's sessions; every table, item, stream and function it shows comes from the APIs themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from aws_json.auth import Gate
from aws_json.errors import AuthFailure
from aws_json.sessions import COOKIE, cookie_token
from aws_json.sign_in_limits import SignInLocked
from console.tail import tail

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
START_POSITIONS = ("TRIM_HORIZON", "LATEST")
HOME = ("<!doctype html><html lang=en><meta charset=utf-8><title>cdc-bridge</title>"
        "<p>cdc-bridge: DynamoDB, DynamoDB Streams, Kinesis and Lambda APIs on this port. "
        "<a href=/console>Open the console</a> · <a href=/health>health</a></p></html>")
# The page loads nothing from elsewhere (no CDN): say so to the browser too.
SECURITY_HEADERS = {"content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


class Console:
    name = "console"
    services: ClassVar[list] = []
    context = None

    def __init__(self, gate: Gate):
        self.gate = gate
        self.routers = [self.router()]

    def start(self, env: dict[str, Any]) -> None:
        pass

    def stop(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"path": "/console", "sign_in": self.gate.enabled}

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)
        self.page_routes(router)
        self.session_routes(router)

        @router.get("/console/tail")
        async def live_tail(request: Request, streamArn: str = "", start: str = "LATEST") -> Response:  # noqa: N803
            if start not in START_POSITIONS:
                return json({"__type": "ValidationException",
                             "message": f"start must be one of {', '.join(START_POSITIONS)}"}, 400)
            events = tail(request.app.state.aws_json, request.scope, streamArn, start)
            return StreamingResponse(events, media_type="text/event-stream",
                                     headers={"cache-control": "no-store", "x-accel-buffering": "no"})

        return router

    @staticmethod
    def page_routes(router: APIRouter) -> None:
        """`GET /` (a link here), the console's page and its static files."""

        @router.get("/")
        async def home() -> Response:
            return HTMLResponse(HOME)

        @router.get("/console")
        @router.get("/console/")
        async def index() -> Response:
            return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)

        @router.get("/console/static/{name:path}")
        async def static(name: str) -> Response:
            path = (STATIC / name).resolve()
            if not path.is_relative_to(STATIC.resolve()) or not path.is_file() or path.suffix not in MEDIA_TYPES:
                return Response(status_code=404)
            return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=SECURITY_HEADERS)

    def session_routes(self, router: APIRouter) -> None:
        """Who is signed in, sign in, sign out (`/console/session`)."""

        @router.get("/console/session")
        async def who(request: Request) -> Response:
            session = self.gate.sessions.session(cookie_token(request.scope["headers"]))
            return json({"signInRequired": self.gate.enabled,
                         "user": {"name": session.principal.name, "arn": session.principal.arn} if session else None})

        @router.post("/console/session")
        async def sign_in(request: Request) -> Response:
            return await self.sign_in(request)

        @router.delete("/console/session")
        async def sign_out(request: Request) -> Response:
            self.gate.sessions.sign_out(cookie_token(request.scope["headers"]))
            response = json({"user": None})
            response.delete_cookie(COOKIE, path="/")
            return response

    async def sign_in(self, request: Request) -> Response:
        """A key of the credentials file, its secret and, for temporary credentials, its session token,
        checked here, become an HttpOnly cookie that lasts as long as the session."""
        if not self.gate.enabled:
            return json({"__type": "ValidationException",
                         "message": "This server has no credentials file: the console is open without signing in"},
                        400)
        try:
            form = orjson.loads(await request.body())
            key_id, secret = str(form["accessKeyId"]), str(form["secretAccessKey"])
            session_token = str(form.get("sessionToken") or "") or None  # the form's field left empty: none
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return json({"__type": "ValidationException", "message": "accessKeyId and secretAccessKey are required"},
                        400)
        client = request.scope.get("client") or (None,)
        try:
            token = self.gate.sessions.sign_in(key_id, secret, session_token, source=client[0])
        except SignInLocked as locked:
            return json({"__type": "ThrottlingException",
                         "message": f"Password attempts exceeded: try again in {locked.retry_after_header} s"},
                        429, {"retry-after": locked.retry_after_header})
        except AuthFailure as refused:
            return json({"__type": type(refused).__name__, "message": refused.message}, 403)
        session = self.gate.sessions.session(token)
        response = json({"user": {"name": session.principal.name, "arn": session.principal.arn}})
        response.set_cookie(COOKIE, token, max_age=self.gate.sessions.seconds_left(session), path="/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response


def json(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)
