"""Pieces shared by the benchmarks under bench/ (see bench/README.md).

- `ServerProcess`: start a server as a child that dies with us, wait until it is ready, read its
  CPU time from /proc, stop it.
- `run_threads`: run a bounded number of operations on N threads and time each one.
- `RawJsonClient`: a lightweight AWS JSON 1.0 client (http.client, one keep-alive connection per
  thread, orjson), far cheaper per call than boto3.
- `boto3_client` / `signed_authorization`: boto3 clients for a local endpoint, and one SigV4
  Authorization header to replay on raw requests (moto routes requests by its credential scope).
- `Stub`: a canned-response HTTP server in a child process, to measure a client's own ceiling.
- `stop_on_sigterm` / `finish`: every benchmark's SIGTERM hook and end of run (stop servers,
  write the JSON results, remove the work dir).

Linux only (/proc, PR_SET_PDEATHSIG). Loopback only.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency of the project
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    loads = json.loads

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BOTO3_CEILING_OPS = 1100  # one boto3 process, any small call, 1-8 threads (shared/benchmarking.md)
DYNAMODB_TARGET = "DynamoDB_20120810"
JSON_10 = "application/x-amz-json-1.0"


# --------------------------------------------------------------------------- processes


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Between fork and exec in the child: own process group (a terminal's Ctrl-C reaches only
    # us; we decide the shutdown order), and SIGKILL when we die, however we die.
    os.setpgrp()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads, not its children), in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2:].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 (utime) and 15 (stime)


def descendants(pid: int) -> list[int]:
    """Live descendants of `pid`, from /proc (ppid links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            out[pid] = proc_cpu_seconds(pid)
    return out


class ServerFailed(RuntimeError):
    pass


class ServerProcess:
    """One server started by a benchmark: a child process tied to ours."""

    def __init__(self, name: str, argv: list[str], ready: Callable[[], bool], log_path: Path,
                 env: dict[str, str] | None = None, cwd: str | None = None):
        self.name, self.argv, self.ready, self.log_path = name, argv, ready, log_path
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen | None = None
        self.startup_s: float | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float) -> None:
        started = time.monotonic()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent, env=self.env, cwd=self.cwd,
            )
        finally:
            log.close()
        deadline = started + timeout_s
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerFailed(f"{self.name} exited with code {code} before it was ready; "
                                   f"log tail:\n{self.log_tail()}")
            try:
                if self.ready():
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.name} not ready after {timeout_s:.0f} s; log tail:\n{self.log_tail()}")
            time.sleep(0.1)
        self.startup_s = time.monotonic() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def child_cpu(self) -> dict[int, float]:
        return cpu_of(descendants(self.pid))

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text[-lines:]) or "    (empty log)"

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL; then SIGKILL anything left in its process group."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The child leads its own process group (setpgrp); reap stragglers of that group only.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def http_status(port: int, path: str, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


# --------------------------------------------------------------------------- clients


class RawJsonClient:
    """AWS JSON 1.0 over one keep-alive HTTP/1.1 connection (reconnects when the server closes).

    Not thread-safe: one per thread. Requests are unsigned unless `authorization` is given (a
    header copied from one boto3-signed request; nothing here recomputes a signature)."""

    def __init__(self, port: int, target_prefix: str = DYNAMODB_TARGET, authorization: str | None = None,
                 timeout: float = 30.0, content_type: str = JSON_10):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.target_prefix = target_prefix
        self.base = {"Content-Type": content_type}
        if authorization:
            self.base["Authorization"] = authorization
        self._headers: dict[str, dict[str, str]] = {}
        self.reconnects = 0

    def headers(self, operation: str) -> dict[str, str]:
        h = self._headers.get(operation)
        if h is None:
            h = self._headers[operation] = {**self.base, "X-Amz-Target": f"{self.target_prefix}.{operation}"}
        return h

    def call_raw(self, operation: str, body: bytes) -> tuple[int, bytes]:
        headers = self.headers(operation)
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", body, headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                # A keep-alive connection the server closed before our request reached it.
                self.conn.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, operation: str, request: dict) -> tuple[int, Any]:
        status, data = self.call_raw(operation, dumps(request))
        return status, (loads(data) if data else None)

    def close(self) -> None:
        self.conn.close()


def boto3_client(service: str, port: int, max_pool: int = 10):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    return session.client(
        service, endpoint_url=f"http://{HOST}:{port}",
        config=Config(max_pool_connections=max_pool, retries={"total_max_attempts": 1},
                      connect_timeout=5, read_timeout=60),
    )


def signed_authorization(client, call: Callable[[Any], Any]) -> str:
    """The Authorization header of one real boto3 request made by `call(client)`."""
    return signed_headers(client, call, ("Authorization",))["Authorization"]


# --------------------------------------------------------------------------- timing


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-q * len(sorted_values) // 100)))  # ceil(q/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Result:
    ops: int
    errors: int
    wall_s: float
    latencies_s: list[float] = field(repr=False)
    first_error: str | None = None
    aborted: bool = False

    @property
    def ok_ops(self) -> int:
        return self.ops - self.errors

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s > 0 else float("nan")

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies_s), q) * 1000.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_s)
        return {
            "ops": self.ops, "errors": self.errors, "wall_s": round(self.wall_s, 4),
            "ops_per_s": round(self.ops_per_s, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 3), "p99_ms": round(percentile(lat, 99) * 1000, 3),
            "max_ms": round(lat[-1] * 1000, 3) if lat else None,
            "first_error": self.first_error, "aborted": self.aborted,
        }


STOP = threading.Event()  # set on Ctrl-C / shutdown: every worker loop checks it


def stop_on_sigterm() -> None:
    """SIGTERM takes the same clean-up path as Ctrl-C: a KeyboardInterrupt in the main thread."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def finish(processes: list, json_path: str | None, report: dict, workdir: Path) -> None:
    """The end of every benchmark's run, however it ended: stop the workers and the servers,
    write the results, remove the work dir."""
    STOP.set()
    for process in processes:
        process.stop()
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"results written to {json_path}")
    shutil.rmtree(workdir, ignore_errors=True)


def ended_by(exc: BaseException, report: dict) -> int:
    """The exit code of a run cut short by Ctrl-C (130) or a failed server (1), said on stderr
    and, for a failure, in the report."""
    if isinstance(exc, KeyboardInterrupt):
        print("\ninterrupted", file=sys.stderr)
        return 130
    print(f"\nFAILED: {exc}", file=sys.stderr)
    report["error"] = str(exc)
    return 1


MAX_CONSECUTIVE_ERRORS = 50


def run_threads(threads: int, total_ops: int, make_op: Callable[[int], Callable[[int], bool]],
                close: Callable[[Callable], None] | None = None) -> Result:
    """Run `total_ops` operations spread over `threads` threads; time each one.

    `make_op(thread_index)` is called on the worker thread before the clock starts and returns
    `op(i)` (i: the operation's index within the whole workload), which returns True on success
    (False or an exception: an error). A thread gives up after MAX_CONSECUTIVE_ERRORS errors in a
    row. The clock runs from the moment every thread is ready to the moment the last one is done.
    """
    threads = max(1, min(threads, total_ops))
    per_thread = [total_ops // threads + (1 if t < total_ops % threads else 0) for t in range(threads)]
    starts = [sum(per_thread[:t]) for t in range(threads)]
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    done = [0] * threads
    first_error: list[str] = []
    aborted = [False] * threads
    setup_failed: list[str] = []

    def worker(t: int) -> None:
        try:
            op = make_op(t)
        except Exception as exc:  # still meet the barrier so nobody waits forever
            setup_failed.append(f"{type(exc).__name__}: {exc}")
            op = None
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            return
        if op is None:
            return
        lat = latencies[t]
        perf = time.perf_counter
        consecutive = 0
        for i in range(starts[t], starts[t] + per_thread[t]):
            if STOP.is_set():
                aborted[t] = True
                break
            t0 = perf()
            try:
                ok = op(i)
                err = None if ok else "operation returned an error"
            except Exception as exc:
                ok, err = False, f"{type(exc).__name__}: {exc}"
            lat.append(perf() - t0)
            done[t] += 1
            if ok:
                consecutive = 0
                continue
            errors[t] += 1
            consecutive += 1
            if not first_error:
                first_error.append(getattr(op, "last_error", None) or err or "error")
            if consecutive >= MAX_CONSECUTIVE_ERRORS:
                aborted[t] = True
                break
        if close is not None:
            with contextlib.suppress(Exception):
                close(op)

    workers = [threading.Thread(target=worker, args=(t,), daemon=True, name=f"bench-{t}") for t in range(threads)]
    for w in workers:
        w.start()
    barrier.wait(timeout=120)
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    if setup_failed and not first_error:
        first_error.append("setup: " + setup_failed[0])
    total_done = sum(done)
    return Result(
        ops=total_done, errors=sum(errors),
        wall_s=wall, latencies_s=[x for lat in latencies for x in lat],
        first_error=first_error[0] if first_error else None,
        aborted=any(aborted) or bool(setup_failed),
    )


class CpuWindow:
    """Server CPU (utime+stime of the process itself, and separately of its descendants) and
    this client process's CPU over one measured window."""

    def __init__(self, server: ServerProcess | None):
        self.server = server

    def __enter__(self) -> "CpuWindow":
        self.client0 = time.process_time()
        if self.server is not None:
            self.kids0 = self.server.child_cpu()
            self.server0 = self.server.cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.server_s = None
        self.children_s = None
        if self.server is not None:
            with contextlib.suppress(OSError):
                self.server_s = self.server.cpu() - self.server0
            kids1 = self.server.child_cpu()
            if kids1 or self.kids0:
                self.children_s = sum(kids1[p] - self.kids0.get(p, 0.0) for p in kids1)
        self.client_s = time.process_time() - self.client0


# --------------------------------------------------------------------------- stub server

STUB_SCRIPT = Path(__file__).with_name("stub_server.py")


class Stub(ServerProcess):
    """bench/stub_server.py: answers every POST at once with a canned DynamoDB-like body."""

    def __init__(self, port: int, log_path: Path):
        super().__init__("stub", [sys.executable, str(STUB_SCRIPT), str(port)],
                         ready=lambda: http_status(port, "/health") == 200, log_path=log_path)
        self.port = port


def signed_headers(client, call: Callable[[Any], Any], names: tuple[str, ...] = ("Authorization", "X-Amz-Date")) -> dict[str, str]:
    """Headers of one real boto3 request made by `call(client)` (by default its SigV4 Authorization
    and X-Amz-Date), to replay on raw requests: kinesalite wants both, moto the first."""
    seen: dict[str, str] = {}

    def capture(request, **_):
        for name in names:
            value = request.headers.get(name)
            if value is not None and name not in seen:
                seen[name] = value.decode() if isinstance(value, bytes) else value

    client.meta.events.register("before-send", capture)
    try:
        call(client)
    finally:
        client.meta.events.unregister("before-send", capture)
    if not seen:
        raise RuntimeError("boto3 sent no request")
    return seen


def run_meta(*packages: str) -> dict[str, Any]:
    """What a result file records about its run: Python, cores, package versions, the git head
    and the tracked files modified in the working tree."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        with contextlib.suppress(PackageNotFoundError):
            return version(name)
        return None

    def git(*argv: str) -> str:
        root = Path(__file__).resolve().parent.parent
        with contextlib.suppress(Exception):
            return subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True,
                                  timeout=5, check=False).stdout
        return ""

    modified = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line.strip()]
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            **{name: installed(name) for name in packages},
            "git_head": git("rev-parse", "--short", "HEAD").strip() or None, "git_modified_files": modified,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
