"""Change events as a test reads them from Kafka: a confluent-kafka consumer that decodes them, and
a wait for the change events of a write.

This module hands users confluent-kafka's own DeserializingConsumer, so it imports the client
itself (the services reach Kafka only through kafka_io). Values and keys are decoded with the
project's one codec (schemas/codec.py), so they are in DynamoDB Streams shape with attribute
values in wire form ({"S": "x"}), as GetRecords returns them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Self

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    DeserializingConsumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from schemas import codec


def decode_value(data: bytes | None, _ctx=None) -> dict | None:
    return None if data is None else codec.decode_event(codec.unframe(data)[1])


def decode_key(data: bytes | None, _ctx=None) -> dict | None:
    return None if data is None else codec.decode_key(codec.unframe(data)[1])


def consumer_config(bootstrap_servers: str, **config: Any) -> dict[str, Any]:
    """Its own group unless `group.id` is given; from the earliest record; nothing committed."""
    return {"bootstrap.servers": bootstrap_servers, "group.id": f"cdc-bridge-test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False, **config}


def change_event_consumer(bootstrap_servers: str, **config: Any) -> DeserializingConsumer:
    """A consumer of change events: message.key() is the item's primary key, message.value() the event."""
    return DeserializingConsumer(consumer_config(bootstrap_servers, **{
        "key.deserializer": decode_key, "value.deserializer": decode_value, **config}))


class ChangeEvents(list):
    """The change events of the writes made inside a `with` block (a list, filled on leaving it).

    On entering: waits until the stack's outbox is empty (everything written before is on Kafka),
    then reads the table's stream topic to its end (PARTITION_EOF after a fetch, which every broker
    answers truthfully). On leaving without an exception: reads on until `count` more events came."""

    def __init__(self, stack, table: str, count: int = 1, timeout_s: float = 30.0):
        super().__init__()
        self.stack, self.table, self.count, self.timeout_s = stack, table, count, timeout_s
        self.consumer: Consumer | None = None  # not deserializing: it raises on PARTITION_EOF, which is read here

    def __enter__(self) -> Self:
        topic = self.stack.stream_topic(self.table)
        self.wait_outbox_empty()
        self.consumer = Consumer(consumer_config(self.stack.get_kafka_bootstrap_servers(), **{
            "enable.partition.eof": True, "fetch.wait.max.ms": 10}))
        partitions = self.partitions(topic)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.read_to_end(len(partitions))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.read_new()
        finally:
            self.consumer.close()

    def wait_outbox_empty(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while self.stack.health()["parts"]["table_api"].get("outbox_rows", 0):
            if time.monotonic() > deadline:
                raise AssertionError(f"the outbox still holds change events after {self.timeout_s}s")
            time.sleep(0.02)

    def partitions(self, topic: str) -> list[int]:
        deadline = time.monotonic() + self.timeout_s
        while True:  # the topic is made when the stream is enabled; its metadata may lag a moment
            found = self.consumer.list_topics(timeout=10).topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                return sorted(found.partitions)
            if time.monotonic() > deadline:
                raise AssertionError(f"the stream topic {topic} of table {self.table} does not exist")
            time.sleep(0.1)

    def read_to_end(self, partitions: int) -> None:
        at_end: set[int] = set()
        deadline = time.monotonic() + self.timeout_s
        while len(at_end) < partitions:
            if time.monotonic() > deadline:
                raise AssertionError(f"reading the stream of {self.table} to its end took over {self.timeout_s}s")
            message = self.consumer.poll(0.2)
            if message is None:
                continue
            if message.error() and message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
            elif message.error():
                raise KafkaException(message.error())
            else:
                at_end.discard(message.partition())

    def read_new(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while len(self) < self.count:
            if time.monotonic() > deadline:
                names = [event["eventName"] for event in self]
                raise AssertionError(f"{len(self)} of {self.count} change events of {self.table} arrived within "
                                     f"{self.timeout_s}s: {names}")
            message = self.consumer.poll(0.2)
            if message is None or (message.error() and message.error().code() == KafkaError._PARTITION_EOF):
                continue
            if message.error():
                raise KafkaException(message.error())
            self.append(decode_value(message.value()))
