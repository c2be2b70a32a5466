"""Searches share their work: within one rank_all, every distinct sub-ranker runs once per query,
whatever recipes the columns hold and however the columns' rankers were built."""

from __future__ import annotations

import pytest

from ranklens import models
from ranklens.corpus import ingest
from ranklens.ranking import rankers, retrievers
from ranklens.ranking.recipes import make_ranker, make_rankers
from ranklens.types import Query

from .conftest import FakeEncoder, write_jsonl

DOCS = [
    (f"d{i}", f"document {i} about tea and the moon {i % 3} and kites {i % 4}") for i in range(30)
]


class CountingEncoder(FakeEncoder):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.queries_encoded = 0

    def encode_queries(self, texts):
        self.queries_encoded += len(texts)
        return super().encode_queries(texts)


@pytest.fixture
def counted(home, tmp_path, monkeypatch):
    enc = CountingEncoder("fake-count")
    models.register_encoder(enc)
    path = write_jsonl(tmp_path / "d.jsonl", [{"_id": i, "text": t} for i, t in DOCS])
    c = ingest.ingest(path, "share", ["bm25", "fake-count"], home)
    calls = {"bm25": 0, "chroma": 0}
    real_bm25 = retrievers.BM25Ranker.rank
    real_vectors = retrievers.DenseRanker.rank_vectors

    def bm25_rank(self, queries, k):
        calls["bm25"] += len(queries)
        return real_bm25(self, queries, k)

    def rank_vectors(self, queries, vectors, k):
        calls["chroma"] += len(queries)
        return real_vectors(self, queries, vectors, k)

    monkeypatch.setattr(retrievers.BM25Ranker, "rank", bm25_rank)
    monkeypatch.setattr(retrievers.DenseRanker, "rank_vectors", rank_vectors)
    return c, enc, calls


COLUMNS = [
    "bm25",
    "fake-count",
    "rrf(bm25,fake-count)",
    "wsum(bm25:0.3,fake-count:0.7)",
    "rrf(rrf(bm25,fake-count),bm25)",
]


@pytest.mark.parametrize("level", ["passage", "doc"])
@pytest.mark.parametrize("shared_objects", [True, False])
def test_every_distinct_sub_ranker_runs_once_per_query(counted, level, shared_objects):
    c, enc, calls = counted
    if shared_objects:
        chosen = make_rankers(COLUMNS, c)
    else:  # each column built on its own, as separate pages or requests would
        chosen = [make_ranker(spec, c) for spec in COLUMNS]
    queries = [Query("1", "tea moon"), Query("2", "kites 3")]
    out = rankers.rank_all(chosen, queries, 5, level=level, passages_per_doc=1.0)
    assert set(out.runs) == {r.name for r in chosen}
    assert enc.queries_encoded == 2  # one encoding per query, for four columns that use it
    assert calls == {"bm25": 2, "chroma": 2}
    # and the fusion is the fusion of those very inputs
    alone = rankers.rank_all([make_ranker("rrf(bm25,fake-count)", c)], queries, 5, level=level)
    assert out.runs["rrf(bm25,fake-count)"] == alone.runs["rrf(bm25,fake-count)"]
