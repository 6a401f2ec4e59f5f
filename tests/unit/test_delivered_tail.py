"""The tail of acknowledged records that `cdc-bridge up` hands from the publisher to the connector
(kafka_io.delivered.DeliveredTail): it only ever answers with records whose offsets follow each
other from the one asked for, so a read from it can never skip or repeat a record."""

from __future__ import annotations

from kafka_io.delivered import DeliveredTail


class Delivered:
    """What the tail looks at in a delivery report."""

    def __init__(self, topic: str, partition: int, offset: int):
        self._where, self._offset = (topic, partition), offset

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._offset


def deliver(tail: DeliveredTail, topic: str, partition: int, offsets) -> None:
    for offset in offsets:
        tail.add(Delivered(topic, partition, offset))


def offsets(messages) -> list[int]:
    return [m.offset() for m in messages]


def test_reads_follow_the_offsets_from_the_one_asked_for_up_to_the_limit():
    tail = DeliveredTail()
    deliver(tail, "t", 0, range(10, 20))
    assert offsets(tail.read("t", 0, 10, 1000)) == list(range(10, 20))
    assert offsets(tail.read("t", 0, 14, 3)) == [14, 15, 16]
    assert offsets(tail.read("t", 0, 19, 5)) == [19]


def test_offsets_it_does_not_hold_get_nothing():
    tail = DeliveredTail()
    deliver(tail, "t", 0, range(10, 20))
    for offset in (0, 9, 20, 21):
        assert tail.read("t", 0, offset, 10) == []
    assert tail.read("t", 1, 10, 10) == [] and tail.read("other", 0, 10, 10) == []


def test_a_gap_starts_the_partition_afresh():
    tail = DeliveredTail()
    deliver(tail, "t", 0, range(0, 5))
    deliver(tail, "t", 0, [7, 8])  # 5 and 6 were written by someone else
    assert tail.read("t", 0, 3, 10) == []
    assert offsets(tail.read("t", 0, 7, 10)) == [7, 8]
    deliver(tail, "t", 0, [0])  # the topic started over (a new topic of the same name)
    assert offsets(tail.read("t", 0, 0, 10)) == [0] and tail.read("t", 0, 7, 10) == []


def test_only_the_newest_records_of_each_partition_are_kept():
    tail = DeliveredTail(per_partition=4)
    deliver(tail, "t", 0, range(10))
    assert tail.read("t", 0, 5, 10) == []
    assert offsets(tail.read("t", 0, 6, 10)) == [6, 7, 8, 9]


def test_the_partition_written_longest_ago_goes_first():
    tail = DeliveredTail(partitions=2)
    deliver(tail, "a", 0, [0])
    deliver(tail, "b", 0, [0])
    deliver(tail, "a", 0, [1])  # a is now the newest
    deliver(tail, "c", 0, [0])
    assert tail.read("b", 0, 0, 10) == []
    assert offsets(tail.read("a", 0, 0, 10)) == [0, 1] and offsets(tail.read("c", 0, 0, 10)) == [0]


def test_forgotten_topics_are_gone_and_others_stay():
    tail = DeliveredTail()
    deliver(tail, "gone", 0, [0, 1])
    deliver(tail, "gone", 1, [0])
    deliver(tail, "kept", 0, [0])
    tail.forget({"gone"})
    assert tail.read("gone", 0, 0, 10) == [] and tail.read("gone", 1, 0, 10) == []
    assert offsets(tail.read("kept", 0, 0, 10)) == [0]


def test_a_partition_that_starts_afresh_counts_as_just_written():
    tail = DeliveredTail(partitions=2)
    deliver(tail, "a", 0, [0])
    deliver(tail, "b", 0, [0])
    deliver(tail, "a", 0, [5])  # a gap: a starts afresh, and is now the newest
    deliver(tail, "c", 0, [0])
    assert tail.read("b", 0, 0, 10) == []
    assert offsets(tail.read("a", 0, 5, 10)) == [5]


def test_the_end_of_a_partition_is_after_its_newest_acknowledged_record():
    tail = DeliveredTail(per_partition=4, partitions=1)
    deliver(tail, "t", 0, range(10, 20))
    assert tail.ends_at("t", 0, 20)
    assert not any(tail.ends_at("t", 0, offset) for offset in (0, 19, 21))
    assert not tail.ends_at("t", 1, 0) and not tail.ends_at("other", 0, 20)  # unknown: not an end
    deliver(tail, "u", 0, [0])  # t's records leave the tail; its end is still known
    assert tail.read("t", 0, 19, 10) == [] and tail.ends_at("t", 0, 20)


def test_an_end_a_read_found_is_learned_and_ends_only_grow():
    tail = DeliveredTail()
    tail.learn_end("t", 0, 5)
    assert tail.ends_at("t", 0, 5)
    tail.learn_end("t", 0, 3)  # an older look at the partition
    assert tail.ends_at("t", 0, 5)
    deliver(tail, "t", 0, [5, 6])
    assert tail.ends_at("t", 0, 7)
    deliver(tail, "t", 0, [0])  # the topic started over (a memory broker restarted)
    assert tail.ends_at("t", 0, 1) and not tail.ends_at("t", 0, 7)
    tail.forget({"t"})
    assert not tail.ends_at("t", 0, 1)


def test_a_followed_topic_is_handed_over_and_not_kept():
    tail, seen = DeliveredTail(), []
    tail.follow("catalog", seen.append)
    deliver(tail, "catalog", 0, [0, 1])
    assert offsets(seen) == [0, 1]
    assert tail.read("catalog", 0, 0, 10) == []  # not taking a stream partition's place in the tail


def test_a_waiting_reader_is_woken_by_the_next_record_of_its_partition_only():
    tail, woken = DeliveredTail(), []
    deliver(tail, "t", 0, [0, 1])
    tail.when_held("t", 0, 2, lambda: woken.append("t0"))
    tail.when_held("t", 1, 0, lambda: woken.append("t1"))
    deliver(tail, "u", 0, [0])  # another topic
    assert woken == []
    deliver(tail, "t", 0, [2])
    assert woken == ["t0"]
    deliver(tail, "t", 0, [3])
    assert woken == ["t0"]  # once


def test_a_reader_asking_for_a_record_already_held_is_woken_at_once():
    tail, woken = DeliveredTail(), []
    deliver(tail, "t", 0, [5, 6])
    tail.when_held("t", 0, 6, lambda: woken.append(1))
    assert woken == [1]


def test_a_withdrawn_wait_is_not_called():
    tail, woken = DeliveredTail(), []
    wake = lambda: woken.append(1)  # noqa: E731
    tail.when_held("t", 0, 0, wake)
    tail.unwait("t", 0, wake)
    deliver(tail, "t", 0, [0])
    assert woken == []
