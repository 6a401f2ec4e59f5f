"""Fuzz proof (issue 16): --requests (100,000) requests generated from botocore's models of
DynamoDB, DynamoDB Streams and Kinesis (bench/harness/request_fuzzer.py: valid, broken in one
spot, junk bodies, bad X-Amz-Target, deep nesting, huge values, junk signature headers) sent to
`cdc-bridge up` on --threads keep-alive connections, after tables, a stream and a Kinesis stream
were made for valid requests to name.

Judged: zero 5xx, no connection dropped without an answer (a body over 16 MB may be cut off
while it is still being sent), the server alive and answering /health at the end, and memory:
the RSS of the process tree (broker included) and of the server process is sampled after every
--batch requests; bounded when the server process grows by at most --rss-growth (10 %) over the
second half of the run (the first half fills caches, pools and the data the run writes). Every
failure is printed with its seed and request number (`RequestFuzzer(seed).request(i)` makes it
again) and the server's traceback.
"""

from __future__ import annotations

import random
from collections import Counter

from bench.harness import fuzz_run
from bench.harness.procs import http_status, tree_rss_mb
from bench.harness.report import Report, at_most, fmt
from bench.harness.request_fuzzer import RequestFuzzer
from bench.harness.servers import start

SUMMARY = "100,000 generated valid and invalid requests over every API: zero 5xx, no crash, RSS bounded"
DEFAULT_ROUNDS = 1
SHOWN_FAILURES = 10
MAX_FAILURES = 20


def rss_mb(root) -> tuple[float | None, float | None]:
    """RSS of the whole tree (the broker included) and of the server process alone."""
    if not root.alive():
        return None, None
    per_process = tree_rss_mb(root.pid)
    return sum(per_process.values()), next((mb for name, mb in per_process.items() if f"({root.pid})" in name), None)


def add_arguments(p) -> None:
    p.add_argument("--requests", type=int, default=100_000, help="requests to send")
    p.add_argument("--seed", type=int, default=None, help="the generator's seed (default: a random one, printed)")
    p.add_argument("--threads", type=int, default=4, help="client threads, one keep-alive connection each")
    p.add_argument("--batch", type=int, default=5_000, help="requests between two RSS samples")
    p.add_argument("--rss-growth", type=float, default=0.10,
                   help="the server process's RSS growth from the middle of the run to its end that still counts as "
                        "bounded")


def run(bench, args) -> Report:
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print(f"fuzz seed {seed} (--seed {seed} repeats this run)", flush=True)
    report = Report(f"Fuzz: {args.requests:,} generated requests, seed {seed}")
    server = start(bench, "ours")
    fuzzer = RequestFuzzer(seed, fuzz_run.prepare(server.port))
    root = server.processes[0]
    total, samples = fuzz_run.Outcome(), []
    for first in range(0, args.requests, args.batch):
        outcome = fuzz_run.run(server.port, fuzzer, range(first, min(first + args.batch, args.requests)), args.threads)
        total.merge(outcome)
        total.seconds += outcome.seconds
        samples.append((total.sent, *rss_mb(root)))
        print(f"  {total.sent:,} requests, {sum(c for s, c in total.statuses.items() if s >= 500)} 5xx, "
              f"RSS {fmt(samples[-1][1], 1)} MB (server {fmt(samples[-1][2], 1)} MB)", flush=True)
        if len(total.failures) >= MAX_FAILURES or not root.alive():
            break
    alive = root.alive() and http_status(server.port, "/health") == 200
    summarize(report, total, samples, seed, alive, args)
    show_failures(report, total, root.log_path.read_text(errors="replace"))
    return report


def summarize(report: Report, total: fuzz_run.Outcome, samples: list, seed: int, alive: bool, args) -> None:
    statuses = report.table("answers by kind of request", ["kind", "requests", "200", "4xx", "413", "5xx", "cut off"])
    by_kind: dict[str, Counter] = {}
    for (kind, status), count in total.kinds.items():
        by_kind.setdefault(kind, Counter())[status] += count
    for kind, counts in sorted(by_kind.items()):
        statuses.add(kind, fmt(sum(counts.values())), fmt(counts[200]),
                     fmt(sum(c for s, c in counts.items() if s != "cut off" and 400 <= s < 500 and s != 413)),
                     fmt(counts[413]), fmt(sum(c for s, c in counts.items() if s != "cut off" and s >= 500)),
                     fmt(counts["cut off"]))
    rss = report.table("RSS, MB: the process tree (broker included) and the server process alone",
                       ["after requests", "tree", "server process"])
    for sent, tree_mb, server_mb in samples:
        rss.add(fmt(sent), fmt(tree_mb, 1), fmt(server_mb, 1))
    server_errors = sum(c for s, c in total.statuses.items() if s >= 500)
    dropped = sum(1 for f in total.failures if f.status is None)
    # Judged from the middle of the run: the first half fills caches and pools (SQLite pages,
    # Kafka readers, the items and records the run writes), the second must not keep growing.
    first, last = samples[len(samples) // 2][2], samples[-1][2]
    growth = (last - first) / first if first and last else None
    report.verdicts += [at_most("5xx answers", server_errors, 0), at_most("connections dropped without an answer",
                                                                          dropped, 0),
                        at_most("server down at the end (0: alive, /health 200)", 0 if alive else 1, 0),
                        at_most("server process RSS growth over the second half", growth, args.rss_growth,
                                note=f"{fmt(first, 1)} MB -> {fmt(last, 1)} MB")]
    report.notes.append(f"{total.sent:,} requests in {total.seconds:.0f} s on {args.threads} connections "
                        f"({fmt(total.sent / total.seconds if total.seconds else None)}/s); seed {seed}; "
                        f"{total.cut_off} bodies over 16 MB cut off while being sent")
    report.data.update({"seed": seed, "sent": total.sent, "statuses": {str(k): v for k, v in total.statuses.items()},
                        "rss_mb": samples, "failures": [f.describe() for f in total.failures]})
    if server_errors or dropped or not alive:
        report.errors.append(f"{server_errors} 5xx, {dropped} dropped connections, server alive: {alive} (seed {seed})")


def show_failures(report: Report, total: fuzz_run.Outcome, server_log: str) -> None:
    for failure in total.failures[:SHOWN_FAILURES]:
        report.notes.append(f"FAILED {failure.describe()}")
        print(f"FAILED {failure.describe()}", flush=True)
    tracebacks = [line for line in server_log.splitlines() if '"internal error"' in line]
    for line in tracebacks[:SHOWN_FAILURES]:
        print(f"server log: {line[:3000]}", flush=True)
    if tracebacks:
        report.notes.append(f"{len(tracebacks)} internal errors in the server log (first: {tracebacks[0][:1500]})")
