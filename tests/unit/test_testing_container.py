"""CdcBridgeContainer's configuration and clean-up, without a Docker engine (none runs on our
machines): testcontainers' Docker client is replaced by a stand-in that records what would be
created, so the containers, network, commands, environment and ports are checked as Docker would
receive them."""

from __future__ import annotations

import itertools
from typing import ClassVar

import pytest

pytest.importorskip("testcontainers")

from testcontainers.core import container as tc_container
from testcontainers.core import network as tc_network
from testcontainers.core.config import testcontainers_config

from cdc_bridge.testing.container import CdcBridgeContainer

IDS = itertools.count(1)


class FakeContainer:
    def __init__(self, docker, image, kwargs):
        self.id = f"c{next(IDS)}"
        self.short_id = self.id
        self.docker, self.image, self.kwargs = docker, image, kwargs

    def remove(self, force=False, v=False):
        self.docker.events.append(("remove", self.image))


class FakeNetwork:
    def __init__(self, docker, name):
        self.docker, self.name, self.id = docker, name, name

    def remove(self):
        self.docker.events.append(("remove network", self.name))


class FakeDocker:
    """Records what testcontainers asks Docker for; `refuse` names an image whose create fails."""

    events: ClassVar[list] = []
    created: ClassVar[dict] = {}
    refuse: str | None = None

    def __init__(self, **_):
        self.client = type("Closable", (), {"close": lambda self: None})()

    def client_networks_create(self, name, kwargs):
        self.events.append(("create network", name))
        return FakeNetwork(self, name)

    def create(self, image, **kwargs):
        if image == self.refuse:
            raise RuntimeError(f"cannot create {image}")
        self.events.append(("create", image))
        self.created[image] = kwargs
        return FakeContainer(self, image, kwargs)

    def start(self, container):
        self.events.append(("start", container.image))

    def host(self):
        return "docker-host"


@pytest.fixture
def docker(monkeypatch):
    monkeypatch.setattr(tc_container, "DockerClient", FakeDocker)
    monkeypatch.setattr(tc_network, "DockerClient", FakeDocker)
    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    FakeDocker.events, FakeDocker.created, FakeDocker.refuse = [], {}, None
    return FakeDocker


def test_cdc_bridge_runs_up_on_all_interfaces_against_the_kafka_on_its_network(docker):
    stack = CdcBridgeContainer("cdc-bridge:test")
    assert stack.image.endswith("cdc-bridge:test")
    assert stack._command == ["up", "--host", "0.0.0.0", "--port", "8000", "--allow-anonymous"]
    assert stack.env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
    assert "8000" in stack.ports
    assert stack._network is stack.network and stack.kafka._network is stack.network
    assert stack.kafka._network_aliases == ["kafka"]
    wait = stack._wait_strategy
    assert (wait._port, wait._path, wait._status_codes) == (8000, "/health", {200})


def test_kafka_listens_inside_the_network_and_on_a_host_port(docker):
    stack = CdcBridgeContainer("cdc-bridge:test")
    env = stack.kafka.env
    assert stack.kafka.image.endswith("apache/kafka:3.9.1")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "INTERNAL://:19092" in env["KAFKA_LISTENERS"]
    assert "INTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert stack.kafka.ports == {"9092": stack.kafka_port}
    assert stack.kafka._wait_strategy._message.pattern == "Kafka Server started"  # ready before cdc-bridge starts


def test_credentials_file_replaces_allow_anonymous(docker, tmp_path):
    credentials = tmp_path / "credentials.json"
    credentials.write_text("{}")
    stack = CdcBridgeContainer("cdc-bridge:test", credentials_file=credentials)
    assert "--allow-anonymous" not in stack._command
    assert stack._command[-2:] == ["--credentials-file", "/etc/cdc-bridge/credentials.json"]
    assert stack.volumes[str(credentials)]["bind"] == "/etc/cdc-bridge/credentials.json"
    assert stack.volumes[str(credentials)]["mode"] == "ro"


def test_start_creates_the_network_then_kafka_then_cdc_bridge_and_kafka_advertises_the_docker_host(docker):
    stack = CdcBridgeContainer("cdc-bridge:test")
    stack.waiting_for(None)  # nothing answers /health here, and no log says Kafka started
    stack.kafka.waiting_for(None)
    stack.start()
    kinds = [(event, image.rsplit("/", 1)[-1]) for event, image in docker.events]
    assert kinds[0][0] == "create network"
    assert kinds[1:] == [("create", "kafka:3.9.1"), ("start", "kafka:3.9.1"),
                         ("create", "cdc-bridge:test"), ("start", "cdc-bridge:test")]
    kafka = next(kwargs for image, kwargs in docker.created.items() if "apache/kafka" in image)
    assert kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"] == (
        f"PLAINTEXT://docker-host:{stack.kafka_port},INTERNAL://kafka:19092")
    assert kafka["networking_config"][stack.network.name]["Aliases"] == ["kafka"]
    assert stack.get_kafka_bootstrap_servers() == f"docker-host:{stack.kafka_port}"
    stack.stop()
    assert [e for e, _ in docker.events[-3:]] == ["remove", "remove", "remove network"]


def test_a_failed_start_removes_kafka_and_the_network(docker):
    docker.refuse = "cdc-bridge:broken"
    stack = CdcBridgeContainer("cdc-bridge:broken")
    stack.kafka.waiting_for(None)  # the stand-in has no logs to wait on
    with pytest.raises(RuntimeError, match="cannot create"), stack:
        pass
    events = [e for e, _ in docker.events]
    assert events.count("create network") == events.count("remove network") == 1
    assert ("remove", next(i for e, i in docker.events if e == "create")) in docker.events
