"""Time to live: a table's TTL setting and DynamoDB's expiry rule, as pure functions.

The setting lives in the table's stored description under the internal key `TimeToLive`
(never shown by DescribeTable, which on AWS has no TTL member either):
`{"AttributeName": str, "Enabled": bool, "UpdatedAt": epoch seconds}`. No key: TTL was never
set. The record stays after a disable: it answers "already disabled" and dates the cooldown.

Statuses: a change settles when the sweeper takes it up, at its next pass, so a table is
ENABLING (DISABLING) for one sweep interval after UpdateTimeToLive, then ENABLED (DISABLED).
The sweeper deletes only while the setting is enabled; a disable stops deletions at once.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from table_api.errors import ValidationException
from table_api.values import Item

SETTING = "TimeToLive"
# DynamoDB leaves alone items whose TTL is more than five years in the past (a value in
# milliseconds or a date such as 20231015 read as seconds is decades old, not "expired now").
FIVE_YEARS_S = 5 * 365 * 24 * 3600
# What a TTL deletion's change event names as its author, as on AWS's streams.
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
COOLDOWN_MESSAGE = "Time to live has been modified multiple times within a fixed interval"


def setting_of(description: dict) -> dict | None:
    return description.get(SETTING)


def enabled_attribute(description: dict) -> str | None:
    """The TTL attribute the sweeper deletes by, or None when TTL is off."""
    setting = setting_of(description)
    return setting["AttributeName"] if setting and setting["Enabled"] else None


def describe(setting: dict | None, now: float, settle_s: float) -> dict:
    """DescribeTimeToLive's TimeToLiveDescription."""
    if setting is None:
        return {"TimeToLiveStatus": "DISABLED"}
    settling = now < setting["UpdatedAt"] + settle_s
    if setting["Enabled"]:
        status = "ENABLING" if settling else "ENABLED"
    elif settling:
        status = "DISABLING"
    else:
        return {"TimeToLiveStatus": "DISABLED"}
    return {"TimeToLiveStatus": status, "AttributeName": setting["AttributeName"]}


def changed(setting: dict | None, spec: dict, now: float, cooldown_s: float) -> dict:
    """The setting after UpdateTimeToLive's `spec`, or DynamoDB's refusal. The checks of what is
    asked come first, then the cooldown (a repeat of the current state says so even within it)."""
    enabled, name = spec["Enabled"], spec["AttributeName"]
    active = setting is not None and setting["Enabled"]
    if active and setting["AttributeName"] != name:
        raise ValidationException(
            f"TimeToLive is active on a different AttributeName: current AttributeName is {setting['AttributeName']}")
    if active and enabled:
        raise ValidationException("TimeToLive is already enabled")
    if not active and not enabled:
        raise ValidationException("TimeToLive is already disabled")
    if setting is not None and now < setting["UpdatedAt"] + cooldown_s:
        raise ValidationException(COOLDOWN_MESSAGE)
    return {"AttributeName": name, "Enabled": enabled, "UpdatedAt": now}


def expired(item: Item | None, attribute: str, now: float) -> bool:
    """DynamoDB's rule: the attribute is a Number of epoch seconds before `now`, and not more
    than five years before it. Missing, another type, or in the future: the item stays."""
    value = item.get(attribute) if item else None
    if not isinstance(value, dict) or "N" not in value:
        return False
    try:
        seconds = Decimal(value["N"])
    except InvalidOperation:
        return False
    return now - FIVE_YEARS_S <= seconds < now
