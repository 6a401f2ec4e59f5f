"""The throttling model (`table_api/capacity.py`) under an injected clock: token buckets with 300 s
of burst that start empty, all-or-nothing charges, on-demand ceilings."""

import pytest

from table_api.capacity import BURST_SECONDS, Throttle, TokenBucket, demands_of
from table_api.errors import ProvisionedThroughputExceededException
from table_api.indexes import SecondaryIndex
from table_api.keys import KeySchema


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_new_bucket_starts_empty_and_fills_at_its_rate():
    bucket = TokenBucket(rate=5, burst_seconds=BURST_SECONDS, now=0.0)
    assert not bucket.allows(1, now=0.0)
    assert bucket.allows(5, now=1.0)
    assert not bucket.allows(5.5, now=1.0)


def test_unused_capacity_is_kept_for_300_seconds_of_burst_and_no_more():
    bucket = TokenBucket(rate=5, burst_seconds=BURST_SECONDS, now=0.0)
    bucket.refill(10_000.0)
    assert bucket.tokens == 5 * 300


def test_a_request_larger_than_the_whole_bucket_passes_only_when_it_is_full():
    bucket = TokenBucket(rate=1, burst_seconds=BURST_SECONDS, now=0.0)
    assert not bucket.allows(400, now=299.0)
    assert bucket.allows(400, now=300.0)
    bucket.take(400)
    assert bucket.tokens == -100  # in debt: the next 100 s refill it first
    assert not bucket.allows(1, now=400.0)
    assert bucket.allows(1, now=401.0)


def test_a_changed_rate_keeps_what_was_saved_up_to_the_new_size():
    bucket = TokenBucket(rate=10, burst_seconds=BURST_SECONDS, now=0.0)
    bucket.refill(100.0)
    bucket.set_rate(1, now=100.0)
    assert bucket.tokens == 300


def description(mode="PROVISIONED", read=5, write=5, gsi_write=None, on_demand=None):
    d = {"TableId": "id-1", "TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t", "CreationDateTime": 1000.0,
         "BillingModeSummary": {"BillingMode": mode},
         "ProvisionedThroughput": {"ReadCapacityUnits": read, "WriteCapacityUnits": write}}
    if gsi_write is not None:
        d["GlobalSecondaryIndexes"] = [{"IndexName": "g", "ProvisionedThroughput": {
            "ReadCapacityUnits": 100, "WriteCapacityUnits": gsi_write}}]
    if on_demand is not None:
        d["OnDemandThroughput"] = on_demand
    return d


GSI = SecondaryIndex("g", True, KeySchema.from_wire([{"AttributeName": "g", "KeyType": "HASH"}],
                                                    [{"AttributeName": "g", "AttributeType": "S"}]), "ALL", frozenset())


def test_a_provisioned_table_refuses_writes_beyond_its_capacity_with_dynamodbs_reason():
    clock = Clock()
    throttle = Throttle(40000, 40000, clock)
    with pytest.raises(ProvisionedThroughputExceededException):  # created just now: nothing saved yet
        throttle.charge(demands_of(throttle, description(), "write", 1, {}))
    clock.now += 1.0
    for _ in range(5):
        throttle.charge(demands_of(throttle, description(), "write", 1, {}))
    with pytest.raises(ProvisionedThroughputExceededException) as refused:
        throttle.charge(demands_of(throttle, description(), "write", 1, {}))
    assert refused.value.message.startswith("The level of configured provisioned throughput for the table was exceeded")
    assert refused.value.extra["ThrottlingReasons"] == [
        {"reason": "TableWriteProvisionedThroughputExceeded", "resource": description()["TableArn"]}]


def test_a_throttled_gsi_refuses_the_write_and_spends_nothing_from_the_table():
    clock = Clock()
    throttle = Throttle(40000, 40000, clock)
    d = description(write=100, gsi_write=1)
    clock.now += 2.0  # table: 200 saved since its creation, index: 2

    with pytest.raises(ProvisionedThroughputExceededException) as refused:
        throttle.charge(demands_of(throttle, d, "write", 1, {GSI: 3}))
    assert refused.value.extra["ThrottlingReasons"][0]["reason"] == "IndexWriteProvisionedThroughputExceeded"
    assert refused.value.extra["ThrottlingReasons"][0]["resource"].endswith("table/t/index/g")
    table_bucket = next(b for k, b in throttle.buckets.items() if k[1] is None)
    assert table_bucket.tokens == pytest.approx(200)


def test_units_of_one_request_on_one_bucket_are_added_up():
    clock = Clock()
    throttle = Throttle(40000, 40000, clock)
    clock.now += 1.0  # 5 read units saved
    demands = demands_of(throttle, description(), "read", 3, {}) * 2
    with pytest.raises(ProvisionedThroughputExceededException):
        throttle.charge(demands)


def test_an_on_demand_table_throttles_past_its_ceiling_and_starts_full():
    clock = Clock()
    throttle = Throttle(40000, 10, clock)
    d = description(mode="PAY_PER_REQUEST", read=0, write=0)
    throttle.charge(demands_of(throttle, d, "write", 10, {}))
    with pytest.raises(ProvisionedThroughputExceededException) as refused:
        throttle.charge(demands_of(throttle, d, "write", 1, {}))
    assert refused.value.extra["ThrottlingReasons"][0]["reason"] == "TableWriteAccountLimitExceeded"
    clock.now += 0.5
    throttle.charge(demands_of(throttle, d, "write", 5, {}))


def test_on_demand_throughput_maximum_is_the_ceiling_when_set():
    clock = Clock()
    throttle = Throttle(40000, 40000, clock)
    d = description(mode="PAY_PER_REQUEST", read=0, write=0, on_demand={"MaxWriteRequestUnits": 2})
    throttle.charge(demands_of(throttle, d, "write", 2, {}))
    with pytest.raises(ProvisionedThroughputExceededException) as refused:
        throttle.charge(demands_of(throttle, d, "write", 1, {}))
    assert refused.value.message == "Throughput exceeds the maximum OnDemandThroughput configured on table or index"
    assert refused.value.extra["ThrottlingReasons"][0]["reason"] == "TableWriteMaxOnDemandThroughputExceeded"


def test_a_table_older_than_the_server_starts_empty_when_the_server_starts():
    clock = Clock()
    clock.now = 5000.0
    throttle = Throttle(40000, 40000, clock)  # the table was created at 1000, long before
    with pytest.raises(ProvisionedThroughputExceededException):
        throttle.charge(demands_of(throttle, description(), "write", 1, {}))
