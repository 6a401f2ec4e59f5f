"""The threaded timing loop, percentiles and latency summaries."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

STOP = threading.Event()  # set on Ctrl-C / shutdown: every worker loop checks it
MAX_CONSECUTIVE_ERRORS = 50


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100); NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values) / 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def lat_stats(values_ms: Iterable[float]) -> dict[str, Any]:
    """n, p50/p90/p99/max/mean of latencies in ms."""
    lat = sorted(values_ms)
    n = len(lat)
    return {"n": n, "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if n else float("nan"), "mean_ms": sum(lat) / n if n else float("nan")}


@dataclass
class Result:
    ops: int
    errors: int
    wall_s: float
    latencies_s: list[float] = field(repr=False)
    first_error: str | None = None
    aborted: bool = False

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s > 0 else float("nan")

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies_s), q) * 1000.0

    def summary(self) -> dict[str, Any]:
        return {"ops": self.ops, "errors": self.errors, "wall_s": self.wall_s, "ops_per_s": self.ops_per_s,
                "p50_ms": self.p(50), "p99_ms": self.p(99), "first_error": self.first_error,
                "aborted": self.aborted}


def run_threads(threads: int, total_ops: int, make_op: Callable[[int], Callable[[int], bool]],
                close: Callable[[Callable], None] | None = None) -> Result:
    """Run `total_ops` operations spread over `threads` threads; time each one.

    `make_op(thread)` runs on the worker thread before the clock starts and returns `op(i)` (i: the
    operation's index in the whole workload), which returns True on success (False or an exception:
    an error; `op.last_error`, if set, says which). A thread gives up after MAX_CONSECUTIVE_ERRORS
    errors in a row. The clock runs from the moment every thread is ready until the last is done."""
    threads = max(1, min(threads, total_ops))
    per_thread = [total_ops // threads + (1 if t < total_ops % threads else 0) for t in range(threads)]
    starts = [sum(per_thread[:t]) for t in range(threads)]
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors, done = [0] * threads, [0] * threads
    first_error: list[str] = []
    aborted = [False] * threads

    def worker(t: int) -> None:
        try:
            op = make_op(t)
        except Exception as exc:  # still meet the barrier so nobody waits forever
            first_error.append(f"setup: {type(exc).__name__}: {exc}")
            aborted[t], op = True, None
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            return
        if op is None:
            return
        lat, perf, consecutive = latencies[t], time.perf_counter, 0
        for i in range(starts[t], starts[t] + per_thread[t]):
            if STOP.is_set():
                aborted[t] = True
                break
            t0 = perf()
            try:
                ok, err = bool(op(i)), "operation returned an error"
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
                first_error.append(getattr(op, "last_error", None) or err)
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
    return Result(ops=sum(done), errors=sum(errors), wall_s=time.perf_counter() - t0,
                  latencies_s=[x for lat in latencies for x in lat],
                  first_error=first_error[0] if first_error else None, aborted=any(aborted))


def checked_op(call: Callable[[int], tuple[int, bytes]], accept: Callable[[bytes], str | None] | None = None):
    """op(i) for run_threads around `call(i) -> (status, body)`: an error unless HTTP 200 and
    `accept(body)` returns no error text. Records the first error in `op.last_error`."""
    def op(i: int) -> bool:
        status, data = call(i)
        error = (f"HTTP {status}: {data[:200].decode(errors='replace')}" if status != 200
                 else accept(data) if accept is not None else None)
        if error and op.last_error is None:
            op.last_error = error
        return error is None
    op.last_error = None
    return op
