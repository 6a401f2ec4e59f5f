"""uvicorn's HTTP/1.1 protocol with one socket write per response.

uvicorn writes a response's status line and headers, then its body, as two `transport.write`
calls: two send syscalls and two TCP segments for every AWS JSON answer, and the client wakes
for each. Here the writes made during one step of the event loop are joined and sent once at
its end (a measurable share of a PutItem's server CPU, and of the client's wake-ups). Nothing
waits longer than that step: the joined write goes out before the loop polls for I/O again.

An AWS JSON call that the app can answer at once (`Screen.answers_now`: the table service's
operations, which are plain functions) is answered here when its body is complete, without the ASGI
machinery: no request-response cycle, task, receive and send messages for it. In process, with a
fake transport, a ListTables took 55-82 us of Python through uvicorn's path and 35-56 us through
this one (the socket calls, measured apart, cost about as much again). Only a lone request takes this path (none in progress or pipelined on the
connection), with a Content-Length, keep-alive and no `Expect: 100-continue`; everything else,
refusals included, is served by uvicorn as before.

It also bounds a request's head. httptools buffers a header line until it ends, however long it
is, so a client could make the server hold any amount of memory with one endless header: the
bytes received while a head is incomplete are counted, and past MAX_HEAD_BYTES (or a URL past
MAX_URL_BYTES, or more than MAX_HEADERS headers) the answer is 400 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("cdc_bridge.server")

# Sane limits, far above what any SDK sends (a SigV4 request's head is under 2 KB): nginx allows
# 8 KB per header line; h11 (uvicorn's other parser) 16 KB for the whole head.
MAX_URL_BYTES = 8 * 1024
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100


class HeadTooLarge(Exception):
    """Raised from a parser callback; httptools turns it into an HttpParserError (a 400)."""


class JoinedWrites:
    """A transport whose writes within one loop step reach the socket as one write."""

    __slots__ = ("loop", "pending", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.transport = transport
        self.loop = loop
        self.pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self.pending is None:
            self.pending = [data]
            self.loop.call_soon(self.flush)
        else:
            self.pending.append(data)

    def flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending and not self.transport.is_closing():
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str):
        return getattr(self.transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = JoinedWrites(transport, self.loop)
        self.in_head = True  # bytes received now belong to a request line or headers
        self.head_bytes = 0  # received while the head is incomplete: bounds what httptools buffers
        self.head_size = 0  # of the headers parsed so far: bounds a head that arrives whole
        self.head_refusal: str | None = None
        self.body_now: list[bytes] | None = None  # the body of a call answered at once, while it arrives

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: a chunk that completes the head (and may carry a body) is never
        # held against it. A chunk is at most 256 KB, so what httptools holds stays bounded.
        if self.in_head and self.parser is not None and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.send_400_response(f"Request headers exceed {MAX_HEAD_BYTES} bytes")

    def send_400_response(self, msg: str) -> None:
        super().send_400_response(self.head_refusal or msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes, self.head_size = True, 0, 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self.refuse_head(f"Request line exceeds {MAX_URL_BYTES} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self.head_size += len(name) + len(value) + 4  # ": " and CRLF
        if len(self.headers) > MAX_HEADERS:
            self.refuse_head(f"More than {MAX_HEADERS} headers")
        if self.head_size + len(self.url) > MAX_HEAD_BYTES:  # a whole head that came in one chunk
            self.refuse_head(f"Request headers exceed {MAX_HEAD_BYTES} bytes")

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.body_now = None
        if self.answerable_now():
            self.scope.update(method="POST", path="/", raw_path=b"/", query_string=b"")
            self.body_now = []
            return
        super().on_headers_complete()

    def answerable_now(self) -> bool:
        """A lone `POST /` over a kept-alive HTTP/1.1 connection that the app answers at once."""
        parser = self.parser
        if self.url != b"/" or self.expect_100_continue or parser.get_method() != b"POST":
            return False
        if parser.get_http_version() != "1.1" or not parser.should_keep_alive() or parser.should_upgrade():
            return False
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            return False
        answers_now = getattr(self.app, "answers_now", None)
        return answers_now is not None and answers_now(self.scope)

    def on_body(self, body: bytes) -> None:
        if self.body_now is None:
            super().on_body(body)
        else:
            self.body_now.append(body)  # at most its Content-Length, which the Screen has bounded

    def on_message_complete(self) -> None:
        if self.body_now is None:
            super().on_message_complete()
            return
        body, self.body_now = b"".join(self.body_now), None
        try:
            status, content_type, payload, headers = self.app.answer_now(self.scope, body)
        except Exception:  # a bug past the operation (which answers its own errors): 500, as uvicorn would
            log.exception("internal error answering a call")
            status, content_type, payload, headers = 500, "text/plain; charset=utf-8", b"Internal Server Error", []
        head = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, (b"content-type", content_type.encode()),
                            (b"content-length", str(len(payload)).encode()), *headers):
            head += [name, b": ", value, b"\r\n"]
        head += [b"\r\n", payload]
        self.transport.write(b"".join(head))
        self.on_response_complete()

    def refuse_head(self, why: str) -> None:
        self.head_refusal = why
        raise HeadTooLarge(why)
