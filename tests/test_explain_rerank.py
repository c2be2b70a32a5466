"""The cross-encoder explanation: each passage's score and rank before and after the rerank, and
the chosen passage's score from the cross-encoder called directly."""

from __future__ import annotations

import numpy as np

from ranklens import models
from ranklens.corpus import ingest
from ranklens.ranking import rankers, recipes
from ranklens.ranking.recipes import make_rankers
from ranklens.teaching import explain
from ranklens.types import Query


class FakeScorer:
    """A cross-encoder stand-in: 4 points per query word in the passage, minus 3."""

    name = "fake-ce"

    def score(self, query: str, passages):
        words = set(query.lower().split())
        return np.array([4.0 * len(words & set(p.lower().split())) - 3 for p in passages])


def test_rerank_explanation_shows_scores_and_rank_changes(home, small_jsonl, monkeypatch):
    monkeypatch.setattr(models, "load_reranker", lambda name: FakeScorer())
    corpus = ingest.ingest(small_jsonl, "ce", ["bm25"], home)
    query = Query("q", "black tea or green tea temperature")
    ce = models.reranker_names()[0]
    spec = f"rerank(bm25,{ce},5)"
    stage, rerank = make_rankers(["bm25", spec], corpus)
    runs = rankers.rank_all([stage, rerank], [query], 5).runs
    before, after = runs["bm25"]["q"], runs[spec]["q"]
    ex = explain.explain_rerank(corpus, query.text, before, after, "tea#0", FakeScorer())
    assert ex.agrees and ex.reported == next(h.score for h in after if h.passage_id == "tea#0")
    rows = {r["passage"]: r for r in ex.rows}
    assert [r["passage"] for r in ex.rows] == [h.passage_id for h in after]
    for h in before:
        row = rows[h.passage_id]
        assert row["rank before"] == h.rank and row["score before"] == h.score
        assert row["moved"] == h.rank - row["rank after"]
    assert "tea#0" in ex.notes[0]
    rank_word = "stayed at" if rows["tea#0"]["moved"] == 0 else "moved from"
    assert rank_word in ex.notes[0]  # never "moved from rank 1 to 1"


def test_real_cross_encoder_steps_add_up_for_every_reranked_passage(home, small_jsonl):
    # the real int8 model: a pair scored again alone gives the rerank's own number
    corpus = ingest.ingest(small_jsonl, "ce-real", ["bm25"], home)
    query = Query("q", "black tea or green tea temperature")
    ce = models.reranker_names()[0]
    spec = f"rerank(bm25,{ce},5)"
    stage, rerank = recipes.make_rankers(["bm25", spec], corpus)
    runs = rankers.rank_all([stage, rerank], [query], 5).runs
    before, after = runs["bm25"]["q"], runs[spec]["q"]
    scorer = models.load_reranker(ce)
    for hit in after:
        ex = explain.explain_rerank(corpus, query.text, before, after, hit.passage_id, scorer)
        assert ex.agrees, (hit.passage_id, ex.total, ex.reported)
