"""Server processes tied to the benchmark, and the CPU of a process tree.

Linux only (/proc, PR_SET_PDEATHSIG). Loopback only.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_RULE = ("server CPU = utime+stime of the server process and all its children (the broker included), "
            "read from /proc/<pid>/stat and /proc/<pid>/task/*/children before and after each phase; "
            "a peer that runs in one process is measured the same way")


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # Between fork and exec: own process group (Ctrl-C reaches only us), SIGKILL when we die.
    os.setpgrp()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads, not its children), in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2:].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/<pid>/task/*/children."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    return out


def tree(pid: int) -> list[int]:
    """`pid` and all its live descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children(p)
    return found


def tree_cpu(roots: Iterable[int]) -> dict[int, float]:
    """CPU seconds of every process in the trees under `roots` (pid -> seconds)."""
    out: dict[int, float] = {}
    for root in roots:
        for pid in tree(root):
            with contextlib.suppress(OSError):
                out[pid] = proc_cpu_seconds(pid)
    return out


def tree_rss_mb(root: int) -> dict[str, float]:
    """Resident memory (VmRSS) of each process of the tree under `root`, MB by "name (pid)"."""
    out: dict[str, float] = {}
    for pid in tree(root):
        with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
            out[f"{fields['Name'].strip()} ({pid})"] = int(fields["VmRSS"].split()[0]) / 1024
    return out


class ServerFailed(RuntimeError):
    pass


class ServerProcess:
    """One server process started by a benchmark: a child tied to ours."""

    def __init__(self, name: str, argv: list[str], ready: Callable[[], bool], log_path: Path,
                 env: dict[str, str] | None = None, cwd: str | None = None, poll_s: float = 0.1):
        self.name, self.argv, self.ready, self.log_path = name, argv, ready, log_path
        self.env, self.cwd, self.poll_s = env, cwd, poll_s
        self.process: subprocess.Popen | None = None
        self.startup_s: float | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float) -> ServerProcess:
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                            env=self.env, cwd=self.cwd)
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServerFailed(f"{self.name} exited with code {code} before it was ready; "
                                   f"log tail:\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                if self.ready():
                    break
            if time.monotonic() - started > timeout_s:
                raise ServerFailed(f"{self.name} not ready after {timeout_s:.0f} s; log tail:\n{self.log_tail()}")
            time.sleep(self.poll_s)
        self.startup_s = time.monotonic() - started
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise ServerFailed(f"{self.name} died; log tail:\n{self.log_tail()}")

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
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


class CpuWindow:
    """CPU over one window: `server_s` = every process of the servers' trees (the process and all
    its children, the broker included), `children_s` = the descendants alone (shown apart, already
    in `server_s`), `client_s` = this benchmark process."""

    def __init__(self, processes: Iterable[ServerProcess] = ()):
        self.roots = [p.pid for p in processes]

    def __enter__(self) -> CpuWindow:
        self.client0 = time.process_time()
        self.before = tree_cpu(self.roots)
        return self

    def __exit__(self, *exc) -> None:
        after = tree_cpu(self.roots)
        self.client_s = time.process_time() - self.client0
        delta = {pid: after[pid] - self.before.get(pid, 0.0) for pid in after}
        self.server_s = sum(delta.values()) if self.roots else None
        kids = [d for pid, d in delta.items() if pid not in self.roots]
        self.children_s = sum(kids) if kids else None

    def per_1k(self, n: int) -> float | None:
        """Server CPU seconds per 1,000 operations (= ms per operation)."""
        return None if self.server_s is None or not n else self.server_s / n * 1000


def idle_cpu(processes: list[ServerProcess], seconds: float) -> float | None:
    """% of one core the servers' trees burn with no request in flight."""
    if seconds <= 0:
        return None
    with CpuWindow(processes) as cpu:
        time.sleep(seconds)
    return round((cpu.server_s or 0.0) / seconds * 100, 1)


# --------------------------------------------------------------------------- HTTP helpers


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_status(port: int, path: str, method: str = "GET", body: bytes | None = None, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def parse_metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


class MetricsReader:
    """GET /metrics over one keep-alive connection (one per thread)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=5)

    def read(self) -> dict[str, float]:
        for attempt in (0, 1):
            try:
                self.conn.request("GET", "/metrics")
                return parse_metrics(self.conn.getresponse().read().decode())
            except Exception:
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()
