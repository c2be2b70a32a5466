"""Tests of ranklens/judging/labels.py: label events, current labels, undo, notes, document-level
labels, labels that need their doc_id, and the SQLite write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ranklens.errors import InputError, NotFoundError
from ranklens.judging import (
    DOC_LEVEL,
)
from ranklens.types import Qrel

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_current_label_is_the_latest_and_undo_brings_back_the_previous(store):
    first = store.add_label("c", "alice", "q1", "d1#0", 1, doc_id="d1")
    second = store.add_label("c", "alice", "q1", "d1#0", 3, note="on reflection", doc_id="d1")
    store.add_label("c", "bob", "q1", "d1#0", 2, doc_id="d1")
    [a] = store.current_labels("c", annotator="alice")
    assert (a.grade, a.event_id, a.note, a.doc_id) == (3, second, "on reflection", "d1")

    undone = store.undo("c", "alice")
    assert undone is not None and undone.id == second
    [a] = store.current_labels("c", annotator="alice")
    assert (a.grade, a.event_id) == (1, first)
    assert store.undo("c", "alice").id == first
    assert store.current_labels("c", annotator="alice") == []
    assert store.undo("c", "alice") is None
    # bob is untouched, and the history keeps everything, undos included
    assert [lab.grade for lab in store.current_labels("c")] == [2]
    kinds = [(e.kind, e.target_id) for e in store.history("c", annotator="alice")]
    assert kinds == [("label", None), ("label", None), ("undo", second), ("undo", first)]


def test_undo_event_is_idempotent(store):
    e = store.add_label("c", "alice", "q1", "d1#0", 2, doc_id="d1")
    store.undo_event(e)
    store.undo_event(e)
    assert store.count_events("c") == 2
    assert store.current_labels("c") == []
    with pytest.raises(NotFoundError):
        store.undo_event(999)


def test_cant_judge_notes_and_document_level_labels(store):
    store.record("cant_judge", "c", "alice", "q1", "d1#0", note="passage is cut off", doc_id="d1")
    store.record("note", "c", "alice", "q2", "d2#1", note="mentions the API", doc_id="d2")
    store.add_label("c", "alice", "q2", "d2#1", 2, doc_id="d2")
    store.add_label("c", "alice", "q3", DOC_LEVEL, 1, doc_id="d3")
    labels = {lab.query_id: lab for lab in store.current_labels("c")}
    assert labels["q1"].grade is None and labels["q1"].note == "passage is cut off"
    assert labels["q2"].grade == 2 and labels["q2"].note == "mentions the API"
    assert (labels["q3"].doc_id, labels["q3"].passage_id) == ("d3", "")
    assert {lab.query_id for lab in store.current_labels("c", include_cant_judge=False)} == {
        "q2",
        "q3",
    }
    with pytest.raises(InputError, match="has no doc_id"):
        store.add_label("c", "alice", "q3", DOC_LEVEL, 1)
    with pytest.raises(InputError, match="has no doc_id"):  # never parsed out of "d3#0"
        store.add_label("c", "alice", "q3", "d3#0", 1)
    with pytest.raises(InputError, match="say who you are"):
        store.add_label("c", "  ", "q3", "d3#0", 1, doc_id="d3")


def test_adjudication_is_kept_apart_from_the_adjudicators_own_label(store):
    store.add_label("c", "alice", "q1", "d1#0", 0, doc_id="d1")
    store.add_label("c", "bob", "q1", "d1#0", 3, doc_id="d1")
    store.adjudicate("c", "q1", "d1#0", 2, "alice", note="partial answer", doc_id="d1")
    assert sorted(lab.grade for lab in store.current_labels("c")) == [0, 3]
    [adj] = store.adjudicated("c").values()
    assert adj.grade == 2 and adj.source == "adjudication"
    assert store.final_qrels("c", level="passage") == [Qrel("q1", "d1#0", 2)]
    assert store.disagreements("c") == []
    [d] = store.disagreements("c", include_adjudicated=True)
    assert (d.spread, d.adjudicated) == (3, 2)


def test_a_write_transaction_takes_the_sqlite_write_lock_at_once(store, tmp_path):
    if store.dialect != "sqlite":
        pytest.skip("SQLite's lock; PostgreSQL's write lock: tests/test_store_dialects.py")
    path = store.url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with store.write():
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
