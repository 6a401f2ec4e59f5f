"""The data directory's format version: one marker for the whole directory, checked (and an older
format migrated in place) by `up`, `table-api` and `connector` before their parts open anything.

    <data-dir>/FORMAT            the format version, one integer on one line ("4")
    <data-dir>/tables.sqlite3    tables, items, outbox (table_api/storage/sqlite.py)
    <data-dir>/iterator.key      the connector's HMAC key of shard iterators (connector/settings.py)
    <data-dir>/kinesis-streams.json   the Kinesis stream definitions (connector/kinesis_catalog.py)
    <data-dir>/kafka/            Apache Kafka's own data, when `up` runs it (cdc_bridge/apache_kafka.py)
    <data-dir>/lambda/           Lambda functions and their code (lambda_api/functions.py, code.py)
    <data-dir>/logs/             CloudWatch Logs groups and streams (cloudwatch_logs/store.py)

Versions:
  1  the format of release 84f6bf6: `tables.sqlite3` alone, no marker; stream descriptions
     without `Epoch`.
  2  the marker; stream descriptions carry `Epoch` (0 unless Kafka lost the stream's topic);
     the connector's iterator key and Kinesis stream definitions.
  3  secondary indexes: table descriptions may hold GlobalSecondaryIndexes and
     LocalSecondaryIndexes, kept in `index_entries` and `backfills` of `tables.sqlite3` (created by
     the storage when it opens the file; nothing is rewritten). Code of version 2 would serve such
     tables without maintaining their indexes, hence the new version.
  4  transactions: outbox rows may carry extra Kafka headers (`outbox.headers`, a transaction's id
     and size) and TransactWriteItems keeps its client tokens in `client_tokens` (created by the
     storage when it opens the file). Code of version 3 would ship a transaction's events
     without its headers, or fail on the new column, hence the new version.

`lambda/` and `logs/` need no version of their own: code that does not know them ignores them, and a
directory without them has no functions and no logs (`function.json` carries its own `Format`).

A directory without a marker is of version 1 when it holds `tables.sqlite3`, else new (nothing
there to migrate: logs, or Kafka's data alone). Each migration backs up what it rewrites into
`backup-<old version>-<UTC time>/` first and says so in one line on stderr; the marker is written
last, so a migration cut short runs again from its start on the next start. A newer format than
this code knows is refused: it would be read wrongly, or rewritten into something the newer code
no longer reads.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

FORMAT_VERSION = 4
FORMAT_FILE = "FORMAT"
INSTANCE_FILE = "INSTANCE"
TABLES_DB = "tables.sqlite3"


class DataDirError(RuntimeError):
    """The data directory cannot be used by this code (newer format, unreadable marker)."""


def format_of(path: Path) -> int | None:
    """The directory's format version; None for a new directory (nothing to migrate)."""
    marker = path / FORMAT_FILE
    try:
        text = marker.read_text()
    except FileNotFoundError:
        return 1 if (path / TABLES_DB).exists() else None
    try:
        version = int(text.strip())
    except ValueError:
        raise DataDirError(f"data directory {path}: {marker} should hold a format version (an integer), "
                           f"not {text.strip()[:40]!r}") from None
    if version < 1:
        raise DataDirError(f"data directory {path}: format version {version} in {marker} is not valid")
    return version


def prepare(path: Path, say: Callable[[str], None] | None = None) -> int:
    """Make `path` a data directory of the current format: create it, migrate an older one in place
    (saying so through `say`, by default one line on stderr), refuse a newer one (DataDirError).
    Returns the format version it had (None counted as the current one)."""
    say = say or (lambda line: print(f"cdc-bridge: {line}", file=sys.stderr, flush=True))
    path.mkdir(parents=True, exist_ok=True)
    version = format_of(path)
    if version is None:
        write_format(path, FORMAT_VERSION)
        return FORMAT_VERSION
    if version > FORMAT_VERSION:
        raise DataDirError(
            f"data directory {path} has format version {version}, newer than this cdc-bridge's "
            f"format version {FORMAT_VERSION}: it was written by a newer cdc-bridge; run that one "
            f"(or start this one on another --data-dir)")
    start, backups = version, []
    while version < FORMAT_VERSION:
        backup = backup_dir(path, version)
        MIGRATIONS[version](path, backup)
        if backup.exists():  # a migration that rewrites nothing makes no backup
            backups.append(str(backup))
        version += 1
        write_format(path, version)
    if start < FORMAT_VERSION:
        say(f"data directory {path} migrated from format version {start} to {version}"
            + (f" (backup of what was rewritten in {', '.join(backups)})" if backups else ""))
    return start


def backup_dir(path: Path, version: int) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    backup = path / f"backup-{version}-{stamp}"
    n = 1
    while backup.exists():
        n += 1
        backup = path / f"backup-{version}-{stamp}-{n}"
    return backup


def instance_id(path: Path) -> str:
    """This data directory's identity (`<data-dir>/INSTANCE`, made on first use): what several
    instances on one Kafka cluster tell themselves apart by (a Firehose delivery stream is delivered
    by the instance that created it). An added file: older versions ignore it, no FORMAT change."""
    marker = path / INSTANCE_FILE
    if not marker.exists():
        path.mkdir(parents=True, exist_ok=True)
        write_atomically(marker, f"{uuid.uuid4()}\n".encode())
    return marker.read_text().strip()


def write_format(path: Path, version: int) -> None:
    write_atomically(path / FORMAT_FILE, f"{version}\n".encode())


def write_atomically(target: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `target` with `data` so that a reader (or a crash) sees the old or the new file whole."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


def backup_sqlite(source: Path, backup: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included) through SQLite's backup API."""
    backup.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(backup / source.name))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


# -- migrations: MIGRATIONS[v](path, backup) turns format v into v + 1 -------------------------------


def migrate_1_to_2(path: Path, backup: Path) -> None:
    """Stored stream descriptions get an explicit `Epoch` (0: their topics were never made again),
    the field the table service and the connector now keep in every stream. The iterator key and
    the Kinesis definitions are made by the connector when it first needs them."""
    db_path = path / TABLES_DB
    backup_sqlite(db_path, backup)
    db = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("BEGIN IMMEDIATE")
        try:
            for table_id, description in db.execute("SELECT id, description FROM tables").fetchall():
                table = orjson.loads(description)
                streams = table.get("Streams")
                if not streams or all("Epoch" in s for s in streams):
                    continue
                table["Streams"] = [{**s, "Epoch": s.get("Epoch", 0)} for s in streams]
                db.execute("UPDATE tables SET description=? WHERE id=?", (orjson.dumps(table), table_id))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def migrate_2_to_3(path: Path, backup: Path) -> None:
    """Nothing to rewrite: the index tables are made when the storage opens the database; the new
    marker keeps older code, which would not maintain indexes, away."""


def migrate_3_to_4(path: Path, backup: Path) -> None:
    """The outbox gets its `headers` column (NULL for the rows already there: events of single
    writes). No backup: `ADD COLUMN` changes only the schema, atomically, and rewrites no row (a
    copy of a large database would cost more than it could save). A database without an outbox
    yet gets it, with the column, when the storage opens it; so does `client_tokens`."""
    db = sqlite3.connect(str(path / TABLES_DB), isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=10000")
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        if columns and "headers" not in columns:
            db.execute("ALTER TABLE outbox ADD COLUMN headers BLOB")
    finally:
        db.close()


MIGRATIONS: dict[int, Callable[[Path, Path], None]] = {1: migrate_1_to_2, 2: migrate_2_to_3, 3: migrate_3_to_4}
