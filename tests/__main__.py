"""The README's test command: `python -m tests [pytest args]`.

Two pytest runs, each in a subprocess of its own:

1. the whole suite on the memory broker (`--broker memory`);
2. the broker-facing suite (KAFKA_SUITE: change capture with its fault tests, the restart tests,
   the Streams and Kinesis APIs, retention, stock consumers) on Apache Kafka (`--broker kafka`),
   whenever Java >= 17 is there and Kafka's jars are cached or Maven can fetch them (the suite
   fetches them itself); otherwise that run is skipped, saying why.

The console's browser tests (tests/browser) are part of the first run whenever a Chromium is found;
otherwise they are skipped, and the summary says how to install one.

Then a summary: which broker runs ran, which were skipped and why, each run's counts and time,
and a closing line `N passed, N failed[, N skipped]` over both runs. The exit code is non-zero
when either run failed (pytest's exit 5, "no tests collected", is not a failure).

CDC_BRIDGE_TEST_RUNS=memory|kafka|memory,kafka (default both) picks the runs; any arguments are
handed to both pytest runs (e.g. `python -m tests -x -k streams`).

Each run spreads its test files over CDC_BRIDGE_TEST_WORKERS pytest-xdist workers (default 4;
1 runs in one process): the suite mostly waits on servers, brokers and timeouts, so four workers
on two cores finish in about half the time. A file stays on one worker (`--dist loadfile`): its
module fixtures start once, and each worker has its own session servers and broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What runs against Apache Kafka: everything that talks to a broker through cdc-bridge.
KAFKA_SUITE = (
    "tests/integration",               # change capture, fault and restart tests, connector, Kinesis on Kafka,
                                       # retention, stock consumers, the restart loop
    "tests/api/test_dynamodb_streams.py",
    "tests/api/test_kinesis_records.py",
    "tests/api/test_kinesis_streams.py",
    "tests/api/test_tables.py",        # stream specifications on CreateTable / UpdateTable
    "tests/api/test_firehose_records.py",  # delivery streams: DirectPut and Kinesis topics, checkpoints
    "tests/api/test_kinesis_destinations.py",  # a table's changes through the outbox into Kinesis partitions
    "tests/api/lambda_functions/test_event_source_mapping_cli.py",  # triggers: restart mid-stream, checkpoints
    "tests/api/lambda_functions/test_event_source_mapping_delivery.py",  # triggers: positions, retries, windows
    "tests/api/lambda_functions/test_event_source_mapping_shards.py",  # triggers: resharding, lanes, record age
    "tests/api/lambda_functions/test_event_source_mapping_leases.py",  # triggers: two ups on one cluster
)

# Broker-agnostic tests under tests/integration that pin `--broker memory` themselves (the HTTP
# layer: signatures and policies, TLS and limits, the fuzzer): the Kafka pass would repeat them as they are.
KAFKA_SUITE_SKIPS = (
    "tests/integration/test_auth.py",
    "tests/integration/test_transport.py",
    "tests/integration/test_fuzz.py",
    "tests/integration/test_testing.py",  # users' test tooling: its own sessions pin the memory broker
    # These start their own `up` and brokers whatever the suite's broker (both kinds, by name):
    "tests/integration/test_apache_kafka.py",
    "tests/integration/test_data_dir.py",
    "tests/integration/test_cli.py",
    "tests/integration/test_docker_compose.py",  # parses files, runs nothing
    "tests/integration/test_console_sign_in_limits.py",  # the console alone, in process: no broker at all
)

OK_EXIT = (0, 5)  # 5: no tests collected


def workers(extra: list[str]) -> list[str]:
    """pytest-xdist's arguments for CDC_BRIDGE_TEST_WORKERS (none when the caller chose -n itself)."""
    count = int(os.environ.get("CDC_BRIDGE_TEST_WORKERS", "4"))
    if count <= 1 or any(arg == "-n" or arg.startswith(("-n=", "--numprocesses")) for arg in extra):
        return []
    return ["-n", str(count), "--dist", "loadfile"]


@dataclass
class Run:
    name: str
    broker: str
    paths: tuple[str, ...]
    skipped_because: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {"passed": 0, "failed": 0, "skipped": 0})

    @property
    def failed(self) -> bool:
        return self.skipped_because is None and (self.exit_code not in OK_EXIT)


def kafka_unavailable() -> str | None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return None  # an external cluster: the suite uses it
    sys.path.insert(0, str(ROOT))
    from tests.conftest import apache_kafka_unavailable

    return apache_kafka_unavailable()


def fetch_kafka_once() -> None:
    """Fetch Apache Kafka's jars here, before the workers start: otherwise each worker that needs
    them first would run its own Maven (the fetch is safe to race, but four at once cost minutes)."""
    from cdc_bridge import apache_kafka

    if apache_kafka_usable() and not apache_kafka.is_fetched():
        try:
            apache_kafka.fetch()
        except (apache_kafka.Missing, RuntimeError, OSError) as error:  # the tests needing Kafka say why
            print(f"could not fetch Apache Kafka's jars: {error}", flush=True)


def apache_kafka_usable() -> bool:
    return not os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and kafka_unavailable() is None


def browser_tests_note() -> str:
    """The summary's line on the console's browser tests: run, or skipped and how to install Chromium."""
    sys.path.insert(0, str(ROOT))
    from tests.browser.chromium import find_chromium, unavailable

    problem = unavailable()
    if problem:
        return f"browser tests (tests/browser, the web console): SKIPPED, {problem}"
    return f"browser tests (tests/browser, the web console): run in the memory broker run, with {find_chromium()}"


def junit_counts(path: Path) -> dict[str, int] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failures = errors = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0))
        errors += int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return {"passed": tests - failures - errors - skipped, "failed": failures + errors, "skipped": skipped}


def run_pytest(run: Run, extra: list[str], work: Path) -> None:
    junit = work / f"junit-{run.broker}.xml"
    skips = [f"--ignore={path}" for path in KAFKA_SUITE_SKIPS] if run.paths == KAFKA_SUITE else []
    argv = [sys.executable, "-m", "pytest", "-q", f"--broker={run.broker}", f"--junitxml={junit}",
            "-o", "junit_family=xunit2", *workers(extra), *skips, *extra, *run.paths]
    print(f"\n===== {run.name}: {' '.join(argv[1:])}", flush=True)
    started = time.monotonic()
    run.exit_code = subprocess.call(argv, cwd=ROOT)
    run.seconds = time.monotonic() - started
    counts = junit_counts(junit)
    if counts is None:
        counts = {"passed": 0, "failed": 0 if run.exit_code in OK_EXIT else 1, "skipped": 0}
    elif run.exit_code not in OK_EXIT and counts["failed"] == 0:
        counts["failed"] = 1  # pytest failed without a failing test (internal or usage error, interrupted)
    run.counts = counts


def plain(counts: dict[str, int]) -> str:
    text = f"{counts['passed']} passed, {counts['failed']} failed"
    return text + (f", {counts['skipped']} skipped" if counts["skipped"] else "")


def main(argv: list[str]) -> int:
    wanted = {w.strip() for w in os.environ.get("CDC_BRIDGE_TEST_RUNS", "memory,kafka").split(",") if w.strip()}
    runs = [
        Run("memory broker, whole suite", "memory", ()),
        Run("Apache Kafka, broker-facing suite", "kafka", KAFKA_SUITE),
    ]
    for run in runs:
        if run.broker not in wanted:
            run.skipped_because = f"not in CDC_BRIDGE_TEST_RUNS={os.environ.get('CDC_BRIDGE_TEST_RUNS')}"
    kafka = runs[1]
    if kafka.skipped_because is None:
        kafka.skipped_because = kafka_unavailable()
    fetch_kafka_once()
    with tempfile.TemporaryDirectory(prefix="cdc-bridge-tests-") as work:
        for run in runs:
            if run.skipped_because is None:
                run_pytest(run, argv, Path(work))

    print("\n===== summary: both broker runs", flush=True)
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for run in runs:
        if run.skipped_because is not None:
            print(f"{run.name}: SKIPPED, {run.skipped_because}")
            continue
        verdict = "failed" if run.failed else "ok"
        print(f"{run.name}: {verdict} (pytest exit {run.exit_code}), {plain(run.counts)}, in {run.seconds:.0f} s")
        for key in total:
            total[key] += run.counts[key]
    if runs[0].skipped_because is None:
        print(browser_tests_note())
    print(plain(total), flush=True)
    return 1 if any(run.failed for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
