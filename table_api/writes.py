"""The one item write path: read the old item, apply a pure function, write the result, all
in one local transaction. Put, delete (and later update, batch, transactions, TTL) differ only
in their `apply`. The `Change(old, new)` it returns is also what the change stream records."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from table_api.context import Context, Table
from table_api.keys import encode_key
from table_api.storage import Transaction
from table_api.streams import active_stream, change_event, partition_of
from table_api.values import Item, equal, item_size

Apply = Callable[[Item | None], Item | None]


@dataclass(frozen=True)
class Change:
    table: str
    key: Item
    old: Item | None
    new: Item | None


def write_item(
    ctx: Context, table: Table, key: Item, apply: Apply, user_identity: dict | None = None
) -> tuple[Item | None, Change | None]:
    """Return (old item, change); the change is None when the write changes nothing.

    `apply` may raise (a failed condition): the transaction then rolls back and nothing is
    written. With a stream enabled, the change event commits in the same transaction.
    """
    return write_items(ctx, [(table, key, apply)], user_identity)[0]


def write_items(
    ctx: Context, writes: list[tuple[Table, Item, Apply]], user_identity: dict | None = None
) -> list[tuple[Item | None, Change | None]]:
    """Several items (BatchWriteItem) in one transaction: each is read, applied and written
    exactly as `write_item` does it, each change with its own event; one commit for them all
    (one `apply` that raises leaves every item as it was)."""
    results, streamed = [], False
    with ctx.storage.transaction() as tx:
        for table, key, apply in writes:
            old, change, evented = _write(ctx, tx, table, key, apply, user_identity)
            results.append((old, change))
            streamed |= evented
    if streamed:
        ctx.events_committed()
    return results


def _write(ctx: Context, tx: Transaction, table: Table, key: Item, apply: Apply,
           user_identity: dict | None) -> tuple[Item | None, Change | None, bool]:
    """One item read, applied and written in `tx`: (old, change, whether a change event was
    appended to the outbox)."""
    pk, sk = encode_key(table.key_schema, key)
    old = tx.get_item(table.id, pk, sk)
    new = apply(old)
    if unchanged(old, new):
        return old, None, False
    new_size = None
    if new is None:
        tx.delete_item(table.id, pk, sk)
    else:
        new_size = item_size(new)
        tx.put_item(table.id, pk, sk, new, new_size)
    change = Change(table.name, key, old, new)
    stream = active_stream(table.description)
    if stream is not None:
        append_event(ctx, tx, table, stream, change, user_identity, new_size)
    return old, change, stream is not None


def append_event(ctx: Context, tx: Transaction, table: Table, stream: dict, change: Change,
                 user_identity: dict | None, new_size: int | None = None) -> None:
    created_ms = int(time.time() * 1000)
    event = change_event(table.name, change.key, change.old, change.new, stream["StreamViewType"],
                         ctx.settings.region, created_ms, user_identity, new_size)
    partition = partition_of(stream, table.key_schema, change.key)
    tx.append_outbox("event", stream["Topic"], partition, orjson.dumps(event), created_ms)


def unchanged(old: Item | None, new: Item | None) -> bool:
    if old is None or new is None:
        return old is new
    return equal({"M": old}, {"M": new})
