"""`CdcBridgeContainer`: the cdc-bridge image under testcontainers, with Apache Kafka alongside.

Start order: a Docker network of its own, Apache Kafka (KRaft, one node; alias `kafka` on the
network, the host's side on a port chosen before it starts, since Kafka must advertise it), then
the cdc-bridge image running `up --host 0.0.0.0 --allow-anonymous` against `kafka:19092`, waited
for until GET /health answers 200. `--allow-anonymous` because the port is published on the test
machine only and a test calls with placeholder keys; give `credentials_file=` to test signed calls
instead (it is mounted read-only and passed as --credentials-file). Everything is removed on stop,
also when a start fails half way (and by testcontainers' Ryuk if the test process dies).

What could not be run here: our machines have no Docker engine, so the image build and an actual
start were never exercised by the suite. tests/unit/test_testing_container.py checks the
configuration (images, commands, environment, ports, network, wait) and the clean-up of a start
that fails, against a stand-in for the Docker client.
"""

from __future__ import annotations

import os
from pathlib import Path

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import HttpWaitStrategy, LogMessageWaitStrategy

from cdc_bridge.broker import advertised_listeners, free_port, kafka_container
from cdc_bridge.testing.stack import StackMethods

IMAGE = os.environ.get("CDC_BRIDGE_IMAGE", "cdc-bridge:latest")  # docker build -t cdc-bridge .
PORT = 8000
KAFKA_ALIAS = "kafka"
INTERNAL_BOOTSTRAP = f"{KAFKA_ALIAS}:19092"
CREDENTIALS_IN_CONTAINER = "/etc/cdc-bridge/credentials.json"
STARTUP_TIMEOUT_S = 120
KAFKA_READY = "Kafka Server started"  # apache/kafka's log line once KRaft and the listeners are up


def image_available(image: str = IMAGE) -> bool:
    """Whether a Docker engine answers and has `image` (it is not published: `docker build -t cdc-bridge .`)."""
    try:
        import docker

        docker.from_env(timeout=2).images.get(image)
        return True
    except Exception:  # noqa: BLE001 -- no engine, no image, no permission: all mean "not here"
        return False


class CdcBridgeContainer(StackMethods, DockerContainer):
    """cdc-bridge serving every API on one port, Apache Kafka beside it on one network."""

    def __init__(self, image: str = IMAGE, *, credentials_file: str | Path | None = None, up_args: tuple = (),
                 **kwargs):
        super().__init__(image, **kwargs)
        self.network = Network()
        self.network_created = False
        self.kafka_port = free_port()
        self.kafka = kafka_container(self.kafka_port, network_alias=KAFKA_ALIAS).with_network(
            self.network).with_network_aliases(KAFKA_ALIAS).waiting_for(
            LogMessageWaitStrategy(KAFKA_READY).with_startup_timeout(STARTUP_TIMEOUT_S))
        access = ["--allow-anonymous"]
        if credentials_file is not None:
            self.with_volume_mapping(str(Path(credentials_file).resolve()), CREDENTIALS_IN_CONTAINER, "ro")
            access = ["--credentials-file", CREDENTIALS_IN_CONTAINER]
        self.with_network(self.network)
        self.with_exposed_ports(PORT)
        self.with_env("KAFKA_BOOTSTRAP_SERVERS", INTERNAL_BOOTSTRAP)
        self.with_env("CDC_BRIDGE_DATA_DIR", "/data")
        self.with_command(["up", "--host", "0.0.0.0", "--port", str(PORT), *access, *up_args])
        self.waiting_for(HttpWaitStrategy(PORT, "/health").for_status_code(200).with_startup_timeout(
            STARTUP_TIMEOUT_S))

    def start(self) -> CdcBridgeContainer:
        try:
            self.network.create()
            self.network_created = True
            host = self.kafka.get_docker_client().host()
            self.kafka.with_env("KAFKA_ADVERTISED_LISTENERS",
                                advertised_listeners(host, self.kafka_port, KAFKA_ALIAS))
            self.kafka.start()
            super().start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove cdc-bridge, then Kafka, then the network; safe to call twice (a failed start stops
        here, and DockerContainer.__enter__ stops again)."""
        try:
            remove(self, super().stop, force, delete_volume)
        finally:
            try:
                remove(self.kafka, self.kafka.stop, force, delete_volume)
            finally:
                if self.network_created:
                    self.network_created = False
                    self.network.remove()

    def get_endpoint_url(self) -> str:
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(PORT)}"

    def get_kafka_bootstrap_servers(self) -> str:
        return f"{self.kafka.get_docker_client().host()}:{self.kafka_port}"

    def get_schema_registry_url(self) -> str:
        return self.get_endpoint_url()  # `up` serves a Confluent-compatible registry on its port


def remove(container: DockerContainer, stop, force: bool, delete_volume: bool) -> None:
    # DockerContainer.stop removes the container it started but keeps the handle, so a second call
    # would ask Docker again for a container that is gone.
    if container._container is not None:
        stop(force, delete_volume)
        container._container = None
