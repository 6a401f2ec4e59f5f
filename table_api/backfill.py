"""Back-fill of a GSI added by UpdateTable, in the background while the table takes writes.

The back-fill walks the table in key order, one batch per transaction, writing each item's entry
and its position (the `backfills` row) in that transaction. Writes meanwhile maintain the index
themselves (`writes.update_index`), in their own transactions: an item written before the walk
reaches it is read by the walk in its new state, one written after is kept by its write, so every
item is in the index exactly once, as it is now. Items whose index key attributes have the wrong
type are left out, as DynamoDB leaves out index key violations. The row goes with the last batch;
until then the index is CREATING (`indexes.SecondaryIndex.backfilling`). The position survives a
restart, and `resume_backfills` continues from it.
"""

from __future__ import annotations

import logging
import threading
import time

from table_api.context import Context
from table_api.errors import ResourceNotFoundException
from table_api.indexes import SecondaryIndex

log = logging.getLogger("cdc_bridge.table_api")


def start_backfill(ctx: Context, table_id: int, table_name: str, index_name: str) -> threading.Thread:
    thread = threading.Thread(target=backfill, args=(ctx, table_id, table_name, index_name),
                              name=f"backfill-{table_name}-{index_name}", daemon=True)
    thread.start()
    return thread


def resume_backfills(ctx: Context) -> list[threading.Thread]:
    """Continue every back-fill a stop interrupted."""
    names = {record.id: record.name for record in ctx.storage.tables()}
    return [start_backfill(ctx, table_id, names[table_id], index) for table_id, index in ctx.storage.backfills()
            if table_id in names]


def backfill(ctx: Context, table_id: int, table_name: str, index_name: str) -> None:
    try:
        index = backfilled_index(ctx, table_id, table_name, index_name)
        started = time.perf_counter()
        while index is not None and fill_batch(ctx, table_id, index):
            # Let writes in between batches: a batch holds the storage lock (and mostly the GIL),
            # so pause at least half as long as it took, leaving writers a third of the time.
            took = time.perf_counter() - started
            time.sleep(max(ctx.settings.backfill_pause_seconds, took / 2))
            started = time.perf_counter()
    except Exception:  # a back-fill must not take the server down; it resumes at the next start
        log.exception("index back-fill stopped", extra={"table": table_name, "index": index_name})
    finally:
        ctx.forget(table_name)  # the next lookup sees the index ACTIVE (or gone)


def backfilled_index(ctx: Context, table_id: int, table_name: str, index_name: str) -> SecondaryIndex | None:
    try:
        table = ctx.table(table_name)
    except ResourceNotFoundException:
        return None
    if table.id != table_id:
        return None
    return next((index for index in table.indexes if index.name == index_name), None)


def fill_batch(ctx: Context, table_id: int, index: SecondaryIndex) -> bool:
    """Index the next batch of items; False once the back-fill is over (done, or its index or
    table deleted meanwhile)."""
    size = ctx.settings.backfill_batch_items
    with ctx.storage.transaction() as tx:
        position = tx.backfill_position(table_id, index.name)
        if position is False:
            return False
        rows = tx.items_after(table_id, position, size)
        for pk, sk, item in rows:
            entry = index.entry(item) if index.fits(item) else None
            if entry is not None:
                tx.put_index_entry(table_id, index.name, (entry.pk, entry.sk), (pk, sk), entry.item, entry.size)
        more = len(rows) == size
        tx.advance_backfill(table_id, index.name, rows[-1][:2] if more else None)
    return more
