"""Fixtures of the change-capture tests: a probe that reads what a Kafka consumer sees, and
tables deleted after each test; `up`, for the restart tests: starts `cdc-bridge up` on the test's
data directory and the session's broker, again after each stop, and stops what it started."""

import pytest

from tests.conftest import ServerProcess
from tests.integration.cdc_helpers import CdcProbe, Tables


@pytest.fixture(scope="module")
def cdc(endpoint_url):
    probe = CdcProbe(endpoint_url)
    yield probe
    probe.close()


@pytest.fixture
def tables(dynamodb):
    created = Tables(dynamodb)
    yield created
    created.delete_all()


@pytest.fixture
def up(broker, tmp_path):
    servers = []

    def start() -> ServerProcess:
        server = ServerProcess("up", tmp_path / "data", "--kafka-bootstrap-servers", broker.bootstrap_servers)
        servers.append(server.start(timeout_s=120))
        return server

    yield start
    for server in servers:
        server.stop()
