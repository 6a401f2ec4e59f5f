"""Reading a topic to its end as a plain Kafka consumer would (shared by the integration tests)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition


def read_to_end(bootstrap: str, topic: str, partitions: list[int], timeout_s: float = 30.0) -> list[Message]:
    """Every record of the given partitions, read to the end of each (PARTITION_EOF: the
    embedded broker's ListOffsets may be low, so the end is found by fetching), in partition
    then offset order."""
    reader = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"test-reader-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 5,
        "auto.offset.reset": "earliest",
    })
    try:
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages, at_end = [], set()
        deadline = time.monotonic() + timeout_s
        while len(at_end) < len(partitions):
            assert time.monotonic() < deadline, f"reading {topic} to its end timed out ({len(messages)} read)"
            message = reader.poll(0.2)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                raise KafkaException(message.error())
            at_end.discard(message.partition())
            messages.append(message)
        return sorted(messages, key=lambda m: (m.partition(), m.offset()))
    finally:
        reader.close()
