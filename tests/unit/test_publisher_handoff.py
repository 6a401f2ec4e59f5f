"""Which outbox rows the publisher's thread takes next (table_api/outbox.py): the rows handed over
by the commits when they continue its cursor, else the outbox read back from SQLite, so a gap or
an overflow of the hand-off never skips or repeats a row. No Kafka here: the rows are only taken."""

from __future__ import annotations

import pytest

from table_api.outbox import HANDED_MAX, Publisher, Session
from table_api.storage.sqlite import SqliteStorage


@pytest.fixture
def storage(tmp_path):
    storage = SqliteStorage(tmp_path / "tables.sqlite3")
    yield storage
    storage.close()


def publisher(storage) -> Publisher:
    return Publisher(None, storage, None, active_topics=set, on_lost_topics=lambda topics: None)


def commit(storage, count: int) -> None:
    with storage.transaction() as tx:
        for _ in range(count):
            tx.append_outbox("event", "topic", 0, b"{}", 1)


def take(pub: Publisher, session: Session) -> list[int]:
    rows = pub._next_rows(session)
    if rows:
        session.cursor = rows[-1].seq  # as shipping them does
    return [row.seq for row in rows]


def test_a_new_session_reads_the_outbox_back_then_takes_handed_rows(storage):
    pub = publisher(storage)
    commit(storage, 3)  # before any session: handed, but a session starts by reading back
    session = Session(producer=None)
    pub.handed.clear()
    pub.read_back = True
    assert take(pub, session) == [1, 2, 3]
    assert not pub.read_back
    commit(storage, 2)
    pub.outbox.close()  # from here on the rows must come from the hand-off, not from SQLite
    assert take(pub, session) == [4, 5]
    assert take(pub, session) == []


def test_rows_already_taken_are_dropped_from_the_hand_off(storage):
    pub = publisher(storage)
    session = Session(producer=None)
    commit(storage, 4)
    assert take(pub, session) == [1, 2, 3, 4]  # read back: the handed copies are behind the cursor
    commit(storage, 1)
    assert take(pub, session) == [5]


def test_a_gap_in_the_hand_off_reads_the_outbox_back(storage):
    pub = publisher(storage)
    session = Session(producer=None)
    assert take(pub, session) == []
    commit(storage, 2)
    pub.handed.popleft()  # row 1 handed to nobody (shipped by a writer that then failed, say)
    assert take(pub, session) == [1, 2]


def test_an_overflowing_hand_off_is_dropped_and_read_back(storage):
    pub = publisher(storage)
    session = Session(producer=None)
    take(pub, session)
    commit(storage, HANDED_MAX + 1)
    assert not pub.handed and pub.read_back  # memory stays bounded while Kafka is away
    taken = []
    while rows := take(pub, session):
        taken += rows
    assert taken == list(range(1, HANDED_MAX + 2))


def test_a_writer_ships_nothing_itself_without_a_running_session(storage):
    pub = publisher(storage)
    commit(storage, 2)
    assert [row.seq for row in pub.handed] == [1, 2]  # queued for the thread
    assert pub.wake.is_set()  # and the thread woken
