"""The methods every way of running the stack shares, and `Endpoint`: a stack already running.

Clients are made the way a test wants them: placeholder credentials (a server without a
credentials file accepts any), the stack's region, and no retries, so that a test sees the
server's first answer instead of a retried one.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def health(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The stack's /health document; raises OSError while it does not answer 200."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout_s) as response:
        return json.loads(response.read())


def wait_healthy(url: str, timeout_s: float, gone=lambda: None) -> dict[str, Any]:
    """Poll /health until it answers 200. `gone()` returns why waiting is pointless (the process
    exited, with its output), or None."""
    deadline = time.monotonic() + timeout_s
    while True:
        problem = gone()
        if problem:
            raise RuntimeError(problem)
        try:
            return health(url, timeout_s=1.0)
        except (OSError, ValueError):  # not listening yet, 503 while a part starts, a cut-off body
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/health did not answer 200 within {timeout_s}s") from None
        time.sleep(0.05)


class StackMethods:
    """Mixed into every stack; a class provides get_endpoint_url(), get_kafka_bootstrap_servers()
    and get_schema_registry_url()."""

    region = REGION

    def get_endpoint_url(self) -> str:
        raise NotImplementedError

    def get_kafka_bootstrap_servers(self) -> str:
        raise NotImplementedError

    def get_schema_registry_url(self) -> str:
        raise NotImplementedError

    def health(self) -> dict[str, Any]:
        return health(self.get_endpoint_url())

    def client_kwargs(self, **config: Any) -> dict[str, Any]:
        from botocore.config import Config

        return {"endpoint_url": self.get_endpoint_url(), "region_name": self.region,
                "config": Config(retries={"max_attempts": 1}, **config), **CREDENTIALS}

    def client(self, service: str, **config: Any):
        """A boto3 client of `service` on the stack's port (botocore Config options as keywords)."""
        import boto3

        return boto3.client(service, **self.client_kwargs(**config))

    def dynamodb_client(self, **config: Any):
        return self.client("dynamodb", **config)

    def dynamodb_resource(self, **config: Any):
        import boto3

        return boto3.resource("dynamodb", **self.client_kwargs(**config))

    def dynamodbstreams_client(self, **config: Any):
        return self.client("dynamodbstreams", **config)

    def kinesis_client(self, **config: Any):
        return self.client("kinesis", **config)

    def kafka_consumer(self, **config: Any):
        """A confluent-kafka DeserializingConsumer whose keys and values are the change events'
        primary keys and events, decoded (see cdc_bridge.testing.events)."""
        from cdc_bridge.testing.events import change_event_consumer

        return change_event_consumer(self.get_kafka_bootstrap_servers(), **config)

    def stream_topic(self, table: str) -> str:
        """The Kafka topic of the table's latest stream (AssertionError when it has none)."""
        from contracts.stream_catalog import topic_name

        description = self.dynamodb_client().describe_table(TableName=table)["Table"]
        if "LatestStreamLabel" not in description or not description.get("StreamSpecification", {}).get(
                "StreamEnabled"):
            raise AssertionError(f"table {table} has no stream enabled: it publishes no change events")
        return topic_name(table, description["LatestStreamLabel"])

    def change_events(self, table: str, count: int = 1, timeout_s: float = 30.0):
        """`with stack.change_events("Orders", count=2) as events: <writes>`: on leaving the block,
        waits for the table's next `count` change events from Kafka and puts them in `events`."""
        from cdc_bridge.testing.events import ChangeEvents

        return ChangeEvents(self, table, count, timeout_s)


class Endpoint(StackMethods):
    """A stack that already runs at `url` (another process's `cdc-bridge up`, a compose service).
    The Kafka address is the one its /health reports unless given: a server in a container reports
    its address inside the network (compose: give "localhost:9092")."""

    def __init__(self, url: str, kafka_bootstrap_servers: str | None = None):
        self.url = url.rstrip("/")
        self.kafka_bootstrap_servers = kafka_bootstrap_servers

    def get_endpoint_url(self) -> str:
        return self.url

    def table_part(self) -> dict[str, Any]:
        return self.health().get("parts", {}).get("table_api", {})

    def get_kafka_bootstrap_servers(self) -> str:
        servers = self.kafka_bootstrap_servers or self.table_part().get("kafka_bootstrap_servers")
        if not servers:
            raise RuntimeError(f"{self.url} publishes no change events to Kafka (no table service on its port)")
        return servers

    def get_schema_registry_url(self) -> str:
        """The registry /health names; the one served on the port is reached as the port is (a server
        bound to 0.0.0.0 names itself http://0.0.0.0:PORT)."""
        registry = self.table_part().get("schema_registry_url")
        if not registry or urlsplit(registry).hostname in ("0.0.0.0", "::"):
            return self.url
        return registry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def endpoint(url: str, kafka_bootstrap_servers: str | None = None) -> Endpoint:
    return Endpoint(url, kafka_bootstrap_servers)
