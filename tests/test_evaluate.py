"""Tests for ranklens.evaluate: measures equal pytrec_eval's, and every statistic has an oracle.

Oracles are hand-computed numbers (written out in comments), closed forms (the t distribution with
1 or 2 degrees of freedom), full enumeration of sign flips, or pytrec_eval itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import pytrec_eval

from ranklens import evaluate as ev
from ranklens.errors import RankLensError
from ranklens.types import Hit, Qrel, doc_level

# --------------------------------------------------------------------------------------------
# fixtures (kept here: tests/conftest.py belongs to the whole suite)


def make_run(ranked: dict[str, list[tuple[str, float]]], passages: bool = False) -> dict:
    """A Run from {qid: [(id, score), ...]} in display order. ``passages``: id is "doc#n"."""
    run = {}
    for qid, items in ranked.items():
        hits = []
        for rank, (pid, score) in enumerate(items, 1):
            doc = pid.rpartition("#")[0] if passages else pid
            hits.append(Hit(qid, pid if passages else f"{pid}#0", doc, float(score), rank))
        run[qid] = hits
    return run


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
    assert ev.summary(df).set_index("measure").loc["RR", "mean"] == pytest.approx(1 / 3)


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
    s = ev.summary(df).set_index(["ranker", "measure"])["mean"]
    p = ev.summary(plain).set_index(["ranker", "measure"])["mean"]
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
# summary, tables


def test_summary_ci_hand_formula():
    df = pd.DataFrame(
        {
            "ranker": ["A"] * 3 + ["B"] * 2,
            "query_id": ["1", "2", "3", "1", "2"],
            "measure": ["m"] * 5,
            "value": [0.2, 0.5, 0.8, 0.1, 0.3],
        }
    )
    s = ev.summary(df).set_index("ranker")
    # A: mean 0.5, sd = sqrt(((-.3)^2 + 0 + .3^2) / 2) = 0.3, sem = 0.3 / sqrt(3).
    # t_{0.975, 2}: for 2 df, P(|T| <= t) = t / sqrt(t^2 + 2) = 0.95 -> t^2 = 2 * .9025 / .0975
    t2 = math.sqrt(2 * 0.9025 / 0.0975)  # 4.302652729...
    half = t2 * 0.3 / math.sqrt(3)
    a = s.loc["A"]
    assert a["n"] == 3 and a["mean"] == pytest.approx(0.5) and a["std"] == pytest.approx(0.3)
    assert a["ci_low"] == pytest.approx(0.5 - half, abs=1e-12)
    assert a["ci_high"] == pytest.approx(0.5 + half, abs=1e-12)
    # B: 1 df, the t distribution is Cauchy, F(t) = 1/2 + atan(t)/pi: t_{0.975,1} = tan(0.475 pi)
    # = 12.7062...; sd = sqrt(.1^2 + .1^2) = sqrt(.02), sem = sqrt(.02) / sqrt(2) = 0.1
    b = s.loc["B"]
    half_b = math.tan(0.475 * math.pi) * math.sqrt(0.02) / math.sqrt(2)
    assert b["ci_high"] - b["mean"] == pytest.approx(half_b, abs=1e-9)
    # 90%: 2 df, t / sqrt(t^2 + 2) = 0.9 -> t^2 = 2 * .81 / .19
    s90 = ev.summary(df, confidence=0.90).set_index("ranker").loc["A"]
    assert s90["ci_high"] - 0.5 == pytest.approx(math.sqrt(2 * 0.81 / 0.19) * 0.3 / math.sqrt(3))


def test_summary_single_query_has_no_interval():
    df = pd.DataFrame({"ranker": ["A"], "query_id": ["1"], "measure": ["m"], "value": [0.4]})
    row = ev.summary(df).iloc[0]
    assert row["mean"] == 0.4 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def tiny_table():
    # query  measure  A    B    C
    #   1      m     0.5  0.5  0.1
    #   2      m     0.2  0.9  0.4
    #   1      k     1.0  0.0  0.0
    #   2      k     0.3  0.2  0.1
    rows = []
    vals = {
        ("1", "m"): (0.5, 0.5, 0.1),
        ("2", "m"): (0.2, 0.9, 0.4),
        ("1", "k"): (1.0, 0.0, 0.0),
        ("2", "k"): (0.3, 0.2, 0.1),
    }
    for r_i, r in enumerate("ABC"):
        for (q, m), v in vals.items():
            rows.append((r, q, m, v[r_i]))
    return pd.DataFrame(rows, columns=ev.COLUMNS)


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
# significance


def test_paired_t_test_closed_forms():
    # n = 3, df = 2: two-sided p = 1 - |t| / sqrt(t^2 + 2)
    a, b = [0.9, 0.7, 0.65], [0.5, 0.6, 0.6]  # d = 0.4, 0.1, 0.05
    d = [0.4, 0.1, 0.05]
    mean = sum(d) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    t = mean / (sd / math.sqrt(3))
    assert ev.paired_t_test(a, b) == pytest.approx(1 - abs(t) / math.sqrt(t * t + 2), rel=1e-12)
    # n = 2, df = 1 (Cauchy): p = 1 - (2 / pi) atan |t|.  d = 0.3, 0.1: mean .2, sd .1414, t = 2
    t1 = 0.2 / (math.sqrt(0.02) / math.sqrt(2))
    assert t1 == pytest.approx(2.0)
    assert ev.paired_t_test([0.8, 0.3], [0.5, 0.2]) == pytest.approx(
        1 - 2 / math.pi * math.atan(2.0), rel=1e-9
    )
    # symmetric in a, b
    assert ev.paired_t_test(b, a) == pytest.approx(ev.paired_t_test(a, b))


def test_paired_t_test_degenerate():
    assert ev.paired_t_test([0.3, 0.4], [0.3, 0.4]) == 1.0  # no difference
    assert ev.paired_t_test([0.5, 0.6], [0.3, 0.4]) == 0.0  # constant difference
    assert ev.paired_t_test([0.5], [0.3]) == 1.0  # one pair: no test
    with pytest.raises(RankLensError):
        ev.paired_t_test([1, 2], [1])


def test_randomization_exact_hand_enumeration():
    # d = 1, 2, 3: the 8 signed sums are +-6, +-4, +-2, 0, 0; |sum| >= 6 twice -> p = 2/8
    assert ev.randomization_test([1, 2, 3], [0, 0, 0]) == 0.25
    # zero differences do not change the statistic: still 2/8
    assert ev.randomization_test([1, 2, 3, 5], [0, 0, 0, 5]) == 0.25
    # d = 1, 1, 1, 1: only all-plus / all-minus reach 4 -> 2/16
    assert ev.randomization_test([1, 1, 1, 1], [0, 0, 0, 0]) == 0.125
    # d = 1, -1: sums 0, 2, -2, 0; observed |0| -> every flip reaches it -> p = 1
    assert ev.randomization_test([1, 0], [0, 1]) == 1.0
    # d = 3, 1, 1: sums 5, 3, 3, 1, -1, -3, -3, -5 -> |sum| >= 5 twice -> 0.25
    assert ev.randomization_test([3, 1, 1], [0, 0, 0]) == 0.25
    assert ev.randomization_test([0.2, 0.2], [0.2, 0.2]) == 1.0


def brute_force_p(d):
    d = [x for x in d if x != 0]
    obs = abs(sum(d))
    hits = sum(
        abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= obs - 1e-12
        for signs in itertools.product([1, -1], repeat=len(d))
    )
    return hits / 2 ** len(d)


def test_randomization_exact_matches_brute_force():
    rng = np.random.default_rng(1)
    for n in (5, 9, 12):
        a, b = rng.random(n), rng.random(n)
        assert ev.randomization_test(a, b, n_permutations=10_000) == pytest.approx(
            brute_force_p(a - b), abs=1e-15
        )
    # 2^18 > 10,000 sign vectors but exact=True forces enumeration (crosses the 16-bit blocks)
    a, b = rng.random(18) + 0.05, rng.random(18)
    assert ev.randomization_test(a, b, exact=True) == pytest.approx(brute_force_p(a - b))


def test_randomization_monte_carlo():
    rng = np.random.default_rng(2)
    a, b = rng.random(14) + 0.15, rng.random(14)
    exact = brute_force_p(a - b)  # 2^14 = 16384 > 5000: the call below samples
    p = ev.randomization_test(a, b, n_permutations=5000, seed=0)
    sd = math.sqrt(exact * (1 - exact) / 5000)
    assert abs(p - exact) < 5 * sd + 1 / 5001
    assert p == ev.randomization_test(a, b, n_permutations=5000, seed=0)  # seeded
    # (count + 1) / (N + 1): with 20 equal differences only 2 of 2^20 vectors reach the observed
    # statistic, so 999 draws almost surely find none -> p = 1 / 1000, never 0
    assert ev.randomization_test([1.0] * 20, [0.0] * 20, n_permutations=999) == 1 / 1000


def test_holm_textbook():
    # m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04,
    # then running max -> 0.02, 0.03, 0.06, 0.06
    adj = ev.holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert adj == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    # capped at 1; NaN left out of m
    adj = ev.holm({"x": 0.4, "y": 0.6, "z": float("nan")})
    assert adj["x"] == pytest.approx(0.8) and adj["y"] == pytest.approx(0.8)
    assert math.isnan(adj["z"])
    assert ev.holm({"only": 0.03}) == {"only": 0.03}
    assert ev.holm({}) == {}


def test_pairwise_significance():
    rng = np.random.default_rng(4)
    n = 30
    base = rng.random(n)
    rows = []
    for r, shift in (("A", 0.0), ("B", 0.3), ("C", 0.01)):
        vals = np.clip(base + shift + rng.normal(0, 0.05, n), 0, 2)
        rows += [(r, str(q), "m", float(v)) for q, v in enumerate(vals)]
    df = pd.DataFrame(rows, columns=ev.COLUMNS)
    for test in ("t", "randomization"):
        sig = ev.pairwise_significance(df, "m", test=test, n_permutations=2000)
        assert list(zip(sig["ranker_a"], sig["ranker_b"], strict=True)) == [
            ("A", "B"),
            ("A", "C"),
            ("B", "C"),
        ]
        wide = ev.per_query_table(df, "m")
        for row in sig.itertuples():
            if test == "t":
                p = ev.paired_t_test(wide[row.ranker_a], wide[row.ranker_b])
            else:
                p = ev.randomization_test(wide[row.ranker_a], wide[row.ranker_b], 2000, 0)
            assert row.p == pytest.approx(p)
            assert row.diff == pytest.approx(row.mean_a - row.mean_b)
            assert row.n == n
        assert list(sig["p_holm"]) == pytest.approx(
            list(ev.holm(dict(enumerate(sig["p"]))).values())
        )
        assert sig.set_index(["ranker_a", "ranker_b"]).loc[("A", "B"), "significant"]
        assert (sig["significant"] == (sig["p_holm"] < 0.05)).all()
        mat = ev.significance_matrix(sig)
        assert mat.loc["A", "B"] == mat.loc["B", "A"] == sig.iloc[0]["p_holm"]
        assert math.isnan(mat.loc["C", "C"])
    with pytest.raises(RankLensError):
        ev.pairwise_significance(df, "m", test="wilcoxon")


# --------------------------------------------------------------------------------------------
# ranking the rankers


def test_borda_tiny_table_with_tie():
    df = tiny_table()
    # (1, m): A=B=0.5 tie for positions 1-2 -> (2 + 1) / 2 = 1.5 each, C 0
    # (2, m): B 2, C 1, A 0
    # (1, k): A 2, B=C tie for positions 2-3 -> (1 + 0) / 2 = 0.5 each
    # (2, k): A 2, B 1, C 0
    # totals: A 1.5 + 0 + 2 + 2 = 5.5; B 1.5 + 2 + .5 + 1 = 5; C 0 + 1 + .5 + 0 = 1.5
    b = ev.borda(df)
    assert list(b["ranker"]) == ["A", "B", "C"]
    assert list(b["points"]) == pytest.approx([5.5, 5.0, 1.5])
    assert list(b["rank"]) == [1, 2, 3]
    # measure m only: A 1.5, B 3.5, C 1
    bm = ev.borda(df, measures=["m"]).set_index("ranker")
    assert bm.loc["B", "points"] == 3.5 and bm.loc["A", "points"] == 1.5
    assert bm.loc["C", "points"] == 1.0 and bm.loc["B", "rank"] == 1
    # a full tie shares the rank
    tie = pd.DataFrame([("X", "1", "m", 0.3), ("Y", "1", "m", 0.3)], columns=ev.COLUMNS)
    assert list(ev.borda(tie)["rank"]) == [1, 1] and list(ev.borda(tie)["points"]) == [0.5, 0.5]


def test_rank_by_mean():
    df = tiny_table()
    r = ev.rank_by_mean(df, "m")  # A .35, B .7, C .25
    assert list(r["ranker"]) == ["B", "A", "C"] and list(r["rank"]) == [1, 2, 3]
    assert list(r["mean"]) == pytest.approx([0.7, 0.35, 0.25])
    assert list(ev.rank_by_mean(df)["ranker"]) == ["B", "A", "C"]  # first measure in the table
    r = ev.rank_by_mean(df, "k")  # A .65, B .1, C .05
    assert list(r["ranker"]) == ["A", "B", "C"]


# --------------------------------------------------------------------------------------------
# discriminative power


def separated_runs(n_queries=40, seed=0):
    """Three rankers: 'good' puts a relevant document first on 90% of queries, 'bad' on 10%,
    'bad2' on 12%: good vs bad* differ clearly, bad vs bad2 do not."""
    rng = np.random.default_rng(seed)
    qrels = [Qrel(f"q{i}", "rel", 1) for i in range(n_queries)]
    qrels += [Qrel(f"q{i}", "non", 0) for i in range(n_queries)]
    runs = {}
    for name, share in (("good", 0.9), ("bad", 0.1), ("bad2", 0.12)):
        ranked = {}
        for i in range(n_queries):
            top = "rel" if rng.random() < share else "junk"
            ranked[f"q{i}"] = [(top, 2.0), ("non", 1.0)]
        runs[name] = make_run(ranked)
    return runs, qrels


def test_discriminative_power_query_subsampling():
    runs, qrels = separated_runs()
    full = ev.discriminative_power(runs, qrels, "RR", fraction=1.0, repeats=3, test="t")
    # all the queries: the same significant pairs every time
    assert full.significant_full >= 2
    assert full.survived_per_repeat == [full.significant_full] * 3
    assert full.survival_rate == 1.0
    half = ev.discriminative_power(runs, qrels, "RR", fraction=0.5, repeats=8, test="t", seed=1)
    pairs = half.pairs.set_index(["ranker_a", "ranker_b"])
    assert pairs.loc[("good", "bad"), "significant"]
    assert pairs.loc[("good", "bad"), "survival_rate"] == 1.0  # a big difference survives
    assert not pairs.loc[("bad", "bad2"), "significant"]
    assert math.isnan(pairs.loc[("bad", "bad2"), "survival_rate"])
    again = ev.discriminative_power(runs, qrels, "RR", fraction=0.5, repeats=8, test="t", seed=1)
    assert again.survived_per_repeat == half.survived_per_repeat
    d = half.as_dict()
    assert d["significant_full"] == half.significant_full and len(d["pairs"]) == 3
    # tiny subsamples lose significance: with 2 queries nothing can be significant
    tiny = ev.discriminative_power(runs, qrels, "RR", fraction=0.05, repeats=3, test="t")
    assert tiny.survival_rate < 1.0


def test_discriminative_power_label_subsampling():
    runs, qrels = separated_runs(n_queries=24)
    # keeping half of each query's two labels keeps one label per query: 'rel' or 'non'.
    dp = ev.discriminative_power(
        runs, qrels, "RR", fraction=0.5, repeats=4, unit="label", n_permutations=2000
    )
    assert dp.unit == "label" and len(dp.survived_per_repeat) == 4
    assert all(0 <= s <= dp.significant_full for s in dp.survived_per_repeat)
    one = ev.discriminative_power(
        runs, qrels, "RR", fraction=1.0, repeats=2, unit="label", n_permutations=2000
    )
    assert one.survival_rate == 1.0
    with pytest.raises(RankLensError):
        ev.discriminative_power(runs, qrels, "RR", fraction=0)
    with pytest.raises(RankLensError):
        ev.discriminative_power(runs, qrels, "RR", unit="topic")


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


def test_explain_measure():
    text = ev.explain_measure("nDCG@10")
    assert "log2" in text and "grade itself" in text and "ideal" in text.lower()
    assert "qrels" in text
    assert ">= 2" in ev.explain_measure("P(rel=2)@10")
    assert "divide by 5" in ev.explain_measure("P@5")
    assert "MAP" in ev.explain_measure("MAP") and "MRR" in ev.explain_measure("RR")
    assert "label" in ev.explain_measure("Judged@10")
    assert "recall" in ev.explain_measure("R@100")
    assert ev.explain_measure("Bpref")  # anything ir_measures knows gets a generic text
    with pytest.raises(RankLensError):
        ev.explain_measure("nonsense@3")
