"""The pytest plugin (entry point `pytest11`, loaded wherever cdc-bridge is installed): session
fixtures for a project's own tests.

- `cdc_bridge`: the running stack. CDC_BRIDGE_TEST_ENDPOINT names one that already runs; else
  `--cdc-bridge docker|local|auto` (env CDC_BRIDGE_TESTING, default auto): `CdcBridgeContainer`
  when a Docker engine answers and has the image (CDC_BRIDGE_IMAGE, default cdc-bridge:latest;
  it is built, not pulled), else `local()` (child processes). Stopped at the session's end,
  also when tests fail.
- `dynamodb`, `dynamodbstreams`, `kinesis`: boto3 clients on its port (no retries).
- `kafka_consumer`: a confluent-kafka DeserializingConsumer of change events (keys and events
  decoded), closed at the end; assign or subscribe it to a stream topic.
- `change_events`: `with change_events("Orders", count=2) as events: <writes>` waits, on leaving the
  block, for the table's next `count` change events and puts them in `events`.

A conftest.py that defines a fixture of the same name wins (pytest's rule): a suite can build
`cdc_bridge` its own way (cdc-bridge's own suite puts it on the session's broker) and keep the
other fixtures.
"""

from __future__ import annotations

import os

import pytest

MODES = ("auto", "docker", "local")


def pytest_addoption(parser):
    group = parser.getgroup("cdc-bridge")
    group.addoption("--cdc-bridge", dest="cdc_bridge_mode", choices=MODES, default=None,
                    help="how the cdc_bridge fixture runs the stack: docker (CdcBridgeContainer), local (child "
                         "processes) or auto (docker when an engine answers and has the image) [env: CDC_BRIDGE_TESTING]")


def stack_mode(config) -> str:
    mode = config.getoption("cdc_bridge_mode", None) or os.environ.get("CDC_BRIDGE_TESTING") or "auto"
    if mode not in MODES:
        raise pytest.UsageError(f"CDC_BRIDGE_TESTING={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "auto":
        try:
            from cdc_bridge.testing import container
        except ImportError:  # testcontainers is not installed
            return "local"
        return "docker" if container.image_available() else "local"
    return mode


@pytest.fixture(scope="session")
def cdc_bridge(request):
    from cdc_bridge import testing

    external = os.environ.get("CDC_BRIDGE_TEST_ENDPOINT")
    if external:
        yield testing.endpoint(external)
    elif stack_mode(request.config) == "docker":
        with testing.CdcBridgeContainer() as stack:
            yield stack
    else:
        with testing.local() as stack:
            yield stack


@pytest.fixture(scope="session")
def dynamodb(cdc_bridge):
    return cdc_bridge.dynamodb_client()


@pytest.fixture(scope="session")
def dynamodbstreams(cdc_bridge):
    return cdc_bridge.dynamodbstreams_client()


@pytest.fixture(scope="session")
def kinesis(cdc_bridge):
    return cdc_bridge.kinesis_client()


@pytest.fixture(scope="session")
def kafka_consumer(cdc_bridge):
    consumer = cdc_bridge.kafka_consumer()
    yield consumer
    consumer.close()


@pytest.fixture(scope="session")
def change_events(cdc_bridge):
    return cdc_bridge.change_events
