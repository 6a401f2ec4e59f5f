"""TransactWriteItems and TransactGetItems: up to 100 actions over several tables, all or nothing.

TransactWriteItems checks the whole request first (each action's shape, expressions, table and
key; no two actions on one item; 4 MB in all): a problem there is a ValidationException (or
ResourceNotFoundException) and nothing is read. Then, in ONE storage transaction (`write_all`,
the write path every write takes), each action is read and applied; an action whose condition
fails, or whose result DynamoDB could not store, records its reason and the others go on being
checked, so that the TransactionCanceledException lists one reason per action, in order. A
cancelled transaction rolls back: no item, no index entry, no change event, no client token.

Writes serialise on the storage's one writing connection (BEGIN IMMEDIATE), so a transaction
never meets another one in progress: TransactionConflict and TransactionInProgressException
cannot happen here (docs/design.md, "Transactions").

A ClientRequestToken is kept with the transaction's writes, in the same commit, with the
request's fingerprint and the answer: within 10 minutes the same request gets the same answer
and writes nothing; another request with that token gets IdempotentParameterMismatchException.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from table_api.context import Context, Table
from table_api.errors import (
    ConditionalCheckFailedException,
    IdempotentParameterMismatchException,
    ProvisionedThroughputExceededException,
    TransactionCanceledException,
    ValidationException,
)
from table_api.expressions import project
from table_api.keys import encode_key
from table_api.operations.batch import batch_capacity
from table_api.capacity import charge_tables, refused_tables
from table_api.operations.common import (
    IndexUnits,
    collection_entry,
    index_write_units,
    read_units,
    write_units,
    written_units,
)
from table_api.operations.items import check_condition, condition_of
from table_api.operations.reading import projection_of
from table_api.operations.service import SERVICE
from table_api.operations.updates import check_key_untouched, update_and_condition, updating
from table_api.values import Item, item_size, validate_item, validate_item_size
from table_api.writes import Apply, Written, write_all

MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
TOKEN_WINDOW_MS = 10 * 60 * 1000
KINDS = ("ConditionCheck", "Put", "Delete", "Update")
ONE_KIND = "TransactItems can only contain one of Check, Put, Update or Delete"
SAME_ITEM = "Transaction request cannot include multiple operations on one item"
# AWS documents the limit, not its wording: ours.
TOO_BIG = "Transaction request size exceeded the maximum allowed size of 4 MB"


@dataclass(frozen=True)
class Action:
    """One checked TransactItems entry: its kind, its table and key, and its pure apply."""

    kind: str
    table: Table
    key: Item
    apply: Apply
    size: int  # bytes it counts towards the transaction's 4 MB


# -- TransactWriteItems ------------------------------------------------------------------------


@SERVICE.operation("TransactWriteItems")
def transact_write_items(ctx: Context, req: dict) -> dict:
    actions = [action_of(ctx, entry) for entry in req["TransactItems"]]
    check_distinct(actions)
    if sum(action.size for action in actions) > MAX_TRANSACTION_BYTES:
        raise ValidationException(TOO_BIG)
    token = req.get("ClientRequestToken")
    reasons: list[dict | None] = [None] * len(actions)
    writes = [(a.table, a.key, guarded(a, reasons, i)) for i, a in enumerate(actions)]
    now_ms = int(time.time() * 1000)
    with ctx.storage.transaction() as tx:
        if token is not None and (previous := tx.client_token(token, now_ms - TOKEN_WINDOW_MS)):
            return replayed(req, *previous)
        results = write_all(ctx, tx, writes, transaction_id=str(uuid.uuid4()))
        if not any(reasons):
            charge_transaction(ctx, [(a.table, "write", 2 * written_units(w), doubled(index_write_units(w)))
                                     for a, w in zip(actions, results)], actions, reasons)
        if any(reasons):
            raise TransactionCanceledException([reason or {"Code": "None"} for reason in reasons])
        response = write_response(req, actions, results)
        if token is not None:
            tx.save_client_token(token, fingerprint(req), orjson.dumps(response), now_ms, now_ms - TOKEN_WINDOW_MS)
    return response


def action_of(ctx: Context, entry: dict) -> Action:
    """A TransactItems entry checked as its single-item operation checks its request."""
    kinds = [kind for kind in KINDS if entry.get(kind) is not None]
    if len(kinds) != 1:
        raise ValidationException(ONE_KIND)
    kind = kinds[0]
    spec = entry[kind]
    return ACTIONS[kind](ctx, spec)


def put_action(ctx: Context, spec: dict) -> Action:
    item = validate_item(spec["Item"])
    validate_item_size(item)
    condition = condition_of(spec)
    table = ctx.table(spec["TableName"])
    table.key_schema.validate_item_key(item)
    for index in table.indexes:
        index.check(item)

    def apply(old: Item | None) -> Item:
        check_condition(condition, old, spec)
        return item

    return Action("Put", table, table.key_schema.key_of(item), apply, item_size(item))


def delete_action(ctx: Context, spec: dict, kind: str = "Delete") -> Action:
    """A Delete, or (`kind` ConditionCheck) a condition on an item the transaction leaves as is."""
    key = validate_item(spec["Key"], what="Key")
    condition = condition_of(spec)
    table = ctx.table(spec["TableName"])
    key = table.key_schema.validate_key(key)

    def apply(old: Item | None) -> Item | None:
        check_condition(condition, old, spec)
        return old if kind == "ConditionCheck" else None

    return Action(kind, table, key, apply, item_size(key))


def update_action(ctx: Context, spec: dict) -> Action:
    key = validate_item(spec["Key"], what="Key")
    update, condition, mismatch = update_and_condition(spec)
    table = ctx.table(spec["TableName"])
    key = table.key_schema.validate_key(key)
    check_key_untouched(update, table.key_schema)
    return Action("Update", table, key, updating(spec, key, update, condition, mismatch), item_size(key))


ACTIONS: dict[str, Callable[[Context, dict], Action]] = {
    "Put": put_action,
    "Delete": delete_action,
    "Update": update_action,
    "ConditionCheck": lambda ctx, spec: delete_action(ctx, spec, "ConditionCheck"),
}


def check_distinct(actions: list) -> None:
    """No two actions (Actions, Gets) on one item."""
    seen = set()
    for action in actions:
        target = (action.table.id, encode_key(action.table.key_schema, action.key))
        if target in seen:
            raise ValidationException(SAME_ITEM)
        seen.add(target)


def guarded(action: Action, reasons: list[dict | None], i: int) -> Apply:
    """The action's apply, which records why it cannot be done in `reasons[i]` (and then leaves
    its item as it was) instead of ending the transaction: every action gets its reason."""

    def apply(old: Item | None) -> Item | None:
        try:
            new = action.apply(old)
            for index in action.table.indexes:
                if new is not None:
                    index.check(new)
            return new
        except ConditionalCheckFailedException as exc:
            reasons[i] = {"Code": "ConditionalCheckFailed", "Message": exc.message, **exc.extra}
        except ValidationException as exc:
            reasons[i] = {"Code": "ValidationError", "Message": exc.message}
        return old

    return apply


def charge_transaction(ctx: Context, charges: list, targets: list, reasons: list[dict | None]) -> None:
    """Spend the transaction's (doubled) units under --enforce-capacity. Without the capacity for
    it, DynamoDB cancels the transaction: ProvisionedThroughputExceeded for the actions on a table
    that lacks it, None for the others; nothing is spent."""
    try:
        charge_tables(ctx, charges)
    except ProvisionedThroughputExceededException as exc:
        refused = refused_tables(ctx, charges) or {target.table.name for target in targets}
        for i, target in enumerate(targets):
            if target.table.name in refused:
                reasons[i] = {"Code": "ProvisionedThroughputExceeded", "Message": exc.message}


def doubled(units: IndexUnits) -> IndexUnits:
    return {index: 2 * used for index, used in units.items()}


def write_response(req: dict, actions: list[Action], results: list[Written]) -> dict:
    """ConsumedCapacity (transactional writes cost twice the units of a write, a ConditionCheck
    like a write of its item) and, for tables with an LSI, ItemCollectionMetrics."""
    units: dict[str, float] = {}
    index_units: dict[str, IndexUnits] = {}
    metrics: dict[str, list] = {}
    for action, written in zip(actions, results):
        name = action.table.name
        new = written.change.new if written.change else written.old
        units[name] = units.get(name, 0.0) + 2 * write_units(written.old, new, size_of=item_size)
        table_index_units = index_units.setdefault(name, {})
        for index, used in index_write_units(written).items():
            table_index_units[index] = table_index_units.get(index, 0.0) + 2 * used
        if written.collection_size is not None and action.kind != "ConditionCheck":
            metrics.setdefault(name, []).append(collection_entry(action.table, action.key, written.collection_size))
    wants_metrics = req.get("ReturnItemCollectionMetrics", "NONE") == "SIZE"
    return {**batch_capacity(req, units, index_units), **({"ItemCollectionMetrics": metrics} if wants_metrics else {})}


def fingerprint(req: dict) -> bytes:
    """What makes two uses of one client token the same request: every other parameter."""
    rest = {name: value for name, value in req.items() if name != "ClientRequestToken"}
    return hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).digest()


def replayed(req: dict, previous_fingerprint: bytes, response: bytes) -> dict:
    """The answer to a request whose token was used within 10 minutes: the first answer, if it is
    the same request."""
    if fingerprint(req) != previous_fingerprint:
        raise IdempotentParameterMismatchException()
    return orjson.loads(response)


# -- TransactGetItems --------------------------------------------------------------------------


@dataclass(frozen=True)
class Get:
    table: Table
    key: Item
    paths: tuple | None


@SERVICE.operation("TransactGetItems")
def transact_get_items(ctx: Context, req: dict) -> dict:
    gets = [get_of(ctx, entry["Get"]) for entry in req["TransactItems"]]
    check_distinct(gets)
    responses, units, size = [], {}, 0
    with ctx.storage.snapshot() as tx:  # every item as of one committed state
        items = [tx.get_item(g.table.id, *encode_key(g.table.key_schema, g.key)) for g in gets]
    charges = [(get.table, "read", 2 * read_units(item, item_size, consistent=True), {}) for get, item in zip(gets, items)]
    reasons: list[dict | None] = [None] * len(gets)
    charge_transaction(ctx, charges, gets, reasons)
    if any(reasons):
        raise TransactionCanceledException([reason or {"Code": "None"} for reason in reasons])
    for get, item, (_, _, used, _) in zip(gets, items, charges):
        units[get.table.name] = units.get(get.table.name, 0.0) + used
        if item is None:
            responses.append({})
            continue
        size += item_size(item)
        responses.append({"Item": item if get.paths is None else project(item, get.paths)})
    if size > MAX_TRANSACTION_BYTES:
        raise ValidationException(TOO_BIG)
    return {"Responses": responses, **batch_capacity(req, units)}


def get_of(ctx: Context, spec: dict) -> Get:
    key = validate_item(spec["Key"], what="Key")
    paths = projection_of(spec)
    table = ctx.table(spec["TableName"])
    return Get(table, table.key_schema.validate_key(key), paths)
