"""Tests of ranklens.judges.judge_agreement: kappa, confusion, disagreements, ranker changes,
Kendall's tau and fitted thresholds, on small hand-computed cases."""

from __future__ import annotations

import pytest

from ranklens.errors import InputError
from ranklens.judges.judge_agreement import (
    common_units,
    compare_judges,
    fit_thresholds,
    judge_agreement,
    kappa,
    ranker_changes,
)
from ranklens.judging.agreement import cohen_kappa
from ranklens.judging.rules import grades_from_scores
from ranklens.types import Hit

GRADES = (0, 1, 2, 3)


def run(order: dict[str, list[str]]) -> dict[str, list[Hit]]:
    return {
        q: [Hit(q, f"{d}#0", d, float(len(ds) - i), i + 1) for i, d in enumerate(ds)]
        for q, ds in order.items()
    }


def test_kappa_by_hand() -> None:
    # linear weights: observed disagreement 1/4, expected 9/8 -> 1 - 2/9 = 7/9
    assert kappa([0, 1, 2, 3], [0, 1, 2, 2], GRADES, "linear") == pytest.approx(7 / 9)
    for w in ("linear", "quadratic", None):
        a, b = [0, 0, 1, 2, 3, 3, 1], [0, 1, 1, 3, 3, 2, 0]
        assert kappa(a, b, GRADES, w) == pytest.approx(cohen_kappa(a, b, GRADES, w))
    assert kappa([2, 2], [2, 2], GRADES) is None  # one grade throughout: undefined
    assert kappa([], [], GRADES) is None
    with pytest.raises(InputError, match="weights"):
        kappa([1], [1], GRADES, "cubic")


def test_agreement_on_common_units_confusion_and_widest_first() -> None:
    human = {"q1": {"a": 3, "b": 0, "c": 1}, "q2": {"a": 2, "x": 1}}
    judge = {"q1": {"a": 0, "b": 0, "c": 2, "z": 3}, "q2": {"a": 3}}
    both, h_only, j_only = common_units(human, judge)
    assert both == [("q1", "a", 3, 0), ("q1", "b", 0, 0), ("q1", "c", 1, 2), ("q2", "a", 2, 3)]
    assert (h_only, j_only) == (1, 1)
    rep = judge_agreement("llm:m", human, judge, GRADES, weights="quadratic")
    assert rep.n == 4 and rep.queries == 2 and rep.exact == pytest.approx(0.25)
    assert rep.confusion == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    assert [(d.query_id, d.doc_id, d.width) for d in rep.disagreements] == [
        ("q1", "a", 3),
        ("q1", "c", 1),
        ("q2", "a", 1),
    ]
    assert rep.kappa == pytest.approx(cohen_kappa([3, 0, 1, 2], [0, 0, 2, 3], GRADES, "quadratic"))
    assert rep.rankers == [] and rep.tau is None
    d = rep.to_dict()
    assert d["disagreements"][0]["width"] == 3 and d["units"] == 4
    assert "4 units in 2 queries" in rep.summary()
    with pytest.raises(InputError, match="outside the scale"):
        judge_agreement("j", {"q": {"a": 5}}, {"q": {"a": 1}}, GRADES)


def test_ranker_changes_and_kendall_tau() -> None:
    runs = {
        "A": run({"q1": ["a", "b"], "q2": ["c", "d"]}),
        "B": run({"q1": ["b", "a"], "q2": ["d", "c"]}),
        "C": run({"q1": ["a", "b"], "q2": ["d", "c"]}),
    }
    human = {"q1": {"a": 1, "b": 0}, "q2": {"c": 1, "d": 0}}
    judge = {"q1": {"a": 0, "b": 1}, "q2": {"c": 0, "d": 1}}
    changes, tau, p = ranker_changes(runs, human, judge, measure="P@1")
    by = {c.ranker: c for c in changes}
    assert (by["A"].human, by["B"].human, by["C"].human) == (1.0, 0.0, 0.5)
    assert (by["A"].judge, by["B"].judge, by["C"].judge) == (0.0, 1.0, 0.5)
    assert [c.ranker for c in changes] == ["A", "C", "B"]
    assert (by["A"].human_rank, by["A"].judge_rank, by["B"].delta) == (1, 3, 1.0)
    assert tau == pytest.approx(-1.0) and p is not None
    same, tau_same, _ = ranker_changes(runs, human, human, measure="P@1")
    assert tau_same == pytest.approx(1.0) and all(c.delta == 0 for c in same)
    one, tau_one, _ = ranker_changes({"A": runs["A"]}, human, judge)
    assert len(one) == 1 and tau_one is None


def test_replacing_labels_uses_only_common_units() -> None:
    runs = {"A": run({"q1": ["a", "b", "c"]}), "B": run({"q1": ["c", "b", "a"]})}
    human = {"q1": {"a": 2, "b": 0, "c": 1}}
    judge = {"q1": {"a": 2, "b": 0}}  # the judge did not grade c: c is left out of both sides
    (rep,) = compare_judges(human, {"j": judge}, GRADES, runs=runs, measure="nDCG@10")
    assert rep.n == 2 and rep.human_only == 1 and rep.kappa == pytest.approx(1.0)
    assert all(c.human == pytest.approx(c.judge) for c in rep.rankers)
    assert rep.tau == pytest.approx(1.0)


def test_fit_thresholds_matches_the_humans_distribution() -> None:
    scores = [-3.0, -2.0, -1.0, 0.5, 1.0, 2.0, 4.0, 5.0]
    grades = [0, 0, 0, 1, 1, 2, 3, 3]
    ts = fit_thresholds(scores, grades, 3)
    assert ts == [pytest.approx(-0.25), pytest.approx(1.5), pytest.approx(3.0)]
    assert grades_from_scores(scores, ts) == grades
    # a grade nobody used still gets a threshold, strictly above the one before
    ts2 = fit_thresholds([0.0, 1.0, 2.0], [0, 0, 3], 3)
    assert ts2[0] == pytest.approx(1.5) and ts2[0] < ts2[1] < ts2[2]
    assert grades_from_scores([0.0, 1.0, 2.0], ts2) == [0, 0, 3]
    with pytest.raises(InputError):
        fit_thresholds([], [], 3)
