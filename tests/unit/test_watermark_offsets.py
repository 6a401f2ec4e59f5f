"""Looking up a partition's offsets while its leader is being chosen (kafka_io.client.watermark_offsets):
an Apache Kafka topic made a moment ago answered ListOffsets with NOT_LEADER_FOR_PARTITION, which
reached a GetShardIterator as InternalServerError. The lookup asks again within its timeout; any
other error, and a leader still missing at the timeout, is raised."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from kafka_io.client import watermark_offsets


class Consumer:
    """Answers ListOffsets with the given errors first, then (low, high)."""

    def __init__(self, *errors: int, answer=(0, 7)):
        self.errors = list(errors)
        self.answer = answer
        self.calls = 0

    def get_watermark_offsets(self, partition, timeout):
        self.calls += 1
        assert timeout > 0
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return self.answer


def test_a_leader_being_chosen_is_waited_for():
    consumer = Consumer(KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
    assert watermark_offsets(consumer, "t", 0, timeout_s=5) == (0, 7)
    assert consumer.calls == 3


def test_other_errors_are_raised_at_once():
    consumer = Consumer(KafkaError.UNKNOWN_TOPIC_OR_PART)
    with pytest.raises(KafkaException) as raised:
        watermark_offsets(consumer, "t", 0, timeout_s=5)
    assert raised.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART and consumer.calls == 1


def test_a_leader_still_missing_at_the_timeout_is_raised():
    consumer = Consumer(*[KafkaError.NOT_LEADER_FOR_PARTITION] * 1000)
    started = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        watermark_offsets(consumer, "t", 0, timeout_s=0.3)
    assert raised.value.args[0].code() == KafkaError.NOT_LEADER_FOR_PARTITION
    assert 0.2 <= time.monotonic() - started < 2 and consumer.calls > 1
