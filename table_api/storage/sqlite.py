"""SQLite backend: one file, WAL mode, keys as order-preserving BLOBs.

Items live in one WITHOUT ROWID table clustered by (table id, partition key bytes, sort key
bytes), so a Query is a range over the primary index. Writes use BEGIN IMMEDIATE: the write
lock is taken before the read of the old item, so concurrent writers to one item (threads or
processes) serialise and never lose an update.

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

from table_api.storage.base import TableRecord

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
"""


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


class SqliteStorage:
    def __init__(self, path: str | Path, synchronous: str = "NORMAL"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection, used from the event loop thread and, for blocking maintenance such as
        # dropping a large table, from worker threads; the lock keeps its use sequential.
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        self._reader = SqliteTransaction(self.db)

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self._reader
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def get_item(self, table_id: int, pk: bytes, sk: bytes) -> dict | None:
        with self.lock:
            return self._reader.get_item(table_id, pk, sk)

    def create_table(self, name: str, description: dict[str, Any]) -> TableRecord:
        with self.lock:
            cur = self.db.execute(
                "INSERT INTO tables (name, description) VALUES (?, ?)", (name, orjson.dumps(description))
            )
            return TableRecord(cur.lastrowid, name, description)

    def get_table(self, name: str) -> TableRecord | None:
        with self.lock:
            row = self.db.execute("SELECT id, description FROM tables WHERE name=?", (name,)).fetchone()
        return TableRecord(row[0], name, orjson.loads(row[1])) if row else None

    def update_table(self, record: TableRecord) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE tables SET description=? WHERE id=?", (orjson.dumps(record.description), record.id)
            )

    def delete_table(self, record: TableRecord) -> None:
        with self.transaction() as _:
            self.db.execute("DELETE FROM items WHERE tbl=?", (record.id,))
            self.db.execute("DELETE FROM tables WHERE id=?", (record.id,))

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

    def close(self) -> None:
        with self.lock:
            self.db.close()
