"""What every HTTP request passes before any part sees it: the browser guard on a loopback listener
(403) and the body limit (413). Both answer in the AWS JSON error shape of the service the
request's `X-Amz-Target` names, so SDKs show them as ordinary errors.

The body is read here, bounded, and handed on as one message: the app behind reads it as usual.
"""

from __future__ import annotations

import orjson

from aws_json import browser_guard
from aws_json.limits import MAX_BODY_BYTES, BodyTooLarge, read_body, replay


class Screen:
    """ASGI wrapper around the app (`AwsJsonApp`, whose `routes` tell each service's error shape)."""

    def __init__(self, app, listen_host: str, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.guard_browsers = browser_guard.is_loopback(listen_host)
        self.max_body_bytes = max_body_bytes
        self.part_limits: list[tuple[str, int]] | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # the lifespan
            return
        headers = dict(scope["headers"])
        refused = browser_guard.refusal(headers, scope["server"][1]) if self.guard_browsers else None
        if refused:
            await self.refuse(send, headers, 403, "AccessDeniedException", refused)
            return
        limit = self.body_limit(scope["path"])
        try:
            body = await read_body(scope, receive, limit)
        except BodyTooLarge:
            await self.refuse(send, headers, 413, "RequestEntityTooLarge",
                              f"Request body exceeds the limit of {limit} bytes")
            return
        await self.app(scope, replay(body, receive), send)

    def body_limit(self, path: str) -> int:
        """A part may take larger bodies on its own paths (`body_limits`: path prefix -> bytes), e.g.
        Lambda's CreateFunction with a 50 MB zip, base64, in its JSON; gathered once, not per request."""
        if self.part_limits is None:
            self.part_limits = [(prefix, max(limit, self.max_body_bytes))
                                for state in getattr(getattr(self.app, "state", None), "parts", ())
                                for prefix, limit in getattr(state.part, "body_limits", {}).items()]
        return next((limit for prefix, limit in self.part_limits if path.startswith(prefix)), self.max_body_bytes)

    async def refuse(self, send, headers: dict[bytes, bytes], status: int, error: str, message: str) -> None:
        content_type, body = self.error(headers.get(b"x-amz-target", b"").decode("latin-1"), error, message)
        # Connection: close, since an unread body may follow; the server then drops the connection.
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    def error(self, target: str, error: str, message: str) -> tuple[str, bytes]:
        """The error as the targeted service renders its own (its namespace and JSON version)."""
        route = getattr(self.app, "routes", {}).get(target.partition(".")[0])
        if route is None:
            return "application/json", orjson.dumps({"__type": error, "message": message})
        service = route[0]
        namespace = service.errors.ValidationException.namespace
        return service.content_type, orjson.dumps({"__type": f"{namespace}#{error}" if namespace else error,
                                                   "message": message})
