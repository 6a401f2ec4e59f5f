"""One run of one workload: options common to all, the servers' lifetimes, the report, the JSON
file and the `bench/RESULTS.md` section. Entry point: `python -m bench` (bench/__main__.py)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.harness import procs
from bench.harness import report as rep
from bench.harness.procs import ServerFailed, ServerProcess
from bench.harness.timing import STOP

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
WORKLOADS = ["table", "update", "query", "cdc", "streams", "kinesis"]


class Bench:
    """What a workload gets: its options, a work dir, and `launch` for server processes (all
    stopped at the end of the run, on Ctrl-C and on SIGTERM; they also die with this process)."""

    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.project = Path(args.project).resolve()
        self.processes: list[ServerProcess] = []
        self.brokers: list[str] = []
        self._ports: set[int] = set()

    def free_port(self) -> int:
        while True:
            port = procs.free_port()
            if port not in self._ports:
                self._ports.add(port)
                return port

    def launch(self, process: ServerProcess) -> ServerProcess:
        self.processes.append(process)  # stopped in the end even if it never gets ready
        process.start(self.args.startup_timeout)
        return process

    def note_broker(self, text: str) -> None:
        if text not in self.brokers:
            self.brokers.append(text)

    def stop(self) -> None:
        STOP.set()
        for process in reversed(self.processes):
            process.stop()


def common_options(p: argparse.ArgumentParser, rounds: int) -> None:
    g = p.add_argument_group("common options")
    g.add_argument("--rounds", type=int, default=rounds, help="repeat the measurements; medians are reported")
    g.add_argument("--project", default=str(ROOT),
                   help="the checkout whose `cdc-bridge` runs as ours (default: this one); its commit is recorded")
    g.add_argument("--kafka", metavar="BOOTSTRAP", help="ours uses this Kafka instead of starting its own broker")
    g.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for each server")
    g.add_argument("--json", metavar="PATH", help="raw figures (default: bench/results/<workload>.json, gitignored)")
    g.add_argument("--results", metavar="PATH", default=str(BENCH / "RESULTS.md"),
                   help="the results file whose section this run replaces")
    g.add_argument("--no-results", action="store_true", help="do not touch the results file")


def parser() -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="workload", required=True, metavar="WORKLOAD")
    modules = {}
    for name in WORKLOADS:
        module = modules[name] = importlib.import_module(f"bench.workloads.{name}")
        w = sub.add_parser(name, help=module.SUMMARY, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(w)
        common_options(w, getattr(module, "DEFAULT_ROUNDS", 3))
    return p, modules


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p, modules = parser()
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    module = modules[args.workload]
    if hasattr(module, "check_arguments"):
        module.check_arguments(p, args)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{args.workload}-"))
    bench = Bench(args, workdir)
    started = rep.now()
    t0 = time.monotonic()
    print(f"bench {args.workload}: {rep.command_line(argv)}; work dir {workdir}", flush=True)
    result: rep.Report | None = None
    code = 0
    try:
        result = module.run(bench, args)
        code = 1 if result.errors else 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        if not isinstance(exc, (ServerFailed, RuntimeError)):
            traceback.print_exc()
        print(f"\nFAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        for process in bench.processes:
            if process.process is not None and not isinstance(exc, ServerFailed):
                print(f"{process.name} log tail:\n{process.log_tail()}", file=sys.stderr)
        code = 1
    finally:
        bench.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if result is None:
        return code
    key = module.section_key(args) if hasattr(module, "section_key") else args.workload
    project = Path(args.project).resolve()
    commit = rep.commit_of(project)
    if project != ROOT:
        commit += f" (server code at {project}; bench code at {rep.commit_of(ROOT)})"
    meta = {"date": started, "commit": commit, "machine": rep.machine(),
            "command": f"`{rep.command_line(argv)}`", "broker": "; ".join(bench.brokers) or "none (no server of ours)",
            "versions": rep.versions("boto3", "moto", "confluent-kafka", "orjson"),
            "CPU": procs.CPU_RULE, "duration": f"{time.monotonic() - t0:.0f} s"}
    text = rep.section(key, result, meta)
    print("\n" + "=" * 100 + "\n" + text, flush=True)
    json_path = Path(args.json or BENCH / "results" / f"{key.replace(' ', '_')}.json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"meta": meta, "args": vars(args), "title": result.title,
                                     "verdicts": [v.__dict__ for v in result.verdicts], "errors": result.errors,
                                     "data": result.data}, indent=1, default=str) + "\n")
    print(f"raw figures: {os.path.relpath(json_path)}")
    if not args.no_results:
        rep.write_results(Path(args.results), key, text, WORKLOADS)
        print(f"results: section '{key}' of {os.path.relpath(args.results)}")
    return code
