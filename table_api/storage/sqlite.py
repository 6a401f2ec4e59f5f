"""SQLite backend: one file, WAL mode, keys as order-preserving BLOBs, and the outbox.

Items live in one WITHOUT ROWID table clustered by (table id, partition key bytes, sort key
bytes), so a Query is a range over the primary index. Writes use BEGIN IMMEDIATE: the write
lock is taken before the read of the old item, so concurrent writers to one item (threads or
processes) serialise and never lose an update. An item write and its outbox row are one
transaction: the change event exists exactly when the change does.

`synchronous=NORMAL` in WAL mode makes a commit durable across a crash of this process
(SIGKILL included); `FULL` also across a power loss, at a cost per write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from table_api.storage.base import Bound, OutboxRow, StoredItem, TableRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    tbl  INTEGER NOT NULL,
    pk   BLOB NOT NULL,
    sk   BLOB NOT NULL,
    item BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
-- Secondary index entries: the index key, then the table key (ties in index order are in table
-- key order), and the projected item. One index's Query is a range of this primary key.
CREATE TABLE IF NOT EXISTS index_entries (
    tbl  INTEGER NOT NULL,
    idx  TEXT NOT NULL,
    ipk  BLOB NOT NULL,
    isk  BLOB NOT NULL,
    pk   BLOB NOT NULL,
    sk   BLOB NOT NULL,
    item BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (tbl, idx, ipk, isk, pk, sk)
) WITHOUT ROWID;
-- Back-fills of indexes added by UpdateTable: the table key the back-fill has reached (NULL:
-- not started). The row goes when the index is complete, so a restart resumes the rest.
CREATE TABLE IF NOT EXISTS backfills (
    tbl      INTEGER NOT NULL,
    idx      TEXT NOT NULL,
    after_pk BLOB,
    after_sk BLOB,
    PRIMARY KEY (tbl, idx)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    partition  INTEGER NOT NULL,
    payload    BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    headers    BLOB  -- extra Kafka headers of the record, a JSON object (a transaction's id and size)
);
-- TransactWriteItems' client tokens: written in the transaction of the items they guard, so a
-- token is known exactly when its writes are committed (a retry can never write twice).
CREATE TABLE IF NOT EXISTS client_tokens (
    token       TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    response    BLOB NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS client_tokens_by_age ON client_tokens (created_ms);
"""


def connect(path: str | Path, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=10000")
    return db


class SqliteTransaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.appended: list[OutboxRow] = []  # this transaction's outbox rows, handed on at its commit

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None:
        row = self.db.execute("SELECT item FROM items WHERE tbl=? AND pk=? AND sk=?", (table_id, pk, sk)).fetchone()
        return orjson.loads(row[0]) if row else None

    def get_sized_item(self, table_id: int, pk: bytes, sk: bytes) -> tuple[dict | None, int]:
        """(the item, its size as stored with it), or (None, 0): the size is not counted again."""
        row = self.db.execute("SELECT item, size FROM items WHERE tbl=? AND pk=? AND sk=?",
                              (table_id, pk, sk)).fetchone()
        return (orjson.loads(row[0]), row[1]) if row else (None, 0)

    def put_item(self, table_id: int, pk: bytes, sk: bytes, item: dict, size: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO items (tbl, pk, sk, item, size) VALUES (?, ?, ?, ?, ?)",
            (table_id, pk, sk, orjson.dumps(item), size),
        )

    def delete_item(self, table_id: int, pk: bytes, sk: bytes) -> None:
        self.db.execute("DELETE FROM items WHERE tbl=? AND pk=? AND sk=?", (table_id, pk, sk))

    def put_index_entry(self, table_id: int, index: str, key: tuple[bytes, bytes], table_key: tuple[bytes, bytes],
                        item: dict, size: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO index_entries (tbl, idx, ipk, isk, pk, sk, item, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (table_id, index, *key, *table_key, orjson.dumps(item), size),
        )

    def delete_index_entry(self, table_id: int, index: str, key: tuple[bytes, bytes],
                           table_key: tuple[bytes, bytes]) -> None:
        self.db.execute("DELETE FROM index_entries WHERE tbl=? AND idx=? AND ipk=? AND isk=? AND pk=? AND sk=?",
                        (table_id, index, *key, *table_key))

    def delete_index(self, table_id: int, index: str) -> None:
        self.db.execute("DELETE FROM index_entries WHERE tbl=? AND idx=?", (table_id, index))
        self.db.execute("DELETE FROM backfills WHERE tbl=? AND idx=?", (table_id, index))

    def collection_size(self, table_id: int, pk: bytes, local_indexes: list[str]) -> int:
        """Bytes of an item collection: the items of one partition key and their LSI entries."""
        sql = "SELECT COALESCE(SUM(size), 0) FROM items WHERE tbl=? AND pk=?"
        (size,) = self.db.execute(sql, (table_id, pk)).fetchone()
        sql = "SELECT COALESCE(SUM(size), 0) FROM index_entries WHERE tbl=? AND idx=? AND ipk=?"
        for index in local_indexes:
            (more,) = self.db.execute(sql, (table_id, index, pk)).fetchone()
            size += more
        return size

    def start_backfill(self, table_id: int, index: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO backfills (tbl, idx) VALUES (?, ?)", (table_id, index))

    def backfill_position(self, table_id: int, index: str) -> tuple[bytes, bytes] | None | bool:
        """Where a back-fill is: the table key it has reached, None at the start, False when it
        is no longer wanted (done, or its index or table deleted)."""
        sql = "SELECT after_pk, after_sk FROM backfills WHERE tbl=? AND idx=?"
        row = self.db.execute(sql, (table_id, index)).fetchone()
        if row is None:
            return False
        return None if row[0] is None else (row[0], row[1])

    def advance_backfill(self, table_id: int, index: str, after: tuple[bytes, bytes] | None) -> None:
        """Record progress (`after`), or the end of the back-fill (None)."""
        if after is None:
            self.db.execute("DELETE FROM backfills WHERE tbl=? AND idx=?", (table_id, index))
        else:
            self.db.execute("UPDATE backfills SET after_pk=?, after_sk=? WHERE tbl=? AND idx=?",
                            (*after, table_id, index))

    def items_after(self, table_id: int, after: tuple[bytes, bytes] | None,
                    limit: int) -> list[tuple[bytes, bytes, dict]]:
        """Up to `limit` items in key order after the key `after` (a back-fill's next batch)."""
        sql, args = "SELECT pk, sk, item FROM items WHERE tbl=?", [table_id]
        if after is not None:
            sql += " AND (pk, sk) > (?, ?)"
            args += after
        rows = self.db.execute(sql + " ORDER BY pk, sk LIMIT ?", (*args, limit)).fetchall()
        return [(pk, sk, orjson.loads(item)) for pk, sk, item in rows]

    def append_outbox(self, kind: str, topic: str, partition: int, payload: bytes, created_ms: int,
                      headers: dict[str, str] | None = None) -> None:
        cursor = self.db.execute(
            "INSERT INTO outbox (kind, topic, partition, payload, created_ms, headers) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, topic, partition, payload, created_ms, orjson.dumps(headers) if headers else None),
        )
        self.appended.append(OutboxRow(cursor.lastrowid, kind, topic, partition, payload, created_ms, headers))

    def client_token(self, token: str, since_ms: int) -> tuple[bytes, bytes] | None:
        """(fingerprint, response) of a token used at or after `since_ms`, else None."""
        sql = "SELECT fingerprint, response FROM client_tokens WHERE token=? AND created_ms >= ?"
        return self.db.execute(sql, (token, since_ms)).fetchone()

    def save_client_token(self, token: str, fingerprint: bytes, response: bytes, created_ms: int,
                          forget_before_ms: int) -> None:
        """Keep a token (replacing an expired use of it) and forget those used before `forget_before_ms`."""
        self.db.execute("DELETE FROM client_tokens WHERE created_ms < ?", (forget_before_ms,))
        self.db.execute("INSERT OR REPLACE INTO client_tokens (token, fingerprint, response, created_ms) "
                        "VALUES (?, ?, ?, ?)", (token, fingerprint, response, created_ms))

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord:
        cur = self.db.execute("INSERT INTO tables (name, description) VALUES (?, ?)", (name, orjson.dumps(description)))
        return TableRecord(cur.lastrowid, name, description)

    def update_table(self, record: TableRecord) -> None:
        self.db.execute("UPDATE tables SET description=? WHERE id=?", (orjson.dumps(record.description), record.id))

    def delete_table(self, record: TableRecord) -> None:
        self.db.execute("DELETE FROM items WHERE tbl=?", (record.id,))
        self.db.execute("DELETE FROM index_entries WHERE tbl=?", (record.id,))
        self.db.execute("DELETE FROM backfills WHERE tbl=?", (record.id,))
        self.db.execute("DELETE FROM tables WHERE id=?", (record.id,))


class SqliteOutbox:
    """The publisher's reading connection: reads never block writers (WAL). Removals go through
    the storage's own connection (`SqliteStorage.remove_outbox`): with one writing connection
    per process, SQLite's busy handler (sleeps of up to 100 ms) never runs."""

    def __init__(self, path: str | Path, synchronous: str):
        self.db = connect(path, synchronous)

    def pending(self, after_seq: int, limit: int) -> list[OutboxRow]:
        rows = self.db.execute(
            "SELECT seq, kind, topic, partition, payload, created_ms, headers FROM outbox WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [OutboxRow(*row[:6], orjson.loads(row[6]) if row[6] else None) for row in rows]

    def backlog(self) -> tuple[int, int | None]:
        count, oldest = self.db.execute("SELECT COUNT(*), MIN(created_ms) FROM outbox").fetchone()
        return count, oldest

    def backlog_by_topic(self) -> list[tuple[str, int, int]]:
        """(topic, rows, oldest created_ms) of each stream with events waiting: its lag behind the table."""
        return self.db.execute("SELECT topic, COUNT(*), MIN(created_ms) FROM outbox GROUP BY topic").fetchall()

    def close(self) -> None:
        self.db.close()


class SqliteStorage:
    def __init__(self, path: str | Path, synchronous: str = "NORMAL"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path, self.synchronous = path, synchronous
        # One connection for requests (the event loop thread, and worker threads for table
        # operations); the lock keeps its use sequential.
        self.db = connect(path, synchronous)
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()
        self._tx = SqliteTransaction(self.db)
        # Given the outbox rows of each transaction right after its commit, still under the
        # lock, so in commit (= sequence) order: the publisher ships them without reading them back.
        self.on_outbox_committed: Callable[[list[OutboxRow]], None] | None = None

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self._tx.appended = []
            try:
                yield self._tx
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            if self._tx.appended and self.on_outbox_committed is not None:
                self.on_outbox_committed(self._tx.appended)

    @contextmanager
    def snapshot(self) -> Iterator[SqliteTransaction]:
        """A read-only transaction: every read in it sees one committed state (TransactGetItems)."""
        with self.lock:
            self.db.execute("BEGIN DEFERRED")
            try:
                yield self._tx
            finally:
                self.db.execute("COMMIT")

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None:
        with self.lock:
            return self._tx.get_item(table_id, pk, sk)

    def get_table(self, name: str) -> TableRecord | None:
        with self.lock:
            row = self.db.execute("SELECT id, description FROM tables WHERE name=?", (name,)).fetchone()
        return TableRecord(row[0], name, orjson.loads(row[1])) if row else None

    def tables(self) -> list[TableRecord]:
        with self.lock:
            rows = self.db.execute("SELECT id, name, description FROM tables ORDER BY name").fetchall()
        return [TableRecord(i, n, orjson.loads(d)) for i, n, d in rows]

    def table_names(self, after: str | None, limit: int) -> list[str]:
        with self.lock:
            rows = self.db.execute(
                "SELECT name FROM tables WHERE name > ? ORDER BY name LIMIT ?", (after or "", limit)
            ).fetchall()
        return [r[0] for r in rows]

    def table_stats(self, table_id: int) -> tuple[int, int]:
        with self.lock:
            count, size = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM items WHERE tbl=?", (table_id,)
            ).fetchone()
        return count, size

    def query_items(self, table_id: int, pk: bytes, low: Bound | None, high: Bound | None,
                    forward: bool, limit: int, max_bytes: int) -> list[StoredItem]:
        """One partition's items between two sort-key bounds: a range of the primary key."""
        sql, args = ["SELECT sk, item, size FROM items WHERE tbl=? AND pk=?"], [table_id, pk]
        _between(sql, args, "sk", low, high)
        sql.append("ORDER BY sk LIMIT ?" if forward else "ORDER BY sk DESC LIMIT ?")
        return self._read(sql, args, limit, max_bytes, lambda row: StoredItem(pk, *row))

    def scan_items(self, table_id: int, after: tuple[bytes, bytes] | None, pk_from: bytes | None,
                   pk_below: bytes | None, limit: int, max_bytes: int) -> list[StoredItem]:
        """Items after the key `after`, with partition keys in [pk_from, pk_below): a range of
        the primary key, in (pk, sk) order."""
        sql, args = ["SELECT pk, sk, item, size FROM items WHERE tbl=?"], [table_id]
        _segment(sql, args, ("pk", "sk"), after, pk_from, pk_below)
        sql.append("ORDER BY pk, sk LIMIT ?")
        return self._read(sql, args, limit, max_bytes)

    def _read(self, sql: list[str], args: list, limit: int, max_bytes: int, make=StoredItem._make) -> list[StoredItem]:
        with self.lock:
            rows = self.db.execute(" ".join(sql), (*args, limit))
            return _take(map(make, rows), max_bytes)

    def index_stats(self, table_id: int, index: str) -> tuple[int, int]:
        with self.lock:
            count, size = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM index_entries WHERE tbl=? AND idx=?", (table_id, index)
            ).fetchone()
        return count, size

    def backfills(self, table_id: int | None = None) -> list[tuple[int, str]]:
        """(table id, index name) of every unfinished back-fill (of one table, or of all)."""
        with self.lock:
            if table_id is None:
                return self.db.execute("SELECT tbl, idx FROM backfills").fetchall()
            return self.db.execute("SELECT tbl, idx FROM backfills WHERE tbl=?", (table_id,)).fetchall()

    def query_index(self, table_id: int, index: str, pk: bytes, low: Bound | None, high: Bound | None,
                    after: tuple[bytes, bytes, bytes] | None, forward: bool, limit: int,
                    max_bytes: int) -> list[StoredItem]:
        """One index partition's entries between two sort-key bounds, after (before, backwards)
        the entry (index sort key, table key) `after`: a range of the entries' primary key. The
        StoredItems carry the table key of each entry's item."""
        sql = ["SELECT pk, sk, item, size FROM index_entries WHERE tbl=? AND idx=? AND ipk=?"]
        args: list = [table_id, index, pk]
        _between(sql, args, "isk", low, high)
        if after is not None:
            sql.append("AND (isk, pk, sk) > (?, ?, ?)" if forward else "AND (isk, pk, sk) < (?, ?, ?)")
            args += after
        sql.append("ORDER BY isk, pk, sk LIMIT ?" if forward else "ORDER BY isk DESC, pk DESC, sk DESC LIMIT ?")
        return self._read(sql, args, limit, max_bytes)

    def scan_index(self, table_id: int, index: str, after: tuple[bytes, bytes, bytes, bytes] | None,
                   pk_from: bytes | None, pk_below: bytes | None, limit: int, max_bytes: int) -> list[StoredItem]:
        """An index's entries after the entry `after` (index key, table key), with index partition
        keys in [pk_from, pk_below), in index order."""
        sql, args = ["SELECT pk, sk, item, size FROM index_entries WHERE tbl=? AND idx=?"], [table_id, index]
        _segment(sql, args, ("ipk", "isk", "pk", "sk"), after, pk_from, pk_below)
        sql.append("ORDER BY ipk, isk, pk, sk LIMIT ?")
        return self._read(sql, args, limit, max_bytes)

    def outbox(self) -> SqliteOutbox:
        return SqliteOutbox(self.path, self.synchronous)

    def remove_outbox(self, seqs: list[int]) -> None:
        """Delete the rows `seqs`, one range of consecutive sequence numbers at a time (what the
        publisher shipped in a while mostly is one range: one statement instead of one a row)."""
        with self.transaction() as tx:
            tx.db.executemany("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", consecutive_runs(seqs))

    def close(self) -> None:
        with self.lock:
            self.db.close()


def consecutive_runs(numbers: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers among `numbers` (any order, no repeats
    needed): [5, 1, 2, 3, 7, 6] -> [(1, 3), (5, 7)]."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and runs[-1][1] + 1 == n:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _between(sql: list[str], args: list, column: str, low: Bound | None, high: Bound | None) -> None:
    """The clauses of a range of `column` between two bounds (None: open)."""
    if low is not None:
        sql.append(f"AND {column} >= ?" if low.inclusive else f"AND {column} > ?")
        args.append(low.key)
    if high is not None:
        sql.append(f"AND {column} <= ?" if high.inclusive else f"AND {column} < ?")
        args.append(high.key)


def _segment(sql: list[str], args: list, key: tuple[str, ...], after: tuple | None, pk_from: bytes | None,
             pk_below: bytes | None) -> None:
    """The clauses of a scan: keys (the columns `key`) after `after`, with the partition key
    (the first column) in [pk_from, pk_below)."""
    if after is not None:
        sql.append(f"AND ({', '.join(key)}) > ({', '.join('?' * len(key))})")
        args += after
    _between(sql, args, key[0], None if pk_from is None else Bound(pk_from),
             None if pk_below is None else Bound(pk_below, inclusive=False))


def _take(items: Iterator[StoredItem], max_bytes: int) -> list[StoredItem]:
    """Items from a lazy cursor until their sizes reach `max_bytes` (that item included): the
    rows after it are never read."""
    taken, total = [], 0
    for item in items:
        taken.append(item)
        total += item.size
        if total >= max_bytes:
            break
    return taken
