"""ranklens.evaluation.qrels_sources: labels resolved from a file, the corpus or the store, ids looked up not parsed."""

from __future__ import annotations

import pytest

from ranklens.corpus import ingest
from ranklens.errors import RankLensError
from ranklens.evaluation import qrels_sources as labels
from ranklens.judging import JudgmentStore
from ranklens.types import Qrel, Query

QUERIES = [Query("q1", "python lists"), Query("q2", "rust memory"), Query("q3", "tea")]


@pytest.fixture
def corpus(home, small_jsonl):
    return ingest.ingest(small_jsonl, "lab", ["bm25"], home)  # py has passages py#0, py#1


def test_document_labels_take_passages_to_their_document(corpus):
    qrels = [
        Qrel("q1", "py#0", 1),
        Qrel("q1", "py#1", 2),  # the document keeps its highest passage grade
        Qrel("q2", "rust#0", 1),
        Qrel("q2", "rust", 0),  # a label on the document itself wins over its passages'
        Qrel("q3", "nowhere", 1),  # unknown ids are left as they are
    ]
    out, moved = labels.document_labels(qrels, corpus)
    assert moved == 3
    assert out == [Qrel("q1", "py", 2), Qrel("q2", "rust", 0), Qrel("q3", "nowhere", 1)]
    assert labels.document_labels([Qrel("q1", "py", 1)], corpus) == ([Qrel("q1", "py", 1)], 0)


def test_passage_level_notes_count_whole_documents(corpus):
    qrels = [Qrel("q1", "py", 1), Qrel("q1", "py#1", 2), Qrel("q2", "nowhere", 1)]
    (note,) = labels.passage_level_notes(qrels, corpus)
    assert note.startswith("1 of 3 labels name whole documents")
    assert labels.passage_level_notes([Qrel("q1", "py#0", 1)], corpus) == []


def test_resolve_labels_from_the_store_and_from_given_qrels(corpus, home):
    with pytest.raises(labels.NoLabelsError, match="no labels for the 3 queries"):
        labels.resolve_labels(corpus, "topics", QUERIES, source="store")
    with JudgmentStore(home.db_url) as store:
        store.add_label("lab", "alice", "q1", "py#1", 2, doc_id="py")
        store.add_label("lab", "alice", "q9", "tea#0", 1, doc_id="tea")
    got = labels.resolve_labels(corpus, "topics", QUERIES, source="store")
    assert got.qrels == [Qrel("q1", "py", 2)] and got.source.startswith("judgment store")
    assert got.notes == ["2 of 3 queries have no label and are not evaluated"]
    given = labels.resolve_labels(
        corpus,
        "topics",
        QUERIES,
        qrels=[Qrel("q2", "rust#0", 3), Qrel("q7", "py", 1)],
        origin="mine",
    )
    assert given.qrels == [Qrel("q2", "rust", 3)] and given.source == "mine"
    assert "1 labelled query is not in 'topics' and left out" in given.notes
    assert "1 label names passages" in " ".join(given.notes)
    with pytest.raises(RankLensError, match="none of the labels"):
        labels.resolve_labels(corpus, "topics", QUERIES, qrels=[Qrel("q7", "py", 1)])
    with pytest.raises(RankLensError, match="labels must be one of"):
        labels.resolve_labels(corpus, "topics", QUERIES, source="elsewhere")
