"""Exactly once, also across failures (the outbox and its publisher).

Several clients write versioned items ({"pk": key, "v": n}, n increasing with every attempt on a
key, so each event names the one request that made it) while the table service is killed with
SIGKILL and restarted, or while the broker is paused or cut off. In the end every acknowledged
write has exactly one event, per key in one partition and in order, each MODIFY's OldImage is the
key's previous event, and no event exists for a write that was refused (a condition that cannot
hold, a server that was not ready, a connection that could not be opened). Writes whose outcome
is unknown (the server died with the request in flight) may or may not have an event, once.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from cdc_bridge.broker import (
    docker_answers,
    free_port,
    spawn_child,
    stop_child,
    tansu_binary,
    wait_until_ready,
)
from cdc_bridge import apache_kafka
from tests.conftest import ServerProcess, apache_kafka_unavailable, wait_healthy
from tests.integration.fault_helpers import (
    ACKED,
    REFUSED,
    UNKNOWN,
    Outcomes,
    Target,
    TcpProxy,
    Writers,
    check_exactly_once,
    create_streamed_table,
    current_stream_topic,
    get_version,
    metrics,
    read_topic,
    wait_drained,
)


def table_name() -> str:
    return f"eo-{uuid.uuid4().hex[:10]}"


def table_api(data_dir, bootstrap: str) -> ServerProcess:
    return ServerProcess("table-api", data_dir, "--kafka-bootstrap-servers", bootstrap)


def final_versions(url: str, table: str, keys: list[str]) -> dict[str, int | None]:
    return {key: get_version(url, table, key) for key in keys}


def explain(verdict, servers: list[ServerProcess]) -> str:
    shown = "\n".join(verdict.problems[:40])
    more = f"\n... and {len(verdict.problems) - 40} more" if len(verdict.problems) > 40 else ""
    logs = "\n".join(f"  {s.log_path}" for s in servers)
    return f"{len(verdict.problems)} problems:\n{shown}{more}\nserver logs:\n{logs}"


def report(name: str, **counts) -> None:
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in counts.items()))


# -- 1. the table service killed with SIGKILL at random moments ---------------------------------


@pytest.mark.timeout(180)
def test_every_acknowledged_write_has_exactly_one_event_across_sigkills(broker, tmp_path):
    seed = int(os.environ.get("CDC_BRIDGE_FAULT_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    servers: list[ServerProcess] = []
    writers = None
    try:
        servers.append(table_api(data_dir, broker.bootstrap_servers).start())
        table = table_name()
        topic = create_streamed_table(servers[0].url, table)
        outcomes = Outcomes()
        target = Target(servers[0].url)
        writers = Writers(target, table, outcomes, threads=4, keys_per_thread=25, seed=seed).start()
        kills, during_startup, carried_over = 0, 0, []
        kill_during_startup = rng.randrange(1, 5)  # which restart is killed before it is healthy
        for round_ in range(5):
            # let the writers get going on this server, then kill it at a random moment
            server = servers[-1]
            if round_ == kill_during_startup:
                time.sleep(rng.uniform(0.3, 2.5))  # still starting: publisher session / read-back under way
                during_startup += 1
            else:
                since = time.monotonic()
                while outcomes.acked_since(since) < 20 and time.monotonic() < since + 10:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.05, 1.5))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
            kills += 1
            restarted = table_api(data_dir, broker.bootstrap_servers)
            servers.append(restarted)
            if round_ + 1 == kill_during_startup:
                with open(restarted.log_path, "ab") as log:  # started, not waited for
                    restarted.process = spawn_child(restarted.argv, env=restarted.env, stdout=log, stderr=log)
                target.set(restarted.url)
                continue
            restarted.start()
            target.set(restarted.url)
            carried_over.append(metrics(restarted.url).get("cdc_bridge_outbox_rows"))
        # the last server lives: write on, then stop writing and let the publisher drain
        wait_healthy(servers[-1].url, 60, servers[-1].process, servers[-1].log_path)
        since = time.monotonic()
        # on, until 200 writes reached this server and 1,000 in all (a loaded machine writes slower)
        while (outcomes.acked_since(since) < 200 or outcomes.count(ACKED) < 1000) and time.monotonic() < since + 45:
            time.sleep(0.05)
        writers.join()
        url = servers[-1].url
        assert not writers.unexpected, writers.unexpected[:10]
        assert outcomes.count(ACKED) >= 1000, f"too few writes acknowledged: {outcomes.count(ACKED)}"
        drained = wait_drained(url, 60)
        assert current_stream_topic(url, table) == topic, "the stream was replaced although its topic still exists"
        events = read_topic(broker.bootstrap_servers, topic)
        verdict = check_exactly_once(events, outcomes, final_versions(url, table, writers.keys()))
        report("sigkill", seed=seed, kills=kills, killed_during_startup=during_startup,
               acknowledged=verdict.acked, refused=outcomes.count(REFUSED), unknown=outcomes.count(UNKNOWN),
               unknown_committed=verdict.unknown_committed, events=verdict.events, keys=verdict.keys,
               outbox_rows_after_restart=carried_over, sessions=drained.get("cdc_bridge_publisher_sessions_total"))
        assert not verdict.problems, f"seed {seed}: " + explain(verdict, servers)
        assert verdict.events == verdict.acked + verdict.unknown_committed
    finally:
        if writers is not None:
            writers.join()
        for server in servers:
            server.stop()


# -- 2. the broker paused (SIGSTOP) and cut off (TCP proxy) while writes go on -------------------


def outage(name: str, seconds: float, url: str, outcomes: Outcomes) -> dict:
    """Sample /metrics while the broker is unreachable; return what was seen."""
    started = time.monotonic()
    samples = []
    while time.monotonic() - started < seconds:
        time.sleep(0.5)
        t = time.monotonic()
        m = metrics(url, timeout_s=2.0)
        samples.append((t - started, m["cdc_bridge_outbox_rows"], m["cdc_bridge_outbox_oldest_age_seconds"]))
    ended = time.monotonic()
    latencies = sorted(outcomes.latencies_between(started, ended))
    return {"name": name, "samples": samples, "acked": len(latencies), "latencies": latencies,
            "seconds": ended - started}


def check_outage(seen: dict) -> None:
    name, samples, latencies = seen["name"], seen["samples"], seen["latencies"]
    assert seen["acked"] >= 100, f"{name}: only {seen['acked']} writes acknowledged while the broker was down"
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert p99 < 0.5 and latencies[-1] < 2.0, (
        f"{name}: writes slowed down while the broker was down: median {statistics.median(latencies):.3f}s, "
        f"p99 {p99:.3f}s, max {latencies[-1]:.3f}s")
    rows = [r for _, r, _ in samples]
    assert rows[-1] > rows[0] + 50, f"{name}: cdc_bridge_outbox_rows did not grow during the outage: {samples}"
    assert all(b >= a for a, b in itertools.pairwise(rows)), f"{name}: outbox rows shrank with no broker: {samples}"
    elapsed, _, age = samples[-1]
    assert age >= elapsed - 1.0, f"{name}: oldest_age_seconds {age} after {elapsed:.1f}s of outage: {samples}"


@pytest.mark.timeout(120)
def test_writes_go_on_while_the_broker_is_down_and_their_events_arrive_once_in_order(tmp_path):
    # A private embedded broker, reachable only through a proxy (its advertised listener), so it
    # can be both paused and cut off without disturbing the shared one.
    broker_port = free_port()
    proxy = TcpProxy(("127.0.0.1", broker_port)).start()
    tansu = spawn_child(
        [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
         "--advertised-listener-url", f"tcp://{proxy.address}"],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    server = None
    try:
        wait_until_ready(proxy.address, process=tansu)
        server = table_api(tmp_path / "data", proxy.address).start()
        table = table_name()
        topic = create_streamed_table(server.url, table)
        wait_drained(server.url, 30)  # the stream's topic exists
        outcomes = Outcomes()
        writers = Writers(Target(server.url), table, outcomes, threads=4, keys_per_thread=25).start()
        outages = []
        try:
            time.sleep(1.5)
            os.kill(tansu.pid, signal.SIGSTOP)
            try:
                outages.append(outage("broker paused (SIGSTOP)", 5.0, server.url, outcomes))
            finally:
                os.kill(tansu.pid, signal.SIGCONT)
            time.sleep(1.5)
            proxy.cut()
            try:
                outages.append(outage("connections cut", 5.0, server.url, outcomes))
            finally:
                proxy.restore()
            since = time.monotonic()
            while outcomes.acked_since(since) < 200 and time.monotonic() < since + 10:
                time.sleep(0.05)
        finally:
            writers.join()
        assert not writers.unexpected, writers.unexpected[:10]
        assert outcomes.count(UNKNOWN) == 0, writers.errors[:10]
        for seen in outages:
            check_outage(seen)
        drained = wait_drained(server.url, 60)
        assert current_stream_topic(server.url, table) == topic
        events = read_topic(proxy.address, topic)
        verdict = check_exactly_once(events, outcomes, final_versions(server.url, table, writers.keys()))
        report("broker outage", acknowledged=verdict.acked, refused=outcomes.count(REFUSED),
               events=verdict.events, keys=verdict.keys, sessions=drained.get("cdc_bridge_publisher_sessions_total"),
               **{f"outage{i}": f"{o['name']}: {o['acked']} acked, rows {o['samples'][0][1]:.0f}->"
                  f"{o['samples'][-1][1]:.0f}, oldest {o['samples'][-1][2]}s, max latency {o['latencies'][-1]:.3f}s"
                  for i, o in enumerate(outages)})
        assert not verdict.problems, explain(verdict, [server])
        assert verdict.events == verdict.acked
        # An outage longer than 3 s shows in the logs too (the default level is WARNING).
        assert '"msg":"outbox backlog: events wait for Kafka"' in server.log_path.read_text()
    finally:
        if server is not None:
            server.stop()
        if tansu.poll() is None:
            os.kill(tansu.pid, signal.SIGCONT)
        stop_child(tansu)
        proxy.close()


@pytest.mark.timeout(120)
def test_a_crash_while_the_broker_holds_unacknowledged_records_repeats_none_of_them(tmp_path):
    """The read-back case made certain: the broker is paused with produce requests sitting in
    its socket buffers (the outbox rows are not removed, no ack came back), the table service is
    killed and restarted while the broker is still paused, then the broker resumes and appends
    what the dead producer had sent. The new publisher must ship only what is not there yet."""
    broker_port = free_port()
    tansu = spawn_child(
        [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{broker_port}"],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    bootstrap = f"127.0.0.1:{broker_port}"
    data_dir = tmp_path / "data"
    servers = []
    try:
        wait_until_ready(bootstrap, process=tansu)
        servers.append(table_api(data_dir, bootstrap).start())
        table = table_name()
        topic = create_streamed_table(servers[0].url, table)
        wait_drained(servers[0].url, 30)
        outcomes = Outcomes()
        target = Target(servers[0].url)
        writers = Writers(target, table, outcomes, threads=4, keys_per_thread=25).start()
        try:
            time.sleep(1.0)
            os.kill(tansu.pid, signal.SIGSTOP)
            try:
                time.sleep(1.5)
                before_kill = metrics(servers[0].url)["cdc_bridge_outbox_rows"]
                servers[0].process.send_signal(signal.SIGKILL)
                servers[0].process.wait(10)
                servers.append(table_api(data_dir, bootstrap).start())  # the broker is still paused
                after_restart = metrics(servers[1].url)["cdc_bridge_outbox_rows"]
                switched = time.monotonic()
                target.set(servers[1].url)
                time.sleep(1.5)
            finally:
                os.kill(tansu.pid, signal.SIGCONT)
            since = time.monotonic()
            while outcomes.acked_since(since) < 200 and time.monotonic() < since + 10:
                time.sleep(0.05)
        finally:
            writers.join()
        url = servers[-1].url
        assert not writers.unexpected, writers.unexpected[:10]
        assert before_kill > 100 and after_restart >= before_kill, (before_kill, after_restart)
        drained = wait_drained(url, 60)
        assert current_stream_topic(url, table) == topic
        events = read_topic(bootstrap, topic)
        verdict = check_exactly_once(events, outcomes, final_versions(url, table, writers.keys()))
        published = drained.get("cdc_bridge_events_published_total")
        report("crash with records in flight", acknowledged=verdict.acked, refused=outcomes.count(REFUSED),
               unknown=outcomes.count(UNKNOWN), unknown_committed=verdict.unknown_committed, events=verdict.events,
               outbox_rows_at_kill=before_kill, outbox_rows_after_restart=after_restart,
               published_by_new_server=published,
               # rows the new publisher found already in Kafka (read back) and only removed:
               read_back_skipped=after_restart + outcomes.acked_since(switched) - published,
               sessions=drained.get("cdc_bridge_publisher_sessions_total"))
        assert not verdict.problems, explain(verdict, servers)
        assert verdict.events == verdict.acked + verdict.unknown_committed
    finally:
        for server in servers:
            server.stop()
        if tansu.poll() is None:
            os.kill(tansu.pid, signal.SIGCONT)
        stop_child(tansu)


# -- 3. a durable broker restarted while writes go on --------------------------------------------


class DurableBroker:
    """A Kafka that keeps its records across a restart: an external cluster with a command that
    restarts it, or Apache Kafka in Docker (testcontainers)."""

    def __init__(self, bootstrap: str, restart):
        self.bootstrap, self.restart = bootstrap, restart


def durable_broker():
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        command = os.environ.get("CDC_BRIDGE_TEST_KAFKA_RESTART")
        if not command:
            pytest.skip("KAFKA_BOOTSTRAP_SERVERS is set, but not CDC_BRIDGE_TEST_KAFKA_RESTART (a shell command that "
                        "restarts that cluster keeping its data, e.g. `docker compose restart kafka`)")
        yield DurableBroker(external, lambda: subprocess.run(command, shell=True, check=True, timeout=120))
        return
    if not docker_answers():
        yield from local_apache_kafka()
        return
    from cdc_bridge.broker import kafka_container

    host_port = free_port()
    container = kafka_container(host_port)
    with container:
        bootstrap = f"127.0.0.1:{host_port}"
        wait_until_ready(bootstrap)

        def restart() -> None:
            wrapped = container.get_wrapped_container()
            wrapped.kill()  # no clean shutdown
            time.sleep(3.0)  # writes go on without a broker
            wrapped.start()  # same container, same data, same host port

        yield DurableBroker(bootstrap, restart)


def local_apache_kafka():
    """Apache Kafka itself (cdc_bridge/apache_kafka.py) on a data directory of its own, restarted
    the hard way: SIGKILL, 3 s without a broker, started again on the same data and port."""
    problem = apache_kafka_unavailable()
    if problem:
        pytest.skip(f"a broker restart that keeps records needs a durable Kafka, and Apache Kafka cannot run "
                    f"here: {problem}; or set KAFKA_BOOTSTRAP_SERVERS (with CDC_BRIDGE_TEST_KAFKA_RESTART)")
    data_dir = Path(tempfile.mkdtemp(prefix="durable-kafka-"))
    state = {"running": apache_kafka.start(data_dir)}
    host, port = state["running"].bootstrap_servers.rsplit(":", 1)

    def restart() -> None:
        process = state["running"].process
        process.kill()  # no clean shutdown
        process.wait()
        time.sleep(3.0)  # writes go on without a broker
        state["running"] = apache_kafka.start(data_dir, host=host, port=int(port))  # same data, same port

    try:
        yield DurableBroker(state["running"].bootstrap_servers, restart)
    finally:
        state["running"].stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def durable():
    yield from durable_broker()


@pytest.mark.timeout(300)
def test_a_durable_broker_restarted_during_writes_gets_every_event_once_in_order(durable, tmp_path):
    server = table_api(tmp_path / "data", durable.bootstrap).start()
    try:
        table = table_name()
        topic = create_streamed_table(server.url, table)
        wait_drained(server.url, 60)
        outcomes = Outcomes()
        writers = Writers(Target(server.url), table, outcomes, threads=4, keys_per_thread=25).start()
        try:
            time.sleep(2.0)
            restart_started = time.monotonic()
            durable.restart()
            restart_ended = time.monotonic()
            wait_until_ready(durable.bootstrap)
            since = time.monotonic()
            while outcomes.acked_since(since) < 200 and time.monotonic() < since + 30:
                time.sleep(0.05)
        finally:
            writers.join()
        assert not writers.unexpected, writers.unexpected[:10]
        assert outcomes.count(UNKNOWN) == 0, writers.errors[:10]
        during = outcomes.latencies_between(restart_started, restart_ended)
        assert during, "no write was acknowledged while the broker restarted"
        assert max(during) < 2.0, f"writes waited for the broker: max latency {max(during):.3f}s"
        wait_drained(server.url, 120)
        assert current_stream_topic(server.url, table) == topic, "the stream was replaced although Kafka kept its topic"
        events = read_topic(durable.bootstrap, topic)
        verdict = check_exactly_once(events, outcomes, final_versions(server.url, table, writers.keys()))
        report("durable broker restart", acknowledged=verdict.acked, events=verdict.events,
               acked_during_restart=len(during))
        assert not verdict.problems, explain(verdict, [server])
        assert verdict.events == verdict.acked
    finally:
        server.stop()
