"""Who delivers a mapping among instances (event_sources/leases.py): the live instance that offered it
first in the lease topic's order; a new instance never takes it from a live owner; one whose lease
lapsed offers anew, behind the instance that took over."""

from __future__ import annotations

from types import SimpleNamespace

import orjson

from event_sources.leases import Leases, member_of, owner
from kafka_io.client import Record

NOW = 1_000_000


def beat(until: int, **since) -> dict:
    return {"Until": until, "Since": since}


def test_the_first_live_offer_owns_the_mapping():
    members = {"a": beat(NOW + 5000, m=7), "b": beat(NOW + 9000, m=3)}
    assert owner(members, "m", NOW) == "b"


def test_an_expired_owner_hands_over_to_the_next_offer():
    members = {"a": beat(NOW + 5000, m=7), "b": beat(NOW - 1, m=3)}
    assert owner(members, "m", NOW) == "a"
    assert owner({"b": beat(NOW - 1, m=3)}, "m", NOW) is None


def test_only_instances_offering_a_mapping_are_candidates():
    members = {"a": beat(NOW + 5000, other=1), "b": beat(NOW + 5000, m=9)}
    assert owner(members, "m", NOW) == "b"
    assert owner(members, "nobody", NOW) is None


def test_a_first_offer_is_placed_at_its_own_offset():
    value = orjson.dumps({"Until": NOW, "Mappings": {"new": None, "old": 4}})
    assert member_of(value, 42) == {"Until": NOW, "Since": {"new": 42, "old": 4}}


# -- the heartbeats, on a topic in memory that every instance's view reads in one order --------------

class Topic:
    """A one-partition topic: a write is acknowledged with its offset and reaches every view (the
    tails) only when `deliver()` says so, as a tail lags behind a producer's acknowledgement."""

    def __init__(self):
        self.records: list[Record] = []
        self.views: list[Leases] = []
        self.delivered = 0

    def deliver(self) -> None:
        for record in self.records[self.delivered:]:
            for view in self.views:
                view._on_tailed(record)
        self.delivered = len(self.records)

    def producer(self, **_config):
        topic = self

        class Producer:
            def produce(self, name, value, key, partition, on_delivery=None):
                record = Record(name, partition, len(topic.records), key, value, {}, 0)
                topic.records.append(record)
                if on_delivery is not None:
                    on_delivery(None, SimpleNamespace(offset=lambda: record.offset))

            def flush(self, timeout_s):
                return 0
        return Producer()


def instance(topic: Topic, wanted: set[str]) -> Leases:
    leases = Leases(topic, on_change=lambda: None)
    leases.want(wanted)
    topic.views.append(leases)
    return leases


def heartbeat(leases: Leases, topic: Topic) -> None:
    """A heartbeat whose record the tails read as soon as it is written."""
    leases._read_back = lambda offset: topic.deliver()
    leases.beat()


def test_an_instance_delivers_only_once_its_offer_was_read_back_and_a_newcomer_waits():
    topic = Topic()
    a, b = instance(topic, {"m"}), instance(topic, {"m"})
    assert not a.owns("m")  # nothing written yet
    heartbeat(a, topic)
    heartbeat(b, topic)
    assert a.owns("m") and not b.owns("m")
    heartbeat(b, topic)
    heartbeat(a, topic)
    assert a.owns("m") and not b.owns("m")  # renewals keep the first offer's place


def test_a_stopped_owner_hands_over_and_a_lapsed_one_queues_behind_its_successor(monkeypatch):
    topic = Topic()
    a, b = instance(topic, {"m"}), instance(topic, {"m"})
    heartbeat(a, topic)
    heartbeat(b, topic)
    a.want(set())  # disabled here (or its function deleted): no longer offered
    heartbeat(a, topic)
    assert b.owns("m") and not a.owns("m")
    a.want({"m"})
    a.fenced_at = 0.0  # its heartbeats were not acknowledged for too long
    heartbeat(a, topic)
    assert b.owns("m") and not a.owns("m")  # offered anew: after b


def test_an_instance_with_nothing_to_deliver_stops_writing_heartbeats():
    topic = Topic()
    a = instance(topic, {"m"})
    heartbeat(a, topic)
    a.want(set())
    for _ in range(3):
        heartbeat(a, topic)
    assert [orjson.loads(r.value)["Mappings"] for r in topic.records] == [{"m": None}, {}]
