"""Kinesis shards over topic generations (connector/kinesis_shards.py): shard numbering,
routing, lineage after UpdateShardCount, closing and expiry, all from the stream's metadata."""

from __future__ import annotations

from connector.ids import equal_slices, hash_key, rescaled_slices
from connector.kinesis_shards import (
    HOUR_MS,
    children,
    find_shard,
    new_generation,
    open_shards,
    route,
    shards_of,
    stream_of_topic,
    topic_name,
    visible_shards,
)


def stream(name: str, *generations: dict, hours: int = 24) -> dict:
    return {"StreamName": name, "RetentionPeriodHours": hours, "Generations": list(generations)}


def reshard(s: dict, count: int, now: int, ends: list[int] | None) -> dict:
    last = s["Generations"][-1]
    closed = {**last, "ClosedMs": now, "Ends": ends}
    nxt = new_generation(s["StreamName"], last["Number"] + 1, last["FirstShard"] + last["Shards"],
                         rescaled_slices(count, equal_slices(last["Shards"])), now)
    return {**s, "Generations": [*s["Generations"][:-1], closed, nxt]}


def test_topics_are_named_after_the_stream_and_generation():
    assert topic_name("my.stream", 3) == "kinesis.my.stream.3"
    assert stream_of_topic("kinesis.my.stream.3") == "my.stream"


def test_a_new_stream_has_shards_numbered_from_zero_one_per_partition():
    s = stream("s", new_generation("s", 0, 0, equal_slices(3), 1000))
    shards = shards_of(s)
    assert [(x.id, x.topic, x.partition) for x in shards] == [
        ("shardId-000000000000", "kinesis.s.0", 0),
        ("shardId-000000000001", "kinesis.s.0", 1),
        ("shardId-000000000002", "kinesis.s.0", 2),
    ]
    assert all(not x.parents and not x.closed for x in shards)
    assert "Starts" not in s["Generations"][0]  # equal slices are implied, not stored


def test_records_route_to_the_open_shard_holding_their_hash_key():
    s = stream("s", new_generation("s", 0, 0, equal_slices(4), 1000))
    for key in ("a", "b", "c", "partition-key-42"):
        topic, partition, number = route(s, hash_key(key))
        shard = find_shard(s, number)
        assert (topic, partition) == (shard.topic, shard.partition)
        assert shard.starting_hash_key <= hash_key(key) <= shard.ending_hash_key
    assert route(s, 0)[1] == 0 and route(s, 2**128 - 1)[1] == 3


def test_doubling_opens_a_generation_whose_shards_name_their_parent():
    s = reshard(stream("s", new_generation("s", 0, 0, equal_slices(2), 1000)), 4, 2000, [5, 7])
    shards = {x.number: x for x in shards_of(s)}
    assert [n for n in shards] == [0, 1, 2, 3, 4, 5]
    assert [shards[n].parents for n in (2, 3, 4, 5)] == [(0,), (0,), (1,), (1,)]
    assert shards[0].closed and shards[0].end_offset == 5 and shards[1].end_offset == 7
    assert [c.number for c in children(s, shards[1])] == [4, 5]
    assert route(s, 0) == ("kinesis.s.1", 0, 2)
    assert [x.number for x in open_shards(s)] == [2, 3, 4, 5]
    described = shards[4].describe()
    assert described["ParentShardId"] == "shardId-000000000001" and "AdjacentParentShardId" not in described
    assert shards[1].describe()["SequenceNumberRange"]["EndingSequenceNumber"].endswith("6")


def test_halving_gives_each_new_shard_a_parent_and_an_adjacent_parent():
    s = reshard(stream("s", new_generation("s", 0, 0, equal_slices(6), 1000)), 3, 2000, [0] * 6)
    new = [x for x in shards_of(s) if x.number >= 6]
    assert [x.parents for x in new] == [(0, 1), (2, 3), (4, 5)]
    assert new[0].describe()["AdjacentParentShardId"] == "shardId-000000000001"
    assert s["Generations"][1]["Starts"]  # not plain equal slices: stored


def test_old_shards_stay_open_until_their_ends_are_known():
    s = reshard(stream("s", new_generation("s", 0, 0, equal_slices(1), 1000)), 2, 2000, None)
    old = find_shard(s, 0)
    assert old.closed_ms == 2000 and not old.closed
    assert "EndingSequenceNumber" not in old.describe()["SequenceNumberRange"]


def test_closed_shards_disappear_once_the_retention_has_passed_since_they_closed():
    s = reshard(stream("s", new_generation("s", 0, 0, equal_slices(1), 0), hours=24), 2, 1000, [3])
    assert [x.number for x in visible_shards(s, 1000 + 24 * HOUR_MS)] == [0, 1, 2]
    assert [x.number for x in visible_shards(s, 1001 + 24 * HOUR_MS)] == [1, 2]
