"""Tests of ranklens/judging/agreement.py: Cohen's kappa (sklearn underneath) and Krippendorff's alpha
against hand-computed and published oracles (Krippendorff 2011), disagreements.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ranklens.judging import (
    Scale,
)
from ranklens.judging.agreement import (
    agreement_report,
    cohen_kappa,
    disagreements,
    krippendorff_alpha,
)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


KRIPPENDORFF_2011 = {  # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", C.
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_cohen_kappa_2x2_by_hand():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # po = 35/50 = 0.7; pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b, [0, 1]) == pytest.approx(0.4)


def test_cohen_kappa_3x3_weighted_by_hand():
    a = [0, 0, 1, 1, 2, 2]
    b = [0, 1, 1, 2, 2, 2]
    # Unweighted: po = 4/6, pe = 1/3*(1/6 + 2/6 + 3/6) = 1/3, kappa = (2/3-1/3)/(2/3) = 0.5.
    assert cohen_kappa(a, b, [0, 1, 2]) == pytest.approx(0.5)
    # Quadratic: observed weighted disagreement = (1 + 1)/6 = 1/3; expected, with A uniform
    # and B = (1/6, 2/6, 3/6): 1/3 * (1/6*5 + 2/6*2 + 3/6*5) = 4/3; kappa = 1 - (1/3)/(4/3).
    assert cohen_kappa(a, b, [0, 1, 2], "quadratic") == pytest.approx(0.75)
    # Linear: observed 2/6; expected 1/3 * (1/6*3 + 2/6*2 + 3/6*3) = 1/3 * 16/6 = 8/9.
    assert cohen_kappa(a, b, [0, 1, 2], "linear") == pytest.approx(1 - (1 / 3) / (8 / 9))


def test_cohen_kappa_matches_sklearn_and_is_none_when_undefined():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 40).tolist()
    b = [min(3, max(0, x + int(d))) for x, d in zip(a, rng.integers(-1, 2, 40), strict=True)]
    for w in (None, "linear", "quadratic"):
        want = sklearn_metrics.cohen_kappa_score(a, b, labels=[0, 1, 2, 3], weights=w)
        assert cohen_kappa(a, b, [0, 1, 2, 3], w) == pytest.approx(want)
    assert cohen_kappa([2, 2, 2], [2, 2, 2], [0, 1, 2, 3]) is None
    assert cohen_kappa([], [], [0, 1]) is None


def _units(shift: int = 0) -> dict[int, dict[str, int]]:
    units: dict[int, dict[str, int]] = {}
    for name, values in KRIPPENDORFF_2011.items():
        for u, v in enumerate(values):
            if v is not None:
                units.setdefault(u, {})[name] = v + shift
    return units


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_alpha_on_krippendorffs_own_example(level, published):
    assert krippendorff_alpha(_units(), level) == pytest.approx(published, abs=5e-4)


def test_alpha_through_the_store_matches_the_published_example(store):
    store.set_scale("k", Scale.of(5))
    for name, values in KRIPPENDORFF_2011.items():
        for u, v in enumerate(values):
            if v is not None:
                store.add_label(
                    "k", name, f"q{u % 3}", f"doc{u}#0", v - 1, doc_id=f"doc{u}"
                )  # 1-5 -> 0-4
    report = store.agreement("k")
    assert report.alpha == pytest.approx(0.815, abs=5e-4)
    assert report.units == 11  # unit 12 has a single value
    assert report.weights == "quadratic" and len(report.pairs) == 6
    assert set(report.per_query) == {"q0", "q1", "q2"}
    json.dumps(report.to_dict())  # JSON-ready


def test_alpha_is_none_when_undefined():
    assert krippendorff_alpha({1: {"a": 2, "b": 2}, 2: {"a": 2, "b": 2}}) is None
    assert krippendorff_alpha({1: {"a": 2}}) is None


def test_disagreements_widest_spread_first():
    triples = [
        (("q1", "a", "a#0"), "x", 1),
        (("q1", "a", "a#0"), "y", 2),
        (("q2", "b", "b#0"), "x", 0),
        (("q2", "b", "b#0"), "y", 3),
        (("q3", "c", "c#0"), "x", 2),
        (("q3", "c", "c#0"), "y", 2),
    ]
    found = disagreements(triples)
    assert [(d.query_id, d.spread) for d in found] == [("q2", 3), ("q1", 1)]
    report = agreement_report(triples, [0, 1, 2, 3])
    [pair] = report.pairs
    assert pair.n == 3 and pair.exact == pytest.approx(1 / 3)


def test_one_kappa_refuses_unknown_weights_and_takes_any_categories():
    from sklearn.metrics import cohen_kappa_score

    from ranklens.errors import InputError

    with pytest.raises(InputError, match="unknown kappa weights 'cubic'"):
        cohen_kappa([1, 2], [1, 2], weights="cubic")
    choice = ["left", "tie", "right", "left", "right"]  # preferences against grades: strings
    grades = ["left", "right", "right", "tie", "right"]
    outcomes = ("left", "right", "tie")
    want = cohen_kappa_score(choice, grades, labels=list(outcomes))
    assert cohen_kappa(choice, grades, categories=outcomes) == pytest.approx(want)
