"""Explanations: the hand steps shown to learners add up to the libraries' own numbers."""

from __future__ import annotations

import math

import pytest

from ranklens.corpus import ingest
from ranklens.errors import RankLensError
from ranklens.evaluation import measure_texts
from ranklens.ranking.recipes import make_ranker
from ranklens.teaching import explain
from ranklens.types import Hit, Qrel, Query, doc_level


@pytest.fixture
def corpus(home, small_jsonl, fake_encoder):
    return ingest.ingest(small_jsonl, "ex", ["bm25", "fake-encoder"], home)


def test_bm25_terms_sum_to_the_bm25s_score(corpus):
    query = Query("q", "how do lists sort items in Python")
    hits = make_ranker("bm25", corpus).rank([query], 3)["q"]
    top = hits[0]
    ex = explain.explain_bm25(corpus, query.text, top.passage_id)
    assert ex.agrees and math.isclose(ex.reported, top.score, rel_tol=1e-5)
    terms = {r["term"]: r for r in ex.rows}
    assert "list" in terms and terms["list"]["tf"] >= 1  # stemmed: lists -> list
    assert "in" not in terms  # a stopword
    # a term the passage lacks contributes nothing
    assert all(r["contribution"] == 0 for r in ex.rows if r["tf"] == 0)
    # idf by hand for one term: N passages, df from the index
    r = terms["list"]
    n = corpus.passages
    assert math.isclose(r["idf"], math.log(1 + (n - r["df"] + 0.5) / (r["df"] + 0.5)))


def test_bm25_for_a_passage_without_the_terms(corpus):
    ex = explain.explain_bm25(corpus, "sourdough", "moon#0")
    assert ex.total == 0 and ex.reported == 0 and ex.agrees


def test_cosine_products_sum_to_the_similarity(fake_encoder):
    ex = explain.explain_cosine(fake_encoder, "green tea", "Green tea is brewed cooler", top=5)
    assert ex.agrees and 0 < ex.total <= 1
    assert len(ex.rows) <= 5


def test_rrf_shares():
    a = [Hit("q", "x", "x", 9.0, 1), Hit("q", "y", "y", 8.0, 2)]
    b = [Hit("q", "y", "y", 0.9, 1)]
    ex = explain.explain_rrf({"a": a, "b": b}, "y", 1 / 62 + 1 / 61)
    assert ex.agrees
    assert [r["1/(k+rank)"] for r in ex.rows] == [1 / 62, 1 / 61]
    ex = explain.explain_rrf({"a": a, "b": b}, "x", 1 / 61)
    assert ex.rows[1]["rank"] == "not retrieved" and ex.agrees


def test_ndcg_steps_match_ir_measures():
    hits = [Hit("q", f"d{i}#0", f"d{i}", 10.0 - i, i) for i in range(1, 6)]
    qrels = [Qrel("q", "d1", 1), Qrel("q", "d3", 3), Qrel("q", "d9", 2), Qrel("q", "d2", 0)]
    ex = explain.explain_ndcg(doc_level({"q": hits})["q"], qrels, Query("q", "?"), k=5)
    # by hand: DCG = 1/log2(2) + 3/log2(4) = 2.5; IDCG = 3 + 2/log2(3) + 1/2
    idcg = 3 + 2 / math.log2(3) + 1 / 2
    assert math.isclose(ex.total, 2.5 / idcg) and ex.agrees
    assert ex.rows[3]["grade"] == "unjudged"


def test_explain_measure():
    text = measure_texts.explain_measure("nDCG@10")
    assert "log2" in text and "grade itself" in text and "ideal" in text.lower()
    assert "qrels" in text
    assert ">= 2" in measure_texts.explain_measure("P(rel=2)@10")
    assert "divide by 5" in measure_texts.explain_measure("P@5")
    assert "MAP" in measure_texts.explain_measure("MAP") and "MRR" in measure_texts.explain_measure(
        "RR"
    )
    assert "label" in measure_texts.explain_measure("Judged@10")
    assert "recall" in measure_texts.explain_measure("R@100")
    assert measure_texts.explain_measure("Bpref")  # anything ir_measures knows gets a generic text
    with pytest.raises(RankLensError):
        measure_texts.explain_measure("nonsense@3")
