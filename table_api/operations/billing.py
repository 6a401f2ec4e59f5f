"""Capacity modes in the table operations: UpdateTable's BillingMode and ProvisionedThroughput
with DynamoDB's limits, and how DescribeTable reports them.

- Provisioned to on-demand at most 4 times in a rolling 24 hours; on-demand to provisioned at any
  time (the developer guide's "Considerations when switching capacity modes"). The switch times
  are kept in the description (PAY_PER_REQUEST_SWITCHES, never shown).
- Decreases of a table's or GSI's provisioned units: the first 4 of a UTC day at any time, each
  further one at most once an hour (LimitExceededException with DynamoDB's text).
- BillingModeSummary.LastUpdateToPayPerRequestDateTime is the last time the table became on-demand
  (created so, or switched); a table that never was has none. NumberOfDecreasesToday counts the
  current UTC day's decreases, so it reads 0 again the next day.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from table_api.errors import LimitExceededException, ValidationException
from table_api.operations.definitions import INVALID, throughput

PAY_PER_REQUEST_SWITCHES = "PayPerRequestSwitches"  # stored with the table, not part of its description
SWITCHES_PER_DAY = 4
DECREASES_AT_ANY_TIME = 4
DECREASE_INTERVAL_S = 3600
DAY_S = 24 * 3600
UNITS = ("ReadCapacityUnits", "WriteCapacityUnits")
UNLIMITED = -1  # OnDemandThroughput's "no maximum"


def mode_of(description: dict) -> str:
    return description["BillingModeSummary"]["BillingMode"]


def created_billing(billing_mode: str, now: float) -> dict:
    """A new table's BillingModeSummary."""
    if billing_mode == "PAY_PER_REQUEST":
        return {"BillingMode": billing_mode, "LastUpdateToPayPerRequestDateTime": now}
    return {"BillingMode": billing_mode}


def update_billing(description: dict, req: dict, now: float) -> bool:
    """Apply UpdateTable's BillingMode / ProvisionedThroughput to `description` (a copy being
    edited); whether anything changed. GSIs follow a switch in `secondary_indexes.switch_billing`."""
    current = mode_of(description)
    mode = req.get("BillingMode", current)
    provisioned = req.get("ProvisionedThroughput")
    if mode == "PROVISIONED" and provisioned is None and current == "PROVISIONED":
        raise ValidationException(INVALID + "ProvisionedThroughput must be specified")
    requested = throughput(mode, provisioned)
    old = description["ProvisionedThroughput"]
    if mode == current == "PROVISIONED":
        check_will_change(old, requested)
        description["ProvisionedThroughput"] = changed_throughput(old, requested, now)
        return True
    if mode == current:
        return False
    description["ProvisionedThroughput"] = requested
    if mode == "PAY_PER_REQUEST":
        switches = check_switch_allowed(description, now)
        description[PAY_PER_REQUEST_SWITCHES] = [*switches, now]
        description["BillingModeSummary"] = {"BillingMode": mode, "LastUpdateToPayPerRequestDateTime": now}
    else:
        description["BillingModeSummary"] = {**description["BillingModeSummary"], "BillingMode": mode}
    return True


def check_will_change(old: dict, requested: dict) -> None:
    if all(requested[u] == old[u] for u in UNITS):
        raise ValidationException(
            "The provisioned throughput for the table will not change. The requested value equals the current value. "
            f"Current ReadCapacityUnits provisioned for the table: {old['ReadCapacityUnits']}. "
            f"Requested ReadCapacityUnits: {requested['ReadCapacityUnits']}. "
            f"Current WriteCapacityUnits provisioned for the table: {old['WriteCapacityUnits']}. "
            f"Requested WriteCapacityUnits: {requested['WriteCapacityUnits']}. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        )


def check_switch_allowed(description: dict, now: float) -> list[float]:
    """The switches to on-demand of the last 24 hours, if one more is allowed."""
    recent = [t for t in description.get(PAY_PER_REQUEST_SWITCHES, ()) if now - t < DAY_S]
    if len(recent) >= SWITCHES_PER_DAY:
        raise LimitExceededException(
            f"Subscriber limit exceeded: Update to PayPerRequest mode are limited to {SWITCHES_PER_DAY} times in "
            f"1 day(s). Last update at {java_date(recent[-1])}. "
            f"Next update can be made at {java_date(recent[-SWITCHES_PER_DAY] + DAY_S)}"
        )
    return recent


def changed_throughput(old: dict, requested: dict, now: float) -> dict:
    """A table's or GSI's ProvisionedThroughput after a change of its units: the increase and
    decrease times, and the day's decreases (refused past DynamoDB's limit)."""
    new = {**old, **{u: requested[u] for u in UNITS}, "NumberOfDecreasesToday": decreases_today(old, now)}
    if any(requested[u] > old[u] for u in UNITS):
        new["LastIncreaseDateTime"] = now
    if any(requested[u] < old[u] for u in UNITS):
        check_decrease_allowed(new["NumberOfDecreasesToday"], old.get("LastDecreaseDateTime"), now)
        new["NumberOfDecreasesToday"] += 1
        new["LastDecreaseDateTime"] = now
    return new


def check_decrease_allowed(decreases: int, last: float | None, now: float) -> None:
    if decreases < DECREASES_AT_ANY_TIME or last is None or now - last >= DECREASE_INTERVAL_S:
        return
    raise LimitExceededException(
        "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. "
        f"After the first {DECREASES_AT_ANY_TIME} decreases, each subsequent decrease in the same UTC day can be "
        f"performed at most once every {DECREASE_INTERVAL_S} seconds. Number of decreases today: {decreases}. "
        f"Last decrease at {long_date(last)}. Next decrease can be made at {long_date(last + DECREASE_INTERVAL_S)}"
    )


def decreases_today(provisioned: dict, now: float) -> int:
    last = provisioned.get("LastDecreaseDateTime")
    if last is None or utc_day(last) != utc_day(now):
        return 0
    return provisioned.get("NumberOfDecreasesToday", 0)


def described_capacity(shown: dict, now: float | None = None) -> dict:
    """The capacity members of a table's description as DynamoDB shows them today: each
    NumberOfDecreasesToday of this UTC day, and an on-demand table's OnDemandThroughput."""
    now = time.time() if now is None else now
    on_demand = mode_of(shown) == "PAY_PER_REQUEST"
    shown = current_capacity(shown, now, on_demand)
    if "GlobalSecondaryIndexes" in shown:
        shown["GlobalSecondaryIndexes"] = [current_capacity(index, now, on_demand)
                                           for index in shown["GlobalSecondaryIndexes"]]
    return shown


def current_capacity(holder: dict, now: float, on_demand: bool) -> dict:
    """A table's or GSI's ProvisionedThroughput of today, and on demand its OnDemandThroughput
    (-1: no maximum)."""
    shown = dict(holder)
    if "ProvisionedThroughput" in shown:
        provisioned = shown["ProvisionedThroughput"]
        shown["ProvisionedThroughput"] = {**provisioned, "NumberOfDecreasesToday": decreases_today(provisioned, now)}
    if on_demand:
        given = shown.get("OnDemandThroughput") or {}
        shown["OnDemandThroughput"] = {member: given.get(member, UNLIMITED)
                                       for member in ("MaxReadRequestUnits", "MaxWriteRequestUnits")}
    return shown


def updated_on_demand(description: dict, given: dict) -> None:
    """UpdateTable's OnDemandThroughput: each member given replaces the stored one (-1: no maximum)."""
    description["OnDemandThroughput"] = {**(description.get("OnDemandThroughput") or {}), **given}


def utc_day(t: float):
    return datetime.fromtimestamp(t, timezone.utc).date()


def java_date(t: float) -> str:
    """Java's Date.toString(), the form of DynamoDB's billing-mode limit message."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")


def long_date(t: float) -> str:
    """'Sunday, March 24, 2019 9:07:28 AM UTC', the form of DynamoDB's decrease limit message."""
    d = datetime.fromtimestamp(t, timezone.utc)
    return f"{d:%A, %B} {d.day}, {d.year} {d.hour % 12 or 12}:{d:%M:%S %p} UTC"
