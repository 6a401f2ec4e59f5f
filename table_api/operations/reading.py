"""What Query and Scan share: the request's read options (filter, projection, Select, Limit,
consistency, with their legacy forms), the starting key's values, and the page they answer with.

A page is what one range read returned: `Limit` and the 1 MB cap count items *read* (before the
filter, as DynamoDB does), `ScannedCount` is their number, `Count` the number that passed the
filter, and `LastEvaluatedKey` the key of the last item read whenever the read stopped at `Limit`
or at 1 MB (so a page that ends exactly at the last item still has one: the next page is empty).
Items nobody filters or projects are sent as stored, without being decoded.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass

import orjson

from table_api.capacity import charge
from table_api.context import Context, Table
from table_api.errors import ValidationException
from table_api.expressions import Condition, Path, evaluate, project
from table_api.indexes import SecondaryIndex
from table_api.keys import KeySchema, decode_key_value
from table_api.operations.common import RequestExpressions, consumed_capacity
from table_api.operations.legacy import refuse_mixed
from table_api.operations.legacy_filters import attribute_paths, filter_condition
from table_api.storage import StoredItem
from table_api.values import Item, validate_item

MAX_PAGE_BYTES = 1024 * 1024
NO_LIMIT = sys.maxsize
BAD_START = "The provided starting key is invalid"
# Messages DynamoDB gives about a starting key's values without the BAD_START prefix.
UNPREFIXED = re.compile(r"contains duplicates|number set|numeric value|significant digits|number with magnitude")


@dataclass(frozen=True)
class ReadOptions:
    filter: Condition | None
    paths: tuple[Path, ...] | None
    count_only: bool
    limit: int
    consistent: bool


def check_select(req: dict, prefix: str) -> None:
    """Select against ProjectionExpression / AttributesToGet. (Query's texts start with "1
    validation error detected: ", Scan's do not, as on AWS.)"""
    select = req.get("Select")
    chosen = next((p for p in ("AttributesToGet", "ProjectionExpression") if req.get(p) is not None), None)
    if select == "SPECIFIC_ATTRIBUTES" and chosen is None:
        raise ValidationException(prefix + "Must specify the AttributesToGet or ProjectionExpression "
                                           "when choosing to get SPECIFIC_ATTRIBUTES")
    if select in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "COUNT") and chosen is not None:
        what = "only the Count" if select == "COUNT" else select
        raise ValidationException(prefix + f"Cannot specify the {chosen} when choosing to get {what}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and not req.get("IndexName"):
        raise ValidationException(prefix + "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")


def projection_of(req: dict) -> tuple[Path, ...] | None:
    """The paths a GetItem or one table of a BatchGetItem asks for: ProjectionExpression, or the
    legacy AttributesToGet (never both); None for the whole item."""
    check_parameters(req, ("ProjectionExpression",), ("AttributesToGet",))
    exprs = RequestExpressions(req, ("ProjectionExpression",))
    paths = projection_paths(req, exprs)
    exprs.check_unused()
    return paths


def projection_paths(req: dict, exprs: RequestExpressions) -> tuple[Path, ...] | None:
    """ProjectionExpression (resolved in `exprs`), else AttributesToGet; None for whole items."""
    paths = exprs.projection()
    if paths is None and req.get("AttributesToGet") is not None:
        paths = attribute_paths(req["AttributesToGet"])
    return paths


def check_parameters(req: dict, expressions: tuple[str, ...], legacy: tuple[str, ...]) -> None:
    """Expression and legacy parameters are not mixed; names and values only with expressions
    that can use them (ProjectionExpression uses no values)."""
    used = [e for e in expressions if req.get(e) is not None]
    refuse_mixed([p for p in legacy if req.get(p) is not None], used)
    if req.get("ExpressionAttributeNames") is not None and not used:
        raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
    with_values = [e for e in expressions if e != "ProjectionExpression"]  # none: values are ignored
    if with_values and req.get("ExpressionAttributeValues") is not None and not any(req.get(e) is not None for e in with_values):
        verb = "are" if len(with_values) > 1 else "is"
        raise ValidationException("ExpressionAttributeValues can only be specified when using expressions: "
                                  f"{' and '.join(with_values)} {verb} null")


def read_options(req: dict, exprs: RequestExpressions, legacy_filter: str) -> ReadOptions:
    """The filter and projection (expressions already resolved in `exprs`, or their legacy
    forms), Select, Limit and ConsistentRead."""
    condition = exprs.condition("FilterExpression")
    if condition is None:
        condition = filter_condition(req.get(legacy_filter), req.get("ConditionalOperator"))
    paths = projection_paths(req, exprs)
    return ReadOptions(condition, paths, req.get("Select") == "COUNT", req.get("Limit", NO_LIMIT),
                       bool(req.get("ConsistentRead", False)))


def start_key_values(req: dict) -> Item | None:
    """ExclusiveStartKey's values, validated and normalised (None without one)."""
    start = req.get("ExclusiveStartKey")
    if start is None:
        return None
    try:
        return validate_item(start, what="Key")
    except ValidationException as exc:
        raise ValidationException(exc.message if UNPREFIXED.search(exc.message) else f"{BAD_START}: {exc.message}") from None


def start_key(schema: KeySchema, start: Item) -> Item:
    """ExclusiveStartKey as a key of the table (its attributes and types), else BAD_START."""
    try:
        return schema.validate_key(start)
    except ValidationException as exc:
        raise ValidationException(f"{BAD_START}: {exc.message}") from None


def page(ctx: Context, req: dict, table: Table, options: ReadOptions, rows: list[StoredItem],
         index: SecondaryIndex | None = None, fetched: list[StoredItem] | None = None) -> dict:
    """The response to one range read (of the table, or of `index`, whose entries are `rows`;
    `fetched`: the table's items behind an LSI's entries, read and charged as table reads).
    Its units are charged (`--enforce-capacity`) on what was read, before any filter."""
    items = _items(options, rows if fetched is None else fetched)
    result: dict = {"Count": len(items), "ScannedCount": len(rows)}
    if not options.count_only:
        result["Items"] = items
    read_bytes = sum(row.size for row in rows)
    if rows and (len(rows) >= options.limit or read_bytes >= MAX_PAGE_BYTES):
        result["LastEvaluatedKey"] = key_of(table, rows[-1]) if index is None else index_key_of(table, index, rows[-1])
    units = page_units(read_bytes, options.consistent)
    if index is None:
        charge(ctx, table, "read", units)
        return {**result, **consumed_capacity(req, table, units)}
    table_units = sum((page_units(row.size, options.consistent) for row in fetched or ()), 0.0)
    charge(ctx, table, "read", table_units, {index: units})
    return {**result, **consumed_capacity(req, table, table_units, {index: units})}


def page_units(read_bytes: int, consistent: bool) -> float:
    return max(1, math.ceil(read_bytes / 4096)) * (1.0 if consistent else 0.5)


def _items(options: ReadOptions, rows: list[StoredItem]) -> list:
    if options.filter is None and options.paths is None:
        return [orjson.Fragment(row.json) for row in rows]  # as stored: never decoded
    items = [orjson.loads(row.json) for row in rows]
    if options.filter is not None:
        items = [item for item in items if evaluate(options.filter, item)]
    if options.paths is not None:
        items = [project(item, options.paths) for item in items]
    return items


def key_of(table: Table, row: StoredItem) -> Item:
    """The primary key of a stored item, from its encoded key."""
    schema = table.key_schema
    key = {schema.hash_name: decode_key_value(row.pk, schema.hash_type)}
    if schema.range_name is not None:
        key[schema.range_name] = decode_key_value(row.sk, schema.range_type)
    return key


def index_key_of(table: Table, index: SecondaryIndex, row: StoredItem) -> Item:
    """The position of an index entry: its index key and its item's table key."""
    item = orjson.loads(row.json)
    return {name: item[name] for name in position_names(table, index)}


def position_names(table: Table, index: SecondaryIndex) -> tuple[str, ...]:
    """The attributes of a position in an index (ExclusiveStartKey, LastEvaluatedKey)."""
    return tuple(dict.fromkeys([*index.key_schema.names, *table.key_schema.names]))
