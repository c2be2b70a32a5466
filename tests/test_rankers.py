"""Rankers: BM25, dense, fusion (against hand-computed scores), rerank, recipes, overlap, HNSW recall."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from ranklens import index, models, rankers
from ranklens.chunking import index_text
from ranklens.config import Settings
from ranklens.errors import RankLensError
from ranklens.types import Hit, Query

from .conftest import FakeEncoder, write_jsonl

DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and lactic acid bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add sourdough starter for flavour."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("oolong", "Oolong", "Oolong tea sits between green and black tea in oxidation."),
    ("rust", "Rust", "Rust guarantees memory safety through ownership and borrowing."),
    ("py", "Python lists", "Python lists are mutable sequences; append items and sort them."),
    ("moon", "The Moon", "The Moon orbits the Earth roughly every 27 days and causes tides."),
    ("tides", "Tides", "Ocean tides rise and fall twice a day because of the Moon's gravity."),
    ("html", "Markup", "<b>bold</b> & <script>alert('x')</script> tags in a passage."),
    ("mars", "Mars", "Mars is the fourth planet; its two moons are Phobos and Deimos."),
]
FAKE = "fake-rankers-enc"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("rankers")
    settings = Settings(home=root / "home", batch_size=8)
    models.register_encoder(FakeEncoder(FAKE))
    path = write_jsonl(root / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS])
    return index.ingest(path, "tiny", ["bm25", FAKE], settings)


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
    got = rankers.rrf_scores([["a", "b", "c"], ["b", "d"]], k=60)
    assert got == pytest.approx(
        {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62}, rel=1e-12
    )


def test_rrf_fusion_order_scores_and_ties():
    a = FixedRanker("A", {"q": [("a#0", 9.0), ("b#0", 5.0), ("c#0", 1.0)]})
    b = FixedRanker("B", {"q": [("b#0", 0.9), ("d#0", 0.8)]})
    run = rankers.Fusion([a, b], "rrf").rank(Q, 10)["q"]
    assert [h.passage_id for h in run] == ["b#0", "a#0", "d#0", "c#0"]
    assert [h.score for h in run] == pytest.approx([1 / 61 + 1 / 62, 1 / 61, 1 / 62, 1 / 63])
    assert [h.rank for h in run] == [1, 2, 3, 4] and run[0].doc_id == "b"
    # a tie (each first once) goes to the better best rank, then the passage id
    x = FixedRanker("X", {"q": [("z#0", 1.0), ("y#0", 0.5)]})
    y = FixedRanker("Y", {"q": [("y#0", 1.0), ("z#0", 0.5)]})
    assert [h.passage_id for h in rankers.Fusion([x, y]).rank(Q, 2)["q"]] == ["y#0", "z#0"]
    # custom k: 1/(1+rank)
    run = rankers.Fusion([a, b], "rrf", rrf_k=1).rank(Q, 1)["q"]
    assert run[0].passage_id == "b#0" and run[0].score == pytest.approx(1 / 3 + 1 / 2)


def test_wsum_fusion_by_hand():
    a = FixedRanker("A", {"q": [("a#0", 10.0), ("b#0", 6.0), ("c#0", 2.0)]})
    b = FixedRanker("B", {"q": [("b#0", 0.9), ("d#0", 0.5)]})
    run = rankers.Fusion([a, b], "wsum", weights=[0.3, 0.7]).rank(Q, 10)["q"]
    # A normalised: a 1, b .5, c 0; B: b 1, d 0 -> b .15+.7, a .3, then c and d both 0:
    # d's best rank (2) beats c's (3)
    assert [h.passage_id for h in run] == ["b#0", "a#0", "d#0", "c#0"]
    assert [h.score for h in run] == pytest.approx([0.85, 0.3, 0.0, 0.0])
    equal = rankers.Fusion([a, b], "wsum").rank(Q, 1)["q"][0]
    assert equal.passage_id == "b#0" and equal.score == pytest.approx(0.5 * 0.5 + 0.5 * 1)


def test_minmax_edge_cases():
    assert rankers.minmax([]) == []
    assert rankers.minmax([3.0, 3.0]) == [1.0, 1.0]
    assert rankers.minmax([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]


def test_fusion_ranks_inputs_to_depth():
    a = FixedRanker("A", {"q": [(f"p{i}#0", 1.0 / i) for i in range(1, 200)]})
    b = FixedRanker("B", {"q": [("p5#0", 1.0)]})
    rankers.Fusion([a, b], depth=50).rank(Q, 10)
    rankers.Fusion([a, b], depth=50).rank(Q, 120)
    assert a.calls == [50, 120]


def test_fusion_rejects_bad_input():
    a, b = FixedRanker("A", {}), FixedRanker("B", {})
    with pytest.raises(RankLensError, match="at least two"):
        rankers.Fusion([a])
    with pytest.raises(RankLensError, match="twice"):
        rankers.Fusion([a, a])
    with pytest.raises(RankLensError, match="wsum only"):
        rankers.Fusion([a, b], "rrf", weights=[1, 1])
    with pytest.raises(RankLensError, match="non-negative"):
        rankers.Fusion([a, b], "wsum", weights=[1, -1])
    with pytest.raises(RankLensError, match="unknown fusion"):
        rankers.Fusion([a, b], "max")


# ---------------------------------------------------------------- overlap measures, by hand


def test_jaccard():
    assert rankers.jaccard(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert rankers.jaccard(["a", "b", "c"], ["b", "c", "d"], k=1) == 0.0
    assert rankers.jaccard([], []) == 1.0


def test_rbo_by_hand():
    assert rankers.rbo(list("abc"), list("abc")) == pytest.approx(1.0)
    assert rankers.rbo(list("abc"), list("xyz")) == 0.0
    # X1=0, X2=2: (1/9)(2/2 * .81) + (2/2) * .81
    assert rankers.rbo(["a", "b"], ["b", "a"]) == pytest.approx(0.09 + 0.81)
    # X1=1, X2=1, X3=3: (1/9)(.9 + .405 + .729) + .729
    assert rankers.rbo(list("abc"), list("acb")) == pytest.approx(2.034 / 9 + 0.729)
    # uneven lengths (s=1, l=2): S=[b], L=[a, b]: X1=0, X2=1 -> (1/9)(.405) + (1/2) * .81
    assert rankers.rbo(["b"], ["a", "b"]) == pytest.approx(0.045 + 0.405)
    assert rankers.rbo(["a", "b"], ["b"]) == pytest.approx(0.45)
    # a prefix agrees fully under extrapolation
    assert rankers.rbo(["a"], ["a", "b"]) == pytest.approx(1.0)
    assert rankers.rbo([], ["a"]) == 0.0 and rankers.rbo([], []) == 1.0
    with pytest.raises(ValueError):
        rankers.rbo(["a"], ["a"], p=1.0)


def test_tau_ap_by_hand():
    truth = list("abc")
    assert rankers.tau_ap(list("abc"), truth) == pytest.approx(1.0)
    assert rankers.tau_ap(list("cba"), truth) == pytest.approx(-1.0)
    # i=2: c has a above, right (1/1); i=3: b has a, c above, a right (1/2): 2/2 * 1.5 - 1
    assert rankers.tau_ap(list("acb"), truth) == pytest.approx(0.5)
    # a swap at the top costs more than one at the bottom (Kendall's tau would say 1/3 both)
    assert rankers.tau_ap(list("bac"), truth) == pytest.approx(0.0)
    # only shared items count; fewer than two shared: undefined
    assert rankers.tau_ap(list("axcb"), list("abcy")) == pytest.approx(0.5)
    assert rankers.tau_ap(list("ab"), list("cd")) is None
    assert rankers.tau_ap_symmetric(list("acb"), truth) == pytest.approx(
        (rankers.tau_ap(list("acb"), truth) + rankers.tau_ap(truth, list("acb"))) / 2
    )


def test_disagreement_orders_queries():
    run_a = {
        "same": [Hit("same", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "swap": [Hit("swap", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "none": [Hit("none", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
    }
    run_b = {
        "same": [Hit("same", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "swap": [Hit("swap", p, p, 1.0, i) for i, p in enumerate("bac", 1)],
        "none": [Hit("none", p, p, 1.0, i) for i, p in enumerate("xyz", 1)],
    }
    for measure in rankers.DISAGREEMENT_MEASURES:
        order = rankers.disagreement_by_query(run_a, run_b, 3, measure)
        assert [q for q, _ in order] == ["none", "swap", "same"]
        assert order[0][1] == pytest.approx(1.0) and order[-1][1] == pytest.approx(0.0)
    assert dict(rankers.disagreement_by_query(run_a, run_b, 3, "tau_ap"))["swap"] == 0.5
    with pytest.raises(ValueError):
        rankers.disagreement(["a"], ["a"], "kendall")


def test_overlap_matrix_rank_changes_and_thresholds():
    lists = {
        "A": [
            Hit("q", p, p, s, i) for i, (p, s) in enumerate([("a", 3.0), ("b", 2.0), ("c", 1.0)], 1)
        ],
        "B": [Hit("q", p, p, s, i) for i, (p, s) in enumerate([("c", 0.9), ("a", 0.5)], 1)],
    }
    names, m = rankers.overlap_matrix(lists, 3, "jaccard")
    assert names == ["A", "B"] and m.tolist() == [[1.0, 2 / 3], [2 / 3, 1.0]]
    _, m = rankers.overlap_matrix(lists, 3, "rbo")
    assert m[0, 1] == pytest.approx(rankers.rbo(list("abc"), list("ca")))
    changes = rankers.rank_changes(lists)
    assert changes["A"] == {"a": {"B": 2}, "b": {}, "c": {"B": 1}}
    assert changes["B"] == {"c": {"A": 3}, "a": {"A": 1}}
    assert rankers.count_at_or_above(lists["A"], 2.0) == 2
    assert rankers.count_at_or_above(lists["B"], 1.0) == 0


# ---------------------------------------------------------------- real rankers on a tiny corpus


def test_bm25_ranker(corpus):
    r = rankers.BM25Ranker(corpus)
    run = r.rank([Query("1", "sourdough yeast"), Query("2", "the and of"), Query("3", "tides")], 5)
    top = run["1"]
    assert top[0].passage_id == "bread#0" and top[1].doc_id == "rye"
    assert [h.rank for h in top] == list(range(1, len(top) + 1))
    assert all(x.score >= y.score > 0 for x, y in zip(top, top[1:], strict=False))
    assert run["2"] == []  # stopwords only: nothing matches
    assert {h.doc_id for h in run["3"]} == {"moon", "tides"}  # stemming: tides / tide
    assert len(r.rank([Query("x", "tea")], 1000)["x"]) == 2  # k above the corpus is fine
    assert rankers.load_bm25(corpus) is rankers.load_bm25(corpus)  # cached, not reloaded


def test_dense_ranker_scores_are_cosines(corpus):
    enc = models.load_encoder(FAKE)
    r = rankers.DenseRanker(corpus, FAKE)
    hits = r.rank([Query("q", "green tea brewed")], 4)["q"]
    passages = corpus.get_passages([h.passage_id for h in hits])
    qv = enc.encode_queries(["green tea brewed"])[0]
    for h in hits:
        dv = enc.encode_documents([index_text(passages[h.passage_id])])[0]
        assert h.score == pytest.approx(float(qv @ dv), abs=1e-5)
    assert hits[0].doc_id == "tea" and [h.rank for h in hits] == [1, 2, 3, 4]
    assert len(r.rank([Query("q", "tea")], 999)["q"]) == len(DOCS)


@pytest.fixture(scope="module")
def minilm():
    try:
        return models.load_encoder("all-MiniLM-L6-v2")
    except RankLensError as exc:  # pragma: no cover - the model package is a dependency
        pytest.skip(f"all-MiniLM-L6-v2 not available: {exc}")


def test_dense_ranker_with_real_model(corpus, minilm):
    c = index.ingest(None, corpus.name, ["all-MiniLM-L6-v2"], corpus.settings)
    r = rankers.make_ranker("all-MiniLM-L6-v2", c)
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
    rr = rankers.Rerank(first, corpus, models.DEFAULT_RERANKER, 3, lambda n: scorer)
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
    r = rankers.make_ranker(spec, corpus)
    assert r.name == name
    assert rankers.make_ranker(r.name, corpus).name == name  # the name is a recipe itself


def test_recipe_structure(corpus):
    r = rankers.make_ranker(
        f"rerank(wsum(bm25:0.25,{FAKE}:0.75),ms-marco-MiniLM-L-12-v2,7)", corpus
    )
    assert isinstance(r, rankers.Rerank) and r.depth == 7
    fusion = r.first_stage
    assert isinstance(fusion, rankers.Fusion) and fusion.method == "wsum"
    assert fusion.weights == [0.25, 0.75]
    assert [type(x) for x in fusion.rankers] == [rankers.BM25Ranker, rankers.DenseRanker]


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
        rankers.make_ranker(spec, corpus)


def test_available_rankers_all_build(corpus):
    names = rankers.available_rankers(corpus)
    leaves = corpus.models()
    assert leaves[0] == "bm25" and FAKE in leaves and names[: len(leaves)] == leaves
    assert f"rrf(bm25,{FAKE})" in names and "rerank(bm25,ms-marco-MiniLM-L-12-v2,50)" in names
    assert all(rankers.make_ranker(n, corpus).name == n for n in names)


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True])
def test_k_out_of_range(corpus, k):
    with pytest.raises(RankLensError, match="k must be"):
        rankers.BM25Ranker(corpus).rank([Query("q", "tea")], k)


# ---------------------------------------------------------------- side by side


def test_compare_ranks_shared_inputs_once():
    a = FixedRanker("A", {"q": [(f"a{i}#0", 1.0 / i) for i in range(1, 150)]})
    b = FixedRanker("B", {"q": [(f"b{i}#0", 1.0 / i) for i in range(1, 150)]})
    fused = rankers.Fusion([a, b])
    out = rankers.compare([a, b, fused], Q, 5)
    assert a.calls == [100] and b.calls == [100]  # once, at the fusion's depth
    assert list(out.runs) == ["A", "B", "rrf(A,B)"]
    assert all(len(run["q"]) == 5 for run in out.runs.values())
    assert out.runs["A"]["q"] == a.rank(Q, 5)["q"]
    assert out.runs["rrf(A,B)"]["q"] == fused.rank(Q, 5)["q"]
    lat = out.latency_ms
    assert lat["rrf(A,B)"] >= lat["A"] + lat["B"]
    assert lat["rrf(A,B)"] == pytest.approx(sum(out.own_ms.values()))
    assert out.wall_ms >= max(lat.values())


def test_compare_real_rankers(corpus):
    chosen = rankers.make_rankers(["bm25", FAKE, f"rrf(bm25,{FAKE})"], corpus)
    assert chosen[2].rankers[0] is chosen[0]  # leaves are shared objects
    out = rankers.compare(chosen, [Query("q", "moon tides")], 3)
    assert {h.doc_id for h in out.runs["bm25"]["q"][:2]} == {"moon", "tides"}
    assert all(v > 0 for v in out.latency_ms.values())


# ---------------------------------------------------------------- approximate vs exact


def test_exact_search_matches_numpy(corpus):
    enc = models.load_encoder(FAKE)
    qv = enc.encode_queries(["bread starter", "planet moons"])
    got = rankers.exact_search(corpus, FAKE, qv, 3)
    passages = list(corpus.iter_passages())
    dv = enc.encode_documents([index_text(p) for p in passages])
    for row, res in zip(qv @ dv.T, got, strict=True):
        expected = sorted(row, reverse=True)[:3]
        assert [s for _, s in res] == pytest.approx(expected, abs=1e-5)


def test_hnsw_recall_against_exact(corpus):
    queries = [Query(str(i), t) for i, (_, _, t) in enumerate(DOCS)]
    rep = rankers.hnsw_recall(corpus, FAKE, queries, k=5)
    assert rep.settings["space"] == "cosine" and rep.ef_search == rep.settings["ef_search"]
    assert set(rep.per_query) == {q.query_id for q in queries}
    assert rep.mean == pytest.approx(1.0)  # ten vectors: HNSW finds them all
    before = rankers.hnsw_settings(corpus, FAKE)
    probe = rankers.hnsw_recall(corpus, FAKE, queries, k=5, ef_search=500)
    assert probe.ef_search == 500 and probe.mean == pytest.approx(1.0)
    assert rankers.hnsw_settings(corpus, FAKE) == before  # the stored setting is untouched
    with pytest.raises(RankLensError, match="ef_search"):
        rankers.hnsw_recall(corpus, FAKE, queries, ef_search=0)
    with pytest.raises(RankLensError, match="not indexed"):
        rankers.hnsw_recall(corpus, "multilingual-e5-small", queries)


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
    c = index.ingest(path, "random", ["fake-random-enc"], settings)
    queries = [Query(f"q{i}", f"query {i}") for i in range(30)]
    low = rankers.hnsw_recall(c, "fake-random-enc", queries, k=10, ef_search=1)
    assert low.ef_search == 1 and 0 < low.mean < 1.0
    assert math.isfinite(low.hnsw_ms) and low.exact_ms >= 0


def test_latency_excludes_model_loading(corpus):
    loaded: dict[str, object] = {}

    def slow_loader(name):
        if name not in loaded:
            time.sleep(0.5)  # a model that takes long to load
            loaded[name] = models.load_encoder(name)
        return loaded[name]

    dense = rankers.make_ranker(FAKE, corpus, load_encoder=slow_loader)
    out = rankers.compare([dense], [Query("q", "tea")], 3)
    assert loaded and out.latency_ms[FAKE] < 400 and out.wall_ms < 400


def test_recall_with_ties_by_hand():
    truth = [("a", 0.9), ("b", 0.8), ("c", 0.5)]
    assert rankers.recall_with_ties(["a", "b", "c"], [0.9, 0.8, 0.5], truth) == 1.0
    assert rankers.recall_with_ties(["a", "x", "y"], [0.9, 0.4, 0.1], truth) == pytest.approx(1 / 3)
    # x ties the third best: either is a right answer
    assert rankers.recall_with_ties(["a", "b", "x"], [0.9, 0.8, 0.5], truth) == 1.0
    assert rankers.recall_with_ties([], [], []) == 1.0


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


def test_rank_documents_ranks_deeper_until_k_documents():
    from ranklens.rankers import rank_documents

    fake = _ManyPassages()
    run = rank_documents(fake, [Query("q", "x")], 10)
    hits = run["q"]
    assert [h.doc_id for h in hits] == [f"d{i}" for i in range(10)]  # 10 documents, not 4
    assert [h.rank for h in hits] == list(range(1, 11))
    assert all(h.passage_id == f"{h.doc_id}#0" for h in hits)  # each by its best passage
    # a corpus with fewer documents than k: stops when the ranker has nothing more
    small = _ManyPassages(docs=3)
    assert len(rank_documents(small, [Query("q", "x")], 10)["q"]) == 3
    # the depth grows (15, 30, ...) only as far as needed
    fake = _ManyPassages()
    rank_documents(fake, [Query("q", "x")], 10)
    assert fake.depths == [15, 30]
