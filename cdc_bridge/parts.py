"""Parts that only the command line composes: the broker, as a part of `cdc-bridge up`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cdc_bridge.broker import Broker, provision


class BrokerPart:
    """Provisions Kafka (a configured cluster, or one we run: Apache Kafka, Docker, or the
    embedded broker; see cdc_bridge.broker) and shares its address.

    The broker is provisioned in a thread of its own, which `begin()` starts as early as the
    command line can (Apache Kafka's JVM then starts while Python still imports the services),
    and which lives exactly as long as the broker: a child process is tied to the thread that
    started it (PR_SET_PDEATHSIG), so it must not be a pool thread that may go away first."""

    name = "broker"
    services: list = []
    context = None

    def __init__(self, bootstrap_servers: str | None = None, choice: str = "auto", data_dir: Path | None = None):
        self.bootstrap_servers = bootstrap_servers
        self.choice = choice
        self.data_dir = data_dir
        self.broker: Broker | None = None
        self.error: BaseException | None = None
        self.cancel = threading.Event()  # gives up a start still under way
        self.ready = threading.Event()  # provisioned, or failed (then `error`)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def begin(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="broker", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        try:
            with provision(self.bootstrap_servers, choice=self.choice, data_dir=self.data_dir,
                           cancel=self.cancel) as broker:
                self.broker = broker
                self.ready.set()
                self.stopping.wait()
        except BaseException as exc:  # noqa: BLE001 -- handed to start(), which reports it
            self.error = exc
        finally:
            self.ready.set()

    def start(self, env: dict[str, Any]) -> None:
        self.begin()
        self.ready.wait()
        if self.error is not None:
            raise self.error
        if self.broker is None:
            raise RuntimeError("stopped before the broker was ready")
        env["kafka_bootstrap_servers"] = self.broker.bootstrap_servers

    def stop(self) -> None:
        self.cancel.set()
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()

    def health(self) -> dict[str, Any]:
        return {"kind": self.broker.kind, "bootstrap_servers": self.broker.bootstrap_servers, **self.broker.details}
