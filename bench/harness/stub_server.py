"""A stub AWS JSON endpoint that answers at once with a canned body, to measure a client's own
ceiling (how many calls/s the client can make when the server costs almost nothing).

    python bench/harness/stub_server.py PORT

Loopback only; keep-alive HTTP/1.1; `GET /health` -> 200; any POST -> 200 with `{}`, or with a
small item when the X-Amz-Target ends in GetItem. Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
import sys

ITEM = (b'{"Item":{"pk":{"S":"seed-1"},"seq":{"N":"1"},"payload":{"S":"' + b"x" * 100
        + b'"},"active":{"BOOL":true}}}')


def response(body: bytes, content_type: bytes = b"application/x-amz-json-1.0") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nx-amzn-RequestId: stub\r\n\r\n" + body)


EMPTY = response(b"{}")
GET = response(ITEM)
HEALTH = response(b'{"status":"ready"}', b"application/json")


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            length = 0
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                length = int(head[i + 17: j if j >= 0 else len(head)].strip())
            total = end + 4 + length
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            if head.startswith(b"get"):
                self.transport.write(HEALTH)
            elif b".getitem\r\n" in head + b"\r\n":
                self.transport.write(GET)
            else:
                self.transport.write(EMPTY)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(Http, "127.0.0.1", port)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
