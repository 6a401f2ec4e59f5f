"""The data directory's format marker and migrations (cdc_bridge/data_dir.py), and the connector's
iterator key in it (connector/settings.py)."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import orjson
import pytest

from cdc_bridge import data_dir
from connector.settings import ITERATOR_KEY_FILE, Settings, iterator_key
from table_api.storage.sqlite import SqliteStorage

FIXTURE = Path(__file__).parent.parent / "fixtures" / "data-dir-format-1"


def test_a_new_data_dir_gets_the_current_format(tmp_path):
    lines = []
    assert data_dir.prepare(tmp_path / "new", lines.append) == data_dir.FORMAT_VERSION
    assert (tmp_path / "new" / "FORMAT").read_text() == f"{data_dir.FORMAT_VERSION}\n"
    assert lines == []


def test_a_dir_without_tables_is_new_whatever_else_is_there(tmp_path):
    (tmp_path / "up-1234.log").write_text("a log")
    (tmp_path / "kafka").mkdir()
    assert data_dir.format_of(tmp_path) is None
    data_dir.prepare(tmp_path, lambda line: pytest.fail(line))
    assert data_dir.format_of(tmp_path) == data_dir.FORMAT_VERSION


def test_format_1_is_migrated_with_a_backup_and_one_line(tmp_path):
    path = tmp_path / "data"
    shutil.copytree(FIXTURE, path)
    assert data_dir.format_of(path) == 1
    lines = []
    assert data_dir.prepare(path, lines.append) == 1
    [line] = lines
    [backup] = path.glob("backup-1-*")
    assert f"format version 1 to {data_dir.FORMAT_VERSION}" in line and str(backup) in line
    assert data_dir.format_of(path) == data_dir.FORMAT_VERSION
    db = sqlite3.connect(path / "tables.sqlite3")
    streams = [s for (d,) in db.execute("SELECT description FROM tables") for s in orjson.loads(d).get("Streams", [])]
    assert streams and all(s["Epoch"] == 0 for s in streams)
    old = sqlite3.connect(backup / "tables.sqlite3")
    assert all("Epoch" not in s for (d,) in old.execute("SELECT description FROM tables")
               for s in orjson.loads(d).get("Streams", []))
    assert data_dir.prepare(path, lines.append) == data_dir.FORMAT_VERSION and len(lines) == 1  # nothing more


def test_format_2_becomes_current_in_place_without_a_backup(tmp_path):
    """Version 3 (secondary indexes) rewrites nothing: only the marker moves, so older code that
    would not maintain indexes refuses the directory; nor does 4 when there is no outbox yet."""
    (tmp_path / "FORMAT").write_text("2\n")
    (tmp_path / "tables.sqlite3").write_bytes(b"")
    lines = []
    assert data_dir.prepare(tmp_path, lines.append) == 2
    assert lines == [f"data directory {tmp_path} migrated from format version 2 to 4"]
    assert not list(tmp_path.glob("backup-*"))
    assert data_dir.format_of(tmp_path) == 4


FORMAT_3_OUTBOX = """CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    topic TEXT NOT NULL, partition INTEGER NOT NULL, payload BLOB NOT NULL, created_ms INTEGER NOT NULL)"""


def test_format_3_outbox_gets_its_headers_column_and_keeps_its_rows(tmp_path):
    """Version 4 (transactions): the outbox gets a column in place, its pending rows stay (with no
    extra headers); the storage then reads them, writes headers and keeps client tokens."""
    (tmp_path / "FORMAT").write_text("3\n")
    db = sqlite3.connect(tmp_path / "tables.sqlite3")
    db.execute(FORMAT_3_OUTBOX)
    db.execute("INSERT INTO outbox (kind, topic, partition, payload, created_ms) VALUES ('event', 't', 1, x'7b7d', 5)")
    db.commit()
    db.close()
    lines = []
    assert data_dir.prepare(tmp_path, lines.append) == 3
    assert lines == [f"data directory {tmp_path} migrated from format version 3 to 4"]
    assert not list(tmp_path.glob("backup-*"))  # a schema change only: nothing rewritten
    assert data_dir.format_of(tmp_path) == 4
    storage = SqliteStorage(tmp_path / "tables.sqlite3")
    try:
        [row] = storage.outbox().pending(0, 10)
        assert (row.topic, row.partition, row.payload, row.headers) == ("t", 1, b"{}", None)
        with storage.transaction() as tx:
            tx.append_outbox("event", "t", 2, b"{}", 6, {"cdc-bridge-transaction": "x"})
            tx.save_client_token("token", b"fp", b"{}", 6, forget_before_ms=0)
        assert storage.outbox().pending(1, 10)[0].headers == {"cdc-bridge-transaction": "x"}
        with storage.snapshot() as tx:
            assert tx.client_token("token", since_ms=6) == (b"fp", b"{}")
            assert tx.client_token("token", since_ms=7) is None
    finally:
        storage.close()


def test_a_newer_format_is_refused_naming_both_versions(tmp_path):
    (tmp_path / "FORMAT").write_text("7\n")
    with pytest.raises(data_dir.DataDirError, match=rf"format version 7, newer than .* format version {data_dir.FORMAT_VERSION}"):
        data_dir.prepare(tmp_path)


@pytest.mark.parametrize("text", ["two\n", "", "-1"])
def test_an_unreadable_marker_is_refused(tmp_path, text):
    (tmp_path / "FORMAT").write_text(text)
    with pytest.raises(data_dir.DataDirError):
        data_dir.prepare(tmp_path)


def test_the_iterator_key_is_made_once_private_and_read_again(tmp_path):
    key = iterator_key(tmp_path)
    path = tmp_path / ITERATOR_KEY_FILE
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert iterator_key(tmp_path) == key
    assert Settings(data_dir=tmp_path, iterator_secret=None).iterator_secret == key
    assert Settings(data_dir=tmp_path, iterator_secret=b"given").iterator_secret == b"given"
    assert [p.name for p in tmp_path.iterdir()] == [ITERATOR_KEY_FILE]  # no temporary file left


def test_a_damaged_iterator_key_is_refused(tmp_path):
    (tmp_path / ITERATOR_KEY_FILE).write_bytes(b"short")
    with pytest.raises(RuntimeError, match="32 bytes"):
        iterator_key(tmp_path)


def test_without_a_data_dir_the_key_is_random(monkeypatch):
    monkeypatch.delenv("CDC_BRIDGE_ITERATOR_SECRET", raising=False)
    assert Settings().iterator_secret != Settings().iterator_secret


def test_a_renewed_kinesis_stream_is_the_same_stream_one_epoch_later():
    from connector.kinesis_catalog import renewed
    from connector.kinesis_shards import new_generation

    old = new_generation("s", 0, 0, [0, 2**127], 1000)
    current = new_generation("s", 1, 2, [0, 2**126, 2**127, 3 * 2**126], 2000)
    stream = {"StreamName": "s", "StreamStatus": "UPDATING", "Epoch": 2, "RetentionPeriodHours": 48, "Tags": {"a": "b"},
              "Generations": [{**old, "ClosedMs": 2000}, current]}
    again = renewed(stream)
    assert again["Epoch"] == 3 and again["StreamStatus"] == "ACTIVE"
    assert again["Generations"][0]["Ends"] == [0, 0]  # the closed shards' data is gone: empty, closed
    assert again["Generations"][1] == current
    assert {k: v for k, v in again.items() if k not in ("Epoch", "StreamStatus", "Generations")} == \
           {k: v for k, v in stream.items() if k not in ("Epoch", "StreamStatus", "Generations")}
    assert renewed({k: v for k, v in stream.items() if k != "Epoch"})["Epoch"] == 1
