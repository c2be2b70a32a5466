"""Rankers: BM25, dense, fusion (against hand-computed scores), rerank, recipes, overlap, HNSW recall."""

from __future__ import annotations

import numpy as np
import pytest

from ranklens import models
from ranklens.corpus.chunking import index_text
from ranklens.corpus.ingest import ingest
from ranklens.errors import RankLensError
from ranklens.ranking import composites, rankers, retrievers
from ranklens.ranking.recipes import available_rankers, make_ranker, make_rankers
from ranklens.types import LEVELS, Hit, Passage, Query

from .conftest import SEARCH_DOCS, FakeEncoder, index_docs

FAKE = "fake-rankers-enc"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("rankers")
    return index_docs(root, SEARCH_DOCS, "tiny", ["bm25", FAKE], encoders=[FakeEncoder(FAKE)])


class FixedRanker:
    """A ranker with fixed (passage id, score) lists per query; counts its calls."""

    def __init__(self, name: str, lists: dict[str, list[tuple[str, float]]]) -> None:
        self.name, self.lists, self.calls = name, lists, []

    def rank(self, queries, k):
        self.calls.append(k)
        return {
            q.query_id: [
                Hit(q.query_id, pid, pid.split("#")[0], s, i)
                for i, (pid, s) in enumerate(self.lists.get(q.query_id, [])[:k], 1)
            ]
            for q in queries
        }


Q = [Query("q", "anything")]


# ---------------------------------------------------------------- fusion, hand-computed


def test_rrf_scores_by_hand():
    got = composites.rrf_scores([["a", "b", "c"], ["b", "d"]], k=60)
    assert got == pytest.approx(
        {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62}, rel=1e-12
    )


def test_rrf_fusion_order_scores_and_ties():
    a = FixedRanker("A", {"q": [("a#0", 9.0), ("b#0", 5.0), ("c#0", 1.0)]})
    b = FixedRanker("B", {"q": [("b#0", 0.9), ("d#0", 0.8)]})
    run = composites.Fusion([a, b], "rrf").rank(Q, 10)["q"]
    assert [h.passage_id for h in run] == ["b#0", "a#0", "d#0", "c#0"]
    assert [h.score for h in run] == pytest.approx([1 / 61 + 1 / 62, 1 / 61, 1 / 62, 1 / 63])
    assert [h.rank for h in run] == [1, 2, 3, 4] and run[0].doc_id == "b"
    # a tie (each first once) goes to the better best rank, then the passage id
    x = FixedRanker("X", {"q": [("z#0", 1.0), ("y#0", 0.5)]})
    y = FixedRanker("Y", {"q": [("y#0", 1.0), ("z#0", 0.5)]})
    assert [h.passage_id for h in composites.Fusion([x, y]).rank(Q, 2)["q"]] == ["y#0", "z#0"]
    # custom k: 1/(1+rank)
    run = composites.Fusion([a, b], "rrf", rrf_k=1).rank(Q, 1)["q"]
    assert run[0].passage_id == "b#0" and run[0].score == pytest.approx(1 / 3 + 1 / 2)


def test_wsum_fusion_by_hand():
    a = FixedRanker("A", {"q": [("a#0", 10.0), ("b#0", 6.0), ("c#0", 2.0)]})
    b = FixedRanker("B", {"q": [("b#0", 0.9), ("d#0", 0.5)]})
    run = composites.Fusion([a, b], "wsum", weights=[0.3, 0.7]).rank(Q, 10)["q"]
    # A normalised: a 1, b .5, c 0; B: b 1, d 0 -> b .15+.7, a .3, then c and d both 0:
    # d's best rank (2) beats c's (3)
    assert [h.passage_id for h in run] == ["b#0", "a#0", "d#0", "c#0"]
    assert [h.score for h in run] == pytest.approx([0.85, 0.3, 0.0, 0.0])
    equal = composites.Fusion([a, b], "wsum").rank(Q, 1)["q"][0]
    assert equal.passage_id == "b#0" and equal.score == pytest.approx(0.5 * 0.5 + 0.5 * 1)


def test_minmax_edge_cases():
    assert composites.minmax([]) == []
    assert composites.minmax([3.0, 3.0]) == [1.0, 1.0]
    assert composites.minmax([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]


def test_fusion_ranks_inputs_to_depth():
    a = FixedRanker("A", {"q": [(f"p{i}#0", 1.0 / i) for i in range(1, 200)]})
    b = FixedRanker("B", {"q": [("p5#0", 1.0)]})
    composites.Fusion([a, b], depth=50).rank(Q, 10)
    composites.Fusion([a, b], depth=50).rank(Q, 120)
    assert a.calls == [50, 120]


def test_fusion_rejects_bad_input():
    a, b = FixedRanker("A", {}), FixedRanker("B", {})
    with pytest.raises(RankLensError, match="at least two"):
        composites.Fusion([a])
    with pytest.raises(RankLensError, match="twice"):
        composites.Fusion([a, a])
    with pytest.raises(RankLensError, match="wsum only"):
        composites.Fusion([a, b], "rrf", weights=[1, 1])
    with pytest.raises(RankLensError, match="non-negative"):
        composites.Fusion([a, b], "wsum", weights=[1, -1])
    with pytest.raises(RankLensError, match="unknown fusion"):
        composites.Fusion([a, b], "max")


# ---------------------------------------------------------------- real rankers on a tiny corpus


def test_bm25_ranker(corpus):
    r = retrievers.BM25Ranker(corpus)
    run = r.rank([Query("1", "sourdough yeast"), Query("2", "the and of"), Query("3", "tides")], 5)
    top = run["1"]
    assert top[0].passage_id == "bread#0" and top[1].doc_id == "rye"
    assert [h.rank for h in top] == list(range(1, len(top) + 1))
    assert all(x.score >= y.score > 0 for x, y in zip(top, top[1:], strict=False))
    assert run["2"] == []  # stopwords only: nothing matches
    assert {h.doc_id for h in run["3"]} == {"moon", "tides"}  # stemming: tides / tide
    assert len(r.rank([Query("x", "tea")], 1000)["x"]) == 2  # k above the corpus is fine
    assert retrievers.load_bm25(corpus) is retrievers.load_bm25(corpus)  # cached, not reloaded


def test_dense_ranker_scores_are_cosines(corpus):
    enc = models.load_encoder(FAKE)
    r = retrievers.DenseRanker(corpus, FAKE)
    hits = r.rank([Query("q", "green tea brewed")], 4)["q"]
    passages = corpus.get_passages([h.passage_id for h in hits])
    qv = enc.encode_queries(["green tea brewed"])[0]
    for h in hits:
        dv = enc.encode_documents([index_text(passages[h.passage_id])])[0]
        assert h.score == pytest.approx(float(qv @ dv), abs=1e-5)
    assert hits[0].doc_id == "tea" and [h.rank for h in hits] == [1, 2, 3, 4]
    assert len(r.rank([Query("q", "tea")], 999)["q"]) == len(SEARCH_DOCS)


@pytest.fixture(scope="module")
def minilm():
    try:
        return models.load_encoder("all-MiniLM-L6-v2")
    except RankLensError as exc:  # pragma: no cover - the model package is a dependency
        pytest.skip(f"all-MiniLM-L6-v2 not available: {exc}")


def test_dense_ranker_with_real_model(corpus, minilm):
    c = ingest(None, corpus.name, ["all-MiniLM-L6-v2"], corpus.settings)
    r = make_ranker("all-MiniLM-L6-v2", c)
    run = r.rank([Query("a", "which language prevents memory bugs"), Query("b", "lunar cycle")], 3)
    assert run["a"][0].doc_id == "rust"
    assert run["b"][0].doc_id in {"moon", "tides"}


class KeywordScorer:
    """A fake cross-encoder: how often the query's words occur in the passage."""

    name = models.DEFAULT_RERANKER

    def __init__(self) -> None:
        self.pairs = 0

    def score(self, query, passages):
        self.pairs += len(passages)
        words = query.lower().split()
        return np.array([sum(p.lower().count(w) for w in words) for p in passages], np.float32)


def test_rerank_rescored_to_depth(corpus):
    scorer = KeywordScorer()
    first = FixedRanker(
        "fixed", {"q": [("rust#0", 5.0), ("bread#0", 4.0), ("tea#0", 3.0), ("oolong#0", 2.0)]}
    )
    rr = composites.Rerank(first, corpus, models.DEFAULT_RERANKER, 3, lambda n: scorer)
    assert rr.name == f"rerank(fixed,{models.DEFAULT_RERANKER},3)"
    hits = rr.rank([Query("q", "tea")], 10)["q"]
    # only the top 3 are rescored: tea#0 (title + text hold "tea" 3 times) first, oolong#0 never
    assert [h.passage_id for h in hits] == ["tea#0", "rust#0", "bread#0"]
    assert [h.score for h in hits] == [3.0, 0.0, 0.0] and first.calls == [3]
    assert scorer.pairs == 3
    assert [h.passage_id for h in rr.rank([Query("q", "tea")], 1)["q"]] == ["tea#0"]


# ---------------------------------------------------------------- recipes


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("bm25", "bm25"),
        (f" rrf( bm25 , {FAKE} ) ", f"rrf(bm25,{FAKE})"),
        (f"rrf(bm25,{FAKE},k=10,depth=20)", f"rrf(bm25,{FAKE},k=10,depth=20)"),
        (f"rrf(bm25,{FAKE},k=60)", f"rrf(bm25,{FAKE})"),
        (f"wsum(bm25:0.3,{FAKE}:0.7)", f"wsum(bm25:0.3,{FAKE}:0.7)"),
        (f"wsum(bm25,{FAKE})", f"wsum(bm25,{FAKE})"),
        (
            f"rerank(rrf(bm25,{FAKE}),ms-marco-MiniLM-L-12-v2,50)",
            f"rerank(rrf(bm25,{FAKE}),ms-marco-MiniLM-L-12-v2,50)",
        ),
        ("rerank(bm25,ms-marco-MiniLM-L-12-v2)", "rerank(bm25,ms-marco-MiniLM-L-12-v2,100)"),
        (f"wsum(rrf(bm25,{FAKE}):2,{FAKE}:1)", f"wsum(rrf(bm25,{FAKE}):2,{FAKE}:1)"),
    ],
)
def test_recipes_parse_to_canonical_names(corpus, spec, name):
    r = make_ranker(spec, corpus)
    assert r.name == name
    assert make_ranker(r.name, corpus).name == name  # the name is a recipe itself


def test_recipe_structure(corpus):
    r = make_ranker(f"rerank(wsum(bm25:0.25,{FAKE}:0.75),ms-marco-MiniLM-L-12-v2,7)", corpus)
    assert isinstance(r, composites.Rerank) and r.depth == 7
    fusion = r.first_stage
    assert isinstance(fusion, composites.Fusion) and fusion.method == "wsum"
    assert fusion.weights == [0.25, 0.75]
    assert [type(x) for x in fusion.rankers] == [retrievers.BM25Ranker, retrievers.DenseRanker]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("nope", "unknown ranker 'nope'"),
        ("multilingual-e5-small", "not indexed for corpus 'tiny'"),
        ("ms-marco-MiniLM-L-12-v2", "cross-encoder"),
        ("rrf(bm25)", "at least two"),
        (f"rrf(bm25,{FAKE}", "expected NAME"),
        (f"rrf(bm25,{FAKE}))", "unbalanced"),
        (f"rrf(bm25,,{FAKE})", "empty argument"),
        (f"max(bm25,{FAKE})", "unknown combinator"),
        (f"rrf(bm25,{FAKE},x=1)", "unknown option"),
        (f"wsum(bm25,{FAKE},k=3)", "unknown option"),
        (f"rrf(bm25,{FAKE},k=abc)", "integer"),
        (f"wsum(bm25:0.5,{FAKE})", "every input"),
        (f"wsum(bm25:x,{FAKE})", "weight must be a number"),
        ("rerank(bm25,cross,5)", "unknown reranker"),
        ("rerank(bm25,ms-marco-MiniLM-L-12-v2,0)", "from 1 to"),
        ("rerank(bm25)", "expected rerank"),
    ],
)
def test_recipe_errors(corpus, spec, message):
    with pytest.raises(rankers.RankerSpecError, match=message):
        make_ranker(spec, corpus)


def test_available_rankers_all_build(corpus):
    names = available_rankers(corpus)
    leaves = corpus.models()
    assert leaves[0] == "bm25" and FAKE in leaves and names[: len(leaves)] == leaves
    assert f"rrf(bm25,{FAKE})" in names and "rerank(bm25,ms-marco-MiniLM-L-12-v2,50)" in names
    assert all(make_ranker(n, corpus).name == n for n in names)


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True])
def test_k_out_of_range(corpus, k):
    with pytest.raises(RankLensError, match="k must be"):
        retrievers.BM25Ranker(corpus).rank([Query("q", "tea")], k)


# ---------------------------------------------------------------- rank_all: several rankers, one pass


def test_rank_all_ranks_shared_inputs_once(monkeypatch):
    """A fake clock that only the leaves move (A: 2 ms, B: 5 ms): the fusion's latency is its
    inputs' plus its own (none), each input counted once."""
    clock = [1000.0]
    monkeypatch.setattr(rankers.time, "perf_counter", lambda: clock[0])

    class Clocked(FixedRanker):
        def __init__(self, name, lists, seconds):
            super().__init__(name, lists)
            self.seconds = seconds

        def rank(self, queries, k):
            clock[0] += self.seconds
            return super().rank(queries, k)

    a = Clocked("A", {"q": [(f"a{i}#0", 1.0 / i) for i in range(1, 150)]}, 0.002)
    b = Clocked("B", {"q": [(f"b{i}#0", 1.0 / i) for i in range(1, 150)]}, 0.005)
    fused = composites.Fusion([a, b])
    out = rankers.rank_all([a, b, fused], Q, 5)
    assert a.calls == [100] and b.calls == [100]  # once, at the fusion's depth
    assert list(out.runs) == ["A", "B", "rrf(A,B)"]
    assert out.latency_ms == pytest.approx({"A": 2.0, "B": 5.0, "rrf(A,B)": 7.0})
    assert out.own_ms == pytest.approx({"A": 2.0, "B": 5.0, "rrf(A,B)": 0.0})
    assert out.wall_ms == pytest.approx(7.0)
    assert all(len(run["q"]) == 5 for run in out.runs.values())
    assert out.runs["A"]["q"] == a.rank(Q, 5)["q"]
    assert out.runs["rrf(A,B)"]["q"] == fused.rank(Q, 5)["q"]


def test_rank_all_real_rankers(corpus):
    chosen = make_rankers(["bm25", FAKE, f"rrf(bm25,{FAKE})"], corpus)
    assert chosen[2].rankers[0] is chosen[0]  # leaves are shared objects
    out = rankers.rank_all(chosen, [Query("q", "moon tides")], 3)
    assert {h.doc_id for h in out.runs["bm25"]["q"][:2]} == {"moon", "tides"}
    assert all(v > 0 for v in out.latency_ms.values())


def test_rank_all_refuses_bad_level_and_ratio():
    with pytest.raises(RankLensError, match="level must be doc or passage"):
        rankers.rank_all([FixedRanker("A", {})], Q, 5, level="paragraph")
    with pytest.raises(RankLensError, match="passages_per_doc"):
        rankers.rank_all([FixedRanker("A", {})], Q, 5, level="doc", passages_per_doc=0)
    assert rankers.rank_all([FixedRanker("A", {})], [], 5, level="doc").runs == {"A": {}}


def test_passages_per_doc(corpus):
    assert rankers.passages_per_doc(corpus) == corpus.passages / corpus.documents == 1.0


def test_latency_excludes_model_loading(corpus, monkeypatch):
    """A fake clock that only a model load moves: the latencies must not see that hour."""
    clock = [1000.0]
    monkeypatch.setattr(rankers.time, "perf_counter", lambda: clock[0])
    loaded: dict[str, object] = {}

    def slow_loader(name):
        if name not in loaded:
            clock[0] += 3600.0  # a model that takes an hour to load
            loaded[name] = models.load_encoder(name)
        return loaded[name]

    dense = make_ranker(FAKE, corpus, load_encoder=slow_loader)
    out = rankers.rank_all([dense], [Query("q", "tea")], 3)
    assert loaded and out.latency_ms[FAKE] == 0 and out.wall_ms == 0


# ---------------------------------------------------------------- rank_all by document


class _ManyPassages:
    """A fake ranker: document d{i} owns passages d{i}#0..#2, ranked in document order."""

    name = "fake-many"

    def __init__(self, docs: int = 40) -> None:
        self.docs = docs
        self.depths: list[int] = []

    def rank(self, queries, k):
        self.depths.append(k)
        hits = [(f"d{i}#{j}", f"d{i}") for i in range(self.docs) for j in range(3)][:k]
        return {
            q.query_id: [Hit(q.query_id, p, d, 1000.0 - r, r) for r, (p, d) in enumerate(hits, 1)]
            for q in queries
        }


def test_doc_level_ranks_deeper_until_k_documents():
    fake = _ManyPassages()
    hits = rankers.rank_all([fake], [Query("q", "x")], 10, level="doc").runs["fake-many"]["q"]
    assert [h.doc_id for h in hits] == [f"d{i}" for i in range(10)]  # 10 documents, not 4
    assert [h.rank for h in hits] == list(range(1, 11))
    assert all(h.passage_id == f"{h.doc_id}#0" for h in hits)  # each by its best passage
    assert fake.depths == [15, 30]  # the depth grows (15, 30, ...) only as far as needed
    # a corpus with fewer documents than k: stops when the ranker has nothing more
    small = _ManyPassages(docs=3)
    assert len(rankers.rank_all([small], Q, 10, level="doc").runs["fake-many"]["q"]) == 3
    # passages_per_doc starts deeper: one round of ceil(10 * 3 * 1.5) passages
    fake = _ManyPassages()
    rankers.rank_all([fake], Q, 10, level="doc", passages_per_doc=3.0)
    assert fake.depths == [45]


def test_doc_level_shares_a_passage_ranking_deep_enough():
    scorer = KeywordScorer()
    a = FixedRanker("A", {"q": [(f"a{i}#0", 1.0 / i) for i in range(1, 80)]})
    rr = composites.Rerank(a, _FakeCorpus({}), models.DEFAULT_RERANKER, 50, lambda n: scorer)
    rankers.rank_all([a, rr], Q, 5, level="doc")
    assert a.calls == [50]  # the reranker's 50 passages also give A's 5 documents


# Two inputs, each ranking document A first through a different passage (A#0, A#2):
#   input 1 passages A#0 9, B#0 7, C#0 6, A#1 5  -> documents A 9, B 7, C 6
#   input 2 passages A#2 5, C#0 4, B#1 3, D#0 1  -> documents A 5, C 4, B 3, D 1
def _two_inputs() -> tuple[FixedRanker, FixedRanker]:
    one = FixedRanker("one", {"q": [("A#0", 9.0), ("B#0", 7.0), ("C#0", 6.0), ("A#1", 5.0)]})
    two = FixedRanker("two", {"q": [("A#2", 5.0), ("C#0", 4.0), ("B#1", 3.0), ("D#0", 1.0)]})
    return one, two


def test_rrf_at_doc_level_fuses_document_rankings_by_hand():
    one, two = _two_inputs()
    fused = composites.Fusion([one, two])
    hits = rankers.rank_all([fused], Q, 4, level="doc").runs[fused.name]["q"]
    # A: 1/61 + 1/61; B: 1/62 + 1/63; C: 1/63 + 1/62 (a tie: best ranks 2 and 2, then the id);
    # D: 1/64
    assert [h.doc_id for h in hits] == ["A", "B", "C", "D"]
    assert [h.score for h in hits] == pytest.approx(
        [2 / 61, 1 / 62 + 1 / 63, 1 / 62 + 1 / 63, 1 / 64]
    )
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    # each document's hit is the passage through which it ranks best (earlier input on ties)
    assert [h.passage_id for h in hits] == ["A#0", "B#0", "C#0", "D#0"]
    # fusing passages, then keeping each document's best passage, puts C first (C#0 is in both
    # passage lists, A's passages each in one): what document-level fusion must not do
    passage_level = rankers.rank_all([fused], Q, 8).runs[fused.name]["q"]
    assert passage_level[0].passage_id == "C#0"
    assert passage_level[0].score == pytest.approx(1 / 63 + 1 / 62)


def test_wsum_at_doc_level_fuses_document_scores_by_hand():
    one, two = _two_inputs()
    fused = composites.Fusion([one, two], "wsum", weights=[0.3, 0.7])
    hits = rankers.rank_all([fused], Q, 4, level="doc").runs[fused.name]["q"]
    # min-max of document scores: input 1 A 1, B 1/3, C 0; input 2 A 1, C 3/4, B 1/2, D 0
    # A .3 + .7 = 1; C 0 + .7 * .75 = .525; B .3/3 + .7/2 = .45; D 0
    assert [h.doc_id for h in hits] == ["A", "C", "B", "D"]
    assert [h.score for h in hits] == pytest.approx([1.0, 0.525, 0.45, 0.0])
    assert [h.passage_id for h in hits] == ["A#0", "C#0", "B#0", "D#0"]


def test_nested_fusion_at_doc_level_fuses_documents_all_the_way_down():
    one, two = _two_inputs()
    three = FixedRanker("three", {"q": [("D#3", 2.0), ("D#4", 1.9), ("A#7", 1.0)]})
    inner = composites.Fusion([one, two])
    outer = composites.Fusion([inner, three])
    out = rankers.rank_all([inner, outer], Q, 4, level="doc").runs
    # inner (above): A, B, C, D; three: D 2.0, A 1.0 -> A 1/61 + 1/62, D 1/64 + 1/61,
    # B 1/62, C 1/63
    assert [h.doc_id for h in out[outer.name]["q"]] == ["A", "D", "B", "C"]
    assert [h.score for h in out[outer.name]["q"]] == pytest.approx(
        [1 / 61 + 1 / 62, 1 / 64 + 1 / 61, 1 / 62, 1 / 63]
    )
    assert one.calls == [150]  # one input ranked once for both fusions


class _FakeCorpus:
    """What Rerank asks of a corpus: passages by id."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def get_passages(self, ids):
        return {pid: Passage(pid, pid.split("#")[0], self.texts.get(pid, "")) for pid in ids}


def test_rerank_at_doc_level_keeps_best_rescored_passage():
    texts = {"a#0": "tea", "a#1": "tea tea tea", "b#0": "tea tea", "c#0": "coffee"}
    first = FixedRanker("F", {"q": [("a#0", 5.0), ("a#1", 4.0), ("b#0", 3.0), ("c#0", 2.0)]})
    scorer = KeywordScorer()
    rr = composites.Rerank(first, _FakeCorpus(texts), models.DEFAULT_RERANKER, 4, lambda n: scorer)
    q = [Query("q", "tea")]
    passages = rankers.rank_all([rr], q, 3).runs[rr.name]["q"]
    assert [h.passage_id for h in passages] == ["a#1", "b#0", "a#0"]  # two documents
    docs = rankers.rank_all([rr], q, 3, level="doc").runs[rr.name]["q"]
    assert [(h.doc_id, h.passage_id, h.score) for h in docs] == [
        ("a", "a#1", 3.0),
        ("b", "b#0", 2.0),
        ("c", "c#0", 0.0),
    ]
    assert [h.rank for h in docs] == [1, 2, 3]
    assert first.calls == [4, 4]  # the rerank depth, in passages, at both levels


def test_doc_ids_with_a_hash_survive(corpus):
    """A document id holding '#' (report#2): its doc_id comes from the corpus, never parsed."""
    for name in ("bm25", FAKE, f"rrf(bm25,{FAKE})"):
        r = make_ranker(name, corpus)
        for level in LEVELS:
            hits = rankers.rank_all([r], [Query("q", "quarterly report")], 3, level=level)
            top = hits.runs[r.name]["q"][0]
            assert (top.doc_id, top.passage_id) == ("report#2", "report#2#0"), (name, level)


def test_dense_doc_ids_come_from_the_corpus_on_both_paths(corpus):
    """Exact and HNSW search: a hit's doc_id is the corpus's, never parsed out of its id."""
    r = retrievers.DenseRanker(corpus, FAKE)

    class Collection:
        def query(self, query_embeddings, n_results, include):
            assert include == ["distances"]
            return {"ids": [["report#2#0", "tea#0"]], "distances": [[0.1, 0.2]]}

    vec = np.zeros((1, 4), np.float32)
    r._collection = Collection()
    hits = r._rank_hnsw([Query("q", "x")], vec, 2)["q"]
    assert [(h.passage_id, h.doc_id) for h in hits] == [
        ("report#2#0", "report#2"),
        ("tea#0", "tea"),
    ]
    assert [h.score for h in hits] == pytest.approx([0.9, 0.8])
    assert r.exact  # a small collection is searched exactly
    r._collection = None
    exact = r.rank([Query("q", "report two")], 5)["q"]
    stored = corpus.get_passages([h.passage_id for h in exact])
    assert exact and all(h.doc_id == stored[h.passage_id].doc_id for h in exact)


def test_default_rankers_and_rank_corpus_are_the_make_then_rank_of_every_site(corpus):
    from ranklens.ranking.recipes import default_rankers, make_ranker, make_rankers, rank_corpus

    specs = default_rankers(corpus)
    first, second = corpus.models()[:2]  # bm25, then the dense models by name
    assert specs == [first, second, f"rrf({first},{second})"]  # two indexes, then their fusion
    queries = [Query("a", "bread yeast"), Query("b", "memory safety")]
    for level in ("doc", "passage"):
        direct = rankers.rank_all(
            make_rankers(specs, corpus),
            queries,
            5,
            level=level,
            passages_per_doc=rankers.passages_per_doc(corpus),
        ).runs
        made = make_ranker("bm25", corpus)  # a ranker already made is used as it is
        got = rank_corpus(corpus, [made, *specs[1:]], queries, 5, level).runs
        assert list(got) == specs and got == direct


class _Prepared:
    """A leaf ranker with shared work to do first: it counts its prepare() and rank() calls."""

    def __init__(self, name: str = "prepared") -> None:
        self.name, self.calls = name, []

    def prepare(self) -> None:
        self.calls.append("prepare")

    def rank(self, queries, k):
        self.calls.append("rank")
        return {q.query_id: [Hit(q.query_id, "p1", "d1", 1.0, 1)] for q in queries}


def test_optional_abilities_are_protocols_found_by_isinstance():
    leaf, other = _Prepared(), _Prepared("other")
    assert isinstance(leaf, rankers.Ranker) and isinstance(leaf, rankers.SupportsPrepare)
    assert not isinstance(leaf, rankers.SupportsCombine)
    fused = composites.Fusion([leaf, other], method="rrf")
    assert isinstance(fused, rankers.SupportsCombine)
    got = rankers.rank_all([fused], [Query("q", "x")], 1)
    assert leaf.calls == other.calls == ["prepare", "rank"]  # prepared before ranking, once each
    assert [h.doc_id for h in got.runs[fused.name]["q"]] == ["d1"]
    rankers.rank_all(
        [fused, leaf], [Query("q", "x")], 1
    )  # a shared input: prepared and ranked once
    assert leaf.calls == ["prepare", "rank"] * 2
