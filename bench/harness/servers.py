"""The servers under test and how clients reach them.

A `Server` is what a workload measures: one or more processes (their whole trees count for CPU),
the port of each AWS service, and its clients. Ours comes in two shapes: `cdc-bridge up` (one
process, its broker a child) and `up` plus a `cdc-bridge connector` process of its own, reading
the up's broker (writes go to the up, Streams and Kinesis calls to the connector).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.harness.clients import SERVICES, RawJsonClient, boto3_client, loads, signed_headers
from bench.harness.procs import HOST, CpuWindow, ServerProcess, http_get, http_status

if TYPE_CHECKING:
    from bench.harness.runner import Bench

STUB_SCRIPT = Path(__file__).with_name("stub_server.py")
KINESALITE_SCRIPT = ("require('kinesalite')({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, "
                     "shardLimit: 100000}).listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))")
DYNALITE_SCRIPT = ("require('dynalite')({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0})"
                   ".listen(+process.argv[1], '127.0.0.1')")


class Server:
    def __init__(self, name: str, processes: list[ServerProcess], port: int, signed: bool,
                 ports: dict[str, int] | None = None, kind: str = ""):
        self.name, self.processes, self.port, self.signed = name, processes, port, signed
        self.ports = ports or {}
        self.kind = kind                      # what it is, for the report
        self.bootstrap: str | None = None     # ours: the Kafka it uses
        self.broker: str | None = None        # ours: the broker's kind (embedded, external, ...)
        self._boto3: dict[str, Any] = {}
        self._headers: dict[str, dict[str, str]] = {}

    def port_of(self, service: str) -> int:
        return self.ports.get(service, self.port)

    def boto3(self, service: str = "dynamodb"):
        client = self._boto3.get(service)
        if client is None:
            client = self._boto3[service] = boto3_client(service, self.port_of(service))
        return client

    def headers(self, service: str) -> dict[str, str]:
        if not self.signed:
            return {}
        if service not in self._headers:
            self._headers[service] = signed_headers(self.boto3(service), SERVICES[service][2])
        return self._headers[service]

    def raw(self, service: str = "dynamodb", timeout: float = 30.0) -> RawJsonClient:
        return RawJsonClient(self.port_of(service), service, self.headers(service), timeout)

    def call(self, service: str, operation: str, request: dict) -> Any:
        """One raw call that must succeed."""
        raw = self.raw(service)
        try:
            return raw.ok(operation, request)
        finally:
            raw.close()

    def cpu(self) -> CpuWindow:
        return CpuWindow(self.processes)

    def check(self) -> None:
        for p in self.processes:
            p.check()

    def health(self) -> dict:
        return loads(http_get(self.port, "/health")[1])

    def describe(self) -> str:
        pids = ", ".join(f"{p.name} pid {p.pid}" for p in self.processes)
        return f"{self.name}: {self.kind} on port {self.port} ({pids})"


def _python(bench: Bench) -> str:
    return sys.executable


def cli_has(project: Path, text: str) -> bool:
    """Whether the checkout's CLI source holds `text`: older checkouts (`--project`) lack newer options."""
    try:
        return text in (project / "cdc_bridge" / "cli.py").read_text()
    except OSError:
        return False


def up_argv(bench: Bench, port: int, data: Path, extra: list[str] = ()) -> list[str]:
    """`cdc-bridge up` on `port` with its data in `data`, on the pass's broker (`--broker`), or on
    the cluster of `--kafka`."""
    argv = [_python(bench), "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data), *extra]
    if bench.args.kafka:
        argv += ["--kafka-bootstrap-servers", bench.args.kafka]
    elif cli_has(bench.project, '"--broker"'):   # older ones ran the embedded broker only
        argv += ["--broker", bench.broker]
    elif bench.broker != "memory":
        raise RuntimeError(f"{bench.project}: its `cdc-bridge up` has no --broker (it runs the embedded broker only)")
    return argv


def start_ours_up(bench: Bench, name: str = "ours", extra: list[str] = ()) -> Server:
    """`cdc-bridge up` of the project at --project: its broker (the pass's `--broker`: the embedded one
    or Apache Kafka's JVM; none with --kafka) a child, counted in its CPU."""
    port = bench.free_port()
    data = bench.workdir / f"{name}-data"
    data.mkdir()
    argv = up_argv(bench, port, data, extra)
    proc = bench.launch(ServerProcess(name, argv, lambda: http_status(port, "/health") == 200,
                                      bench.workdir / f"{name}.log", cwd=str(bench.project)))
    server = Server(name, [proc], port, signed=False, kind="cdc-bridge up")
    parts = server.health()["parts"]
    server.bootstrap = parts.get("broker", {}).get("bootstrap_servers") or parts["table_api"]["kafka_bootstrap_servers"]
    server.broker = parts.get("broker", {}).get("kind") or ("external" if bench.args.kafka else "?")
    info = parts.get("broker", {})
    version = f" {info['version']}" if info.get("version") else ""
    bench.note_broker(f"{server.broker}{version} at {server.bootstrap} (`cdc-bridge up --broker {bench.broker}`'s; "
                      "/health parts.broker)" if not bench.args.kafka else
                      f"{server.broker} at {server.bootstrap} (--kafka; /health parts.broker)")
    expected = {"memory": "embedded", "kafka": "kafka"}[bench.broker]
    if not bench.args.kafka and server.broker not in (expected, "?"):
        raise RuntimeError(f"{name}: asked for --broker {bench.broker}, /health says the broker is {server.broker}")
    return server


def start_ours_peer(bench: Bench, up: Server, name: str) -> Server:
    """Another `cdc-bridge up` (its own port and data directory) on the Kafka of `up`: two instances
    of one deployment."""
    port = bench.free_port()
    data = bench.workdir / f"{name}-data"
    data.mkdir()
    argv = [_python(bench), "-m", "cdc_bridge.cli", "up", "--port", str(port), "--data-dir", str(data),
            "--kafka-bootstrap-servers", up.bootstrap]
    proc = bench.launch(ServerProcess(name, argv, lambda: http_status(port, "/health") == 200,
                                      bench.workdir / f"{name}.log", cwd=str(bench.project)))
    server = Server(name, [proc], port, signed=False, kind="cdc-bridge up")
    server.bootstrap, server.broker = up.bootstrap, up.broker
    return server


def start_ours_connector(bench: Bench, up: Server, name: str = "ours-connector") -> Server:
    """`cdc-bridge connector` as its own process against the up's broker: Streams and Kinesis
    calls go to it, table calls to the up; CPU counts both processes' trees."""
    port = bench.free_port()
    data = bench.workdir / f"{name}-data"   # its iterator key and Kinesis definitions, not ./data of the checkout
    data.mkdir()
    argv = [_python(bench), "-m", "cdc_bridge.cli", "connector", "--port", str(port),
            "--kafka-bootstrap-servers", up.bootstrap]
    if cli_has(bench.project, 'option(connector, "--data-dir"'):
        argv += ["--data-dir", str(data)]
    proc = bench.launch(ServerProcess(name, argv, lambda: http_status(port, "/health") == 200,
                                      bench.workdir / f"{name}.log", cwd=str(bench.project)))
    server = Server(name, [*up.processes, proc], up.port, signed=False,
                    ports={"dynamodbstreams": port, "kinesis": port},
                    kind=f"cdc-bridge connector (port {port}) + the up's table service and broker")
    server.bootstrap, server.broker = up.bootstrap, up.broker
    return server


def start_moto(bench: Bench) -> Server:
    port = bench.free_port()
    argv = [_python(bench), "-m", "moto.server", "-H", HOST, "-p", str(port)]
    # moto answers "/" for every service: /moto-api/ answering means it is up.
    proc = bench.launch(ServerProcess("moto", argv, lambda: http_status(port, "/moto-api/", timeout=1.0) == 200,
                                      bench.workdir / "moto.log", cwd=str(bench.workdir)))
    return Server("moto", [proc], port, signed=True, kind="moto server (one process)")


def node_peer(bench: Bench, name: str, folder: str, script: str) -> Server | None:
    """dynalite or kinesalite from `folder/node_modules` (None, said, when absent)."""
    modules = Path(folder) / "node_modules"
    if not (modules / name).is_dir() or shutil.which("node") is None:
        print(f"{name}: skipped (no {modules / name}, or no node): `npm install {name} --prefix {folder}`", flush=True)
        return None
    port = bench.free_port()
    proc = bench.launch(ServerProcess(name, ["node", "-e", script, str(port)],
                                      lambda: http_status(port, "/", "POST", b"{}") > 0, bench.workdir / f"{name}.log",
                                      env={**os.environ, "NODE_PATH": str(modules)}, cwd=str(bench.workdir)))
    return Server(name, [proc], port, signed=True, kind=f"{name} (node, one process)")


def start_kinesalite(bench: Bench, folder: str) -> Server | None:
    return node_peer(bench, "kinesalite", folder, KINESALITE_SCRIPT)


def start_dynalite(bench: Bench, folder: str) -> Server | None:
    return node_peer(bench, "dynalite", folder, DYNALITE_SCRIPT)


def start_stub(bench: Bench) -> Server:
    """bench/harness/stub_server.py: answers every POST at once, for a client's own ceiling."""
    port = bench.free_port()
    proc = bench.launch(ServerProcess("stub", [sys.executable, str(STUB_SCRIPT), str(port)],
                                      lambda: http_status(port, "/health") == 200, bench.workdir / "stub.log"))
    return Server("stub", [proc], port, signed=False, kind="canned-answer stub")


def start(bench: Bench, name: str) -> Server | None:
    """One server by the name workloads use: ours, moto, dynalite, kinesalite."""
    if name == "ours":
        return start_ours_up(bench)
    if name == "moto":
        return start_moto(bench)
    if name == "dynalite":
        return start_dynalite(bench, bench.args.dynalite_dir)
    if name == "kinesalite":
        return start_kinesalite(bench, bench.args.kinesalite_dir)
    raise ValueError(f"unknown server {name}")


def create_table(server: Server, table: str, stream: str | None = None, range_key: str | None = None) -> dict:
    """CreateTable (pk S hash key, optional `sk` N range key, optional stream view type), wait until
    ACTIVE; the table description."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": "N"})
    request: dict[str, Any] = {"TableName": table, "BillingMode": "PAY_PER_REQUEST", "KeySchema": keys,
                               "AttributeDefinitions": attrs}
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    import time

    desc = server.call("dynamodb", "CreateTable", request)["TableDescription"]
    deadline = time.monotonic() + 60
    while desc.get("TableStatus") != "ACTIVE":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: table {table} not ACTIVE after 60 s")
        time.sleep(0.1)
        desc = server.call("dynamodb", "DescribeTable", {"TableName": table})["Table"]
    return desc
