"""`local()`: the stack as child processes, for machines without Docker.

It runs `cdc-bridge up` on a free loopback port with a data directory of its own (a temporary one,
removed afterwards, unless one is given), so the broker is the one `up` chooses: the cluster of
KAFKA_BOOTSTRAP_SERVERS or `kafka_bootstrap_servers`, else the --broker choice (CDC_BRIDGE_BROKER,
default auto: Apache Kafka where Java 17+ can run it, else the embedded memory broker).

Clean-up is the point of a context manager here: on leaving the block, normally or through an
exception (a failing test, a start that never became healthy), `up` is asked to stop (SIGINT, as
Ctrl-C), then killed if it lingers, and so is anything it started that is still alive (its broker,
Lambda workers), found by walking /proc before the stop. The broker child is also tied to `up` with
PR_SET_PDEATHSIG, so it dies with it even when this process is killed outright.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from cdc_bridge.broker import free_port, spawn_child, stop_child
from cdc_bridge.testing.stack import Endpoint, wait_healthy

STARTUP_TIMEOUT_S = 120.0  # Apache Kafka's first start on a loaded machine
STOP_TIMEOUT_S = 20.0  # `up` stops its parts in order; Apache Kafka shuts down in seconds


class LocalStack(Endpoint):
    """A running `cdc-bridge up` child process."""

    def __init__(self, process, url: str, data_dir: Path, log_path: Path):
        super().__init__(url)
        self.process, self.data_dir, self.log_path = process, data_dir, log_path

    def pids(self) -> list[int]:
        """`up` and every process below it (broker, Lambda workers), while they run."""
        return [self.process.pid, *descendants(self.process.pid)]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def exited(self) -> str | None:
        if self.process.poll() is None:
            return None
        return f"cdc-bridge up exited with {self.process.returncode}:\n{self.log_tail()}"

    def stop(self) -> None:
        below = descendants(self.process.pid)
        stop_child(self.process, timeout_s=STOP_TIMEOUT_S)
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        wait_gone(below)


@contextlib.contextmanager
def local(*, broker: str | None = None, kafka_bootstrap_servers: str | None = None, data_dir: Path | None = None,
          args: Sequence[str] = (), env: dict[str, str] | None = None,
          startup_timeout_s: float = STARTUP_TIMEOUT_S) -> Iterator[LocalStack]:
    """Run `cdc-bridge up` until the block ends. `broker`: auto, kafka or memory (unset: `up`'s own
    default, CDC_BRIDGE_BROKER or auto); `args`: more `up` options (e.g. "--stream-shards", "2")."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cdc-bridge-test-")))
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        argv = [sys.executable, "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data_dir),
                *(["--broker", broker] if broker else []),
                *(["--kafka-bootstrap-servers", kafka_bootstrap_servers] if kafka_bootstrap_servers else []), *args]
        log_path = data_dir / f"up-{port}.log"
        log = stack.enter_context(open(log_path, "ab"))
        process = spawn_child(argv, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
        running = LocalStack(process, f"http://127.0.0.1:{port}", data_dir, log_path)
        stack.callback(running.stop)
        wait_healthy(running.url, startup_timeout_s, gone=running.exited)
        yield running


def descendants(pid: int) -> list[int]:
    """The processes below `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_of(entry)
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def parent_of(proc_entry: Path) -> int | None:
    try:
        stat = (proc_entry / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after "(comm)": state, then ppid


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
