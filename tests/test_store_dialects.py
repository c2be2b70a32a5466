"""The judgment store behaves the same on SQLite and PostgreSQL: the same values refused, writers
one at a time, a read is one snapshot.

Every test runs on both engines (the store_url fixture; PostgreSQL skips, saying why, without it).
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from ranklens.errors import InputError
from ranklens.schema import label_events

from .judging_data import label_row


def test_nul_characters_and_overlong_ids_are_refused_alike(store):
    store.add_label("c", "ann", "q" * 500, "d1#0", 1, doc_id="d1")  # at the limit: kept
    with pytest.raises(InputError, match="NUL"):
        store.add_label("c", "ann", "q1", "d1#0", 1, doc_id="d1", note="a\x00b")
    with pytest.raises(InputError, match="NUL"):
        store.add_label("c", "ann\x00", "q1", "d1#0", 1, doc_id="d1")
    with pytest.raises(InputError, match="501 characters long"):
        store.add_label("c", "ann", "q" * 501, "d1#0", 1, doc_id="d1")
    with pytest.raises(InputError, match="characters long"):
        store.add_label("c", "ann", "q1", "d" * 600 + "#0", 1, doc_id="d" * 600)
    assert store.count_events("c") == 1  # nothing half written
    # a filter with a long id finds nothing (no error); a NUL in a filter is refused on both
    assert store.current_labels("c", annotator="x" * 5000) == []
    with pytest.raises(InputError, match="NUL"):
        store.current_labels("c", annotator="a\x00")
    long_note = "n" * 100_000  # free text has no length limit
    store.add_label("c", "ann", "q2", "d2#0", 2, doc_id="d2", note=long_note)
    assert store.label_of("c", "ann", "q2", "d2#0").note == long_note


def test_writers_take_turns(store):
    """A write transaction holds the write lock until it commits (BEGIN IMMEDIATE on SQLite, an
    advisory lock on PostgreSQL): a second writer waits, then sees the first one's rows."""
    store.add_label("c", "ann", "q0", "d0#0", 0, doc_id="d0")
    inside, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with store.write() as conn:
            row = label_row(annotator="a", passage_id="p#0", doc_id="p", created_at=time.time())
            conn.execute(sa.insert(label_events).values(**row))
            inside.set()
            release.wait(timeout=30)
            order.append("first commits")

    def second() -> None:
        inside.wait(timeout=30)
        with store.write() as conn:
            order.append("second writes")
            seen = conn.execute(sa.select(sa.func.count()).select_from(label_events)).scalar()
            order.append(seen)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(timeout=30)
    time.sleep(0.5)  # the second writer is waiting for the lock by now
    assert order == []
    release.set()
    for t in threads:
        t.join(timeout=60)
    assert order == ["first commits", "second writes", 2]


def test_a_read_is_one_snapshot(store):
    store.add_label("c", "ann", "q0", "d0#0", 0, doc_id="d0")
    count = sa.select(sa.func.count()).select_from(label_events)
    with store.read() as conn:
        before = conn.execute(count).scalar()
        store.add_label("c", "ann", "q1", "d1#0", 1, doc_id="d1")  # commits meanwhile
        assert conn.execute(count).scalar() == before == 1
    assert store.count_events("c") == 2


def test_without_postgresql_the_cluster_says_why(monkeypatch):
    """Where PostgreSQL is missing, the fixture skips with this reason (pytest -ra prints it)."""
    from . import pg

    monkeypatch.setattr(pg.shutil, "which", lambda name: None)
    monkeypatch.setattr(pg.glob, "glob", lambda pattern: [])
    with pytest.raises(pg.PgUnavailable, match="initdb is not installed.*setup.sh --dev"):
        pg.PgCluster().start()
