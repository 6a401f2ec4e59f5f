"""One socket write per response: uvicorn's head and body writes joined within a loop step."""

from __future__ import annotations

import asyncio

from aws_json.http_protocol import JoinedWrites


class RecordingTransport:
    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str):
        return f"info:{name}"


def test_writes_of_one_loop_step_reach_the_transport_as_one_write():
    async def respond() -> RecordingTransport:
        transport = RecordingTransport()
        joined = JoinedWrites(transport, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        joined.write(b"{}")
        assert transport.writes == []  # nothing sent within the step
        await asyncio.sleep(0)
        joined.write(b"next")
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(respond())
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"next"]


def test_close_sends_what_is_pending_first_and_other_calls_reach_the_transport():
    async def respond_and_close() -> RecordingTransport:
        transport = RecordingTransport()
        joined = JoinedWrites(transport, asyncio.get_running_loop())
        joined.write(b"bye")
        joined.close()
        assert joined.get_extra_info("peername") == "info:peername"
        await asyncio.sleep(0)  # the scheduled flush finds nothing left and the transport closed
        return transport

    transport = asyncio.run(respond_and_close())
    assert transport.writes == [b"bye"] and transport.closed
