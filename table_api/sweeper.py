"""The TTL sweeper: a background thread that deletes expired items, as DynamoDB's background
process does.

Every `ttl_sweep_interval_s` it walks each table whose TTL is enabled in key order, a page of
items at a time (`Storage.scan_items` with a cursor: no index on the TTL attribute, so no
schema change), and deletes the expired ones (`time_to_live.expired`) through the one write
path, `writes.write_items`, in transactions of at most `ttl_batch_items`: indexes stay in step,
and each deletion appends a REMOVE event whose userIdentity is DynamoDB's service principal.
Each delete is conditional on the item, read again inside its transaction, still being expired:
an item re-written meanwhile with a future TTL (or none) stays, and emits nothing. Between
batches the sweeper pauses as long as the batch took, so that writes (which share the storage
lock) are never held up for longer than one batch. Reads return an expired item until its
batch has run, as on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import orjson

from table_api.context import Context, Table
from table_api.errors import ResourceNotFoundException
from table_api.metrics import record_ttl_deletes
from table_api.time_to_live import TTL_IDENTITY, enabled_attribute, expired
from table_api.values import Item
from table_api.writes import Apply, write_items

log = logging.getLogger("cdc_bridge.table_api.ttl")

PAGE_ITEMS = 1000  # items read per scan page (the lock is held for one page read)
MIN_PAUSE_S = 0.001


class Sweeper:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ttl-sweeper", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the batch in progress (each batch is its own transaction: nothing half done)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stopping.wait(self.ctx.settings.ttl_sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # the next pass tries again; the sweeper must not take the server down
                log.exception("ttl sweep failed")

    def sweep(self) -> int:
        """One pass over every table with TTL enabled; the number of items deleted."""
        return sum(self.sweep_table(record.name) for record in self.ctx.storage.tables()
                   if enabled_attribute(record.description) and not self.stopping.is_set())

    def sweep_table(self, name: str) -> int:
        started, now = time.monotonic(), time.time()
        after, table_id, done = None, None, Pass()
        while not self.stopping.is_set():
            table = self.current(name)
            attribute = table and enabled_attribute(table.description)
            if not attribute or table_id not in (None, table.id):  # gone, TTL off, or re-created meanwhile
                break
            table_id = table.id
            page = self.ctx.storage.scan_items(table.id, after, None, None, PAGE_ITEMS, 2**62)
            if not page:
                break
            after = page[-1].pk, page[-1].sk
            keys, size = expired_keys(table, page, attribute, now), self.ctx.settings.ttl_batch_items
            for start in range(0, len(keys), size):
                if self.stopping.is_set():
                    break
                self.delete(table, keys[start:start + size], attribute, now, done)
            if len(page) < PAGE_ITEMS:
                break
        if done.deleted:
            log.info("ttl sweep", extra={"table": name, "deleted": done.deleted, "batches": done.batches,
                                         "longest_batch_ms": round(done.longest_batch_s * 1000, 1),
                                         "seconds": round(time.monotonic() - started, 3)})
        return done.deleted

    def current(self, name: str) -> Table | None:
        try:
            return self.ctx.table(name)
        except ResourceNotFoundException:
            return None

    def delete(self, table: Table, keys: list[Item], attribute: str, now: float, done: Pass) -> None:
        """One batch in one transaction, then a pause at least as long as it took: writers get at
        least half the time while a sweep runs (in bench ttl, halving the pause did not shorten
        a sweep measurably)."""
        started = time.perf_counter()
        apply = still_expired(attribute, now)
        written = write_items(self.ctx, [(table, key, apply) for key in keys], user_identity=TTL_IDENTITY)
        took = time.perf_counter() - started
        deleted = sum(w.change is not None for w in written)
        record_ttl_deletes(self.ctx, table, deleted)
        done.add(deleted, took)
        time.sleep(max(MIN_PAUSE_S, took))


@dataclass
class Pass:
    """What one pass over a table did, for its log line: the longest batch is the longest a write
    waited for the storage lock because of the sweep."""

    deleted: int = 0
    batches: int = 0
    longest_batch_s: float = 0.0

    def add(self, deleted: int, took_s: float) -> None:
        self.deleted += deleted
        self.batches += 1
        self.longest_batch_s = max(self.longest_batch_s, took_s)


def expired_keys(table: Table, page: list, attribute: str, now: float) -> list[Item]:
    """The keys of a page's expired items (an item whose JSON does not name the attribute is
    skipped without being decoded)."""
    needle = orjson.dumps(attribute)
    keys = []
    for row in page:
        if needle in row.json:
            item = orjson.loads(row.json)
            if expired(item, attribute, now):
                keys.append(table.key_schema.key_of(item))
    return keys


def still_expired(attribute: str, now: float) -> Apply:
    """Delete the item only if, read in the deleting transaction, it is still expired."""
    def apply(old: Item | None) -> Item | None:
        return None if expired(old, attribute, now) else old
    return apply
