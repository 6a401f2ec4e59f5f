"""The one item write path: read the old item, apply a pure function, write the result, all
in one local transaction. Put, delete (and later update, batch, transactions, TTL) differ only
in their `apply`. The `Change(old, new)` it returns is also what the change stream records.

The same transaction keeps the table's secondary indexes: the item's old entry in each index
goes, its new one comes (only where they differ), so an index never lags its table. Indexes add
no change event: the stream records item changes, one per change, as on AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from contracts.kinesis_streams import stream_name_of_arn
from table_api.context import Context, Table
from table_api.errors import ItemCollectionSizeLimitExceededException
from table_api.indexes import Entry, SecondaryIndex
from table_api.keys import encode_key
from table_api.kinesis_destinations import outbox_rows, streaming
from table_api.storage import Transaction
from table_api.streams import active_stream, change_event, partition_of_encoded
from table_api.values import Item, equal, item_size

Apply = Callable[[Item | None], Item | None]
# The item a put writes and its size, when its caller counted it already (validating it): a
# write is sized once (item_size walks the whole item), whatever asks for the size afterwards.
Sized = tuple[Item, int]
# Kafka headers of the events of a TransactWriteItems (docs/design.md, "Transactions").
TRANSACTION_HEADER = "cdc-bridge-transaction"
TRANSACTION_ITEMS_HEADER = "cdc-bridge-transaction-items"


@dataclass(frozen=True)
class Change:
    table: str
    key: Item
    old: Item | None
    new: Item | None


@dataclass(frozen=True)
class IndexWrite:
    """What a write did to its item's entry in one index: the size of the entry it removed and
    of the one it wrote (None: none), from which DynamoDB's index write units follow."""

    index: SecondaryIndex
    removed: int | None
    written: int | None


@dataclass(frozen=True)
class Written:
    old: Item | None
    change: Change | None  # None when the write changed nothing
    indexes: tuple[IndexWrite, ...] = ()
    collection_size: int | None = None  # bytes of the item's collection, on a table with an LSI
    old_size: int = 0  # item_size(old) as stored with it (0: no old item)
    changed_size: int = 0  # item_size(change.new) (0: deleted, or nothing changed)

    @property
    def new(self) -> Item | None:
        """The item as it is after the write."""
        return self.old if self.change is None else self.change.new

    @property
    def new_size(self) -> int:
        """item_size(new), 0 without an item."""
        return self.old_size if self.change is None else self.changed_size


BeforeCommit = Callable[[list[Written]], None]


def write_item(ctx: Context, table: Table, key: Item, apply: Apply, user_identity: dict | None = None,
               before_commit: BeforeCommit | None = None, sized: Sized | None = None) -> Written:
    """Read, apply and write one item; the change is None when the write changes nothing.

    `apply` may raise (a failed condition): the transaction then rolls back and nothing is
    written. With a stream enabled, the change event commits in the same transaction.
    """
    write = (table, key, apply) if sized is None else (table, key, apply, sized)
    return write_items(ctx, [write], user_identity, before_commit)[0]


def write_items(
    ctx: Context, writes: list[tuple[Table, Item, Apply] | tuple[Table, Item, Apply, Sized]],
    user_identity: dict | None = None,
    before_commit: BeforeCommit | None = None,
) -> list[Written]:
    """Several items (BatchWriteItem) in one transaction: each is read, applied and written
    exactly as `write_item` does it, each change with its own event; one commit for them all
    (one `apply` that raises leaves every item as it was). `before_commit` sees what was
    written before the commit and may still refuse it all by raising (a throttled write).
    A write may carry a 4th member, `Sized`: the item its apply returns, already sized."""
    with ctx.storage.transaction() as tx:  # its commit hands the events to the publisher
        results = write_all(ctx, tx, writes, user_identity)
        if before_commit is not None:
            before_commit(results)
    return results


def write_all(ctx: Context, tx: Transaction, writes: list,
              user_identity: dict | None = None, transaction_id: str | None = None) -> list[Written]:
    """The writes, in `tx` opened by the caller (a TransactWriteItems also keeps its client token
    in it): what each wrote. The events are appended once every item is written, in the writes' order;
    with a `transaction_id` each carries the transaction's Kafka headers (TRANSACTION_HEADERS),
    whose item count is only known then."""
    results, events = [], []
    for table, key, apply, *sized in writes:
        written, event = _write(ctx, tx, table, key, apply, sized[0] if sized else None)
        results.append(written)
        if event is not None:
            events.append(event)
    streamed = sum(1 for _, stream, _, _, _ in events if stream is not None)
    headers = None if transaction_id is None else transaction_headers(transaction_id, streamed)
    for table, stream, change, written, pk in events:
        if stream is not None:
            append_event(ctx, tx, table, stream, change, user_identity, written, pk, headers)
        append_kinesis_records(ctx, tx, table, change, user_identity, written.new_size)
    return results


def transaction_headers(transaction_id: str, events: int) -> dict[str, str]:
    """The Kafka headers of every event of one transaction: its id, and how many events it
    published (over all its tables' streams), so a consumer knows when it has regrouped it whole."""
    return {TRANSACTION_HEADER: transaction_id, TRANSACTION_ITEMS_HEADER: str(events)}


def _write(ctx: Context, tx: Transaction, table: Table, key: Item, apply: Apply,
           sized: Sized | None = None) -> tuple[Written, tuple | None]:
    """One item read, applied and written in `tx`, with its index entries: (what was written,
    the change event still to append to the outbox: None without a change or a stream)."""
    pk, sk = encode_key(table.key_schema, key)
    old, old_size = tx.get_sized_item(table.id, pk, sk)
    new = apply(old)
    if unchanged(old, new):
        size = collection_size(ctx, tx, table, pk, old_size, None)
        return Written(old, None, (), size, old_size, old_size), None
    new_size = 0
    if new is None:
        tx.delete_item(table.id, pk, sk)
    else:
        new_size = sized[1] if sized is not None and new is sized[0] else item_size(new)
        tx.put_item(table.id, pk, sk, new, new_size)
    index_size = new_size if new is not None else None
    index_writes = tuple(update_index(tx, table, index, (pk, sk), old, new, index_size) for index in table.indexes)
    change = Change(table.name, key, old, new)
    stream = active_stream(table.description)
    size = collection_size(ctx, tx, table, pk, old_size if old is not None else None,
                           new_size if new is not None else None)
    written = Written(old, change, index_writes, size, old_size, new_size)
    published = stream is not None or bool(streaming(table.description))
    return written, (table, stream, change, written, pk) if published else None


def update_index(tx: Transaction, table: Table, index: SecondaryIndex, table_key: tuple[bytes, bytes],
                 old: Item | None, new: Item | None, new_size: int | None) -> IndexWrite:
    """Replace the item's entry in one index; an entry that stays the same is not rewritten."""
    if new is not None:
        index.check(new)
    before, after = index.entry(old), index.entry(new, new_size)
    moved = before is not None and (after is None or (before.pk, before.sk) != (after.pk, after.sk))
    if moved:
        tx.delete_index_entry(table.id, index.name, (before.pk, before.sk), table_key)
    if after is not None and (moved or not same_entry(index, before, after)):
        tx.put_index_entry(table.id, index.name, (after.pk, after.sk), table_key, after.item, after.size)
        return IndexWrite(index, before.size if moved else None, after.size)
    return IndexWrite(index, before.size if moved else None, None)


def same_entry(index: SecondaryIndex, before: Entry | None, after: Entry) -> bool:
    """Whether an entry under the same key holds the same projection. With ALL projected it
    never does: the item changed (an unchanged item is no write at all)."""
    return before is not None and not index.projects_all and unchanged(before.item, after.item)


def collection_size(ctx: Context, tx: Transaction, table: Table, pk: bytes, old_size: int | None,
                    new_size: int | None) -> int | None:
    """The size of the item's collection on a table with an LSI (else None). A write that grows
    a collection past the limit (DynamoDB's 10 GB; `item_collection_limit_bytes`) is refused;
    one that shrinks an oversized collection is not. Sizes are the item's before and after the
    write (None: no item; `new_size` None also when nothing changed)."""
    if not table.has_local_index:
        return None
    size = tx.collection_size(table.id, pk, [index.name for index in table.indexes if not index.is_global])
    grew = new_size is not None and (old_size is None or new_size > old_size)
    if grew and size > ctx.settings.item_collection_limit_bytes:
        raise ItemCollectionSizeLimitExceededException()
    return size


def append_event(ctx: Context, tx: Transaction, table: Table, stream: dict, change: Change,
                 user_identity: dict | None, written: Written, pk: bytes, headers: dict | None = None) -> None:
    created_ms = int(time.time() * 1000)
    event = change_event(table.name, change.key, change.old, change.new, stream["StreamViewType"],
                         ctx.settings.region, created_ms, user_identity, written.changed_size, written.old_size)
    partition = partition_of_encoded(stream, pk)
    tx.append_outbox("event", stream["Topic"], partition, orjson.dumps(event), created_ms, headers)


def append_kinesis_records(ctx: Context, tx: Transaction, table: Table, change: Change,
                           user_identity: dict | None, new_size: int | None) -> None:
    """One outbox row per Kinesis streaming destination of the table (kinesis_destinations.py), in
    the item's transaction: the same outbox, shipped by the same publisher. A destination whose
    Kinesis stream is gone takes no record (its stream cannot hold one)."""
    destinations = streaming(table.description)
    if not destinations:
        return
    targets = [(d, s) for d in destinations
               if (s := ctx.kinesis_stream(stream_name_of_arn(d["StreamArn"]) or "")) is not None]
    rows = outbox_rows(table.name, table.key_schema, change.key, change.old, change.new, ctx.settings.region,
                       user_identity, new_size, targets)
    for topic, partition, payload, created_ms in rows:
        tx.append_outbox("kinesis", topic, partition, payload, created_ms)


def unchanged(old: Item | None, new: Item | None) -> bool:
    if old is None or new is None:
        return old is new
    return equal({"M": old}, {"M": new})
