"""UpdateItem: an UpdateExpression (or the legacy AttributeUpdates) applied to the item, or to
a new item holding just the key (upsert), under a ConditionExpression (or legacy Expected).

Like every write: read the old item, pure apply (condition, then `apply_update`), one
transaction with its change event (`write_item`; none when nothing changes). UpdateItem never
deletes an item: an update that removes every other attribute leaves the key. Nor does it
create one only to remove attributes from: on a missing item an update of nothing but REMOVE
and DELETE actions does nothing at all (even `REMOVE a.b`, which would otherwise be an invalid
path), as in DynamoDB; an update with no action at all creates the item holding just its key.
"""

from __future__ import annotations

from table_api.context import Context
from table_api.errors import ValidationException
from table_api.expressions import DeleteAction, RemoveAction, SetAction, Update, parse_update, project
from table_api.expressions.ast import operand_paths
from table_api.expressions.apply import apply_update
from table_api.expressions.messages import OPERAND_TYPE_MISMATCH
from table_api.keys import KeySchema
from table_api.operations import legacy
from table_api.operations.common import RequestExpressions, charge_writes, charged_on_failure
from table_api.operations.items import check_condition, write_response
from table_api.operations.service import SERVICE
from table_api.values import MAX_ITEM_SIZE, Item, item_size, too_deep, validate_item
from table_api.writes import Apply, write_item

EXPRESSIONS = ("UpdateExpression", "ConditionExpression")
TOO_LARGE = "Item size to update has exceeded the maximum allowed size"
NESTING = "Nesting Levels have exceeded supported limits"  # DynamoDB Local's text for an update


@SERVICE.operation("UpdateItem")
def update_item(ctx: Context, req: dict) -> dict:
    legacy.check_not_mixed(req)
    key = validate_item(req["Key"], what="Key")
    update, condition, mismatch = update_and_condition(req)
    table = ctx.table(req["TableName"])
    key = table.key_schema.validate_key(key)
    check_key_untouched(update, table.key_schema)
    apply = charged_on_failure(ctx, table, updating(req, key, update, condition, mismatch))
    written = write_item(ctx, table, key, apply, before_commit=charge_writes(ctx, [table]))
    old, new = written.old, written.new
    return write_response(req, table, key, written, returned(req, update, old, new))


def updating(req: dict, key: Item, update: Update, condition, mismatch: str) -> Apply:
    """The pure apply of an update of the item at `key` (UpdateItem, a transaction's Update)."""

    def apply(old: Item | None) -> Item | None:
        check_condition(condition, old, req)
        if old is None and removes_only(update):
            return None
        return checked(apply_update(update, key if old is None else old, mismatch))

    return apply


def update_and_condition(req: dict):
    """(update, condition or None, the ADD/DELETE type-mismatch message), from the request's
    expressions or its legacy AttributeUpdates / Expected, every name and value checked."""
    exprs = RequestExpressions(req, EXPRESSIONS)
    text = req.get("UpdateExpression")
    if text is not None:
        update, mismatch = exprs.resolver.update(parse_update(text)), OPERAND_TYPE_MISMATCH
    else:
        update, mismatch = legacy.attribute_updates(req), legacy.UPDATE_TYPE_MISMATCH
    if req.get("ConditionExpression") is not None:
        condition = exprs.condition()
    else:
        condition = legacy.expected_condition(req)
    exprs.check_unused()
    return update, condition, mismatch


def check_key_untouched(update: Update, schema: KeySchema) -> None:
    """Key attributes can be neither updated nor (in SET values) looked into."""
    targets = {action.path.segments[0] for action in update.actions}
    for name in schema.names:
        if name in targets:
            raise ValidationException(
                f"One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part of the key"
            )
    for path in set_value_paths(update):
        if len(path.segments) > 1 and path.segments[0] in schema.names:
            raise ValidationException(
                "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
                f"Key: {path.segments[0]}"
            )


def set_value_paths(update: Update):
    """The document paths SET values read."""
    for action in update.actions:
        if isinstance(action, SetAction):
            yield from operand_paths(action.value)


def removes_only(update: Update) -> bool:
    return bool(update.actions) and all(isinstance(a, (RemoveAction, DeleteAction)) for a in update.actions)


def checked(item: Item) -> Item:
    """The updated item, if DynamoDB can store it."""
    if item_size(item) > MAX_ITEM_SIZE:
        raise ValidationException(TOO_LARGE)
    if too_deep(item):
        raise ValidationException(NESTING)
    return item


def returned(req: dict, update: Update, old: Item | None, new: Item | None) -> dict:
    """ReturnValues: the whole item before or after, or only the updated paths of it."""
    paths = [action.path for action in update.actions]
    match req.get("ReturnValues", "NONE"):
        case "ALL_OLD":
            attributes = old
        case "ALL_NEW":
            attributes = new
        case "UPDATED_OLD":
            attributes = project(old, paths) if old else None
        case "UPDATED_NEW":
            attributes = project(new, paths) if new else None
        case _:
            attributes = None
    return {"Attributes": attributes} if attributes else {}
