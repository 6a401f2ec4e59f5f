"""What the time-to-live tests share: the two TTL calls, and waiting for what the sweeper does."""

from __future__ import annotations

import time

SWEEP_S = 1.0  # the sweep interval the TTL tests' servers run with
WAIT_S = 30.0  # generous: the machine may be loaded; a sweep normally lands within ~1 s


def enable(ddb, table: str, attribute: str = "expires") -> dict:
    return ddb.update_time_to_live(TableName=table,
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})


def disable(ddb, table: str, attribute: str = "expires") -> dict:
    return ddb.update_time_to_live(TableName=table,
                                   TimeToLiveSpecification={"Enabled": False, "AttributeName": attribute})


def ttl_description(ddb, table: str) -> dict:
    return ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]


def wait_for(predicate, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def wait_status(ddb, table: str, status: str) -> dict:
    return wait_for(lambda: (d := ttl_description(ddb, table))["TimeToLiveStatus"] == status and d,
                    f"TimeToLiveStatus {status}")


def key(pk: str) -> dict:
    return {"pk": {"S": pk}}
