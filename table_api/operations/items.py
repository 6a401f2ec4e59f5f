"""Single-item operations: PutItem, GetItem, DeleteItem (UpdateItem is in updates.py)."""

from __future__ import annotations

from table_api.context import Context
from table_api.errors import ConditionalCheckFailedException, ValidationException
from table_api.expressions import evaluate, project
from table_api.capacity import charge
from table_api.operations.common import (
    RequestExpressions,
    charge_writes,
    charged_on_failure,
    collection_metrics,
    consumed_capacity,
    index_write_units,
    read_units,
    written_units,
)
from table_api.keys import encode_key
from table_api.operations.legacy import check_not_mixed, expected_condition
from table_api.operations.reading import projection_of
from table_api.operations.service import SERVICE
from table_api.values import Item, item_size, validate_item, validate_item_size
from table_api.writes import Written, write_item


# The members that make (or refer to) a write's condition: without any of them there is none.
CONDITION_PARAMS = ("ConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues", "Expected",
                    "ConditionalOperator")


@SERVICE.operation("PutItem")
def put_item(ctx: Context, req: dict) -> dict:
    check_not_mixed(req)
    check_return_values(req, ("NONE", "ALL_OLD"))
    item = validate_item(req["Item"])
    size = validate_item_size(item)
    condition = condition_of(req)
    table = ctx.table(req["TableName"])
    table.key_schema.validate_item_key(item)

    def apply(old: Item | None) -> Item:
        check_condition(condition, old, req)
        return item

    key = table.key_schema.key_of(item)
    written = write_item(ctx, table, key, charged_on_failure(ctx, table, apply),
                         before_commit=charge_writes(ctx, [table]), sized=(item, size))
    return write_response(req, table, key, written, returned_old(req, written.old))


@SERVICE.operation("DeleteItem")
def delete_item(ctx: Context, req: dict) -> dict:
    check_not_mixed(req)
    check_return_values(req, ("NONE", "ALL_OLD"))
    key = validate_item(req["Key"], what="Key")
    condition = condition_of(req)
    table = ctx.table(req["TableName"])
    key = table.key_schema.validate_key(key)

    def apply(old: Item | None) -> None:
        check_condition(condition, old, req)
        return None

    written = write_item(ctx, table, key, charged_on_failure(ctx, table, apply),
                         before_commit=charge_writes(ctx, [table]))
    return write_response(req, table, key, written, returned_old(req, written.old))


@SERVICE.operation("GetItem")
def get_item(ctx: Context, req: dict) -> dict:
    key = validate_item(req["Key"], what="Key")
    paths = projection_of(req)
    table = ctx.table(req["TableName"])
    key = table.key_schema.validate_key(key)
    item = ctx.storage.get_item(table.id, *encode_key(table.key_schema, key))
    result = {} if item is None else {"Item": item if paths is None else project(item, paths)}
    units = read_units(item, item_size, consistent=req.get("ConsistentRead", False))
    charge(ctx, table, "read", units)
    return {**result, **consumed_capacity(req, table, units)}


def write_response(req: dict, table, key: Item, written: Written, returned: dict) -> dict:
    """A single-item write's answer: the returned values, then the capacity (the table's units
    from the larger of the item before and after, each index's by DynamoDB's rules) and item
    collection metrics."""
    units = written_units(written)
    return {
        **returned,
        **consumed_capacity(req, table, units, index_write_units(written)),
        **collection_metrics(req, table, key, written),
    }


def condition_of(req: dict):
    """The request's resolved ConditionExpression, or its legacy Expected (+ ConditionalOperator)
    as the same kind of tree; None without one. All references checked."""
    if all(req.get(param) is None for param in CONDITION_PARAMS):
        return None  # the common unconditional write: nothing to parse or check
    exprs = RequestExpressions(req, ("ConditionExpression",))
    condition = exprs.condition() if req.get("ConditionExpression") is not None else expected_condition(req)
    exprs.check_unused()
    return condition


def check_condition(condition, old: Item | None, req: dict) -> None:
    if condition is not None and not evaluate(condition, old or {}):
        on_failure = req.get("ReturnValuesOnConditionCheckFailure", "NONE")
        raise ConditionalCheckFailedException(item=old if on_failure == "ALL_OLD" and old else None)


def check_return_values(req: dict, allowed: tuple[str, ...]) -> None:
    if req.get("ReturnValues", "NONE") not in allowed:
        raise ValidationException(f"ReturnValues can only be {' or '.join(reversed(allowed))}")


def returned_old(req: dict, old: Item | None) -> dict:
    return {"Attributes": old} if req.get("ReturnValues") == "ALL_OLD" and old else {}
