"""BatchGetItem and BatchWriteItem: many keys over several tables in one call.

Both check the whole request before touching anything (an unknown table or a bad key in the
last request leaves every item as it was, as on AWS). BatchWriteItem then writes its items
through the one write path (`write_items`: each item read, applied and written as `write_item`
does, in one transaction), so each put or delete that changes an item emits its own change
event; nothing is left unprocessed, unless --enforce-capacity throttles one of its tables.
BatchGetItem answers up to 16 MB of items; keys beyond that come back in UnprocessedKeys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from table_api.capacity import charge, refused_tables
from table_api.context import Context, Table
from table_api.errors import ProvisionedThroughputExceededException, ValidationException
from table_api.expressions import Path, project
from table_api.keys import SCHEMA_MISMATCH, encode_key
from table_api.operations.common import (
    IndexUnits,
    capacity_entry,
    charge_writes,
    collection_entry,
    index_write_units,
    read_units,
    written_units,
)
from table_api.operations.reading import projection_of
from table_api.operations.service import SERVICE
from table_api.values import MAX_ITEM_SIZE, TOO_LARGE, Item, item_size, validate_item
from table_api.writes import Written, write_items

MAX_GET_KEYS = 100
MAX_WRITES = 25
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DUPLICATES = "Provided list of item keys contains duplicates"
ONE_REQUEST = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"


# -- BatchGetItem ------------------------------------------------------------------------------


@dataclass
class TableGet:
    name: str
    spec: dict  # the table's KeysAndAttributes, as sent
    keys: list[Item]
    paths: tuple[Path, ...] | None


@dataclass
class GetResult:
    responses: dict[str, list] = field(default_factory=dict)
    unprocessed: dict[str, dict] = field(default_factory=dict)
    units: dict[str, float] = field(default_factory=dict)
    size: int = 0
    full: bool = False  # the next item would take the response past 16 MB


@SERVICE.operation("BatchGetItem")
def batch_get_item(ctx: Context, req: dict) -> dict:
    gets = [table_get(name, spec) for name, spec in req["RequestItems"].items()]
    if sum(len(g.keys) for g in gets) > MAX_GET_KEYS:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    tables = {g.name: ctx.table(g.name) for g in gets}
    for g in gets:
        g.keys = [tables[g.name].key_schema.validate_key(key) for key in g.keys]
    result = GetResult()
    for g in gets:
        read_table(ctx, tables[g.name], g, result)
    charge_reads(ctx, tables, gets, result)
    return {"Responses": result.responses, "UnprocessedKeys": result.unprocessed,
            **batch_capacity(req, result.units)}


def table_get(name: str, spec: dict) -> TableGet:
    """One table's keys and projection, checked as far as they can be without the table."""
    paths = projection_of(spec)
    keys = [validate_item(key, what="Key") for key in spec["Keys"]]
    check_unique(keys, lambda key: tuple(sorted((n, repr(sorted(v.items()))) for n, v in key.items())))
    return TableGet(name, spec, keys, paths)


def read_table(ctx: Context, table: Table, get: TableGet, result: GetResult) -> None:
    """Read one table's keys into `result`. An item that would take the response past 16 MB is
    left unprocessed, and so is every key after it."""
    consistent = bool(get.spec.get("ConsistentRead", False))
    found = result.responses.setdefault(get.name, [])
    for key in get.keys:
        item = None if result.full else ctx.storage.get_item(table.id, *encode_key(table.key_schema, key))
        size = 0
        if item is not None:
            item = item if get.paths is None else project(item, get.paths)
            size = item_size(item)
            result.full = result.size + size > MAX_RESPONSE_BYTES
        if result.full:
            result.unprocessed.setdefault(get.name, unprocessed_spec(get.spec))["Keys"].append(key)
            continue
        result.units[get.name] = result.units.get(get.name, 0.0) + read_units(item, item_size, consistent)
        if item is not None:
            result.size += size
            found.append(item)


def charge_reads(ctx: Context, tables: dict[str, Table], gets: list[TableGet], result: GetResult) -> None:
    """Each table's read units are charged on their own (`--enforce-capacity`): a throttled table's
    keys come back in UnprocessedKeys, and only when every table is throttled does the call fail
    with ProvisionedThroughputExceededException (BatchGetItem's documented behaviour)."""
    refused = []
    for get in gets:
        if get.name not in result.units:
            continue
        try:
            charge(ctx, tables[get.name], "read", result.units[get.name])
        except ProvisionedThroughputExceededException as exc:
            refused.append(exc)
            del result.units[get.name]
            result.responses.pop(get.name, None)
            result.unprocessed[get.name] = {**unprocessed_spec(get.spec), "Keys": get.keys}
    if refused and not result.units:
        raise refused[0]


def unprocessed_spec(spec: dict) -> dict:
    """UnprocessedKeys of a table: its KeysAndAttributes with only the keys left to read."""
    kept = ("ProjectionExpression", "ExpressionAttributeNames", "AttributesToGet", "ConsistentRead")
    return {"Keys": [], **{k: spec[k] for k in kept if k in spec}}


# -- BatchWriteItem ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    key: Item  # the Key of a delete; for a put, the item until its table is known
    item: Item | None  # None: delete
    size: int = 0  # item_size(item), counted once when the put is checked


@SERVICE.operation("BatchWriteItem")
def batch_write_item(ctx: Context, req: dict) -> dict:
    requests = req["RequestItems"]
    if sum(len(r) for r in requests.values()) > MAX_WRITES:
        raise ValidationException("Too many items requested for the BatchWriteItem call")
    checked = {name: [write_request(r) for r in table_requests] for name, table_requests in requests.items()}
    tables = {name: ctx.table(name) for name in checked}
    writes = {name: [keyed(tables[name], w) for w in table_writes] for name, table_writes in checked.items()}
    for name, table_writes in writes.items():
        check_unique([w.key for w in table_writes], partial(encode_key, tables[name].key_schema))
    ordered = [(name, w) for name, table_writes in writes.items() for w in table_writes]
    ordered, results, unprocessed = write_batch(ctx, tables, ordered, requests)
    units: dict[str, float] = {}
    index_units: dict[str, IndexUnits] = {}
    metrics: dict[str, list] = {}
    for (name, w), written in zip(ordered, results):
        units[name] = units.get(name, 0.0) + written_units(written)
        table_index_units = index_units.setdefault(name, {})
        for index, used in index_write_units(written).items():
            table_index_units[index] = table_index_units.get(index, 0.0) + used
        if written.collection_size is not None:
            metrics.setdefault(name, []).append(collection_entry(tables[name], w.key, written.collection_size))
    wants_metrics = req.get("ReturnItemCollectionMetrics", "NONE") == "SIZE"
    return {"UnprocessedItems": unprocessed, **batch_capacity(req, units, index_units),
            **({"ItemCollectionMetrics": metrics} if wants_metrics else {})}


class PartlyThrottled(Exception):
    """Some tables of a batch would be throttled, not all: write the others (see `write_batch`)."""

    def __init__(self, tables: set[str]):
        super().__init__(", ".join(sorted(tables)))
        self.tables = tables


def write_batch(ctx: Context, tables: dict[str, Table], ordered: list[tuple[str, Write]],
                requests: dict) -> tuple[list[tuple[str, Write]], list[Written], dict]:
    """Write the batch in one transaction: (the writes made, what each wrote, UnprocessedItems).
    With --enforce-capacity a throttled table's requests come back unprocessed, as sent, and the
    other tables' are written (the first transaction rolls back, a second writes those); when
    every table is throttled the call fails with ProvisionedThroughputExceededException."""
    try:
        return ordered, write_all(ctx, tables, ordered, split_throttled=True), {}
    except PartlyThrottled as throttled:
        kept = [(name, w) for name, w in ordered if name not in throttled.tables]
        unprocessed = {name: requests[name] for name in requests if name in throttled.tables}
        return kept, write_all(ctx, tables, kept, split_throttled=False), unprocessed


def write_all(ctx: Context, tables: dict[str, Table], ordered: list[tuple[str, Write]],
              split_throttled: bool) -> list[Written]:
    charge = charge_writes(ctx, [tables[name] for name, _ in ordered])

    def before_commit(results: list[Written]) -> None:
        if split_throttled and ctx.throttle is not None:
            charges = [(tables[name], "write", written_units(written), index_write_units(written))
                       for (name, _), written in zip(ordered, results)]
            refused = refused_tables(ctx, charges)
            asked = {name for name, _ in ordered}  # as the request names them (a name or an ARN)
            if refused and len(refused) < len(asked):
                raise PartlyThrottled({name for name in asked if tables[name].name in refused})
        charge(results)

    return write_items(ctx, [(tables[name], w.key, lambda _old, new=w.item: new, (w.item, w.size))
                             for name, w in ordered], before_commit=before_commit)


def write_request(request: dict) -> Write:
    """One WriteRequest: exactly one of PutRequest and DeleteRequest, its values checked."""
    put, delete = request.get("PutRequest"), request.get("DeleteRequest")
    if (put is None) == (delete is None):
        raise ValidationException(ONE_REQUEST)
    if put is not None:
        item = validate_item(put["Item"])
        size = item_size(item)
        if size > MAX_ITEM_SIZE:
            raise ValidationException(TOO_LARGE)
        return Write(item, item, size)
    return Write(validate_item(delete["Key"], what="Key"), None)


def keyed(table: Table, write: Write) -> Write:
    """The write against its table's key schema: `key` becomes exactly the primary key."""
    schema = table.key_schema
    if write.item is None:
        return Write(schema.validate_key(write.key), None)
    try:
        schema.validate_item_key(write.item)
    except ValidationException as exc:
        if "Missing the key" in exc.message or "Type mismatch" in exc.message:
            raise ValidationException(SCHEMA_MISMATCH) from None
        raise
    return Write(schema.key_of(write.item), write.item, write.size)


# -- shared ------------------------------------------------------------------------------------


def check_unique(keys: list[Item], identity: Callable[[Item], object]) -> None:
    seen = set()
    for key in keys:
        ident = identity(key)
        if ident in seen:
            raise ValidationException(DUPLICATES)
        seen.add(ident)


def batch_capacity(req: dict, units: dict[str, float], index_units: dict[str, IndexUnits] | None = None) -> dict:
    """ConsumedCapacity of a batch: one entry per table (with its indexes' units)."""
    mode = req.get("ReturnConsumedCapacity", "NONE")
    if mode == "NONE":
        return {}
    index_units = index_units or {}
    return {"ConsumedCapacity": [capacity_entry(mode, name, used, index_units.get(name))
                                 for name, used in units.items()]}
