"""Tests for ranklens.evaluation.measures: measures equal pytrec_eval's, and every statistic has an oracle.

Oracles are hand-computed numbers (written out in comments), closed forms (the t distribution with
1 or 2 degrees of freedom), full enumeration of sign flips, or pytrec_eval itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import stats
from ranklens.types import Hit, Qrel, doc_level

from .evaluation_data import make_run, tiny_table


def synthetic(seed: int = 7, n_queries: int = 50, n_docs: int = 150, depth: int = 100):
    """Graded qrels (0-3) and two runs with untied random scores; some edge queries included.

    - q0..q{n-1} have labels; "q_nolabels" is in the runs only (must be excluded);
    - "q_missing" has labels but is absent from the runs (must score 0);
    - "q_allzero" has only grade-0 labels.
    """
    rng = np.random.default_rng(seed)
    qrels: list[Qrel] = []
    for q in range(n_queries):
        docs = rng.choice(n_docs, size=int(rng.integers(5, 40)), replace=False)
        grades = rng.choice([0, 0, 1, 1, 2, 3], size=len(docs))
        qrels += [Qrel(f"q{q}", f"d{d}", int(g)) for d, g in zip(docs, grades, strict=True)]
    qrels += [Qrel("q_missing", "d1", 2), Qrel("q_missing", "d2", 0)]
    qrels += [Qrel("q_allzero", "d3", 0), Qrel("q_allzero", "d4", 0)]
    runs = {}
    for name in ("A", "B"):
        ranked = {}
        for q in [f"q{i}" for i in range(n_queries)] + ["q_nolabels", "q_allzero"]:
            docs = rng.choice(n_docs, size=depth, replace=False)
            scores = np.sort(rng.random(depth))[::-1]
            ranked[q] = [(f"d{d}", s) for d, s in zip(docs, scores, strict=True)]
        runs[name] = make_run(ranked)
    return runs, qrels


@pytest.fixture(scope="module")
def data():
    return synthetic()


def as_trec(run, key="doc_id", scores=None):
    """{qid: {id: score}} for pytrec_eval; ``scores="rank"`` gives n - rank + 1."""
    out = {}
    for qid, hits in run.items():
        n = len(hits)
        out[qid] = {
            getattr(h, key): float(n - h.rank + 1) if scores == "rank" else float(h.score)
            for h in hits
        }
    return out


def qdict(qrels):
    out: dict = {}
    for q in qrels:
        out.setdefault(q.query_id, {})[q.doc_id] = q.relevance
    return out


# measure name -> (pytrec_eval measure, relevance_level)
PYTREC = {
    "nDCG@10": ("ndcg_cut_10", 1),
    "nDCG@5": ("ndcg_cut_5", 1),
    "nDCG": ("ndcg", 1),
    "P@5": ("P_5", 1),
    "P@10": ("P_10", 1),
    "R@100": ("recall_100", 1),
    "R@10": ("recall_10", 1),
    "AP": ("map", 1),
    "MAP": ("map", 1),
    "AP@10": ("map_cut_10", 1),
    "RR": ("recip_rank", 1),
    "MRR": ("recip_rank", 1),
    "P(rel=2)@10": ("P_10", 2),
    "AP(rel=2)": ("map", 2),
    "R(rel=2)@100": ("recall_100", 2),
    "RR(rel=3)": ("recip_rank", 3),
}


def pytrec_values(qrels, trec_run, judged_only=False):
    """{(measure name, qid): value} straight from pytrec_eval; labelled queries absent from the
    run get 0 (trec_eval -c), which is the rule RankLens promises."""
    qd = qdict(qrels)
    out = {}
    for name, (tm, level) in PYTREC.items():
        e = pytrec_eval.RelevanceEvaluator(
            qd, {tm}, relevance_level=level, judged_docs_only_flag=judged_only
        )
        res = e.evaluate({q: d for q, d in trec_run.items() if d})
        for qid in qd:
            out[(name, qid)] = res.get(qid, {}).get(tm, 0.0)
    return out


def values_of(df, ranker):
    sub = df[df["ranker"] == ranker]
    return {
        (m, q): v for q, m, v in zip(sub["query_id"], sub["measure"], sub["value"], strict=True)
    }


# --------------------------------------------------------------------------------------------
# measure names


def test_parse_measures_keeps_user_spelling_and_aliases():
    specs = ev.parse_measures(["nDCG@10", "MAP", "AP", "MRR", "P(rel=2)@10", "Judged@10", "MAP"])
    assert [s.name for s in specs] == ["nDCG@10", "MAP", "AP", "MRR", "P(rel=2)@10", "Judged@10"]
    by = {s.name: s.measure for s in specs}
    assert by["MAP"] == by["AP"] == ev.ir_measures.AP
    assert by["MRR"] == ev.ir_measures.RR
    assert by["P(rel=2)@10"] == ev.ir_measures.P(rel=2) @ 10
    assert by["Judged@10"] == ev.ir_measures.Judged @ 10


def test_parse_measures_forgiving_spellings():
    specs = ev.parse_measures(["ndcg@10", "map", "p@5", "ndcg_cut_10", "recip_rank"])
    got = [s.measure for s in specs]
    im = ev.ir_measures
    assert got == [im.nDCG @ 10, im.AP, im.P @ 5, im.nDCG @ 10, im.RR]
    assert [s.name for s in specs] == ["ndcg@10", "map", "p@5", "ndcg_cut_10", "recip_rank"]


@pytest.mark.parametrize("bad", ["nDGC@10", "P@ten", "", "foo(bar"])
def test_parse_measures_unknown_name_lists_examples(bad):
    with pytest.raises(RankLensError) as exc:
        ev.parse_measures([bad])
    assert "nDCG@10" in str(exc.value) and "P(rel=2)@10" in str(exc.value)


# --------------------------------------------------------------------------------------------
# equality with pytrec_eval


@pytest.mark.parametrize("level", ["doc", "passage"])
@pytest.mark.parametrize("rank_as_score", [True, False])
def test_measures_equal_pytrec_eval(data, level, rank_as_score):
    runs, qrels = data
    if level == "passage":  # the same labels, keyed by passage id (one passage per document)
        qrels = [q._replace(doc_id=q.doc_id + "#0") for q in qrels]
    df = ev.evaluate_runs(runs, qrels, list(PYTREC), level=level, rank_as_score=rank_as_score)
    key = "doc_id" if level == "doc" else "passage_id"
    for ranker, run in runs.items():
        want = pytrec_values(qrels, as_trec(run, key))
        got = values_of(df, ranker)
        assert set(got) == set(want)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-9), (ranker, k)
    # sanity: the data is not degenerate
    assert df[df["measure"] == "nDCG@10"]["value"].mean() > 0.05


def test_queries_included_and_excluded(data):
    runs, qrels = data
    df = ev.evaluate_runs(runs, qrels, ["nDCG@10", "AP", "Judged@10"])
    qids = set(df["query_id"])
    assert "q_nolabels" not in qids  # no labels: excluded, as trec_eval does
    assert {"q_missing", "q_allzero"} <= qids
    assert len(qids) == 52
    missing = df[df["query_id"] == "q_missing"]
    assert len(missing) == 2 * 3 and (missing["value"] == 0).all()  # missing from run: 0
    assert list(df.columns) == ["ranker", "query_id", "measure", "value"]
    # ordered: ranker, then measure as given, then query
    assert list(dict.fromkeys(df["ranker"])) == ["A", "B"]
    assert list(dict.fromkeys(df["measure"])) == ["nDCG@10", "AP", "Judged@10"]


def test_judged_at_k_hand_oracle(data):
    runs, qrels = data
    qd = qdict(qrels)
    df = ev.evaluate_runs(runs, qrels, ["Judged@10", "Judged@3"])
    for ranker, run in runs.items():
        got = values_of(df, ranker)
        for qid, labels in qd.items():
            hits = run.get(qid, [])
            for k in (10, 3):
                top = hits[:k]
                want = sum(h.doc_id in labels for h in top) / len(top) if top else 0.0
                assert got[(f"Judged@{k}", qid)] == pytest.approx(want, abs=1e-12)


def test_missing_and_empty_query_score_zero():
    qrels = [Qrel("q1", "a", 1), Qrel("q2", "b", 1), Qrel("q3", "c", 2)]
    run = make_run({"q1": [("a", 1.0)], "q4": [("a", 1.0)]})
    run["q3"] = []  # returned nothing
    df = ev.evaluate_runs({"r": run}, qrels, ["RR", "nDCG@10", "Judged@10"])
    got = values_of(df, "r")
    assert got[("RR", "q1")] == 1.0 and got[("Judged@10", "q1")] == 1.0
    for q in ("q2", "q3"):
        assert all(got[(m, q)] == 0.0 for m in ("RR", "nDCG@10", "Judged@10"))
    assert "q4" not in set(df["query_id"])
    assert stats.summary(df).set_index("measure").loc["RR", "mean"] == pytest.approx(1 / 3)


def test_empty_inputs_give_empty_frame():
    df = ev.evaluate_runs({}, [Qrel("q", "d", 1)], ["AP"])
    assert df.empty and list(df.columns) == ev.COLUMNS
    assert ev.evaluate_runs({"r": {}}, [], ["AP"]).empty


def test_bad_level():
    with pytest.raises(RankLensError):
        ev.evaluate_runs({"r": {}}, [Qrel("q", "d", 1)], ["AP"], level="sentence")


# --------------------------------------------------------------------------------------------
# ties, condensed lists, doc level


def test_ties_follow_displayed_order():
    # a and b tie on score; we show a first. trec_eval would put b first (doc id descending).
    qrels = [Qrel("q", "a", 1), Qrel("q", "b", 0)]
    run = make_run({"q": [("a", 0.5), ("b", 0.5), ("c", 0.1)]})
    shown = values_of(ev.evaluate_runs({"r": run}, qrels, ["P@1", "RR"]), "r")
    assert shown[("P@1", "q")] == 1.0 and shown[("RR", "q")] == 1.0
    raw = values_of(ev.evaluate_runs({"r": run}, qrels, ["P@1", "RR"], rank_as_score=False), "r")
    assert raw[("P@1", "q")] == 0.0 and raw[("RR", "q")] == 0.5  # trec_eval's tie rule
    # both agree with pytrec_eval on the scores each hands over
    e = pytrec_eval.RelevanceEvaluator(qdict(qrels), {"P_1", "recip_rank"})
    assert e.evaluate(as_trec(run, scores="rank"))["q"]["P_1"] == 1.0
    assert e.evaluate(as_trec(run))["q"]["recip_rank"] == 0.5


def test_ties_pytrec_eval_on_rank_scores():
    # scores rounded to one decimal: many exact ties. With rank_as_score the numbers equal
    # pytrec_eval's on the scores n - rank + 1, i.e. on the displayed order.
    runs, qrels = synthetic(seed=11, n_queries=20)
    tied = {
        name: {q: [h._replace(score=round(h.score, 1)) for h in hits] for q, hits in run.items()}
        for name, run in runs.items()
    }
    pq = [q._replace(doc_id=q.doc_id + "#0") for q in qrels]
    df = ev.evaluate_runs(tied, pq, list(PYTREC), level="passage")
    differs = 0
    for ranker, run in tied.items():
        want = pytrec_values(pq, as_trec(run, "passage_id", scores="rank"))
        raw = pytrec_values(pq, as_trec(run, "passage_id"))
        got = values_of(df, ranker)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-9)
            differs += abs(raw[k] - v) > 1e-9
    assert differs > 0  # the tie rule matters on this data


def test_condensed_hand_example():
    # labels: a=1, b=0, c=2; x, y unjudged. Shown: x a y c b
    qrels = [Qrel("q", "a", 1), Qrel("q", "b", 0), Qrel("q", "c", 2)]
    run = make_run({"q": [("x", 5), ("a", 4), ("y", 3), ("c", 2), ("b", 1)]})
    ms = ["RR", "P@2", "Judged@5", "AP"]
    full = values_of(ev.evaluate_runs({"r": run}, qrels, ms), "r")
    cond = values_of(ev.evaluate_runs({"r": run}, qrels, ms, condensed=True), "r")
    assert full[("RR", "q")] == 0.5 and cond[("RR", "q")] == 1.0  # a moves from rank 2 to 1
    assert full[("P@2", "q")] == 0.5 and cond[("P@2", "q")] == 1.0  # a, c
    assert full[("Judged@5", "q")] == 0.6 and cond[("Judged@5", "q")] == 1.0
    # AP: relevant a, c at ranks 2, 4 -> (1/2 + 2/4) / 2 = 0.5; condensed ranks 1, 2 -> 1.0
    assert full[("AP", "q")] == pytest.approx(0.5) and cond[("AP", "q")] == pytest.approx(1.0)


def test_condensed_equals_pytrec_eval_judged_only(data):
    runs, qrels = data
    df = ev.evaluate_runs(runs, qrels, list(PYTREC), condensed=True)
    plain = ev.evaluate_runs(runs, qrels, list(PYTREC))
    for ranker, run in runs.items():
        want = pytrec_values(qrels, as_trec(run), judged_only=True)
        got = values_of(df, ranker)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-9), (ranker, k)
    # condensing only ever removes non-relevant results: precision-type means go up
    s = stats.summary(df).set_index(["ranker", "measure"])["mean"]
    p = stats.summary(plain).set_index(["ranker", "measure"])["mean"]
    assert (s.loc[:, "P@10"] > p.loc[:, "P@10"]).all()


def test_doc_level_takes_best_passage():
    # passages in display order: d1#0, d2#0, d1#1, d3#0 -> documents d1, d2, d3
    run = make_run(
        {"q": [("d1#0", 0.9), ("d2#0", 0.8), ("d1#1", 0.7), ("d3#0", 0.6)]}, passages=True
    )
    qrels = [Qrel("q", "d3", 1)]
    doc = values_of(ev.evaluate_runs({"r": run}, qrels, ["RR", "P@3", "Judged@10"]), "r")
    assert doc[("RR", "q")] == pytest.approx(1 / 3)  # d3 is the 3rd document, not 4th passage
    assert doc[("P@3", "q")] == pytest.approx(1 / 3)
    assert doc[("Judged@10", "q")] == pytest.approx(1 / 3)  # 3 documents returned, 1 judged
    # passage level: the label d3#0 is at rank 4
    pq = [Qrel("q", "d3#0", 1)]
    psg = values_of(ev.evaluate_runs({"r": run}, pq, ["RR"], level="passage"), "r")
    assert psg[("RR", "q")] == pytest.approx(1 / 4)
    # a document scores its best passage even when that passage is listed later
    odd = {
        "q": [
            Hit("q", "d1#0", "d1", 0.2, 1),
            Hit("q", "d2#0", "d2", 0.5, 2),
            Hit("q", "d1#1", "d1", 0.9, 3),
        ]
    }
    assert ev.to_ir_run(odd, "doc", rank_as_score=False) == {"q": {"d1": 0.9, "d2": 0.5}}
    assert list(ev.to_ir_run(odd, "doc")["q"].items()) == [("d1", 2.0), ("d2", 1.0)]


def test_doc_ranking_matches_types_doc_level():
    rng = np.random.default_rng(5)
    run = {}
    for q in range(60):
        n = int(rng.integers(1, 30))
        docs = rng.integers(0, 8, size=n)
        scores = np.round(rng.random(n), 1)  # ties
        ranks = np.arange(1, n + 1)
        if q % 2:  # half of them sorted the usual way
            order = np.lexsort((ranks, -scores))
            scores = scores[order]
        hits = [
            Hit(f"q{q}", f"d{d}#{i}", f"d{d}", float(s), i + 1)
            for i, (d, s) in enumerate(zip(docs, scores, strict=True))
        ]
        if q % 3 == 0:
            hits = hits[::-1]  # out of rank order
        run[f"q{q}"] = hits
    ref = doc_level(run)
    for rank_as_score in (True, False):
        got = ev.to_ir_run(run, "doc", rank_as_score=rank_as_score)
        for q, hits in ref.items():
            assert list(got[q]) == [h.doc_id for h in hits]
            if not rank_as_score:
                assert list(got[q].values()) == [h.score for h in hits]
            else:
                assert list(got[q].values()) == [float(len(hits) - i) for i in range(len(hits))]


# --------------------------------------------------------------------------------------------
# tables


def test_per_query_table_and_differences_and_means():
    df = tiny_table()
    wide = ev.per_query_table(df, "m")
    assert list(wide.columns) == ["A", "B", "C"] and list(wide.index) == ["1", "2"]
    assert wide.loc["2", "B"] == 0.9
    diff = ev.per_query_differences(df, "m", "A", "C")
    assert list(diff["query_id"]) == ["1", "2"] and list(diff["diff"]) == pytest.approx([0.4, -0.2])
    means = ev.mean_scores(df)
    assert means["B"]["m"] == pytest.approx(0.7) and means["A"]["k"] == pytest.approx(0.65)
    with pytest.raises(RankLensError):
        ev.per_query_table(df, "nope")


# --------------------------------------------------------------------------------------------
# curves, judged fraction, explanations


def test_metric_at_k_curve(data):
    runs, qrels = data
    curve = ev.metric_at_k_curve(runs, qrels, "nDCG", ks=range(1, 21))
    assert list(curve.columns) == ["ranker", "k", "value"] and len(curve) == 40
    means = ev.mean_scores(ev.evaluate_runs(runs, qrels, ["nDCG@10", "P@5"]))
    c = curve.set_index(["ranker", "k"])["value"]
    for r in runs:
        assert c.loc[(r, 10)] == pytest.approx(means[r]["nDCG@10"], abs=1e-12)
    p = ev.metric_at_k_curve(runs, qrels, "P", ks=[5]).set_index("ranker")["value"]
    assert p["A"] == pytest.approx(means["A"]["P@5"])
    with pytest.raises(RankLensError):
        ev.metric_at_k_curve(runs, qrels, "nDCG@10")


def test_judged_fraction_and_warnings():
    qrels = [Qrel("q1", "a", 1), Qrel("q1", "b", 0), Qrel("q2", "c", 1)]
    runs = {
        "full": make_run({"q1": [("a", 2), ("b", 1)], "q2": [("c", 1)]}),
        "half": make_run({"q1": [("a", 2), ("x", 1)], "q2": [("y", 1), ("c", 0.5)]}),
    }
    frac = ev.judged_fraction(runs, qrels, k=10)
    assert frac == pytest.approx({"full": 1.0, "half": 0.5})
    warns = ev.judged_warnings(frac)
    assert len(warns) == 1 and warns[0].startswith("half:") and "50%" in warns[0]
    assert ev.judged_warnings({"r": float("nan")})[0].startswith("r: no top-10")
