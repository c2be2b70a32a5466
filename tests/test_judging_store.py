"""Tests of ranklens/judging/store.py: suggestions, final qrels by rule and level, qrels import
(all or nothing, line numbers) and export, the Cranfield round trip.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from ranklens.corpus.trec_files import read_qrels
from ranklens.errors import InputError
from ranklens.judging import (
    Database,
    PoolItem,
    Scale,
    final_qrels_from,
)
from ranklens.judging.agreement import (
    cohen_kappa,
)
from ranklens.schema import label_events
from ranklens.types import Qrel

from .judging_data import DOCS, PASSAGES, label_row, write

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


CRANFIELD = DATASETS / "cranfield"


def test_suggestions_never_count_as_human_labels(store):
    items = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(4)]
    grades = store.add_suggestions("c", "cross-encoder", items, [0.1, 0.6, 0.9, 0.3], [0.5, 0.8])
    assert grades == [0, 1, 2, 0]
    assert store.current_labels("c") == [] and store.final_qrels("c") == []
    assert store.agreement("c").labels == 0
    assert [s.grade for s in store.suggestions("c")] == grades
    # humans: alice agrees on d0, d1, disagrees on d2 (3 vs 2); d3 unlabelled
    for i, g in enumerate([0, 1, 3]):
        store.add_label("c", "alice", "q1", f"d{i}#0", g, doc_id=f"d{i}")
    sa = store.suggestion_agreement("c")
    assert sa.n == 3 and sa.exact == pytest.approx(2 / 3)
    assert sa.kappa == pytest.approx(cohen_kappa([0, 1, 2], [0, 1, 3], range(4), "quadratic"))
    with pytest.raises(InputError, match="at most 3"):
        store.add_suggestions("c", "ce", items[:1], [0.1], [0.1, 0.2, 0.3, 0.4])


def test_final_qrels_rules_and_levels(store):
    for who, grades in {"a": [3, 0, 1], "b": [2, 0, 2], "c": [2, 1, None]}.items():
        for i, g in enumerate(grades):
            if g is not None:
                store.add_label("c", who, "q1", f"d{i // 2}#{i % 2}", g, doc_id=f"d{i // 2}")
    # units: d0#0 {3,2,2}, d0#1 {0,0,1}, d1#0 {1,2}
    assert store.final_qrels("c", level="passage") == [
        Qrel("q1", "d0#0", 2),
        Qrel("q1", "d0#1", 0),
        Qrel("q1", "d1#0", 2),
    ]
    assert store.final_qrels("c", rule="max", level="passage")[1] == Qrel("q1", "d0#1", 1)
    assert store.final_qrels("c", rule="mean", level="passage")[0] == Qrel("q1", "d0#0", 2)
    assert store.final_qrels("c", rule="annotator:a", level="passage") == [
        Qrel("q1", "d0#0", 3),
        Qrel("q1", "d0#1", 0),
        Qrel("q1", "d1#0", 1),
    ]
    # document level: best passage
    assert store.final_qrels("c", rule="annotator:a") == [Qrel("q1", "d0", 3), Qrel("q1", "d1", 1)]
    store.adjudicate("c", "q1", "d1#0", 0, "lead", doc_id="d1")
    assert store.final_qrels("c")[1] == Qrel("q1", "d1", 0)
    with pytest.raises(InputError):
        store.final_qrels("c", rule="annotator:")
    with pytest.raises(InputError):
        final_qrels_from([], level="sentence")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("q1 0 d1 1\nq1 0 d2 2\nq2 0 d3\n", 3, "3 columns, expected 4"),
        ("q1 0 d1 1\nq1 0 d2 two\n", 2, "not an integer"),
        ("q1 0 d1 1\n\nq1 0 d2 7\n", 3, "outside the scale"),
        ("q1 0 d1 1\nq1 0 nope 2\n", 2, "not in corpus"),
        ("q1 0 d1 1\nq1 0 d1#9 2\n", 2, "not in corpus"),
        ("q1 0 d1 1\nq1 0 d2 1\nq1 0 d1 2\n", 3, "but 1 on line 1"),
    ],
)
def test_import_errors_name_the_line_and_leave_the_store_unchanged(
    store, tmp_path, text, line, message
):
    store.add_label("c", "alice", "q1", "d1#0", 2, doc_id="d1")
    before = store.history("c")
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(InputError, match=message) as err:
        store.import_qrels("c", path, "trec", known_doc_ids=DOCS, known_passages=PASSAGES)
    assert err.value.line == line and err.value.path == str(path)
    assert f"line {line}" in str(err.value)
    assert store.history("c") == before


def test_import_keep_unknown_and_unknown_queries(store, tmp_path):
    path = write(tmp_path / "q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\tnope\t2\n")
    report = store.import_qrels(
        "c",
        path,
        "beir",
        known_doc_ids=DOCS,
        known_query_ids={"q1"},
        keep_unknown=True,
    )
    assert report.labels == 2 and report.unknown_docs == [(3, "nope")]
    assert report.unknown_queries == ["q9"]
    assert "q9" in report.summary() and "nope (line 3)" in report.summary()
    assert store.annotators("c") == ["imported"]


def test_doc_level_import_round_trips_exactly(store, tmp_path):
    text = "q2 0 d3 1\nq1 0 d1 2\nq1 0 d2 0\nq10 0 x#7 3\n"
    src = write(tmp_path / "in.trec", text)
    report = store.import_qrels("c", src, "trec", known_doc_ids=DOCS, known_passages=PASSAGES)
    assert (report.document_level, report.passage_level) == (4, 0)
    out = tmp_path / "out.trec"
    assert store.export_qrels("c", out, "trec", level="doc") == 4
    assert out.read_text() == text
    beir = tmp_path / "out.tsv"
    store.export_qrels("c", beir, "beir", level="passage")
    assert [q for _, q in read_qrels(beir, "beir")] == [q for _, q in read_qrels(src, "trec")]


def test_passage_level_import_exports_both_levels(store, tmp_path):
    text = "query-id\tcorpus-id\tscore\nq1\td1#0\t1\nq1\td1#1\t3\nq1\td2#0\t0\n"
    src = write(tmp_path / "in.tsv", text)
    store.import_qrels("c", src, known_doc_ids=DOCS, known_passages=PASSAGES)
    out = tmp_path / "p.tsv"
    store.export_qrels("c", out, "beir", level="passage")
    assert out.read_text() == text
    store.export_qrels("c", out, "beir", level="doc")
    assert out.read_text() == "query-id\tcorpus-id\tscore\nq1\td1\t3\nq1\td2\t0\n"
    with pytest.raises(InputError):
        store.export_qrels("c", out, "csv")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("l.csv", "query_id,doc_id,relevance\nq1,d1,2\nq1,d2#0,1\n"),
        ("l.jsonl", '{"query_id": "q1", "doc_id": "d1", "relevance": 2}\n'
         '{"query_id": "q1", "doc_id": "d2#0", "relevance": 1}\n'),
    ],
)  # fmt: skip
def test_import_csv_and_jsonl(store, tmp_path, name, text):
    src = write(tmp_path / name, text)
    report = store.import_qrels(
        "c", src, None, annotator="tutor", known_doc_ids=DOCS, known_passages=PASSAGES
    )
    assert (report.document_level, report.passage_level) == (1, 1)
    assert store.final_qrels("c") == [Qrel("q1", "d1", 2), Qrel("q1", "d2", 1)]


def test_duplicate_lines_are_stored_once(store, tmp_path):
    src = write(tmp_path / "d.trec", "q1 0 d1 1\nq1 0 d1 1\n")
    report = store.import_qrels("c", src, "trec")
    assert (report.labels, report.duplicates) == (1, 1)


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared Cranfield dataset absent")
def test_cranfield_qrels_round_trip(store, tmp_path):
    docs = {json.loads(line)["_id"] for line in open(CRANFIELD / "corpus.jsonl", encoding="utf-8")}
    src = CRANFIELD / "qrels" / "test.tsv"
    with pytest.raises(InputError, match="outside the scale"):
        store.import_qrels("cranfield", src, "beir", known_doc_ids=docs)
    store.set_scale("cranfield", Scale.of(5))
    report = store.import_qrels("cranfield", src, "beir", known_doc_ids=docs)
    want = [q for _, q in read_qrels(src, "beir")]
    assert report.labels == len(want) and report.unknown_docs == []
    out = tmp_path / "cran.tsv"
    store.export_qrels("cranfield", out, "beir")
    assert [q for _, q in read_qrels(out, "beir")] == want


def test_the_small_stores_share_one_database_and_its_write_queue(store):
    """JudgmentStore composes its parts over one Database: a write held through one part makes
    a write through another wait for its turn (one FairLock), and both land."""
    parts = [store.label_store, store.pool_store, store.suggestion_store, store.adjudication_store]
    assert not isinstance(store, Database) and all(
        p.db is store.db for p in parts + [store.qrels_io]
    )
    done = threading.Event()

    def save() -> None:
        store.pool_store.save_pool("c", "qs", [PoolItem("q1", "d1#0", "d1")], ["bm25"], 1)
        done.set()

    with store.label_store.write() as conn:
        writer = threading.Thread(target=save)
        writer.start()
        assert not done.wait(0.2)  # queued behind the write in progress
        conn.execute(sa.insert(label_events).values(**label_row()))
    writer.join(30)
    assert done.is_set()
    assert len(store.pools("c")) == 1 and store.label_of("c", "alice", "q1", "d1#0")
