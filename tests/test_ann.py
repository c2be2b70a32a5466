"""HNSW against exact search: exact top k against numpy, recall (ties counted), another
ef_search in a child process leaving the stored setting alone, and the stored-vector LRU."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from ranklens import models
from ranklens.config import Settings
from ranklens.corpus.chunking import index_text
from ranklens.corpus.ingest import ingest
from ranklens.errors import RankLensError
from ranklens.ranking import ann, exact
from ranklens.types import Query

from .conftest import SEARCH_DOCS, FakeEncoder, index_docs, write_jsonl

FAKE = "fake-ann-enc"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("ann")
    return index_docs(root, SEARCH_DOCS, "tiny-ann", [FAKE], encoders=[FakeEncoder(FAKE)])


def test_exact_search_matches_numpy(corpus):
    enc = models.load_encoder(FAKE)
    qv = enc.encode_queries(["bread starter", "planet moons"])
    got = exact.exact_search(corpus, FAKE, qv, 3)
    passages = list(corpus.iter_passages())
    dv = enc.encode_documents([index_text(p) for p in passages])
    for row, res in zip(qv @ dv.T, got, strict=True):
        expected = sorted(row, reverse=True)[:3]
        assert [s for _, s in res] == pytest.approx(expected, abs=1e-5)


def test_hnsw_recall_against_exact(corpus):
    queries = [Query(str(i), t) for i, (_, _, t) in enumerate(SEARCH_DOCS)]
    rep = ann.hnsw_recall(corpus, FAKE, queries, k=5)
    assert rep.settings["space"] == "cosine" and rep.ef_search == rep.settings["ef_search"]
    assert set(rep.per_query) == {q.query_id for q in queries}
    assert rep.mean == pytest.approx(1.0)  # eleven vectors: HNSW finds them all
    before = ann.hnsw_settings(corpus, FAKE)
    probe = ann.hnsw_recall(corpus, FAKE, queries, k=5, ef_search=500)
    assert probe.ef_search == 500 and probe.mean == pytest.approx(1.0)
    assert ann.hnsw_settings(corpus, FAKE) == before  # the stored setting is untouched
    with pytest.raises(RankLensError, match="ef_search"):
        ann.hnsw_recall(corpus, FAKE, queries, ef_search=0)
    with pytest.raises(RankLensError, match="not indexed"):
        ann.hnsw_recall(corpus, "multilingual-e5-small", queries)


def test_hnsw_recall_drops_with_tiny_ef(tmp_path):
    rng = np.random.default_rng(7)
    settings = Settings(home=tmp_path / "home", batch_size=512)
    enc = FakeEncoder("fake-random-enc", dim=32)
    vectors = {}

    def encode(texts):
        out = np.stack([vectors.setdefault(t, rng.standard_normal(32)) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    enc.encode_documents = enc.encode_queries = encode
    models.register_encoder(enc)
    path = write_jsonl(
        tmp_path / "r.jsonl", [{"_id": f"d{i}", "text": f"t{i}"} for i in range(1500)]
    )
    c = ingest(path, "random", ["fake-random-enc"], settings)
    queries = [Query(f"q{i}", f"query {i}") for i in range(30)]
    low = ann.hnsw_recall(c, "fake-random-enc", queries, k=10, ef_search=1)
    assert low.ef_search == 1 and 0 < low.mean < 1.0
    high = ann.hnsw_recall(c, "fake-random-enc", queries, k=10, ef_search=400)
    assert high.ef_search == 400 and high.mean > low.mean  # a wider search finds more


def test_recall_with_ties_by_hand():
    truth = [("a", 0.9), ("b", 0.8), ("c", 0.5)]
    assert ann.recall_with_ties(["a", "b", "c"], [0.9, 0.8, 0.5], truth) == 1.0
    assert ann.recall_with_ties(["a", "x", "y"], [0.9, 0.4, 0.1], truth) == pytest.approx(1 / 3)
    # x ties the third best: either is a right answer
    assert ann.recall_with_ties(["a", "b", "x"], [0.9, 0.8, 0.5], truth) == 1.0
    assert ann.recall_with_ties([], [], []) == 1.0


class _Collection:
    def __init__(self, cid: str, n: int, calls: list[str]) -> None:
        self.id, self.n, self.calls = cid, n, calls

    def count(self) -> int:
        return self.n

    def get(self, include, limit, offset):
        self.calls.append(self.id)
        ids = [f"{self.id}-{i}" for i in range(offset, min(self.n, offset + limit))]
        return {"ids": ids, "embeddings": [[float(i + 1), 1.0] for i in range(len(ids))]}


class _Corpus:
    def __init__(self, tmp_path, calls: list[str]) -> None:
        self.settings = type("S", (), {"chroma_dir": tmp_path, "chroma_host": None})()
        self.calls, self.sizes = calls, {}

    def collection(self, model: str) -> _Collection:
        return _Collection(model, self.sizes.get(model, 3), self.calls)


def test_exact_search_vectors_are_a_small_lru(tmp_path, monkeypatch):
    monkeypatch.setattr(exact, "_vectors_cache", OrderedDict())
    calls: list[str] = []
    c = _Corpus(tmp_path, calls)
    size = exact.VECTORS_CACHE_SIZE
    names = [f"m{i}" for i in range(size + 2)]
    for name in names[:size]:
        ids, matrix = exact.stored_vectors(c, name)
        assert ids == [f"{name}-{i}" for i in range(3)]
        assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    exact.stored_vectors(c, names[0])  # a hit: m0 becomes the most recently used
    assert calls == names[:size]
    exact.stored_vectors(c, names[size])  # evicts the least recently used: m1, not m0
    assert len(exact._vectors_cache) == size
    held = {key[2] for key in exact._vectors_cache}
    assert held == {names[0], *names[2 : size + 1]}
    exact.stored_vectors(c, names[0])
    exact.stored_vectors(c, names[1])  # read again
    assert calls == names[: size + 1] + [names[1]]
    c.sizes[names[1]] = 5  # a collection that changed is read again, its old vectors dropped
    assert len(exact.stored_vectors(c, names[1])[0]) == 5
    assert [key[2] for key in exact._vectors_cache].count(names[1]) == 1


def test_exact_search_keeps_ids_with_a_hash(corpus):
    vectors = models.load_encoder(FAKE).encode_queries(
        ["the quarterly report whose document id holds a hash"]
    )
    (top, _), *_ = exact.exact_search(corpus, FAKE, vectors, 3)[0]
    assert top == "report#2#0"
