"""UpdateTimeToLive and DescribeTimeToLive: a table's TTL setting (rules in table_api/time_to_live.py;
the deletions in table_api/sweeper.py)."""

from __future__ import annotations

import time

from table_api import time_to_live
from table_api.context import Context
from table_api.operations.service import SERVICE


@SERVICE.operation("UpdateTimeToLive")
def update_time_to_live(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    spec = req["TimeToLiveSpecification"]
    setting = time_to_live.changed(time_to_live.setting_of(table.description), spec, time.time(),
                                   ctx.settings.ttl_cooldown_s)
    table.record.description = {**table.description, time_to_live.SETTING: setting}
    with ctx.storage.transaction() as tx:
        tx.update_table(table.record)
    ctx.forget(table.name)
    return {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": spec["AttributeName"]}}


@SERVICE.operation("DescribeTimeToLive")
def describe_time_to_live(ctx: Context, req: dict) -> dict:
    table = ctx.table(req["TableName"], name_in_error=True)
    setting = time_to_live.setting_of(table.description)
    return {"TimeToLiveDescription": time_to_live.describe(setting, time.time(), ctx.settings.ttl_sweep_interval_s)}
