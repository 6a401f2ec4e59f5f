"""uvicorn's HTTP/1.1 protocol with one socket write per response.

uvicorn writes a response's status line and headers, then its body, as two `transport.write`
calls: two send syscalls and two TCP segments for every AWS JSON answer, and the client wakes
for each. Here the writes made during one step of the event loop are joined and sent once at
its end (a measurable share of a PutItem's server CPU, and of the client's wake-ups). Nothing
waits longer than that step: the joined write goes out before the loop polls for I/O again.

It also bounds a request's head. httptools buffers a header line until it ends, however long it
is, so a client could make the server hold any amount of memory with one endless header: the
bytes received while a head is incomplete are counted, and past MAX_HEAD_BYTES (or a URL past
MAX_URL_BYTES, or more than MAX_HEADERS headers) the answer is 400 and the connection is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
        super().on_headers_complete()

    def refuse_head(self, why: str) -> None:
        self.head_refusal = why
        raise HeadTooLarge(why)
