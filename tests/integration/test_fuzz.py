"""The fuzz proof, short: a few thousand requests generated from botocore's models of every API on
the port (bench/harness/request_fuzzer.py; `python -m bench fuzz` sends 100,000) get no 5xx, no
dropped connection, and the server keeps answering. The seed is printed and can be set with
CDC_BRIDGE_FUZZ_SEED to repeat a run; a failure shows each failing request and the server's
tracebacks."""

from __future__ import annotations

import os
import random

import httpx
import pytest

from bench.harness import fuzz_run
from bench.harness.request_fuzzer import RequestFuzzer
from tests.conftest import ServerProcess

REQUESTS = int(os.environ.get("CDC_BRIDGE_FUZZ_REQUESTS", "5000"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ServerProcess("up", tmp_path_factory.mktemp("fuzz")).start()
    yield server
    server.stop()


def server_tracebacks(server: ServerProcess) -> list[str]:
    return [line for line in server.log_path.read_text(errors="replace").splitlines() if '"internal error"' in line]


def test_generated_requests_get_no_5xx_and_the_server_stays_up(server):
    seed = int(os.environ.get("CDC_BRIDGE_FUZZ_SEED") or random.randrange(1 << 31))
    print(f"fuzz seed {seed} (CDC_BRIDGE_FUZZ_SEED={seed} repeats this run)")
    fuzzer = RequestFuzzer(seed, fuzz_run.prepare(server.port), huge_bytes=256 * 1024)
    outcome = fuzz_run.run(server.port, fuzzer, range(REQUESTS), threads=4)
    report = "\n".join(f.describe() for f in outcome.failures) + "\n" + "\n".join(server_tracebacks(server)[:5])
    assert not outcome.failures, f"seed {seed}: {len(outcome.failures)} failures\n{report}"
    assert outcome.sent == REQUESTS
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert outcome.statuses[200] > 0  # some requests got through to the operations
