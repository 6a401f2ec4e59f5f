"""What users import to run cdc-bridge in their own tests (README: "Use it in your tests").

Two ways to run the same stack (a broker, and `cdc-bridge up` serving every API on one port), with
the same methods (`StackMethods`: get_endpoint_url(), get_kafka_bootstrap_servers(),
get_schema_registry_url(), boto3 clients, a Kafka consumer of change events, a wait for the change
events of a write):

- `CdcBridgeContainer`: a testcontainers DockerContainer of the cdc-bridge image, with Apache Kafka
  alongside on one Docker network (needs a Docker engine and the image, `docker build -t cdc-bridge .`);
- `local()`: a context manager that runs `cdc-bridge up` as a child process, with the broker `up`
  chooses (Apache Kafka where it can run, else the embedded memory broker), for machines without Docker.

`endpoint(url)` wraps a stack that already runs. The pytest plugin (`cdc_bridge.testing.pytest_plugin`,
registered as a `pytest11` entry point) builds fixtures on these.

testcontainers is a test extra: `CdcBridgeContainer` is imported on first use, so `local()` works
without it.
"""

from __future__ import annotations

from cdc_bridge.testing.local import LocalStack, local
from cdc_bridge.testing.stack import REGION, Endpoint, StackMethods, endpoint

__all__ = ["REGION", "CdcBridgeContainer", "Endpoint", "LocalStack", "StackMethods", "endpoint", "local"]


def __getattr__(name: str):
    if name == "CdcBridgeContainer":
        from cdc_bridge.testing.container import CdcBridgeContainer

        return CdcBridgeContainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
