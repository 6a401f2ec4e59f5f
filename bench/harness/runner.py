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
WORKLOADS = ["table", "update", "transactions", "query", "indexes", "ttl", "cdc", "streams", "kinesis", "restart", "fuzz",
             "soak", "throttle", "firehose", "triggers", "console"]
BROKERS = ["memory", "kafka"]
BROKER_LABEL = {"memory": "memory broker (embedded)", "kafka": "Apache Kafka (local JVM broker)"}


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
        # the broker `cdc-bridge up` runs in this pass (`--broker`; `both` runs the workload once per broker)
        self.broker: str = BROKERS[0] if args.broker == "both" else args.broker

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

    def stop_servers(self) -> None:
        """Stop every server started so far (between the passes of `--broker both`)."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def stop(self) -> None:
        STOP.set()
        self.stop_servers()


def common_options(p: argparse.ArgumentParser, rounds: int, default_broker: str = "memory") -> None:
    g = p.add_argument_group("common options")
    g.add_argument("--rounds", type=int, default=rounds, help="repeat the measurements; medians are reported")
    g.add_argument("--project", default=str(ROOT),
                   help="the checkout whose `cdc-bridge` runs as ours (default: this one); its commit is recorded")
    g.add_argument("--kafka", metavar="BOOTSTRAP", help="ours uses this Kafka instead of starting its own broker")
    g.add_argument("--broker", choices=[*BROKERS, "both"], default=default_broker,
                   help="the broker `cdc-bridge up` runs (its --broker): memory (the embedded one), kafka (Apache "
                        "Kafka from its jars, a JVM child of `up`), both (streams, kinesis, cdc, restart: the workload "
                        f"runs once per broker in this invocation, peers included, and reports both) [default: {default_broker}]")
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
        common_options(w, getattr(module, "DEFAULT_ROUNDS", 3), getattr(module, "DEFAULT_BROKER", "memory"))
    return p, modules


def run_passes(bench: Bench, module, args, workdir: Path) -> rep.Report:
    """The workload once (`--broker memory|kafka`) or once per broker (`both`: servers, peers included,
    stopped between the passes; each pass in its own work dir), merged into one report."""
    if args.broker != "both":
        return module.run(bench, args)
    reports: dict[str, rep.Report] = {}
    failed: dict[str, str] = {}
    for broker in BROKERS:
        bench.broker = broker
        bench.workdir = workdir / broker
        bench.workdir.mkdir()
        print(f"\n===== {args.workload}: pass on the {BROKER_LABEL[broker]} =====", flush=True)
        try:
            reports[broker] = module.run(bench, args)
        except (ServerFailed, RuntimeError) as exc:  # the other broker's pass still runs and is reported
            failed[broker] = f"{type(exc).__name__}: {exc}"
            print(f"\nTHE {broker.upper()} PASS FAILED: {failed[broker]}", file=sys.stderr)
            for process in bench.processes:
                if process.process is not None and not isinstance(exc, ServerFailed):
                    print(f"{process.name} log tail:\n{process.log_tail()}", file=sys.stderr)
        finally:
            bench.stop_servers()
    if not reports:
        raise RuntimeError("; ".join(f"{b}: {e}" for b, e in failed.items()))
    return rep.merge_brokers(reports, failed, BROKER_LABEL)


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
    if args.broker == "both" and not getattr(module, "BOTH_BROKERS", False):
        p.error(f"{args.workload} takes --broker memory or kafka (both: streams, kinesis, cdc, restart)")
    if args.broker == "both" and args.kafka:
        p.error("--broker both and --kafka exclude each other (--kafka: ours uses that cluster)")
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{args.workload}-"))
    bench = Bench(args, workdir)
    started = rep.now()
    t0 = time.monotonic()
    print(f"bench {args.workload}: {rep.command_line(argv)}; work dir {workdir}", flush=True)
    load_start = rep.busy_processes(1.0, {os.getpid()})
    print(f"machine at start: {load_start}", flush=True)
    result: rep.Report | None = None
    code = 0
    try:
        result = run_passes(bench, module, args, workdir)
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
    load_end = rep.busy_processes(1.0, {os.getpid()})
    if result is None:
        return code
    key = module.section_key(args) if hasattr(module, "section_key") else args.workload
    if args.broker != getattr(module, "DEFAULT_BROKER", "memory") and not args.kafka:
        key += f" (broker {args.broker})"   # a run on another broker than the default keeps its own section
    project = Path(args.project).resolve()
    commit = rep.commit_of(project)
    if project != ROOT:
        commit += f" (server code at {project}; bench code at {rep.commit_of(ROOT)})"
    meta = {"date": started, "commit": commit, "machine": rep.machine(),
            "command": f"`{rep.command_line(argv)}`", "broker": "; ".join(bench.brokers) or "none (no server of ours)",
            "versions": rep.versions("boto3", "moto", "confluent-kafka", "orjson"),
            "CPU": procs.CPU_RULE, "duration": f"{time.monotonic() - t0:.0f} s",
            "machine load": f"at start: {load_start}; at the end (servers stopped): {load_end}"}
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
