"""The outbox rows the publisher removes: exactly those it shipped, by runs of sequence numbers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from table_api.storage.sqlite import SqliteStorage, consecutive_runs


def covered(runs: list[tuple[int, int]]) -> list[int]:
    return [n for first, last in runs for n in range(first, last + 1)]


def test_consecutive_numbers_make_one_run_in_any_order():
    assert consecutive_runs([5, 1, 2, 3, 7, 6]) == [(1, 3), (5, 7)]
    assert consecutive_runs([]) == []


@settings(max_examples=300)
@given(st.lists(st.integers(1, 200), max_size=80))
def test_runs_cover_exactly_the_numbers_given(numbers):
    runs = consecutive_runs(numbers)
    assert covered(runs) == sorted(set(numbers))
    assert all(later[0] > earlier[1] + 1 for earlier, later in zip(runs, runs[1:]))  # maximal runs


def test_removing_shipped_rows_keeps_every_other_row(tmp_path):
    storage = SqliteStorage(tmp_path / "tables.sqlite3")
    with storage.transaction() as tx:
        for n in range(1, 21):
            tx.append_outbox("event", "topic", 0, b"%d" % n, n)
    storage.remove_outbox([3, 4, 5, 9, 1, 10, 11, 20])
    left = [row.seq for row in storage.outbox().pending(0, 100)]
    assert left == [2, 6, 7, 8, 12, 13, 14, 15, 16, 17, 18, 19]
    storage.close()


def test_each_commit_hands_its_rows_on_in_sequence_order_and_a_rollback_none(tmp_path):
    storage = SqliteStorage(tmp_path / "tables.sqlite3")
    handed: list[list[int]] = []
    storage.on_outbox_committed = lambda rows: handed.append([row.seq for row in rows])
    with storage.transaction() as tx:
        tx.append_outbox("event", "topic", 0, b"a", 1)
        tx.append_outbox("event", "topic", 1, b"b", 1, {"cdc-bridge-transaction": "t1"})
    try:
        with storage.transaction() as tx:
            tx.append_outbox("event", "topic", 0, b"lost", 1)
            raise ValueError("a failed condition")
    except ValueError:
        pass
    with storage.transaction() as tx:
        tx.create_table("no-outbox-row", {})
    with storage.transaction() as tx:
        tx.append_outbox("stream", "topic", 0, b"c", 2)
    assert handed == [[1, 2], [3]]  # the rolled-back row never existed, its seq is reused
    committed = storage.outbox().pending(0, 10)
    assert [(r.seq, r.payload, r.headers) for r in committed] == [
        (1, b"a", None), (2, b"b", {"cdc-bridge-transaction": "t1"}), (3, b"c", None)]
    storage.close()
