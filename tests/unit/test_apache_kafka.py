"""The pure parts of running Apache Kafka locally: versions, cache paths, the generated
configuration, the broker choice (cdc_bridge/apache_kafka.py, cdc_bridge/broker.py)."""

from __future__ import annotations

import importlib.resources
import json
import re
import socket
import xml.etree.ElementTree as ET

import pytest

from cdc_bridge import apache_kafka
from cdc_bridge.apache_kafka import (
    KAFKA_VERSION,
    Layout,
    Tools,
    choose_ports,
    heap_flag,
    kafka_home,
    new_cluster_id,
    parse_java_version,
    server_properties,
)
from cdc_bridge.broker import decide


@pytest.mark.parametrize("text, expected", [
    ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)', 17),
    ('openjdk version "21" 2023-09-19', 21),
    ('java version "1.8.0_292"\nJava(TM) SE Runtime Environment', 8),
    ('openjdk version "11.0.2" 2019-01-15', 11),
    ('openjdk version "22-ea" 2024-03-19', 22),
    ('Picked up JAVA_TOOL_OPTIONS: -Xss1m\nopenjdk version "17.0.1" 2021-10-19', 17),
    ("bash: java: command not found", None),
])
def test_java_version_is_read_from_java_dash_version(text, expected):
    assert parse_java_version(text) == expected


def test_the_cache_is_cdc_bridge_cache_or_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CDC_BRIDGE_CACHE", str(tmp_path / "c"))
    assert kafka_home() == tmp_path / "c" / f"kafka-{KAFKA_VERSION}"
    monkeypatch.delenv("CDC_BRIDGE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kafka_home("4.0.0") == tmp_path / "xdg" / "cdc-bridge" / "kafka-4.0.0"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert kafka_home() == tmp_path / "home" / ".cache" / "cdc-bridge" / f"kafka-{KAFKA_VERSION}"


def test_a_fetch_counts_only_once_its_marker_and_the_broker_jar_are_there(monkeypatch, tmp_path):
    monkeypatch.setenv("CDC_BRIDGE_CACHE", str(tmp_path))
    home = kafka_home()
    assert not apache_kafka.is_fetched()
    (home / "libs").mkdir(parents=True)
    (home / "libs" / f"kafka_2.13-{KAFKA_VERSION}.jar").write_bytes(b"")
    assert not apache_kafka.is_fetched()  # an interrupted copy
    (home / "fetched.json").write_text("{}")
    assert apache_kafka.is_fetched()
    assert apache_kafka.fetch() == home  # at once, without Maven


def test_the_shipped_pom_pins_the_same_version_and_no_test_scope():
    pom = importlib.resources.files("cdc_bridge").joinpath("kafka_pom.xml").read_text()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(pom)
    assert root.find("m:properties/m:kafka.version", ns).text == KAFKA_VERSION
    artifacts = [d.find("m:artifactId", ns).text for d in root.findall("m:dependencies/m:dependency", ns)]
    assert "kafka_2.13" in artifacts
    assert not [d for d in root.findall("m:dependencies/m:dependency", ns)
                if (d.findtext("m:scope", "", ns)) == "test"]


def properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_server_properties_make_a_single_node_kraft_cluster_on_loopback(tmp_path):
    props = properties(server_properties(tmp_path / "data", "127.0.0.1", 19092, 19093))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "data")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "num.partitions"):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert int(props["log.retention.check.interval.ms"]) <= 1000
    assert int(props["log.segment.bytes"]) <= 64 * 1024 * 1024
    assert int(props["log.roll.ms"]) <= 3600 * 1000  # an hour's records at most in a segment retention must wait for


def test_server_properties_take_overrides(tmp_path):
    props = properties(server_properties(tmp_path, "127.0.0.1", 1, 2, {"num.partitions": "3", "x.y": "z"}))
    assert props["num.partitions"] == "3" and props["x.y"] == "z"


def test_log4j_writes_the_broker_log_into_the_data_directory(tmp_path):
    text = apache_kafka.log4j2_properties(tmp_path / "logs")
    assert f"fileName = {tmp_path / 'logs' / 'server.log'}" in text


def test_cluster_ids_look_like_kafkas_and_are_kept(tmp_path):
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) and not i.startswith("-") for i in ids)
    layout = Layout.of(tmp_path)
    layout.root.mkdir()
    first = layout.cluster_id()
    assert layout.cluster_id() == first
    assert layout.cluster_id_file.read_text().strip() == first


@pytest.mark.parametrize("value, flag", [(None, "-Xmx512m"), ("1g", "-Xmx1g"), ("768", "-Xmx768m"), ("256M", "-Xmx256m")])
def test_heap_comes_from_cdc_bridge_kafka_heap(monkeypatch, value, flag):
    monkeypatch.delenv("CDC_BRIDGE_KAFKA_HEAP", raising=False)
    if value:
        monkeypatch.setenv("CDC_BRIDGE_KAFKA_HEAP", value)
    assert heap_flag() == flag


@pytest.mark.parametrize("value, flags", [("512m", ["-Xmx512m", "-Xms64m"]), ("32m", ["-Xmx32m", "-Xms32m"]),
                                          ("2g", ["-Xmx2g", "-Xms64m"])])
def test_the_initial_heap_is_small_and_never_above_the_maximum(monkeypatch, value, flags):
    monkeypatch.setenv("CDC_BRIDGE_KAFKA_HEAP", value)
    assert apache_kafka.heap_flags() == flags


def test_jvm_opts_come_last_so_they_can_override(monkeypatch):
    monkeypatch.setenv("CDC_BRIDGE_KAFKA_JVM_OPTS", "-XX:+UseG1GC -Dx=y")
    assert apache_kafka.jvm_flags()[-2:] == ["-XX:+UseG1GC", "-Dx=y"]


def test_a_bad_heap_is_refused(monkeypatch):
    monkeypatch.setenv("CDC_BRIDGE_KAFKA_HEAP", "lots")
    with pytest.raises(ValueError, match="CDC_BRIDGE_KAFKA_HEAP"):
        heap_flag()


def test_ports_are_remembered_and_reused_while_free(tmp_path):
    layout = Layout.of(tmp_path)
    layout.root.mkdir()
    broker, controller = choose_ports(layout, "127.0.0.1")
    assert broker != controller
    layout.remember_ports(broker, controller)
    assert json.loads(layout.ports_file.read_text()) == {"broker": broker, "controller": controller}
    assert choose_ports(layout, "127.0.0.1") == (broker, controller)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", broker))
        taken.listen()
        again = choose_ports(layout, "127.0.0.1")
        assert again[0] != broker and again[1] == controller
    assert choose_ports(layout, "127.0.0.1", port=45678)[0] == 45678


JAVA17 = Tools("/usr/bin/java", 17, "/usr/bin/mvn")
NO_MAVEN = Tools("/usr/bin/java", 21, None)
OLD_JAVA = Tools("/usr/bin/java", 11, "/usr/bin/mvn")
NO_JAVA = Tools(None, None, "/usr/bin/mvn")


@pytest.mark.parametrize("found, fetched, docker, expected", [
    (JAVA17, True, False, "kafka"),
    (JAVA17, False, False, "kafka"),  # fetched on first use
    (NO_MAVEN, True, False, "kafka"),
    (NO_MAVEN, False, False, "memory"),
    (OLD_JAVA, True, False, "memory"),
    (NO_JAVA, False, False, "memory"),
    (NO_JAVA, False, True, "testcontainers"),
])
def test_auto_runs_apache_kafka_when_java_17_and_the_jars_or_maven_are_there(found, fetched, docker, expected):
    kind, reason = decide("auto", docker=lambda: docker, found=found, fetched=fetched)
    assert kind == expected
    assert reason


def test_the_reason_for_the_memory_broker_names_what_is_missing():
    assert "Java 17 or newer" in decide("auto", found=NO_JAVA, fetched=False)[1]
    assert "Java 11" in decide("auto", found=OLD_JAVA, fetched=True)[1]
    assert "Maven" in decide("auto", found=NO_MAVEN, fetched=False)[1]


def test_explicit_choices_are_kept_and_unknown_ones_refused():
    assert decide("memory", found=JAVA17, fetched=True)[0] == "memory"
    assert decide("kafka", found=NO_JAVA, fetched=False)[0] == "kafka"  # fails later, naming what is missing
    with pytest.raises(ValueError):
        decide("redpanda")


def test_running_without_java_names_it(monkeypatch, tmp_path):
    monkeypatch.setattr(apache_kafka, "_tools", NO_JAVA)
    with pytest.raises(apache_kafka.Missing, match="Java 17 or newer was not found"), apache_kafka.run(tmp_path):
        pass
    monkeypatch.setenv("CDC_BRIDGE_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(apache_kafka, "_tools", NO_MAVEN)
    with pytest.raises(apache_kafka.Missing, match="Maven"):
        apache_kafka.fetch()


class Exited:
    def __init__(self, returncode: int):
        self.returncode = returncode


def test_the_class_archive_is_written_once_by_a_clean_exit_then_mapped(monkeypatch, tmp_path):
    monkeypatch.delenv("CDC_BRIDGE_KAFKA_CDS", raising=False)
    first = apache_kafka.ClassArchive.for_start(tmp_path, "/usr/bin/java")
    [flag] = first.flags()
    assert flag == f"-XX:ArchiveClassesAtExit={first.dump_to}"
    first.dump_to.write_bytes(b"classes")
    first.install(Exited(-9))  # killed while writing it: not kept
    assert not first.path.exists() and not first.dump_to.exists()

    second = apache_kafka.ClassArchive.for_start(tmp_path, "/usr/bin/java")
    second.dump_to.write_bytes(b"classes")
    second.install(Exited(143))  # SIGTERM, Kafka's clean shutdown
    assert second.path.read_bytes() == b"classes" and not second.dump_to.exists()

    third = apache_kafka.ClassArchive.for_start(tmp_path, "/usr/bin/java")
    assert third.dump_to is None and third.flags() == [f"-XX:SharedArchiveFile={second.path}"]


def test_the_class_archive_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("CDC_BRIDGE_KAFKA_CDS", "off")
    assert apache_kafka.ClassArchive.for_start(tmp_path, "/usr/bin/java") is None
