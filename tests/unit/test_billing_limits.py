"""DynamoDB's limits on capacity changes (`table_api/operations/billing.py`) at chosen times:
provisioned throughput decreases per UTC day, switches to on-demand per rolling 24 hours."""

from datetime import datetime, timezone

import pytest

from table_api.errors import LimitExceededException
from table_api.operations.billing import changed_throughput, described_capacity, long_date, update_billing


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def units(read: int, write: int) -> dict:
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def test_four_decreases_a_day_at_any_time_then_one_an_hour():
    pt = {**units(100, 100), "NumberOfDecreasesToday": 0}
    t = at("2026-03-24T09:00:00")
    for i in range(4):
        pt = changed_throughput(pt, units(90 - i, 100), t + i)
    assert pt["NumberOfDecreasesToday"] == 4 and pt["LastDecreaseDateTime"] == t + 3
    with pytest.raises(LimitExceededException) as refused:
        changed_throughput(pt, units(50, 100), t + 60)
    assert refused.value.message == (
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the "
        "first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 "
        "seconds. Number of decreases today: 4. Last decrease at Tuesday, March 24, 2026 9:00:03 AM UTC. "
        "Next decrease can be made at Tuesday, March 24, 2026 10:00:03 AM UTC")
    pt = changed_throughput(pt, units(50, 100), t + 3 + 3600)
    assert pt["NumberOfDecreasesToday"] == 5


def test_increases_are_not_limited_and_record_their_time():
    pt = {**units(1, 1), "NumberOfDecreasesToday": 0}
    t = at("2026-03-24T09:00:00")
    for i in range(10):
        pt = changed_throughput(pt, units(2 + i, 1), t + i)
    assert pt["LastIncreaseDateTime"] == t + 9 and "LastDecreaseDateTime" not in pt


def test_decreases_today_start_again_on_the_next_utc_day():
    pt = {**units(10, 10), "NumberOfDecreasesToday": 4, "LastDecreaseDateTime": at("2026-03-24T23:59:00")}
    next_day = at("2026-03-25T00:01:00")
    shown = described_capacity({"ProvisionedThroughput": pt, "BillingModeSummary": {"BillingMode": "PROVISIONED"}},
                               next_day)
    assert shown["ProvisionedThroughput"]["NumberOfDecreasesToday"] == 0
    assert changed_throughput(pt, units(5, 10), next_day)["NumberOfDecreasesToday"] == 1


def provisioned_table() -> dict:
    return {"BillingModeSummary": {"BillingMode": "PROVISIONED"},
            "ProvisionedThroughput": {**units(5, 5), "NumberOfDecreasesToday": 0}}


def test_four_switches_to_on_demand_in_a_rolling_24_hours():
    d = provisioned_table()
    t = at("2026-03-24T10:00:00")
    for i in range(4):
        update_billing(d, {"BillingMode": "PAY_PER_REQUEST"}, t + i * 60)
        assert d["BillingModeSummary"] == {"BillingMode": "PAY_PER_REQUEST",
                                           "LastUpdateToPayPerRequestDateTime": t + i * 60}
        update_billing(d, {"BillingMode": "PROVISIONED", "ProvisionedThroughput": units(5, 5)}, t + i * 60 + 30)
        assert d["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    with pytest.raises(LimitExceededException) as refused:
        update_billing(d, {"BillingMode": "PAY_PER_REQUEST"}, t + 3600)
    assert refused.value.message == (
        "Subscriber limit exceeded: Update to PayPerRequest mode are limited to 4 times in 1 day(s). "
        "Last update at Tue Mar 24 10:03:00 UTC 2026. Next update can be made at Wed Mar 25 10:00:00 UTC 2026")
    update_billing(d, {"BillingMode": "PAY_PER_REQUEST"}, t + 24 * 3600)  # the first switch left the window


def test_an_on_demand_table_shows_no_maximum_throughput_unless_given():
    d = {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
         "ProvisionedThroughput": {**units(0, 0), "NumberOfDecreasesToday": 0}}
    assert described_capacity(d)["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
    d["OnDemandThroughput"] = {"MaxWriteRequestUnits": 10}
    assert described_capacity(d)["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 10}


def test_long_date_is_dynamodbs_form():
    assert long_date(at("2019-03-24T09:07:28")) == "Sunday, March 24, 2019 9:07:28 AM UTC"
    assert long_date(at("2019-03-24T12:00:00")) == "Sunday, March 24, 2019 12:00:00 PM UTC"
