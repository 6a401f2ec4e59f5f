"""The event source mappings as a part of `cdc-bridge up`, started after the connector and Lambda: it
follows the mappings the Lambda API keeps (lambda_api/mappings.py), runs a poller thread per shard of
each enabled mapping, reports each revision's settled state (Enabled, Disabled) and removes deleted
mappings once their pollers have stopped. Stream shards come from the connector's catalogs; new
shards (a Kinesis stream resharded) are picked up within a second.

Every instance on one Kafka sees every mapping, but runs (and reports on) only the mappings of the
functions it has: functions live in an instance's data directory, so deployments that share a Kafka
cluster do not run each other's mappings. Of the instances that have a mapping's function, one
delivers it: the holder of its lease (event_sources/leases.py); the others take over when it stops."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from pathlib import Path
from typing import Any, ClassVar

from event_sources.checkpoints import Checkpoints
from event_sources.destinations import Destinations
from event_sources.leases import Leases
from event_sources.poller import MappingHolder, ShardPoller
from event_sources.sources import Shard, check_source, gone, shards
from kafka_io.client import Kafka

log = logging.getLogger("cdc_bridge.event_sources")

RESCAN_S = 1.0  # how often enabled mappings look for new shards
RESCAN = ("", None)  # a change in the queue: look at the leases and shards again now


class EventSources:
    name = "event_sources"
    services: ClassVar[list] = []

    def __init__(self, data_dir: Path, region: str):
        self.data_dir = data_dir
        self.region = region
        self.changes: queue.Queue = queue.Queue()
        self.holders: dict[str, MappingHolder] = {}
        self.pollers: dict[str, dict[str, ShardPoller]] = {}  # UUID -> shard id -> poller
        self.results: dict[str, str] = {}  # UUID -> LastProcessingResult last reported
        self.reported: dict[str, int] = {}  # UUID -> the revision whose settled state was reported
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.checkpoints: Checkpoints | None = None  # None until started (a stop may come first)
        self.leases: Leases | None = None

    def start(self, env: dict[str, Any]) -> None:
        self.lambda_ctx = env["lambda"]
        self.connector = env["connector"]
        self.bootstrap_servers = env["kafka_bootstrap_servers"]
        kafka = Kafka(self.bootstrap_servers)
        self.checkpoints = Checkpoints(kafka)
        self.checkpoints.start()
        self.destinations = Destinations(self.data_dir, kafka, self.connector)
        self.leases = Leases(kafka, lambda: self.changes.put(RESCAN))
        self.leases.start()
        self.lambda_ctx.event_sources = self
        self.thread = threading.Thread(target=self._manage, name="event-sources", daemon=True)
        self.thread.start()
        self.lambda_ctx.mappings.listen(lambda uuid, mapping: self.changes.put((uuid, mapping)))

    def stop(self) -> None:
        self.stopping.set()
        self.changes.put(None)
        for holder in self.holders.values():
            holder.stop.set()
        for pollers in self.pollers.values():
            for poller in pollers.values():
                poller.join(5)
        if self.thread is not None:
            self.thread.join(5)
        for view in (self.leases, self.checkpoints):  # leases after the pollers: another instance
            if view is not None:                         # may deliver from now on
                view.stop()

    def health(self) -> dict[str, Any]:
        return {"mappings": len(self.holders), "pollers": sum(len(p) for p in self.pollers.values()),
                "instance": self.leases.instance, "delivering": self.leases.owned()}

    # -- for the Lambda API and the pollers ------------------------------------------------------------

    def check_source(self, arn: str) -> None:
        check_source(self.connector, arn)

    def shards_of(self, mapping: dict) -> list[Shard]:
        return shards(self.connector, mapping["EventSourceArn"])

    def role_of(self, function_arn: str) -> str:
        function = self.lambda_ctx.functions.get(function_arn.rpartition(":")[2])
        return function.configuration.get("Role", "") if function is not None else ""

    def processing_result(self, uuid: str, result: str) -> None:
        """LastProcessingResult, written when it changes (not after every batch)."""
        if self.results.get(uuid) == result:
            return
        self.results[uuid] = result
        holder = self.holders.get(uuid)
        if holder is not None:
            self._report(holder.mapping, result)

    # -- following the mappings ----------------------------------------------------------------------

    def _manage(self) -> None:
        while not self.stopping.is_set():
            try:
                change = self.changes.get(timeout=RESCAN_S)
            except queue.Empty:
                self._rescan()
                continue
            if change is None:
                return
            if change == RESCAN:
                self._rescan()
                continue
            try:
                self._apply(*change)
            except Exception:
                log.exception("applying an event source mapping failed", extra={"uuid": change[0]})

    def _apply(self, uuid: str, mapping: dict | None) -> None:
        if mapping is None:
            self._stop_pollers(uuid)
            self.holders.pop(uuid, None)
            return
        holder = self.holders.get(uuid)
        if holder is not None and holder.mapping["_Revision"] > mapping["_Revision"]:
            return  # an older revision, seen late
        if mapping["State"] == "Deleting":
            self._stop_pollers(uuid)
            self.holders.pop(uuid, None)
            self.checkpoints.forget(uuid)
            asyncio.run(self.lambda_ctx.mappings.remove(uuid))
            return
        if not mapping["_Enabled"]:
            self._stop_pollers(uuid)
            self.holders[uuid] = MappingHolder(mapping)
            if self.has_function(mapping):
                self._report(mapping, self.results.get(uuid, mapping["LastProcessingResult"]))
            return
        if holder is None or holder.stop.is_set():
            holder = self.holders[uuid] = MappingHolder(mapping)
        holder.update(mapping)
        if self.has_function(mapping):
            self._report(mapping, self.results.get(uuid, mapping["LastProcessingResult"]))
        self._rescan()

    def has_function(self, mapping: dict) -> bool:
        return self.lambda_ctx.functions.get(mapping["FunctionArn"].rpartition(":")[2]) is not None

    def _rescan(self) -> None:
        """Offer the mappings this instance can deliver, run those whose lease it holds, pause the
        others; stop the pollers of a stream being deleted."""
        ready = [h for h in self.holders.values()
                 if h.mapping["_Enabled"] and not h.stop.is_set() and self.has_function(h.mapping)]
        self.leases.want({h.mapping["UUID"] for h in ready})
        for holder in ready:
            uuid = holder.mapping["UUID"]
            if uuid in self.pollers and gone(self.connector, holder.mapping["EventSourceArn"]):
                self._stop_pollers(uuid)  # before the stream's topics are deleted
                self.processing_result(uuid, "PROBLEM: Stream not found")
                continue
            if self.reported.get(uuid) != holder.mapping["_Revision"]:  # its function has come since
                self._report(holder.mapping, self.results.get(uuid, holder.mapping["LastProcessingResult"]))
            if self.leases.owns(uuid):
                self._start_pollers(holder)
            elif self.pollers.get(uuid):
                log.info("event source mapping lease lost: pausing", extra={"uuid": uuid})
                self._stop_pollers(uuid)
                self.holders[uuid] = fresh = MappingHolder(holder.mapping)
                fresh.update(holder.mapping)

    def _start_pollers(self, holder: MappingHolder) -> None:
        uuid = holder.mapping["UUID"]
        running = self.pollers.setdefault(uuid, {})
        for shard in self.shards_of(holder.mapping):
            poller = running.get(shard.id)
            if poller is not None:
                poller.shard = shard  # a shard closed since (resharding): its poller now knows where it ends
            if poller is None or (not poller.is_alive() and not poller.completed and not holder.stop.is_set()):
                running[shard.id] = ShardPoller(self, holder, shard)
                running[shard.id].start()

    def _stop_pollers(self, uuid: str) -> None:
        holder = self.holders.get(uuid)
        if holder is not None:
            holder.stop.set()
        for poller in self.pollers.pop(uuid, {}).values():
            poller.join(30)

    def _report(self, mapping: dict, result: str) -> None:
        """The settled state of this revision and the last processing result, for the API to answer."""
        uuid = mapping["UUID"]
        self.reported[uuid] = mapping["_Revision"]
        status = {"Revision": mapping["_Revision"], "State": "Enabled" if mapping["_Enabled"] else "Disabled",
                  "StateTransitionReason": "User action", "LastProcessingResult": result}
        try:
            asyncio.run(self.lambda_ctx.mappings.report(uuid, status))
        except Exception:
            log.exception("reporting an event source mapping's state failed", extra={"uuid": uuid})
