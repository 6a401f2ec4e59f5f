"""Parts that only the command line composes: the broker, as a part of `cdc-bridge up`."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from cdc_bridge.broker import Broker, provision


class BrokerPart:
    """Provisions Kafka (configured cluster, Docker, or embedded) and shares its address."""

    name = "broker"
    services: list = []
    context = None

    def __init__(self, bootstrap_servers: str | None = None):
        self.bootstrap_servers = bootstrap_servers
        self.stack = contextlib.ExitStack()
        self.broker: Broker | None = None
        self.cancel = threading.Event()

    def start(self, env: dict[str, Any]) -> None:
        self.broker = self.stack.enter_context(provision(self.bootstrap_servers, cancel=self.cancel))
        env["kafka_bootstrap_servers"] = self.broker.bootstrap_servers

    def stop(self) -> None:
        self.cancel.set()  # a start still waiting for the broker gives up
        self.stack.close()

    def health(self) -> dict[str, Any]:
        return {"kind": self.broker.kind, "bootstrap_servers": self.broker.bootstrap_servers}
