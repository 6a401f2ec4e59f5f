"""The function runner: a pool of worker processes, warm between invocations of the same function
revision, each one writing its own log stream in `/aws/lambda/<name>`.

    runner.submit(spec, payload) -> concurrent.futures.Future[Outcome]   from any thread
    runner.invoke(spec, payload) -> Outcome                               blocking
    await runner.invoke_async(spec, payload) -> Outcome                   from asyncio, no thread held

A worker runs one invocation at a time; a busy function gets more workers (one per concurrent
invocation). Timeout is enforced by killing the worker's process group (Lambda's "Task timed out"
error); a worker that timed out, crashed or failed its init is replaced, one whose function changed
is stopped when it goes idle; idle workers are stopped after `idle_worker_seconds`.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import orjson

from lambda_api import invocation_log
from lambda_api.runtimes import worker_command

MAX_RESPONSE_BYTES = 6_291_556  # what Lambda returns at most from a synchronous invocation
INIT_TIMEOUT_S = 10.0  # Lambda's limit on a function's init (starting the runtime, importing the handler)
TAIL_BYTES = 4096


class LogSink(Protocol):
    def append(self, group: str, stream: str, messages: list[tuple[int, str]]) -> None: ...


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker runs. Any change (code, handler, environment, ...) is a new `revision`."""

    name: str
    revision: str
    arn: str
    runtime: str
    handler: str
    task_root: Path
    timeout_s: int
    memory_mb: int
    environment: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class Outcome:
    """Lambda's result of one invocation: the payload (the function's answer or Lambda's error
    object), FunctionError ("Unhandled" when the function failed, None on success), and the end of
    its log (at least the 4 KB that LogType Tail returns; the whole log is in CloudWatch Logs)."""

    request_id: str
    payload: bytes
    function_error: str | None
    log: str
    executed_version: str = "$LATEST"

    @property
    def log_tail(self) -> bytes:
        return self.log.encode()[-TAIL_BYTES:]

    @property
    def error_type(self) -> str | None:
        return orjson.loads(self.payload).get("errorType") if self.function_error else None


class Invocation:
    def __init__(self, payload: bytes, client_context: str | None):
        self.request_id = str(uuid.uuid4())
        self.payload = payload
        self.client_context = client_context
        self.future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        self.started = time.monotonic()  # moved to when the worker is ready, if it is not yet
        self.timer: threading.Timer | None = None
        self.lines: collections.deque[str] = collections.deque()  # the end of its log, for LogType Tail
        self.kept_chars = 0

    def keep(self, line: str) -> None:
        self.lines.append(line)
        self.kept_chars += len(line) + 1
        while self.kept_chars > 2 * TAIL_BYTES and len(self.lines) > 1:
            self.kept_chars -= len(self.lines.popleft()) + 1


class Worker:
    """One process running one function revision; its stdout and stderr are its log stream."""

    def __init__(self, spec: FunctionSpec, logs: LogSink, endpoint_env: dict, on_done):
        self.spec = spec
        self.logs = logs
        self.on_done = on_done  # (worker, reusable) once an invocation is answered
        self.stream = invocation_log.stream_name()
        self.mark = f"\x1e{secrets.token_hex(8)}\x1e"  # the answer line's prefix; never in ordinary output
        self.lock = threading.Lock()
        self.current: Invocation | None = None
        self.timed_out = False
        self.invocations = 0
        self.last_used = time.monotonic()
        self.spawned = time.monotonic()
        self.init_ms: float | None = None  # set when the worker says it has loaded the handler
        self._log(invocation_log.init_start(spec.runtime))
        self.process = subprocess.Popen(
            worker_command(spec.runtime), cwd=spec.task_root, env=self._environment(endpoint_env),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.reader = threading.Thread(target=self._read, name=f"lambda-{spec.name}", daemon=True)
        self.reader.start()

    def _environment(self, endpoint_env: dict) -> dict:
        spec = self.spec
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(spec.task_root), "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
            "_HANDLER": spec.handler, "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb), "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group, "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
            **endpoint_env,  # AWS_ENDPOINT_URL, AWS_REGION, credentials: the handler's SDK calls come back here
            **spec.environment,
            "_CDC_BRIDGE_MARK": self.mark,
        }

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, invocation: Invocation) -> None:
        with self.lock:
            self.current = invocation
            self.invocations += 1
            # Lambda times init apart from the invocation: a cold worker gets INIT_TIMEOUT_S more, and
            # its Timeout starts again from the moment it is ready (_became_ready)
            self._arm(invocation, self.spec.timeout_s + (0 if self.init_ms is not None else INIT_TIMEOUT_S))
        invocation.future.add_done_callback(lambda _: invocation.timer.cancel())
        self._log(invocation_log.start(invocation.request_id))
        request = {"id": invocation.request_id, "event": invocation.payload.decode("utf-8", "replace"),
                   "timeout_ms": self.spec.timeout_s * 1000, "arn": self.spec.arn,
                   "client_context": invocation.client_context}
        try:
            self.process.stdin.write(orjson.dumps(request) + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker died: the reader sees its end and answers the invocation

    def _arm(self, invocation: Invocation, seconds: float) -> None:
        if invocation.timer is not None:
            invocation.timer.cancel()
        invocation.timer = threading.Timer(seconds, self._time_out, args=(invocation,))
        invocation.timer.daemon = True
        invocation.timer.start()

    def stop(self) -> None:
        with self.lock:
            if self.alive:
                _kill_group(self.process)

    # -- the reader thread ---------------------------------------------------------------------------

    def _read(self) -> None:
        for raw in self.process.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            before, found, answer = text.partition(self.mark)
            if before or not found:
                self._log(before)
            if found:
                message = orjson.loads(answer)
                if message.get("ready"):
                    self._became_ready()
                else:
                    self._answered(message)
        self.process.wait()
        self._exited()

    def _became_ready(self) -> None:
        with self.lock:
            self.init_ms = (time.monotonic() - self.spawned) * 1000
            waiting = self.current
            if waiting is not None and not waiting.future.done():
                waiting.started = time.monotonic()
                self._arm(waiting, self.spec.timeout_s)

    def _log(self, message: str) -> None:
        current = self.current
        if current is not None:
            current.keep(message)
        self.logs.append(self.spec.log_group, self.stream, [(int(time.time() * 1000), message)])

    def _answered(self, answer: dict) -> None:
        error = answer.get("error")
        if error is not None:
            self._finish(orjson.dumps(error), "Unhandled", answer.get("max_rss_kb", 0),
                         reusable="requestId" in error)  # an init failure is retried by a fresh worker
            return
        payload = answer["result"].encode()
        if len(payload) > MAX_RESPONSE_BYTES:
            payload = orjson.dumps({"errorMessage": "Response payload size exceeded maximum allowed payload size "
                                                    f"({MAX_RESPONSE_BYTES} bytes).",
                                    "errorType": "Function.ResponseSizeTooLarge"})
            self._finish(payload, "Unhandled", answer.get("max_rss_kb", 0), reusable=True)
            return
        self._finish(payload, None, answer.get("max_rss_kb", 0), reusable=True)

    def _exited(self) -> None:
        current = self.current
        if current is None or current.future.done():
            return
        if self.timed_out:
            self._finish_timed_out(current)
            return
        status = self.process.returncode
        reason = f"signal: {signal.Signals(-status).name.lower().removeprefix('sig')}" if status < 0 \
            else f"exit status {status}"
        self._log(f"RequestId: {current.request_id} Error: Runtime exited with error: {reason}")
        payload = orjson.dumps({"errorType": "Runtime.ExitError",
                                "errorMessage": f"RequestId: {current.request_id} Error: Runtime exited with error: "
                                                f"{reason}"})
        self._finish(payload, "Unhandled", 0, reusable=False, status="error")

    def _time_out(self, invocation: Invocation) -> None:
        with self.lock:
            if self.current is not invocation or invocation.future.done():
                return
            self.timed_out = True
            _kill_group(self.process)
        self.reader.join(2.0)  # the reader answers once the process is gone...
        if not invocation.future.done():  # ...unless a grandchild that left the group holds the pipe
            self._finish_timed_out(invocation)

    def _finish_timed_out(self, invocation: Invocation) -> None:
        message = invocation_log.timed_out(invocation.request_id, self.spec.timeout_s)
        self._log(message)
        payload = orjson.dumps({"errorType": "Sandbox.Timedout",
                                "errorMessage": f"RequestId: {invocation.request_id} Error: Task timed out after "
                                                f"{self.spec.timeout_s:.2f} seconds"})
        self._finish(payload, "Unhandled", 0, reusable=False, status="timeout")

    def _finish(self, payload: bytes, function_error: str | None, max_rss_kb: int, reusable: bool,
                status: str | None = None) -> None:
        with self.lock:
            invocation = self.current
            if invocation is None or invocation.future.done():
                return
            duration_ms = (time.monotonic() - invocation.started) * 1000
            self._log(invocation_log.end(invocation.request_id))
            init_ms = self.init_ms if self.invocations == 1 else None  # Lambda reports init in the first REPORT
            self._log(invocation_log.report(invocation.request_id, duration_ms, self.spec.memory_mb,
                                            max_rss_kb // 1024, status, init_ms))
            self.current = None
            self.last_used = time.monotonic()
        log = "\n".join(invocation.lines) + "\n"
        self.on_done(self, reusable and self.alive)  # back in the pool before the caller hears the answer
        invocation.future.set_result(Outcome(invocation.request_id, payload, function_error, log))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the handler's own children too
    except (ProcessLookupError, PermissionError):
        pass


class Runner:
    def __init__(self, logs: LogSink, endpoint_env: dict, idle_worker_seconds: float = 300.0):
        self.logs = logs
        self.endpoint_env = endpoint_env
        self.idle_worker_seconds = idle_worker_seconds
        self.lock = threading.Lock()
        self.idle: dict[tuple[str, str], list[Worker]] = {}
        self.busy: set[Worker] = set()
        self.current: dict[str, str] = {}  # function name -> the revision new invocations run
        self.stopping = threading.Event()
        self.reaper = threading.Thread(target=self._reap, name="lambda-reaper", daemon=True)
        self.reaper.start()

    def submit(self, spec: FunctionSpec, payload: bytes, client_context: str | None = None
               ) -> concurrent.futures.Future[Outcome]:
        invocation = Invocation(payload, client_context)
        self._worker_for(spec).run(invocation)
        return invocation.future

    def invoke(self, spec: FunctionSpec, payload: bytes, client_context: str | None = None) -> Outcome:
        return self.submit(spec, payload, client_context).result()

    async def invoke_async(self, spec: FunctionSpec, payload: bytes, client_context: str | None = None) -> Outcome:
        # a new worker is a fork and exec: off the event loop
        future = await asyncio.to_thread(self.submit, spec, payload, client_context)
        return await asyncio.wrap_future(future)

    def retire(self, name: str) -> None:
        """The function changed or is gone: its idle workers stop, busy ones when they finish."""
        with self.lock:
            self.current.pop(name, None)
            stale = [w for key, workers in self.idle.items() if key[0] == name for w in workers]
            self.idle = {key: workers for key, workers in self.idle.items() if key[0] != name}
        for worker in stale:
            worker.stop()

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            workers = [w for ws in self.idle.values() for w in ws] + list(self.busy)
            self.idle.clear()
        for worker in workers:
            worker.stop()

    def health(self) -> dict:
        with self.lock:
            return {"workers_idle": sum(len(ws) for ws in self.idle.values()), "workers_busy": len(self.busy)}

    def _worker_for(self, spec: FunctionSpec) -> Worker:
        key = (spec.name, spec.revision)
        with self.lock:
            self.current[spec.name] = spec.revision
            idle = self.idle.get(key, [])
            while idle:
                worker = idle.pop()
                if worker.alive:
                    self.busy.add(worker)
                    return worker
        worker = Worker(spec, self.logs, self.endpoint_env, self._done)
        with self.lock:
            self.busy.add(worker)
        return worker

    def _done(self, worker: Worker, reusable: bool) -> None:
        spec = worker.spec
        with self.lock:
            self.busy.discard(worker)
            keep = reusable and not self.stopping.is_set() and self.current.get(spec.name) == spec.revision
            if keep:
                self.idle.setdefault((spec.name, spec.revision), []).append(worker)
        if not keep:
            worker.stop()

    def _reap(self) -> None:
        while not self.stopping.wait(min(10.0, self.idle_worker_seconds)):
            cutoff = time.monotonic() - self.idle_worker_seconds
            with self.lock:
                old = [w for ws in self.idle.values() for w in ws if w.last_used < cutoff]
                for ws in self.idle.values():
                    ws[:] = [w for w in ws if w.last_used >= cutoff]
            for worker in old:
                worker.stop()
