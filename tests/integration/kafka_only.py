"""Helpers of the tests that run on Apache Kafka only (the restart loop, iterators across a
restart, retention, stock consumers): skipped, saying why, on any other suite broker."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.conftest import CREDENTIALS, REGION, apache_kafka_unavailable, suite_broker_choice


def skip_unless_apache_kafka(config, why: str) -> None:
    """Skip unless this suite run's broker is Apache Kafka (`--broker kafka`) and it can run."""
    choice = suite_broker_choice(config)
    if choice != "kafka":
        pytest.skip(f"Apache Kafka only ({why}); this run's broker is {choice!r}: run with --broker kafka "
                    f"or CDC_BRIDGE_TEST_BROKER=kafka (`python -m tests` does)")
    problem = apache_kafka_unavailable()
    if problem:
        pytest.skip(f"Apache Kafka cannot run here: {problem}")


def client(service: str, url: str):
    """boto3 with retries off and short timeouts: every attempt's outcome is the test's to judge."""
    return boto3.client(service, endpoint_url=url, region_name=REGION, **CREDENTIALS,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=15))


def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """The topic's configs as the broker reports them (DescribeConfigs)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource("topic", topic)
    entries = admin.describe_configs([resource], request_timeout=10)[resource].result(10)
    return {name: entry.value for name, entry in entries.items()}


def watermarks(bootstrap: str, topic: str, partitions: list[int]) -> dict[int, tuple[int, int]]:
    """(log start offset, end offset) of each partition, as the broker reports them."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdc-bridge-test-watermarks",
                         "enable.auto.commit": False})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
                for p in partitions}
    finally:
        consumer.close()


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(interval_s)
