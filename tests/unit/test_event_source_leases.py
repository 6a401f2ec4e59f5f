"""Who delivers a mapping among instances (event_sources/leases.py): the live instance that offered it
first in the lease topic's order; a new instance never takes it from a live owner."""

from __future__ import annotations

import orjson

from event_sources.leases import member_of, owner

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
