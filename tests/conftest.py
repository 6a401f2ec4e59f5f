"""Fixtures: a real broker, a live server over HTTP, and boto3 / AWS CLI clients pointed at it.

The suite dogfoods the pytest plugin users get (cdc_bridge.testing.pytest_plugin): its `dynamodb`
client and the rest come from the plugin, built on the plugin's `cdc_bridge` stack, which this file
overrides only to put `cdc-bridge up` on the session's broker (`local(kafka_bootstrap_servers=...)`).

Set CDC_BRIDGE_TEST_ENDPOINT=http://host:port to run the API tests against an already running
endpoint instead (another cdc-bridge, or a peer such as moto, to check what a test expects).

The broker the suite runs against: `--broker memory|kafka|auto` or CDC_BRIDGE_TEST_BROKER (the
option wins; default memory, the embedded broker). `kafka` starts Apache Kafka itself once per
session (fetching its jars with Maven the first time), and skips the broker-facing tests, saying
why, when Java 17+ or the jars (and Maven to fetch them) are not there. The choice is also handed
to every `cdc-bridge up` a test starts (CDC_BRIDGE_BROKER). KAFKA_BOOTSTRAP_SERVERS still wins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from cdc_bridge.broker import CHOICES, free_port, provision, spawn_child, stop_child
from cdc_bridge.testing import endpoint, local
from cdc_bridge.testing.stack import CREDENTIALS, REGION  # noqa: F401 -- imported from here by the tests
from cdc_bridge.testing.stack import wait_healthy as wait_for_health

# Property tests judge results, not speed: on a loaded 2-core machine an example can take longer
# than hypothesis's default 200 ms deadline without anything being wrong.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_addoption(parser):
    parser.addoption("--broker", choices=CHOICES, default=None,
                     help="the broker the tests run against: memory (the embedded broker, default), kafka (Apache "
                          "Kafka, started once per session) or auto [env: CDC_BRIDGE_TEST_BROKER]")
    parser.addoption("--console-screenshots", default=None, metavar="DIR",
                     help="where the console's browser tests save their screenshots (default: each test's tmp path)")


def suite_broker_choice(config) -> str:
    choice = config.getoption("--broker", None) or os.environ.get("CDC_BRIDGE_TEST_BROKER") or "memory"
    if choice not in CHOICES:
        raise pytest.UsageError(f"CDC_BRIDGE_TEST_BROKER={choice!r}: expected one of {', '.join(CHOICES)}")
    return choice


def pytest_configure(config):
    # every `cdc-bridge up` / `broker` a test starts runs the suite's broker unless it says otherwise
    os.environ["CDC_BRIDGE_BROKER"] = suite_broker_choice(config)


def apache_kafka_unavailable() -> str | None:
    """Why Apache Kafka cannot run here (None: it can, possibly after fetching its jars)."""
    from cdc_bridge import apache_kafka

    found = apache_kafka.tools()
    if not found.java_ok:
        return found.java_problem()
    if not apache_kafka.is_fetched() and not found.maven:
        return f"Apache Kafka's jars are not cached and {found.maven_problem()}"
    return None


@pytest.fixture(scope="session")
def broker(request, tmp_path_factory):
    choice = suite_broker_choice(request.config)
    if choice == "kafka" and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        problem = apache_kafka_unavailable()
        if problem:
            pytest.skip(f"--broker kafka: {problem}")
    with provision(choice=choice, data_dir=tmp_path_factory.mktemp("broker")) as b:
        yield b


class ServerProcess:
    """A `cdc-bridge` subcommand running as a child process, on its own port and data dir."""

    def __init__(self, command: str, data_dir: Path, *extra: str, env: dict | None = None):
        self.command = command
        self.scheme = "http"  # "https" for a server started with --tls-cert
        self.data_dir = data_dir
        self.argv = [sys.executable, "-m", "cdc_bridge.cli", command, "--port", "0",
                     *(["--data-dir", str(data_dir)] if command in ("up", "table-api", "connector") else []), *extra]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.take_port(free_port())

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def take_port(self, port: int) -> None:
        self.port = port
        self.argv[self.argv.index("--port") + 1] = str(port)
        self.log_path = self.data_dir / f"{self.command}-{port}.log"

    def start(self, timeout_s: float = 60.0, wait=None) -> "ServerProcess":
        """Start it and wait until it answers (`wait(timeout_s)`, by default /health over plain
        HTTP). A port that another process took between `free_port` and the bind is replaced."""
        for attempt in range(3):
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
                self.process = spawn_child(self.argv, env=self.env, stdout=log, stderr=log)
            try:
                (wait or self.wait_healthy)(timeout_s)
                return self
            except RuntimeError as exc:
                if "address already in use" not in str(exc) or attempt == 2:
                    raise
                stop_child(self.process)
                self.take_port(free_port())
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        wait_healthy(self.url, timeout_s, self.process, self.log_path)

    def stop(self) -> None:
        if self.process is not None:
            stop_child(self.process)


def wait_healthy(url: str, timeout_s: float, process: subprocess.Popen | None = None, log_path: Path | None = None):
    """The server's /health once it answers 200; RuntimeError with its log as soon as it exits."""
    def exited() -> str | None:
        if process is None or process.poll() is None:
            return None
        output = log_path.read_text() if log_path and log_path.exists() else ""
        return f"server exited with {process.returncode}:\n{output}"

    return wait_for_health(url, timeout_s, exited)


@pytest.fixture(scope="session")
def cdc_bridge(broker, tmp_path_factory):
    """The plugin's stack, on the session's broker (or the endpoint CDC_BRIDGE_TEST_ENDPOINT names)."""
    external = os.environ.get("CDC_BRIDGE_TEST_ENDPOINT")
    if external:
        yield endpoint(external)
        return
    with local(kafka_bootstrap_servers=broker.bootstrap_servers, data_dir=tmp_path_factory.mktemp("server")) as stack:
        yield stack


@pytest.fixture(scope="session")
def endpoint_url(cdc_bridge):
    return cdc_bridge.get_endpoint_url()


_SESSION_SERVERS: dict[str, ServerProcess] = {}


def session_up_url(name: str, broker, tmp_path_factory, request, *args: str) -> str:
    """One `cdc-bridge up` per test session and `name`, whichever module asks first, on the session's
    broker and stopped at the session's end; CDC_BRIDGE_TEST_ENDPOINT names a server to use instead."""
    external = os.environ.get("CDC_BRIDGE_TEST_ENDPOINT")
    if external:
        return external
    if name not in _SESSION_SERVERS:
        server = ServerProcess("up", tmp_path_factory.mktemp(name), "--kafka-bootstrap-servers",
                               broker.bootstrap_servers, *args)
        server.start()
        _SESSION_SERVERS[name] = server
        request.session.addfinalizer(lambda: _SESSION_SERVERS.pop(name).stop())
    return _SESSION_SERVERS[name].url


def client_kwargs(endpoint_url: str) -> dict:
    return endpoint(endpoint_url).client_kwargs()


@pytest.fixture(scope="session")
def dynamodb_resource(cdc_bridge):
    return cdc_bridge.dynamodb_resource()


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_table(dynamodb, dynamodb_resource):
    """Create a table with the given key (HASH, or HASH + RANGE); deleted after the test."""
    created = []

    def make(hash_key=("pk", "S"), range_key=None, name=None, **extra):
        name = name or unique_name()
        key_schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
        definitions = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
        if range_key:
            key_schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
            definitions.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        extra.setdefault("BillingMode", "PAY_PER_REQUEST")
        dynamodb.create_table(TableName=name, KeySchema=key_schema, AttributeDefinitions=definitions, **extra)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        created.append(name)
        return dynamodb_resource.Table(name)

    yield make
    for name in created:
        try:
            dynamodb.delete_table(TableName=name)
        except dynamodb.exceptions.ResourceNotFoundException:
            pass


@pytest.fixture
def table(make_table):
    """A table with a string partition key `pk`."""
    return make_table()


@pytest.fixture
def composite_table(make_table):
    """A table with partition key `pk` (S) and sort key `sk` (N)."""
    return make_table(range_key=("sk", "N"))


@pytest.fixture
def aws_cli(endpoint_url, tmp_path):
    """Run the AWS CLI from the test extras against the endpoint; returns CompletedProcess."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_PAGER": "",
    }
    aws = str(Path(sys.executable).with_name("aws"))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([aws, "--endpoint-url", endpoint_url, *args], env=env,
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    return run
