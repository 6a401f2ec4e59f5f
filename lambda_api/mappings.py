"""Event source mappings kept in Kafka (contracts/event_source_mappings.py): an in-memory view of the
compacted mappings topic, tailed like the stream catalogs, and the writes of the Lambda API. Any
instance serves every mapping; the pollers of every instance (event_sources/) follow the same view
through `listen`."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

import orjson

from contracts.event_source_mappings import MAPPINGS_TOPIC, SETTLED, mapping_key, status_key
from kafka_io.client import Kafka, Record
from kafka_io.producer import RecordProducer
from kafka_io.topic_view import TopicView

Listener = Callable[[str, dict | None], None]  # (UUID, the mapping or None once deleted)


class MappingWriteFailed(RuntimeError):
    pass


class MappingStore(TopicView):
    what = "event source mappings"

    def __init__(self, kafka: Kafka, producer: RecordProducer, mirror: Path | None = None,
                 topic: str = MAPPINGS_TOPIC):
        super().__init__(kafka, topic)
        self.producer = producer
        self.mirror = mirror
        self.mirror_lock = threading.Lock()
        self.mappings: dict[str, dict] = {}
        self.statuses: dict[str, dict] = {}
        self.listeners: list[Listener] = []

    def start(self, timeout_s: float = 30.0) -> None:
        super().start(timeout_s)
        self.restore()

    def restore(self) -> None:
        """Publish again the mappings of the mirror that the topic has never heard of (the broker lost it)."""
        if self.mirror is None or not self.mirror.exists():
            return
        saved = orjson.loads(self.mirror.read_bytes())["Mappings"]
        lost = [m for uuid, m in saved.items() if mapping_key(uuid) not in self.offsets]
        if lost:
            asyncio.run(self._publish_all(lost))

    async def _publish_all(self, mappings: list[dict]) -> None:
        for mapping in mappings:
            await self.put(mapping)

    def save(self) -> None:
        if self.mirror is None:
            return
        with self.mirror_lock:
            self.mirror.parent.mkdir(parents=True, exist_ok=True)
            partial = self.mirror.with_name(self.mirror.name + ".partial")
            partial.write_bytes(orjson.dumps({"Format": 1, "Mappings": dict(self.mappings)}))
            os.replace(partial, self.mirror)

    def listen(self, listener: Listener) -> None:
        """Call `listener` for every mapping now and for every change applied from now on (from the
        tail's thread or the event loop: it must only hand the change over)."""
        self.listeners.append(listener)
        for uuid, mapping in list(self.mappings.items()):
            listener(uuid, mapping)

    def _apply(self, record: Record) -> None:
        kind, _, uuid = record.key.decode().partition("/")
        value = orjson.loads(record.value) if record.value is not None else None
        with self.lock:
            if not self._newer(record.key, record.offset):
                return
            table = self.mappings if kind == "mapping" else self.statuses
            if value is None:
                table.pop(uuid, None)
            else:
                table[uuid] = value
        if kind == "mapping":
            self.save()
            for listener in self.listeners:
                listener(uuid, value)

    def get(self, uuid: str) -> dict | None:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            self.sync()
            mapping = self.mappings.get(uuid)
        return mapping

    def described(self, mapping: dict) -> dict:
        """The mapping as the API answers it: the pollers' settled state once they have applied this
        revision, the transitional state until then; our own `_` fields left out."""
        answer = {k: v for k, v in mapping.items() if not k.startswith("_")}
        status = self.statuses.get(mapping["UUID"])
        if status is not None:
            answer["LastProcessingResult"] = status["LastProcessingResult"]
            if status["Revision"] == mapping["_Revision"] and status["State"] in SETTLED:
                answer["State"] = status["State"]
                answer["StateTransitionReason"] = status["StateTransitionReason"]
        return answer

    async def put(self, mapping: dict) -> None:
        await self._write(mapping_key(mapping["UUID"]), orjson.dumps(mapping))

    async def remove(self, uuid: str) -> None:
        await self._write(mapping_key(uuid), None)
        await self._write(status_key(uuid), None)

    async def report(self, uuid: str, status: dict) -> None:
        await self._write(status_key(uuid), orjson.dumps(status))

    async def _write(self, key: bytes, value: bytes | None) -> None:
        """Write and apply here once Kafka has it, so this instance's next request sees it."""
        [offset] = await self.producer.send(self.topic, [(0, key, value, None)])
        if not isinstance(offset, int):
            raise MappingWriteFailed(str(offset))
        self._on_record(Record(self.topic, 0, offset, key, value, {}, 0))
