"""Where each mapping stands in each shard, in the compacted topic CHECKPOINTS_TOPIC
(contracts/event_source_mappings.py): read whole at start, then written by this instance's pollers.
A checkpoint is written (and flushed) after each batch is done with, so a restart of `up`, or another
instance, redelivers at most the batch that was in flight."""

from __future__ import annotations

import threading

import orjson

from contracts.event_source_mappings import CHECKPOINTS_TOPIC, checkpoint_key
from kafka_io.client import Kafka, Record
from kafka_io.topic_view import TopicView

FLUSH_TIMEOUT_S = 30.0


class Checkpoints(TopicView):
    what = "event source mapping checkpoints"

    def __init__(self, kafka: Kafka, topic: str = CHECKPOINTS_TOPIC):
        super().__init__(kafka, topic)
        self.positions: dict[bytes, dict] = {}  # key -> {"Offset": n, "Window": ... (tumbling windows)}
        self.producer = kafka.producer(**{"linger.ms": 0})
        self.write_lock = threading.Lock()

    def _apply(self, record: Record) -> None:
        with self.lock:
            if self._newer(record.key, record.offset):
                if record.value is None:
                    self.positions.pop(record.key, None)
                else:
                    self.positions[record.key] = orjson.loads(record.value)

    def get(self, uuid: str, topic: str, partition: int) -> dict | None:
        return self.positions.get(checkpoint_key(uuid, topic, partition))

    def put(self, uuid: str, topic: str, partition: int, offset: int, window: dict | None = None) -> None:
        """Store the position (and a tumbling window's state) once Kafka has it (blocking: from a
        poller's thread)."""
        key = checkpoint_key(uuid, topic, partition)
        value = {"Offset": offset, **({"Window": window} if window else {})}
        self.positions[key] = value
        with self.write_lock:
            self.producer.produce(self.topic, orjson.dumps(value), key, 0)
            if self.producer.flush(FLUSH_TIMEOUT_S) > 0:
                raise TimeoutError("a checkpoint could not be written to Kafka")

    def forget(self, uuid: str) -> None:
        """A deleted mapping's positions: tombstones, so compaction drops them."""
        prefix = f"{uuid}/".encode()
        with self.write_lock:
            for key in [k for k in list(self.positions) if k.startswith(prefix)]:
                self.positions.pop(key, None)
                self.producer.produce(self.topic, None, key, 0)
            self.producer.flush(FLUSH_TIMEOUT_S)
