"""The pure TTL rules: expiry, the setting's statuses and refusals, the sweeper's conditional delete."""

from __future__ import annotations

import pytest

from table_api.errors import ValidationException
from table_api.sweeper import still_expired
from table_api.time_to_live import COOLDOWN_MESSAGE, FIVE_YEARS_S, changed, describe, expired

NOW = 1_800_000_000.0


def at(value: dict) -> dict:
    return {"pk": {"S": "a"}, "ttl": value}


@pytest.mark.parametrize("value, is_expired", [
    ({"N": str(int(NOW) - 1)}, True),
    ({"N": "1799999999.999"}, True),
    ({"N": str(int(NOW))}, False),  # not before now
    ({"N": str(int(NOW) + 1)}, False),
    ({"N": str(int(NOW - FIVE_YEARS_S))}, True),  # exactly five years: still deleted
    ({"N": str(int(NOW - FIVE_YEARS_S) - 1)}, False),  # older: never
    ({"N": "20231015"}, False),  # the study guide's date read as seconds: 1970-08-23
    ({"N": str(int(NOW) * 1000)}, False),  # milliseconds: far in the future
    ({"N": "-5"}, False),
    ({"S": str(int(NOW) - 1)}, False),
    ({"NS": [str(int(NOW) - 1)]}, False),
    ({"L": [{"N": str(int(NOW) - 1)}]}, False),
])
def test_expiry_follows_dynamodbs_rule(value, is_expired):
    assert expired(at(value), "ttl", NOW) is is_expired


def test_an_item_without_the_attribute_or_no_item_never_expires():
    assert not expired({"pk": {"S": "a"}}, "ttl", NOW)
    assert not expired(None, "ttl", NOW)


def test_the_sweepers_delete_keeps_an_item_rewritten_with_a_future_time():
    apply = still_expired("ttl", NOW)
    old = at({"N": str(int(NOW) - 10)})
    assert apply(old) is None
    renewed = at({"N": str(int(NOW) + 10)})
    assert apply(renewed) is renewed  # unchanged: no write, no event
    assert apply(None) is None  # already gone: nothing to do


def spec(enabled: bool, name: str = "ttl") -> dict:
    return {"Enabled": enabled, "AttributeName": name}


def test_statuses_settle_after_the_settle_time():
    assert describe(None, NOW, 30) == {"TimeToLiveStatus": "DISABLED"}
    on = changed(None, spec(True), NOW, 3600)
    assert describe(on, NOW + 1, 30) == {"TimeToLiveStatus": "ENABLING", "AttributeName": "ttl"}
    assert describe(on, NOW + 30, 30) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    off = changed(on, spec(False), NOW + 3600, 3600)
    assert describe(off, NOW + 3601, 30) == {"TimeToLiveStatus": "DISABLING", "AttributeName": "ttl"}
    assert describe(off, NOW + 3630, 30) == {"TimeToLiveStatus": "DISABLED"}


@pytest.mark.parametrize("setting, asked, message", [
    ({"AttributeName": "ttl", "Enabled": True, "UpdatedAt": 0}, spec(True), "TimeToLive is already enabled"),
    (None, spec(False), "TimeToLive is already disabled"),
    ({"AttributeName": "ttl", "Enabled": False, "UpdatedAt": 0}, spec(False), "TimeToLive is already disabled"),
    ({"AttributeName": "ttl", "Enabled": True, "UpdatedAt": 0}, spec(True, "x"),
     "TimeToLive is active on a different AttributeName: current AttributeName is ttl"),
    ({"AttributeName": "ttl", "Enabled": True, "UpdatedAt": 0}, spec(False, "x"),
     "TimeToLive is active on a different AttributeName: current AttributeName is ttl"),
    # what is asked is checked first: a repeat within the cooldown says "already"
    ({"AttributeName": "ttl", "Enabled": True, "UpdatedAt": NOW}, spec(True), "TimeToLive is already enabled"),
    ({"AttributeName": "ttl", "Enabled": True, "UpdatedAt": NOW - 10}, spec(False), COOLDOWN_MESSAGE),
    ({"AttributeName": "ttl", "Enabled": False, "UpdatedAt": NOW - 10}, spec(True, "other"), COOLDOWN_MESSAGE),
])
def test_refusals(setting, asked, message):
    with pytest.raises(ValidationException) as info:
        changed(setting, asked, NOW, 3600)
    assert info.value.message == message


def test_after_the_cooldown_a_change_is_accepted_and_dated():
    old = {"AttributeName": "ttl", "Enabled": True, "UpdatedAt": NOW - 3600}
    assert changed(old, spec(False), NOW, 3600) == {"AttributeName": "ttl", "Enabled": False, "UpdatedAt": NOW}
    off = {"AttributeName": "ttl", "Enabled": False, "UpdatedAt": NOW - 3600}
    assert changed(off, spec(True, "other"), NOW, 3600)["AttributeName"] == "other"
