"""Throttling (`--enforce-capacity`): each table and GSI spends capacity units from token buckets,
and a request that would overdraw one is refused with ProvisionedThroughputExceededException.

A PROVISIONED table (and each GSI) has a read and a write bucket filled at its provisioned units
per second, holding at most BURST_SECONDS (300) of them: capacity left unused is kept for bursts,
as DynamoDB's burst capacity. A new bucket starts *empty* (a new table, a GSI, a switch to
PROVISIONED), so a test sees throttling from its first second instead of after five minutes of
saved-up burst. An on-demand table's buckets fill at its ceiling (OnDemandThroughput's Max*
units, else the per-table default, DynamoDB's account quota of 40,000) and hold one second of it,
starting full: on-demand has no saved burst, only a rate it may not pass.

LSIs share their table's capacity (their units are charged to the table), as on AWS. A request
charges all its buckets or none. Operations call `charge(ctx, table, kind, units, index_units)`
once they know the units: reads after reading, writes before their transaction commits (the
`before_commit` hook of `writes.write_items`), so a throttled write writes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from table_api.errors import ProvisionedThroughputExceededException
from table_api.indexes import SecondaryIndex, index_arn
from table_api.metrics import record_consumed

if TYPE_CHECKING:
    from table_api.context import Context, Table

Kind = Literal["read", "write"]
BURST_SECONDS = 300.0
ON_DEMAND_BURST_SECONDS = 1.0
TABLE_EXCEEDED = ("The level of configured provisioned throughput for the table was exceeded. "
                  "Consider increasing your provisioning level with the UpdateTable API.")
INDEX_EXCEEDED = ("The level of configured provisioned throughput for one or more global secondary indexes of the "
                  "table was exceeded. Consider increasing your provisioning level for the under-provisioned global "
                  "secondary indexes with the UpdateTable API")
ON_DEMAND_EXCEEDED = ("Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
                      "scaling your table or index so please try again shortly. If exceptions persist, check if you "
                      "have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                      "bp-partition-key-design.html")
MAX_ON_DEMAND_EXCEEDED = "Throughput exceeds the maximum OnDemandThroughput configured on table or index"


class TokenBucket:
    """Capacity units that refill at `rate` per second up to `rate * burst_seconds`."""

    def __init__(self, rate: float, burst_seconds: float, now: float, full: bool = False):
        self.rate, self.burst_seconds = rate, burst_seconds
        self.tokens = self.capacity if full else 0.0
        self.updated = now

    @property
    def capacity(self) -> float:
        return self.rate * self.burst_seconds

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def allows(self, units: float, now: float) -> bool:
        """Whether `units` can be spent now. A request larger than the whole bucket passes when the
        bucket is full (and leaves it in debt), or it could never pass at all."""
        self.refill(now)
        return units <= self.tokens or self.tokens >= self.capacity

    def take(self, units: float) -> None:
        self.tokens -= units

    def set_rate(self, rate: float, now: float) -> None:
        """A changed provisioning: what was saved stays, up to the new bucket's size."""
        self.refill(now)
        self.rate = rate
        self.tokens = min(self.tokens, self.capacity)


@dataclass(frozen=True)
class Demand:
    """Units one request wants from one bucket, and how to say no."""

    key: tuple
    rate: float
    burst_seconds: float
    starts_full: bool
    since: float | None  # when the bucket started filling (None: at its first use)
    units: float
    message: str
    reason: str  # DynamoDB's ThrottlingReason, e.g. TableWriteProvisionedThroughputExceeded
    resource: str  # the table's or index's ARN


class Throttle:
    """Every bucket of this process, charged all-or-nothing under one lock."""

    def __init__(self, on_demand_read_limit: float, on_demand_write_limit: float,
                 clock: Callable[[], float] = time.time):
        self.on_demand_limits = {"read": on_demand_read_limit, "write": on_demand_write_limit}
        self.clock = clock  # wall-clock seconds, as the tables' CreationDateTime
        self.started = clock()
        self.buckets: dict[tuple, TokenBucket] = {}
        self.lock = threading.Lock()

    def charge(self, demands: list[Demand]) -> None:
        demands = merged(demands)
        with self.lock:
            now = self.clock()
            buckets = [self.bucket(d, now) for d in demands]
            refused = [d for d, b in zip(demands, buckets) if not b.allows(d.units, now)]
            if refused:
                reasons = [{"reason": d.reason, "resource": d.resource} for d in refused]
                raise ProvisionedThroughputExceededException(refused[0].message, ThrottlingReasons=reasons)
            for demand, bucket in zip(demands, buckets):
                bucket.take(demand.units)

    def allows(self, demands: list[Demand]) -> bool:
        """Whether `charge` would pass now (nothing is spent)."""
        demands = merged(demands)
        with self.lock:
            now = self.clock()
            return all(self.bucket(d, now).allows(d.units, now) for d in demands)

    def bucket(self, demand: Demand, now: float) -> TokenBucket:
        bucket = self.buckets.get(demand.key)
        if bucket is None:
            # Empty when its table was made (or, for a table older than this process, when it started).
            since = now if demand.since is None else min(now, max(demand.since, self.started))
            bucket = TokenBucket(demand.rate, demand.burst_seconds, since, demand.starts_full)
            self.buckets[demand.key] = bucket
        elif bucket.rate != demand.rate:
            bucket.set_rate(demand.rate, now)
        return bucket


def merged(demands: list[Demand]) -> list[Demand]:
    """One demand per bucket (a batch writes several items of one table), units added up."""
    by_key: dict[tuple, Demand] = {}
    for d in demands:
        known = by_key.get(d.key)
        by_key[d.key] = d if known is None else replace(known, units=known.units + d.units)
    return list(by_key.values())


def charge(ctx: Context, table: Table, kind: Kind, units: float,
           index_units: dict[SecondaryIndex, float] | None = None) -> None:
    """Spend a request's units from its table's (and GSIs') buckets, or raise
    ProvisionedThroughputExceededException having spent nothing. No-op without --enforce-capacity."""
    charge_tables(ctx, [(table, kind, units, index_units or {})])


def charge_tables(ctx: Context, charges: list[tuple[Table, Kind, float, dict[SecondaryIndex, float]]]) -> None:
    """`charge` for a request over several tables (BatchGetItem, BatchWriteItem, transactions):
    all of them or none. The units count in the tables' metrics once charged (always without
    --enforce-capacity)."""
    throttle = ctx.throttle
    if throttle is not None:
        demands = [d for table, kind, units, index_units in charges
                   for d in demands_of(throttle, table.description, kind, units, index_units)]
        if demands:
            throttle.charge(demands)
    record_consumed(ctx.metrics, charges)  # CloudWatch's Consumed*CapacityUnits, throttled or not


def refused_tables(ctx: Context, charges: list[tuple[Table, Kind, float, dict[SecondaryIndex, float]]]) -> set[str]:
    """The tables among `charges` whose own units would be throttled now (nothing is spent)."""
    throttle = ctx.throttle
    if throttle is None:
        return set()
    by_table: dict[str, list[Demand]] = {}
    for table, kind, units, index_units in charges:
        by_table.setdefault(table.name, []).extend(demands_of(throttle, table.description, kind, units, index_units))
    return {name for name, demands in by_table.items() if not throttle.allows(demands)}


def demands_of(throttle: Throttle, description: dict, kind: Kind, units: float,
               index_units: dict[SecondaryIndex, float]) -> list[Demand]:
    """One table's demands: its own units with its LSIs', and each GSI's units from the GSI."""
    table_units = units + sum(u for index, u in index_units.items() if not index.is_global)
    demands = [table_demand(throttle, description, kind, table_units)] if table_units else []
    return demands + [index_demand(throttle, description, index, kind, used)
                      for index, used in index_units.items() if index.is_global and used]


def table_demand(throttle: Throttle, description: dict, kind: Kind, units: float) -> Demand:
    return demand(throttle, description, None, description, kind, units)


def index_demand(throttle: Throttle, description: dict, index: SecondaryIndex, kind: Kind, units: float) -> Demand:
    wire = next(i for i in description.get("GlobalSecondaryIndexes", ()) if i["IndexName"] == index.name)
    return demand(throttle, description, index.name, wire, kind, units)


def demand(throttle: Throttle, description: dict, index: str | None, holder: dict, kind: Kind, units: float) -> Demand:
    """The bucket of the table (index None) or of one GSI, `holder` being its description."""
    mode = description["BillingModeSummary"]["BillingMode"]
    key = (description["TableId"], index, kind, mode)
    resource = description["TableArn"] if index is None else index_arn(description["TableArn"], index)
    where, what = ("Table" if index is None else "Index"), kind.capitalize()
    if mode == "PROVISIONED":
        rate = float(holder["ProvisionedThroughput"][f"{what}CapacityUnits"])
        message = TABLE_EXCEEDED if index is None else INDEX_EXCEEDED
        return Demand(key, rate, BURST_SECONDS, False, provisioned_since(description), units, message,
                      f"{where}{what}ProvisionedThroughputExceeded", resource)
    configured = (holder.get("OnDemandThroughput") or {}).get(f"Max{what}RequestUnits", -1)
    if configured is not None and configured > 0:
        return Demand(key, float(configured), ON_DEMAND_BURST_SECONDS, True, None, units, MAX_ON_DEMAND_EXCEEDED,
                      f"{where}{what}MaxOnDemandThroughputExceeded", resource)
    return Demand(key, float(throttle.on_demand_limits[kind]), ON_DEMAND_BURST_SECONDS, True, None, units,
                  ON_DEMAND_EXCEEDED, f"{where}{what}AccountLimitExceeded", resource)


def provisioned_since(description: dict) -> float | None:
    """When a provisioned table's buckets began to fill: at its creation, unless it was ever
    on-demand (then it switched back at an unknown time: they start at first use)."""
    if "LastUpdateToPayPerRequestDateTime" in description["BillingModeSummary"]:
        return None
    return description.get("CreationDateTime")
