"""Pairwise preferences: events in the judgment store (SQLite and PostgreSQL) with undo,
Bradley-Terry against closed forms and an independent MM fit, agreement with graded labels,
pair scheduling and the blind arena.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ranklens.errors import InputError, RankLensError
from ranklens.evaluation import preferences as prefs
from ranklens.evaluation import preferences_store as pref_store
from ranklens.judging import JudgmentStore
from ranklens.types import Hit, Qrel


def test_events_undo_and_keys(store):
    a = pref_store.record(store, "c", "ann", "q1", "d1#0", "d2#0", "ArrowLeft", left_doc="d1")
    pref_store.record(store, "c", "ann", "q1", "d2#0", "d3#0", "=")
    pref_store.record(store, "c", "bob", "q2", "d1#0", "d3#0", "→")
    got = pref_store.preferences(store, "c")
    assert [(p.annotator, p.choice) for p in got] == [
        ("ann", "left"),
        ("ann", "tie"),
        ("bob", "right"),
    ]
    assert got[0].id == a and got[0].left_doc == "d1" and got[0].winner == "d1#0"
    assert got[1].winner is None
    undone = pref_store.undo(store, "c", "ann")
    assert undone is not None and undone.choice == "tie"
    assert [p.choice for p in pref_store.preferences(store, "c", annotator="ann")] == ["left"]
    assert pref_store.undo(store, "c", "ann").choice == "left"
    assert pref_store.undo(store, "c", "ann") is None  # nothing left to take back
    assert [p.annotator for p in pref_store.preferences(store, "c")] == ["bob"]
    assert pref_store.preferences(store, "c", query_ids=["q1"]) == []
    assert pref_store.preferences(store, "other") == []
    with pytest.raises(InputError, match="left, right or tie"):
        pref_store.record(store, "c", "ann", "q1", "a", "b", "up")
    with pytest.raises(InputError, match="two different items"):
        pref_store.record(store, "c", "ann", "q1", "a", "a", "left")
    with pytest.raises(InputError, match="kind must be"):
        pref_store.record(store, "c", "ann", "q1", "a", "b", "left", kind="doc")


# ---------------------------------------------------------------- Bradley-Terry


def test_two_items_closed_form():
    # a beats b 3 times in 4: the maximum likelihood log-odds is log 3, and its variance
    # 1 / (n p (1 - p)) = 1 / (4 * 3/4 * 1/4) = 4/3; centred, each side carries half the gap
    fit = prefs.bradley_terry([("a", "b", "left")] * 3 + [("a", "b", "right")], prior_sd=1e6)
    t = fit.table.set_index("item")
    assert t.loc["a", "strength"] - t.loc["b", "strength"] == pytest.approx(math.log(3), abs=1e-5)
    assert t.loc["a", "se"] == pytest.approx(math.sqrt(4 / 3) / 2, rel=1e-4)
    assert fit.win_probability("a", "b") == pytest.approx(0.75, abs=1e-5)
    assert list(t["rank"]) == [1, 2] and t.loc["a", "wins"] == 3 and t.loc["b", "losses"] == 3
    z = 1.959963984540054
    assert t.loc["a", "ci_high"] == pytest.approx(t.loc["a", "strength"] + z * t.loc["a", "se"])


def _mm(w: np.ndarray, iterations: int = 5000) -> np.ndarray:
    """Hunter's (2004) MM algorithm for Bradley-Terry, as an independent check."""
    n = len(w)
    p = np.ones(n)
    games = w + w.T
    for _ in range(iterations):
        denom = np.array(
            [sum(games[i, j] / (p[i] + p[j]) for j in range(n) if j != i) for i in range(n)]
        )
        p = w.sum(axis=1) / denom
        p /= np.exp(np.log(p).mean())
    return np.log(p)


def test_fit_matches_an_independent_mm_fit():
    data = (
        [("a", "b", "left")] * 4
        + [("a", "b", "right")] * 2
        + [("b", "c", "left")] * 3
        + [("b", "c", "right")] * 2
        + [("a", "c", "left")] * 5
        + [("a", "c", "right")]
        + [("c", "d", "left")] * 2
        + [("c", "d", "right")] * 2
        + [("a", "d", "tie")] * 2
    )
    fit = prefs.bradley_terry(data, prior_sd=1e6)
    names = ["a", "b", "c", "d"]
    w = np.zeros((4, 4))
    for x, y, c in data:
        i, j = names.index(x), names.index(y)
        if c == "left":
            w[i, j] += 1
        elif c == "right":
            w[j, i] += 1
        else:
            w[i, j] += 0.5
            w[j, i] += 0.5
    expected = _mm(w)
    got = fit.table.set_index("item").loc[names, "strength"].to_numpy()
    assert got == pytest.approx(expected, abs=1e-4)
    assert fit.table["item"].iloc[0] == "a" and fit.n_comparisons == len(data)


def test_prior_keeps_an_unbeaten_item_finite_and_symmetric_data_even():
    fit = prefs.bradley_terry([("x", "y", "left")] * 5)
    t = fit.table.set_index("item")
    assert np.isfinite(t["strength"]).all() and t.loc["x", "strength"] > 0
    assert t.loc["x", "ci_low"] < t.loc["x", "strength"] < t.loc["x", "ci_high"]
    even = prefs.bradley_terry([("x", "y", "left"), ("x", "y", "right"), ("x", "y", "tie")])
    assert even.table["strength"].to_numpy() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert list(even.table["rank"]) == [1, 1]
    assert prefs.bradley_terry([]).table.empty
    with pytest.raises(RankLensError, match="compared with itself"):
        prefs.bradley_terry([("x", "x", "left")])


def _pref(qid, left, right, choice, kind="passage", left_doc=None, right_doc=None):
    return pref_store.Preference(
        0, "c", "ann", None, qid, kind, left, right, left_doc, right_doc, choice, None, 0.0
    )


def test_per_query_strengths_fit_each_query_alone():
    data = [_pref("q1", "p1", "p2", "left")] * 3 + [_pref("q2", "p1", "p2", "right")] * 3
    table = prefs.per_query_strengths(data)
    best = table[table["rank"] == 1].set_index("query_id")["item"]
    assert best.to_dict() == {"q1": "p1", "q2": "p2"}


# ---------------------------------------------------------------- against graded labels


def test_agreement_with_graded_labels_by_hand():
    qrels = [Qrel("q", "p1", 2), Qrel("q", "p2", 0), Qrel("q", "p3", 2), Qrel("q", "doc4", 1)]
    data = [
        _pref("q", "p1", "p2", "left"),  # grades 2 > 0: agrees
        _pref("q", "p2", "p1", "left"),  # 0 < 2 but left chosen: disagrees
        _pref("q", "p1", "p3", "tie"),  # equal grades, tie: agrees
        _pref("q", "p3", "p2", "tie"),  # 2 > 0, tie: disagrees (not counted as strict)
        _pref("q", "p4#0", "p2", "left", left_doc="doc4"),  # document label 1 > 0: agrees
        _pref("q", "p9", "p2", "left"),  # p9 has no label
    ]
    result = prefs.label_agreement(data, qrels)
    assert result.n == 5 and result.unlabelled == 1
    assert result.agreement == pytest.approx(3 / 5)
    assert result.strict == pytest.approx(2 / 3)
    # kappa by hand: preference vs grades over (left, right, tie)
    #   pref:   L L T T L      grades: L R T L L
    #   observed agreement 3/5; marginals pref L=3/5 T=2/5, grades L=3/5 R=1/5 T=1/5
    #   expected = 3/5*3/5 + 0*1/5 + 2/5*1/5 = 11/25; kappa = (3/5 - 11/25) / (1 - 11/25) = 2/7
    assert result.kappa == pytest.approx(2 / 7)
    assert list(result.pairs["by_grades"]) == ["left", "right", "tie", "left", "left"]
    empty = prefs.label_agreement([_pref("q", "x", "y", "left")], qrels)
    assert empty.n == 0 and math.isnan(empty.agreement) and empty.unlabelled == 1


# ---------------------------------------------------------------- what to show


def test_passage_pairs_cover_all_pairs_once_in_a_seeded_order():
    ids = ["a", "b", "c", "d"]
    pairs = prefs.passage_pairs(ids, seed=1)
    assert len(pairs) == 6 and {frozenset(p) for p in pairs} == {
        frozenset(p)
        for p in [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    }
    assert pairs == prefs.passage_pairs(ids, seed=1)
    assert pairs != prefs.passage_pairs(ids, seed=2)
    rest = prefs.passage_pairs(ids, done=[("b", "a"), ("c", "d")], seed=1)
    assert len(rest) == 4 and frozenset(("a", "b")) not in {frozenset(p) for p in rest}
    sides = {p[0] for s in range(20) for p in prefs.passage_pairs(["a", "b"], seed=s)}
    assert sides == {"a", "b"}  # either passage may be shown on the left


def _runs():
    def run(prefix):
        return {"q": [Hit("q", f"{prefix}{i}#0", f"{prefix}{i}", 1.0 / i, i) for i in range(1, 9)]}

    return {"good": run("g"), "bad": run("b"), "mid": run("m"), "silent": {"q": []}}


def test_arena_rounds_are_blind_balanced_and_top_five(store):
    runs = _runs()
    rnd = prefs.arena_round(runs, "q", seed=0)
    assert rnd is not None and {rnd.left, rnd.right} <= {"good", "bad", "mid"}
    assert len(rnd.left_hits) == 5 and len(rnd.right_hits) == 5
    lefts = {prefs.arena_round(runs, "q", seed=s).left for s in range(30)}
    assert lefts == {"good", "bad", "mid"}  # any ranker may be on the left
    done = [("good", "bad"), ("bad", "good"), ("good", "mid")]
    for s in range(10):  # the pair compared least often comes next
        r = prefs.arena_round(runs, "q", done=done, seed=s)
        assert {r.left, r.right} == {"bad", "mid"}
    assert prefs.arena_round({"good": runs["good"], "silent": runs["silent"]}, "q") is None
    eid = pref_store.record_arena(store, "c", "ann", rnd, "left", query_set="s")
    (stored,) = pref_store.preferences(store, "c", kind="ranker")
    assert stored.id == eid and stored.shown["left"][0] == [
        rnd.left_hits[0].passage_id,
        rnd.left_hits[0].doc_id,
    ]
    assert pref_store.preferences(store, "c", kind="passage") == []


def test_arena_ranking_beside_ndcg():
    data = []
    for _ in range(6):
        data += [
            _pref("q", "good", "bad", "left", "ranker"),
            _pref("q", "mid", "good", "right", "ranker"),
        ]
        data += [
            _pref("q", "bad", "mid", "right", "ranker"),
            _pref("q", "bad", "mid", "tie", "ranker"),
        ]
    fit = prefs.arena_ranking(data, ["good", "mid", "bad"])
    assert list(fit.table["item"]) == ["good", "mid", "bad"]
    t = fit.table.set_index("item")
    assert t.loc["good", "ci_low"] > t.loc["bad", "ci_high"]  # 12 wins in 12: clearly apart
    table = prefs.beside_measure(
        fit, {"good": 0.5, "mid": 0.6, "bad": 0.1, "other": 0.3}, "nDCG@10"
    )
    rows = table.set_index("ranker")
    assert rows.loc["good", "arena_rank"] == 1 and rows.loc["mid", "nDCG@10_rank"] == 1
    assert math.isnan(rows.loc["other", "strength"]) and rows.loc["other", "nDCG@10"] == 0.3
    with pytest.raises(RankLensError, match="ranker preferences"):
        prefs.arena_ranking([_pref("q", "a", "b", "left")])


def test_cli_arena_passages_and_agreement(home, capsys):
    import json

    from ranklens.cli import main

    with JudgmentStore.from_settings(home) as store:
        for _ in range(3):
            pref_store.record(store, "c", "ann", "q1", "good", "bad", "left", kind="ranker")
        pref_store.record(store, "c", "ann", "q1", "p1", "p2", "left")
        pref_store.record(store, "c", "ann", "q1", "p2", "p3", "right")
        store.add_label("c", "ann", "q1", "p1", 2, doc_id="p1")
        store.add_label("c", "ann", "q1", "p2", 0, doc_id="p2")
    assert main(["preferences", "arena", "--corpus", "c", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["comparisons"] == 3 and [r["item"] for r in data["ranking"]] == ["good", "bad"]
    assert main(["preferences", "passages", "--corpus", "c"]) == 0
    assert "query q1" in capsys.readouterr().out
    assert main(["preferences", "agreement", "--corpus", "c", "--json"]) == 0
    agreement = json.loads(capsys.readouterr().out)
    assert agreement["with_labels"] == 1 and agreement["agreement"] == 1.0
    assert agreement["without_labels"] == 1
    assert main(["preferences", "arena", "--corpus", "none"]) == 2
    assert "no arena preferences" in capsys.readouterr().err
