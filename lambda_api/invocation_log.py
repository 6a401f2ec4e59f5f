"""The lines Lambda itself writes to a function's log, in its formats, and its log stream names."""

from __future__ import annotations

import math
import platform
import time
import uuid


def stream_name() -> str:
    """One stream per worker, as Lambda names one per execution environment: `2026/12/07/[$LATEST]<hex>`."""
    return time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"


def init_start(runtime: str) -> str:
    interpreter = f"python {platform.python_version()}" if runtime.startswith("python") else "node"
    return f"INIT_START Runtime Version: {runtime.replace('python', 'python:').replace('nodejs', 'nodejs:')} " \
           f"(cdc-bridge: this server's {interpreter})"


def start(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST"


def end(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report(request_id: str, duration_ms: float, memory_mb: int, max_used_mb: int, status: str | None,
           init_ms: float | None = None) -> str:
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory_mb} MB\t"
            f"Max Memory Used: {max_used_mb} MB\t")
    line += f"Init Duration: {init_ms:.2f} ms\t" if init_ms is not None else ""
    return line + (f"Status: {status}" if status else "")


def timed_out(request_id: str, timeout_s: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"
