"""Apache Kafka itself, run by `cdc-bridge up --broker kafka` as a child process: ready, change
events readable by a plain Kafka consumer, a clean stop, no orphan after a SIGKILL, and the
records still there when `up` starts again on the same data directory.

These start their own brokers (whatever the suite's --broker), so they need Java 17+ and
Apache Kafka's jars (fetched with Maven when missing); without them they skip, saying why.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdc_bridge import apache_kafka
from cdc_bridge.broker import free_port
from tests.conftest import apache_kafka_unavailable, wait_healthy
from tests.integration.fault_helpers import create_streamed_table, must, read_topic, wait_drained

CLI = [sys.executable, "-m", "cdc_bridge.cli"]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module", autouse=True)
def kafka_jars():
    problem = apache_kafka_unavailable()
    if problem:
        pytest.skip(f"Apache Kafka cannot run here: {problem}")
    apache_kafka.fetch()  # once, before any `up` is timed


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "CDC_BRIDGE_BROKER")}
    return {**env, **extra}


class Up:
    """`cdc-bridge up --broker kafka` in its own process group, as a terminal would run it."""

    def __init__(self, data_dir: Path, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = data_dir.parent / f"up-{self.port}.err"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [*CLI, "up", "--port", str(self.port), "--data-dir", str(data_dir), *extra],
                env=env or environment(), stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)

    def healthy(self, timeout_s: float = 120.0) -> dict:
        health = wait_healthy(self.url, timeout_s, self.process, self.stderr_path)
        self.seconds_to_healthy = time.monotonic() - self.started
        return health

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def java_brokers_of(data_dir: Path) -> list[int]:
    """Every live `java ... kafka.Kafka` process whose configuration is in `data_dir`."""
    wanted = str(data_dir.resolve() / "kafka" / "server.properties")
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().split(") ")[1][0]
        except OSError:
            continue
        if state != "Z" and apache_kafka.MAIN_CLASS.encode() in argv and wanted.encode() in argv:
            pids.append(int(proc.name))
    return pids


def wait_no_broker(data_dir: Path, timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := java_brokers_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def put(url: str, table: str, key: str, v: int) -> None:
    must(url, "PutItem", {"TableName": table, "Item": {"pk": {"S": key}, "v": {"N": str(v)}}})


def test_up_runs_apache_kafka_a_plain_consumer_reads_the_events_and_sigterm_stops_the_jvm(tmp_path):
    data_dir = tmp_path / "data"
    up = Up(data_dir, "--broker", "kafka")
    try:
        health = up.healthy()
        broker = health["parts"]["broker"]
        assert broker["kind"] == "kafka"
        assert broker["bootstrap_servers"].startswith("127.0.0.1:")
        assert f"Apache Kafka {apache_kafka.KAFKA_VERSION}" in up.stderr()
        print(f"\n[apache kafka] up healthy in {up.seconds_to_healthy:.1f}s (first start, storage formatted), "
              f"broker ready in {broker['seconds_to_ready']}s, rss {apache_kafka.rss_bytes(broker['pid']) // 2**20} MB")
        assert java_brokers_of(data_dir) == [broker["pid"]]
        assert (data_dir / "kafka" / "data" / "meta.properties").is_file()
        assert (data_dir / "kafka" / "logs" / "server.log").is_file()

        topic = create_streamed_table(up.url, "kafka-events")
        for v in range(3):
            put(up.url, "kafka-events", "a", v)
        wait_drained(up.url, 30)
        events = read_topic(broker["bootstrap_servers"], topic)
        assert [(e.name, e.key, e.v) for e in events] == [("INSERT", "a", 0), ("MODIFY", "a", 1), ("MODIFY", "a", 2)]

        up.process.send_signal(signal.SIGTERM)
        up.process.wait(30)
        assert wait_no_broker(data_dir) == [], "Apache Kafka outlived `up` stopped with SIGTERM"
        assert "shut down completed" in (data_dir / "kafka" / "logs" / "server.log").read_text()
    finally:
        up.close()


def test_sigkill_of_up_takes_kafka_down_and_the_next_up_has_every_record(tmp_path):
    data_dir = tmp_path / "data"
    first = Up(data_dir, "--broker", "kafka")
    try:
        bootstrap = first.healthy()["parts"]["broker"]["bootstrap_servers"]
        topic = create_streamed_table(first.url, "kept")
        for v in range(5):
            put(first.url, "kept", f"k{v}", v)
        wait_drained(first.url, 30)
        before = read_topic(bootstrap, topic)
        assert len(before) == 5
        assert len(java_brokers_of(data_dir)) == 1
        first.kill_group()  # `up` and everything in its process group; the JVM has a group of its own
        assert wait_no_broker(data_dir) == [], "Apache Kafka outlived a SIGKILLed `up` (an orphan)"
    finally:
        first.close()

    second = Up(data_dir, "--broker", "kafka")
    try:
        broker = second.healthy()["parts"]["broker"]
        print(f"\n[apache kafka] up healthy again in {second.seconds_to_healthy:.1f}s after a SIGKILL "
              f"(log recovery), broker ready in {broker['seconds_to_ready']}s")
        assert broker["kind"] == "kafka"
        assert broker["bootstrap_servers"] == bootstrap  # the remembered port was free again
        assert "formatting" not in second.stderr()
        after = read_topic(broker["bootstrap_servers"], topic)
        assert [(e.partition, e.offset, e.key, e.v) for e in after] == [
            (e.partition, e.offset, e.key, e.v) for e in before]
        put(second.url, "kept", "k0", 10)
        wait_drained(second.url, 30)
        assert len(read_topic(broker["bootstrap_servers"], topic)) == 6
    finally:
        second.close()
    assert wait_no_broker(data_dir) == []


def test_kafka_fetch_returns_at_once_when_the_jars_are_cached():
    started = time.monotonic()
    out = subprocess.run([*CLI, "kafka", "fetch"], capture_output=True, text=True, timeout=60, env=environment(), check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(apache_kafka.kafka_home())
    assert time.monotonic() - started < 10


def test_without_java_fetch_says_what_is_missing_and_auto_runs_the_memory_broker_saying_so(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = environment(PATH=str(empty), CDC_BRIDGE_CACHE=str(tmp_path / "cache"))
    env.pop("JAVA_HOME", None)
    out = subprocess.run([*CLI, "kafka", "fetch"], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert out.returncode == 2
    assert "Java 17 or newer was not found" in out.stderr and "Maven" in out.stderr

    up = Up(tmp_path / "data", env=env)  # --broker auto, the default
    try:
        assert up.healthy(60)["parts"]["broker"]["kind"] == "embedded"
        assert "will not survive a restart" in up.stderr()
    finally:
        up.close()
