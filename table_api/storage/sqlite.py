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
from collections.abc import Iterator
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
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    partition  INTEGER NOT NULL,
    payload    BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
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

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None:
        row = self.db.execute("SELECT item FROM items WHERE tbl=? AND pk=? AND sk=?", (table_id, pk, sk)).fetchone()
        return orjson.loads(row[0]) if row else None

    def put_item(self, table_id: int, pk: bytes, sk: bytes, item: dict, size: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO items (tbl, pk, sk, item, size) VALUES (?, ?, ?, ?, ?)",
            (table_id, pk, sk, orjson.dumps(item), size),
        )

    def delete_item(self, table_id: int, pk: bytes, sk: bytes) -> None:
        self.db.execute("DELETE FROM items WHERE tbl=? AND pk=? AND sk=?", (table_id, pk, sk))

    def append_outbox(self, kind: str, topic: str, partition: int, payload: bytes, created_ms: int) -> None:
        self.db.execute(
            "INSERT INTO outbox (kind, topic, partition, payload, created_ms) VALUES (?, ?, ?, ?, ?)",
            (kind, topic, partition, payload, created_ms),
        )

    def retarget_outbox(self, old_topic: str, new_topic: str) -> None:
        self.db.execute("UPDATE outbox SET topic=? WHERE topic=? AND kind='event'", (new_topic, old_topic))

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord:
        cur = self.db.execute("INSERT INTO tables (name, description) VALUES (?, ?)", (name, orjson.dumps(description)))
        return TableRecord(cur.lastrowid, name, description)

    def update_table(self, record: TableRecord) -> None:
        self.db.execute("UPDATE tables SET description=? WHERE id=?", (orjson.dumps(record.description), record.id))

    def delete_table(self, record: TableRecord) -> None:
        self.db.execute("DELETE FROM items WHERE tbl=?", (record.id,))
        self.db.execute("DELETE FROM tables WHERE id=?", (record.id,))


class SqliteOutbox:
    """The publisher's reading connection: reads never block writers (WAL). Removals go through
    the storage's own connection (`SqliteStorage.remove_outbox`): with one writing connection
    per process, SQLite's busy handler (sleeps of up to 100 ms) never runs."""

    def __init__(self, path: str | Path, synchronous: str):
        self.db = connect(path, synchronous)

    def pending(self, after_seq: int, limit: int) -> list[OutboxRow]:
        rows = self.db.execute(
            "SELECT seq, kind, topic, partition, payload, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [OutboxRow(*row) for row in rows]

    def backlog(self) -> tuple[int, int | None]:
        count, oldest = self.db.execute("SELECT COUNT(*), MIN(created_ms) FROM outbox").fetchone()
        return count, oldest

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

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self._tx
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
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
        if low is not None:
            sql.append("AND sk >= ?" if low.inclusive else "AND sk > ?")
            args.append(low.key)
        if high is not None:
            sql.append("AND sk <= ?" if high.inclusive else "AND sk < ?")
            args.append(high.key)
        sql.append("ORDER BY sk LIMIT ?" if forward else "ORDER BY sk DESC LIMIT ?")
        with self.lock:
            rows = self.db.execute(" ".join(sql), (*args, limit))
            return _take((StoredItem(pk, *row) for row in rows), max_bytes)

    def scan_items(self, table_id: int, after: tuple[bytes, bytes] | None, pk_from: bytes | None,
                   pk_below: bytes | None, limit: int, max_bytes: int) -> list[StoredItem]:
        """Items after the key `after`, with partition keys in [pk_from, pk_below): a range of
        the primary key, in (pk, sk) order."""
        sql, args = ["SELECT pk, sk, item, size FROM items WHERE tbl=?"], [table_id]
        if after is not None:
            sql.append("AND (pk, sk) > (?, ?)")
            args += after
        if pk_from is not None:
            sql.append("AND pk >= ?")
            args.append(pk_from)
        if pk_below is not None:
            sql.append("AND pk < ?")
            args.append(pk_below)
        sql.append("ORDER BY pk, sk LIMIT ?")
        with self.lock:
            rows = self.db.execute(" ".join(sql), (*args, limit))
            return _take(map(StoredItem._make, rows), max_bytes)

    def outbox(self) -> SqliteOutbox:
        return SqliteOutbox(self.path, self.synchronous)

    def remove_outbox(self, seqs: list[int]) -> None:
        with self.transaction() as tx:
            tx.db.executemany("DELETE FROM outbox WHERE seq=?", ((s,) for s in seqs))

    def close(self) -> None:
        with self.lock:
            self.db.close()


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
