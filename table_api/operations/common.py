"""Request pieces that many operations share: expression parameters, consumed capacity (with
DynamoDB's per-index units) and item collection metrics."""

from __future__ import annotations

import math

from table_api.capacity import charge, charge_tables
from table_api.context import Context, Table
from table_api.errors import ConditionalCheckFailedException, ValidationException
from table_api.expressions import Resolver, parse_condition, parse_projection
from table_api.indexes import SecondaryIndex
from table_api.values import Item, item_size, validate_value
from table_api.writes import Apply, BeforeCommit, Written

IndexUnits = dict[SecondaryIndex, float]


class RequestExpressions:
    """The expressions of one request and the names/values they share.

    `expressions` are the expression parameters this operation accepts (e.g.
    ("ConditionExpression",)); DynamoDB rejects names/values that no expression uses.
    """

    def __init__(self, req: dict, expressions: tuple[str, ...]):
        self.req = req
        names, values = req.get("ExpressionAttributeNames"), req.get("ExpressionAttributeValues")
        if expressions == ("ProjectionExpression",):
            values = None  # not a member of a projection-only operation's input: AWS ignores it
        if not any(e in req for e in expressions):
            if names is not None:
                raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
            if values is not None:
                raise ValidationException(
                    "ExpressionAttributeValues can only be specified when using expressions: "
                    f"{' and '.join(expressions)} {'are' if len(expressions) > 1 else 'is'} null"
                )
        for param, mapping, sigil in (("ExpressionAttributeNames", names, "#"), ("ExpressionAttributeValues", values, ":")):
            if mapping is not None and not mapping:
                raise ValidationException(f"{param} must not be empty")
            check_placeholders(param, mapping, sigil)
        if values is not None:
            values = {k: checked_value(k, v) for k, v in values.items()}
        self.resolver = Resolver(names, values)

    def condition(self, param: str = "ConditionExpression"):
        text = self.req.get(param)
        return None if text is None else self.resolver.condition(parse_condition(text, param), expression=param)

    def projection(self):
        text = self.req.get("ProjectionExpression")
        return None if text is None else self.resolver.projection(parse_projection(text))

    def check_unused(self) -> None:
        self.resolver.check_unused()


def check_placeholders(param: str, mapping: dict | None, sigil: str) -> None:
    for key in mapping or ():
        if not (key.startswith(sigil) and len(key) > 1):
            raise ValidationException(f'{param} contains invalid key: Syntax error; key: "{key}"')


def checked_value(name: str, value: dict) -> dict:
    try:
        return validate_value(value)
    except ValidationException as exc:
        raise ValidationException(f"ExpressionAttributeValues contains invalid value: {exc.message} for key {name}") from None


def consumed_capacity(req: dict, table: Table, units: float, index_units: IndexUnits | None = None) -> dict:
    mode = req.get("ReturnConsumedCapacity", "NONE")
    if mode == "NONE":
        return {}
    return {"ConsumedCapacity": capacity_entry(mode, table.name, units, index_units or {})}


def capacity_entry(mode: str, table_name: str, units: float, index_units: IndexUnits | None = None) -> dict:
    """One table's ConsumedCapacity for ReturnConsumedCapacity TOTAL or INDEXES: the total
    includes the indexes' units, INDEXES also lists the table's and each index's own."""
    index_units = index_units or {}
    entry: dict = {"TableName": table_name, "CapacityUnits": units + sum(index_units.values())}
    if mode == "INDEXES":
        entry["Table"] = {"CapacityUnits": units}
        for index, used in index_units.items():
            entry.setdefault(index.kind, {})[index.name] = {"CapacityUnits": used}
    return entry


def index_write_units(written: Written) -> IndexUnits:
    """DynamoDB's write units of each index a write touched: removing an entry costs its size in
    KB rounded up, writing one likewise (an index key change does both; an unchanged entry costs
    nothing, an item outside the index neither)."""
    units: IndexUnits = {}
    for write in written.indexes:
        used = sum(max(1, math.ceil(size / 1024)) for size in (write.removed, write.written) if size is not None)
        if used:
            units[write.index] = units.get(write.index, 0.0) + float(used)
    return units


def written_units(written: Written) -> float:
    """A write's units on its table: the larger of the item before and after, in 1 KB units
    (from the sizes the write carries: nothing is counted again)."""
    return float(max(1, math.ceil(max(written.old_size, written.new_size) / 1024)))


def charge_writes(ctx: Context, tables: list[Table]) -> BeforeCommit:
    """The `before_commit` of a write: charge each written item's units (table and indexes) to
    its table in `tables` (one per write, in order) before the commit; throttled, nothing commits.
    Counted also when nothing is throttled: CloudWatch's ConsumedWriteCapacityUnits reports them."""
    def before_commit(results: list[Written]) -> None:
        charges = [(table, "write", written_units(w), index_write_units(w)) for table, w in zip(tables, results)]
        charge_tables(ctx, charges)
    return before_commit


def charged_on_failure(ctx: Context, table: Table, apply: Apply) -> Apply:
    """`apply` whose failed condition still spends write units (`--enforce-capacity`): DynamoDB
    charges a failed conditional write the size of the existing item (at least 1 unit)."""
    def charged(old: Item | None) -> Item | None:
        try:
            return apply(old)
        except ConditionalCheckFailedException:
            charge(ctx, table, "write", write_units(old, size_of=item_size))
            raise
    return charged


def collection_metrics(req: dict, table: Table, key: Item, written: Written) -> dict:
    """ReturnItemCollectionMetrics=SIZE: the item collection's key and size estimate, on a
    table with an LSI (other tables have no item collections to report)."""
    if req.get("ReturnItemCollectionMetrics", "NONE") != "SIZE" or written.collection_size is None:
        return {}
    return {"ItemCollectionMetrics": collection_entry(table, key, written.collection_size)}


def collection_entry(table: Table, key: Item, size: int) -> dict:
    """DynamoDB's estimate is a range of whole gigabytes around the collection's size."""
    low = float(size // 1024**3)
    name = table.key_schema.hash_name
    return {"ItemCollectionKey": {name: key[name]}, "SizeEstimateRangeGB": [low, low + 1.0]}


def write_units(*items: Item | None, size_of) -> float:
    return float(max([1] + [math.ceil(size_of(i) / 1024) for i in items if i]))


def read_units(item: Item | None, size_of, consistent: bool) -> float:
    units = max(1, math.ceil(size_of(item) / 4096)) if item else 1
    return float(units) if consistent else units / 2
