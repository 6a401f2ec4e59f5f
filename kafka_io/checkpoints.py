"""Reading topics from a consumer group's committed offsets, and committing only when told: the
checkpoints of a delivery (Firehose-style archive). The offsets live in Kafka's own group offsets
(`__consumer_offsets`), so a restarted process, or another one with the same group, resumes there.

No subscription and no rebalancing: the partitions are assigned by hand, so one group is one
delivery and nothing moves partitions away between a read and its commit."""

from __future__ import annotations

import logging
import time

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from kafka_io.client import Kafka, Record, record_of, watermark_offsets

log = logging.getLogger("cdc_bridge.kafka")

Position = tuple[str, int]  # topic, partition
# How long a fetch at the end of a partition waits for records: the embedded broker sleeps it out even
# when records come, so it bounds delivery latency there; each idle delivery fetches 1 / FETCH_WAIT_MS a second.
FETCH_WAIT_MS = 20


class CheckpointedReader:
    def __init__(self, kafka: Kafka, group: str):
        self.kafka = kafka
        self.group = group
        self.consumer = kafka.reader(**{"group.id": group, "enable.auto.offset.store": False,
                                        "enable.partition.eof": False, "fetch.wait.max.ms": FETCH_WAIT_MS})
        self.assigned: set[Position] = set()

    def partitions(self, topics: list[str]) -> list[Position]:
        existing = self.kafka.topics()
        return [(t, p) for t in topics for p in range(existing.get(t, 0))]

    def assign(self, topics: list[str]) -> None:
        """Read exactly these topics (all their partitions), each from its checkpoint, or from the
        beginning when it has none. Partitions already assigned keep their position."""
        wanted = set(self.partitions(topics))
        if wanted == self.assigned:
            return
        committed = self.committed(sorted(wanted - self.assigned))
        keep = [TopicPartition(t, p) for t, p in self.assigned & wanted]
        for tp in keep:
            tp.offset = self.consumer.position([TopicPartition(tp.topic, tp.partition)])[0].offset
        new = [TopicPartition(t, p, committed.get((t, p), OFFSET_BEGINNING)) for t, p in wanted - self.assigned]
        self.consumer.assign(keep + new)
        self.assigned = wanted

    def committed(self, positions: list[Position], timeout_s: float = 30.0) -> dict[Position, int]:
        """Checkpointed offsets (the next record to read) of these partitions; absent: none."""
        if not positions:
            return {}
        found = self.consumer.committed([TopicPartition(t, p) for t, p in positions], timeout=timeout_s)
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset >= 0}

    def ends(self, topics: list[str], timeout_s: float = 30.0) -> dict[Position, int]:
        """The high watermark of each partition: where a reader starting at LATEST begins."""
        ends = {}
        for topic, partition in self.partitions(topics):
            _, high = watermark_offsets(self.consumer, topic, partition, timeout_s)
            ends[(topic, partition)] = high
        return ends

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if not self.assigned:
            time.sleep(timeout_s)  # nothing to read (a source without topics): wait as a read would
            return []
        # poll() returns with the first record, consume(…, 0) takes what is already fetched: consume()
        # alone waits out its whole timeout unless max_records arrive (200 ms per object at a 0 s buffer).
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        records = []
        for message in [first, *self.consumer.consume(max_records - 1, 0)]:
            error = message.error()
            if error is None:
                records.append(record_of(message))
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("checkpointed read failed", extra={"group": self.group, "error": str(error)})
        return records

    def commit(self, next_offsets: dict[Position, int]) -> None:
        """Checkpoint: every record before these offsets is delivered. Synchronous: it returns
        once Kafka has the offsets (raises otherwise)."""
        if next_offsets:
            offsets = [TopicPartition(t, p, o) for (t, p), o in next_offsets.items()]
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError._NO_OFFSET:
                    raise

    def close(self) -> None:
        self.consumer.close()
