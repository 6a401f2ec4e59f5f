"""Apache Kafka itself, run locally without Docker: fetched once with Maven, started as a child.

- `fetch()` (`cdc-bridge kafka fetch`) resolves the pinned broker `org.apache.kafka:kafka_2.13`
  and its run-time dependencies with `mvn dependency:copy-dependencies` from the pom shipped in
  this package (kafka_pom.xml), so Maven's own settings, mirrors and checksums apply, into
  `$CDC_BRIDGE_CACHE/kafka-<version>/libs/` (default `~/.cache/cdc-bridge/`). A marker written
  last makes it idempotent; a fetch happens in a staging folder renamed into place when complete.
- `run()` starts a single-node KRaft broker (broker and controller in one JVM) on loopback with
  everything under `<data-dir>/kafka/`: the log directory (formatted once, with a cluster id kept
  beside it), the ports (reused on the next start when still free), the generated
  server.properties and log4j2 configuration, and the logs. It is a child of ours that dies with
  us (PR_SET_PDEATHSIG, see broker.spawn_child); when stopped politely it gets SIGTERM (Kafka's
  clean shutdown), then SIGKILL. After a SIGKILL Kafka recovers its log by itself on the next start.

What was measured on the 2-core machines is in docs/apache-kafka.md.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.resources
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cdc_bridge.broker import free_port, say_on_stderr, spawn_child

log = logging.getLogger("cdc_bridge.apache_kafka")

KAFKA_VERSION = "4.4.0"  # the newest 4.x that Maven Central serves here; kafka_pom.xml has the same default
MIN_JAVA = 17  # Kafka 4 brokers need Java 17
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"  # what bin/kafka-storage.sh runs
DEFAULT_HEAP = "512m"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0

INITIAL_HEAP_MB = 64
# Start-up flags, measured on 2 cores (docs/apache-kafka.md): C1 only (TieredStopAtLevel=1)
# roughly halves the time to the first metadata answer, and C2's compiler threads no longer
# compete with the broker for the 2 cores while it warms up (produce throughput was no lower in
# runs of a few minutes); the serial collector suits a 512 MB heap on 2 cores; class data sharing
# of the JDK's own classes stays on (-Xshare:auto); no perf-data file in /tmp.
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:-UsePerfData",
             "-Djava.awt.headless=true")

Say = Callable[[str], None]


class Missing(RuntimeError):
    """Something Apache Kafka needs is not there (Java >= 17, Maven, the fetched jars)."""


# -- where things are -----------------------------------------------------------------------------


def cache_root() -> Path:
    explicit = os.environ.get("CDC_BRIDGE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "cdc-bridge"


def kafka_home(version: str = KAFKA_VERSION, root: Path | None = None) -> Path:
    return (root or cache_root()) / f"kafka-{version}"


def libs_dir(home: Path) -> Path:
    return home / "libs"


def marker(home: Path) -> Path:
    return home / "fetched.json"


def is_fetched(version: str = KAFKA_VERSION, root: Path | None = None) -> bool:
    home = kafka_home(version, root)
    return marker(home).is_file() and (libs_dir(home) / f"kafka_2.13-{version}.jar").is_file()


def classpath(home: Path) -> str:
    return f"{libs_dir(home)}/*"


# -- Java and Maven -------------------------------------------------------------------------------


def parse_java_version(text: str) -> int | None:
    """The feature version from `java -version`'s output: 'openjdk version "17.0.15"' -> 17,
    'java version "1.8.0_292"' -> 8, 'openjdk version "21" 2023-09-19' -> 21, '"22-ea"' -> 22."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?[^"]*"', text)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # 1.8 and older
        return int(match.group(2))
    return major


def find_java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def java_version(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_java_version(out.stderr + out.stdout)


def find_maven() -> str | None:
    return shutil.which("mvn")


@dataclass(frozen=True)
class Tools:
    java: str | None
    java_version: int | None
    maven: str | None

    @property
    def java_ok(self) -> bool:
        return self.java is not None and (self.java_version or 0) >= MIN_JAVA

    def java_problem(self) -> str | None:
        if self.java is None:
            return f"Java {MIN_JAVA} or newer was not found (no `java` on PATH, nor in JAVA_HOME)"
        if not self.java_ok:
            found = self.java_version if self.java_version is not None else "of unknown version"
            return f"Java {MIN_JAVA} or newer is needed, {self.java} is Java {found}"
        return None

    def maven_problem(self) -> str | None:
        return None if self.maven else "Maven (`mvn`) was not found on PATH; it fetches Kafka's jars once"


_tools: Tools | None = None


def tools() -> Tools:
    """Java and Maven as found on this machine (looked up once per process)."""
    global _tools
    if _tools is None:
        java = find_java()
        _tools = Tools(java, java_version(java) if java else None, find_maven())
    return _tools


def install_hint() -> str:
    return "install them (Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven)"


# -- fetching -------------------------------------------------------------------------------------


def fetch(version: str = KAFKA_VERSION, *, root: Path | None = None, say: Say = say_on_stderr,
          cancel: threading.Event | None = None) -> Path:
    """Make sure Apache Kafka `version`'s jars are in the cache; return its folder. Returns at
    once when a fetch already completed."""
    home = kafka_home(version, root)
    if is_fetched(version, root):
        return home
    found = tools()
    problems = [p for p in (found.java_problem(), found.maven_problem()) if p]
    if problems:
        raise Missing(f"cannot fetch Apache Kafka {version}: " + "; ".join(problems) + f"; {install_hint()}")
    say(f"Apache Kafka {version} is not in {home.parent} yet: Java {found.java_version} ({found.java}) "
        f"and Maven ({found.maven}) found")
    started = time.monotonic()
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = home.parent / f".kafka-{version}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    try:
        (staging / "libs").mkdir(parents=True)
        pom = staging / "pom.xml"
        pom.write_bytes(importlib.resources.files("cdc_bridge").joinpath("kafka_pom.xml").read_bytes())
        say(f"fetching Apache Kafka {version} (org.apache.kafka:kafka_2.13 and its run-time dependencies) "
            f"with Maven into {home} ...")
        argv = [found.maven, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
                "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}", f"-Dkafka.version={version}"]
        _run_to_completion(argv, staging, "mvn dependency:copy-dependencies", cancel)
        jars = sorted(p for p in (staging / "libs").iterdir() if p.suffix == ".jar")
        if not any(p.name == f"kafka_2.13-{version}.jar" for p in jars):
            raise RuntimeError(f"Maven finished but kafka_2.13-{version}.jar is not among what it copied")
        size = sum(p.stat().st_size for p in jars)
        seconds = round(time.monotonic() - started, 1)
        marker(staging).write_text(json.dumps({
            "version": version, "jars": [p.name for p in jars], "bytes": size, "seconds": seconds,
            "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=1))
        pom.unlink()
        try:
            staging.rename(home)
        except OSError:
            if not is_fetched(version, root):  # not another fetch that finished first: an old partial folder
                shutil.rmtree(home, ignore_errors=True)
                staging.rename(home)
        say(f"Apache Kafka {version} fetched: {len(jars)} jars, {size / 1e6:.0f} MB, in {seconds} s")
        return home
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_to_completion(argv: list[str], cwd: Path, what: str, cancel: threading.Event | None,
                       timeout_s: float = 900.0) -> str:
    """Run a helper process (that dies with us); its output is shown only when it fails."""
    out_path = cwd / f".{Path(argv[0]).name}.out"
    with open(out_path, "wb") as out:
        process = spawn_child(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    try:
        while process.poll() is None:
            if cancel is not None and cancel.is_set():
                raise RuntimeError(f"cancelled while running {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not finish in {timeout_s:.0f} s")
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = out_path.read_text(errors="replace")
    out_path.unlink(missing_ok=True)
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {process.returncode}):\n{output[-4000:]}")
    return output


# -- the broker's files ---------------------------------------------------------------------------


def server_properties(log_dir: Path, host: str, broker_port: int, controller_port: int,
                      extra: dict[str, str] | None = None) -> str:
    """server.properties of a single-node KRaft cluster (broker and controller in one process)
    on loopback, sized for a small machine."""
    settings = {
        # KRaft, one node: it is its own controller quorum (static voters: no dynamic-quorum format).
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        # One replica of everything; the internal topics small (fewer partitions to create and load).
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # After a SIGKILL the restarted controller still holds the old broker registration until
        # its session times out (default 9 s, the broker's registration is refused until then):
        # heartbeats every 500 ms and a 3 s session make a restart after a crash seconds faster.
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": "3000",
        # A consumer group is formed at once, not after 3 s.
        "group.initial.rebalance.delay.ms": "0",
        # Retention is enforced on time: checked every second, and segments small and young enough
        # to be deleted soon after their records age out (topics may set segment.ms lower still).
        "log.retention.check.interval.ms": "1000",
        # ... from the start: the broker's log tasks (retention among them) otherwise first run
        # 30 s after it starts (log.initial.task.delay.ms), so short retentions ran late.
        "log.initial.task.delay.ms": "1000",
        "log.segment.bytes": str(16 * 1024 * 1024),
        "log.roll.ms": str(10 * 60 * 1000),
        "log.segment.delete.delay.ms": "1000",
        # Topics are created by cdc-bridge (with their partitions and configs), never by accident.
        "auto.create.topics.enable": "false",
    }
    settings.update(extra or {})
    lines = ["# Written by cdc-bridge at every start (cdc_bridge/apache_kafka.py); edits are overwritten."]
    lines += [f"{k}={v}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def log4j2_properties(logs_dir: Path) -> str:
    """The broker's log4j 2 configuration: INFO and above into a rolling server.log."""
    return "\n".join([
        "# Written by cdc-bridge at every start; the broker's own log, rolled at 10 MB.",
        "status = warn",
        "shutdownHook = disable",  # keep logging through Kafka's shutdown hook
        "appender.file.type = RollingFile",
        "appender.file.name = file",
        f"appender.file.fileName = {logs_dir / 'server.log'}",
        f"appender.file.filePattern = {logs_dir / 'server.log.%i'}",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size = 10MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        "appender.file.strategy.max = 3",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = file",
        # the full configuration dump of every client the broker creates internally is noise here
        "logger.config.name = org.apache.kafka.common.config.AbstractConfig",
        "logger.config.level = WARN",
        "",
    ])


def new_cluster_id() -> str:
    """A Kafka Uuid in its text form (22 characters of URL-safe base64), as `kafka-storage
    random-uuid` prints it; never starting with '-' (Kafka avoids those too)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def heap_flag(value: str | None = None) -> str:
    """-Xmx from CDC_BRIDGE_KAFKA_HEAP: '512m', '1g', or a number of MB."""
    value = (value or os.environ.get("CDC_BRIDGE_KAFKA_HEAP") or DEFAULT_HEAP).strip().lower()
    if re.fullmatch(r"\d+", value):
        value += "m"
    if not re.fullmatch(r"\d+[kmg]", value):
        raise ValueError(f"CDC_BRIDGE_KAFKA_HEAP: expected a size such as 512m or 1g, got {value!r}")
    return f"-Xmx{value}"


def heap_flags(heap: str | None = None) -> list[str]:
    """-Xmx, and a small initial heap (-Xms, at most -Xmx): the JVM's default initial heap is 1/64
    of the machine's memory (384 MB of 24 GB), all of it touched, for nothing."""
    maximum = heap_flag(heap)
    number, unit = int(maximum[4:-1]), maximum[-1]
    mb = {"k": number / 1024, "m": number, "g": number * 1024}[unit]
    return [maximum, maximum.replace("-Xmx", "-Xms") if mb <= INITIAL_HEAP_MB else f"-Xms{INITIAL_HEAP_MB}m"]


def jvm_flags(heap: str | None = None) -> list[str]:
    """The JVM's flags: heap, JVM_FLAGS, then CDC_BRIDGE_KAFKA_JVM_OPTS (which can override them)."""
    extra = os.environ.get("CDC_BRIDGE_KAFKA_JVM_OPTS", "").split()
    return [*heap_flags(heap), *JVM_FLAGS, *extra]


@dataclass(frozen=True)
class Layout:
    """Everything of the broker under `<data-dir>/kafka/`."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> Layout:
        return cls(Path(data_dir).resolve() / "kafka")

    @property
    def log_dir(self) -> Path:  # Kafka's log.dirs: the topics and the KRaft metadata log
        return self.root / "data"

    @property
    def logs(self) -> Path:  # what the broker says: server.log (log4j) and stdout.log (the JVM's output)
        return self.root / "logs"

    @property
    def cluster_id_file(self) -> Path:
        return self.root / "cluster.id"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.root / "log4j2.properties"

    def formatted(self) -> bool:
        return (self.log_dir / "meta.properties").is_file()

    def cluster_id(self) -> str:
        if self.cluster_id_file.is_file():
            text = self.cluster_id_file.read_text().strip()
            if text:
                return text
        text = new_cluster_id()
        self.cluster_id_file.write_text(text + "\n")
        return text

    def remembered_ports(self) -> tuple[int, int] | None:
        try:
            ports = json.loads(self.ports_file.read_text())
            return int(ports["broker"]), int(ports["controller"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember_ports(self, broker: int, controller: int) -> None:
        self.ports_file.write_text(json.dumps({"broker": broker, "controller": controller}) + "\n")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Kafka binds: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def choose_ports(layout: Layout, host: str, port: int = 0) -> tuple[int, int]:
    """The broker and controller ports: `port` if given, else last time's when still free, else free ones."""
    remembered = layout.remembered_ports()
    if port:
        broker = port
    elif remembered and port_is_free(remembered[0], host):
        broker = remembered[0]
    else:
        broker = free_port(host)
    if remembered and remembered[1] != broker and port_is_free(remembered[1], host):
        controller = remembered[1]
    else:
        controller = free_port(host)
        while controller == broker:
            controller = free_port(host)
    return broker, controller


# -- running --------------------------------------------------------------------------------------


@dataclass
class Running:
    bootstrap_servers: str
    process: subprocess.Popen
    layout: Layout
    version: str
    seconds_to_ready: float
    class_archive: ClassArchive | None = None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        stop(self.process, timeout_s)
        if self.class_archive is not None:
            self.class_archive.install(self.process)


# -- class data sharing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassArchive:
    """A dynamic AppCDS archive of the classes the broker loads, kept beside the jars: it cuts the
    JVM's CPU time to a ready broker by about a third (docs/apache-kafka.md). The first start
    without one writes it when the JVM exits cleanly (-XX:ArchiveClassesAtExit, into a file of its
    own, moved into place afterwards); later starts map it (-XX:SharedArchiveFile). It belongs to
    one Java installation and one set of jars: an archive that does not match is ignored by the
    JVM, which then loads classes as usual. CDC_BRIDGE_KAFKA_CDS=off turns it off."""

    path: Path
    dump_to: Path | None  # set while this start is the one writing the archive

    @classmethod
    def for_start(cls, home: Path, java: str) -> ClassArchive | None:
        if os.environ.get("CDC_BRIDGE_KAFKA_CDS", "on").lower() in ("off", "0", "false", "no"):
            return None
        path = home / f"broker-{java_identity(java)}.jsa"
        if path.is_file():
            return cls(path, None)
        for stale in home.glob(f".{path.name}.*"):  # from a JVM killed while it wrote one
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > 600:
                    stale.unlink()
        return cls(path, home / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")

    def flags(self) -> list[str]:
        if self.dump_to is not None:
            return [f"-XX:ArchiveClassesAtExit={self.dump_to}"]
        return [f"-XX:SharedArchiveFile={self.path}"]

    def install(self, process: subprocess.Popen) -> None:
        """After the JVM exited: keep what it wrote if it exited by itself (not killed)."""
        if self.dump_to is None:
            return
        try:
            if process.returncode not in (-signal.SIGKILL, None) and self.dump_to.stat().st_size > 0:
                os.replace(self.dump_to, self.path)
        except OSError:
            pass
        finally:
            self.dump_to.unlink(missing_ok=True)


def java_identity(java: str) -> str:
    """Names the Java installation (its real path, size and time): an upgrade gets a new archive."""
    import hashlib

    real = os.path.realpath(java)
    try:
        info = os.stat(real)
        text = f"{real}:{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        text = real
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def prepare(layout: Layout, home: Path, java: str, host: str, port: int = 0,
            cancel: threading.Event | None = None, say: Say = say_on_stderr) -> tuple[int, int]:
    """Write the configuration, format the storage the first time; return the ports."""
    for folder in (layout.root, layout.log_dir, layout.logs):
        folder.mkdir(parents=True, exist_ok=True)
    broker_port, controller_port = choose_ports(layout, host, port)
    layout.properties.write_text(server_properties(layout.log_dir, host, broker_port, controller_port))
    layout.log4j.write_text(log4j2_properties(layout.logs))
    layout.remember_ports(broker_port, controller_port)
    if not layout.formatted():
        say(f"formatting Apache Kafka's storage in {layout.log_dir} (once per data directory)")
        _run_to_completion(
            [java, *jvm_flags(), f"-Dlog4j2.configurationFile={layout.log4j}", "-cp", classpath(home),
             STORAGE_TOOL, "format", "--config", str(layout.properties), "--cluster-id", layout.cluster_id(),
             "--ignore-formatted"],
            layout.root, "kafka-storage format", cancel, timeout_s=120.0)
    return broker_port, controller_port


@contextlib.contextmanager
def run(data_dir: Path, **options) -> Iterator[Running]:
    """Run Apache Kafka on `data_dir` until the block exits; yields once it answers metadata
    requests (options: those of `start`)."""
    running = start(data_dir, **options)
    try:
        yield running
    finally:
        running.stop()


def start(data_dir: Path, *, host: str = "127.0.0.1", port: int = 0, version: str = KAFKA_VERSION,
          fetch_missing: bool = True, cancel: threading.Event | None = None, say: Say = say_on_stderr,
          ready_timeout_s: float = READY_TIMEOUT_S) -> Running:
    """Start Apache Kafka on `data_dir` and return once it answers; the caller stops it with
    `running.stop()` (it dies with the calling thread in any case)."""
    found = tools()
    problem = found.java_problem()
    if problem:
        raise Missing(f"Apache Kafka cannot run: {problem}; {install_hint()}")
    if not is_fetched(version):
        if not fetch_missing:
            raise Missing(f"Apache Kafka {version} is not fetched yet: run `cdc-bridge kafka fetch`")
        fetch(version, say=say, cancel=cancel)
    home = kafka_home(version)
    layout = Layout.of(data_dir)
    started = time.monotonic()
    broker_port, _ = prepare(layout, home, found.java, host, port, cancel, say)
    archive = ClassArchive.for_start(home, found.java)
    argv = [found.java, *jvm_flags(), *(archive.flags() if archive else ()), f"-Dlog4j2.configurationFile={layout.log4j}",
            f"-Dkafka.logs.dir={layout.logs}", "-cp", classpath(home), MAIN_CLASS, str(layout.properties)]
    with open(layout.logs / "stdout.log", "ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        out.flush()
        process = spawn_child(argv, cwd=layout.root, stdout=out, stderr=subprocess.STDOUT)
    servers = f"{host}:{broker_port}"
    try:
        wait_ready(servers, process, layout, ready_timeout_s, cancel)
    except BaseException:
        stop(process)
        if archive is not None:
            archive.install(process)
        raise
    running = Running(servers, process, layout, version, time.monotonic() - started, archive)
    log.info("apache kafka ready", extra={"bootstrap": servers, "pid": process.pid,
                                          "seconds": round(running.seconds_to_ready, 2)})
    return running


def wait_ready(servers: str, process: subprocess.Popen, layout: Layout, timeout_s: float,
               cancel: threading.Event | None = None) -> None:
    """Until a metadata request is answered (the broker is registered and unfenced by then)."""
    from kafka_io.client import Kafka

    kafka = Kafka(servers)
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel is not None and cancel.is_set():
            raise RuntimeError("cancelled while waiting for Apache Kafka")
        if process.poll() is not None:
            raise RuntimeError(f"Apache Kafka exited with code {process.returncode} before it was ready; "
                               f"its logs are in {layout.logs}:\n{tail(layout.logs / 'stdout.log')}")
        try:
            kafka.topics(1.0)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Apache Kafka did not answer at {servers} within {timeout_s:.0f} s; "
                                   f"its logs are in {layout.logs}") from exc
            time.sleep(0.05)


def stop(process: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Kafka's clean shutdown (SIGTERM), then SIGKILL if it takes longer than `timeout_s`."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("apache kafka did not stop in time, killing it", extra={"pid": process.pid})
        process.kill()
        process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (Linux), for reports."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
