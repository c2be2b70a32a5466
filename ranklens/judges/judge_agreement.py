"""A judge (cross-encoder, an LLM prompt version) checked against people: weighted kappa, confusion,
disagreements widest first, and how each ranker's score and the ranking of rankers change.

Pure functions over qrels (no store, no UI). Conventions, fixed here once:

- Agreement is measured on the units both the humans' final labels and the judge graded; units
  only one side graded are counted (`human_only`, `judge_only`) but not compared.
- "The judge's labels replace the humans'": every ranker is evaluated twice over those same
  common units, once with the humans' grades and once with the judge's, so the judged set is
  the same and only the grades differ. Measures through ranklens.evaluation.measures (ir_measures).
- Kappa: agreement.cohen_kappa (scikit-learn) over the whole scale, linear or quadratic weights;
  None where undefined (fewer than two grades used). Kendall's tau: scipy's tau-b between the
  rankers' two scores; None with fewer than two rankers or a constant column.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.stats import kendalltau, rankdata
from sklearn.metrics import confusion_matrix

from ranklens.errors import InputError
from ranklens.evaluation.measures import Qrels, evaluate_runs, mean_scores, qrels_dict
from ranklens.judging.agreement import check_weights, cohen_kappa
from ranklens.judging.rules import natural_key
from ranklens.types import Run


class JudgeDisagreement(NamedTuple):
    """A unit on which the judge and the humans' final label differ."""

    query_id: str
    doc_id: str  # a document or passage id, as in the qrels
    human: int
    judge: int

    @property
    def width(self) -> int:
        return abs(self.human - self.judge)


class RankerChange(NamedTuple):
    """One ranker's score under the humans' grades and under the judge's (same units)."""

    ranker: str
    human: float
    judge: float
    human_rank: int  # 1 = best; ties share the better rank
    judge_rank: int

    @property
    def delta(self) -> float:
        return self.judge - self.human


@dataclass
class JudgeAgreement:
    """A judge against the humans' final labels."""

    judge: str
    weights: str | None
    grades: tuple[int, ...]
    n: int  # units graded by both
    queries: int
    human_only: int
    judge_only: int
    kappa: float | None
    exact: float | None  # fraction of common units with the same grade
    confusion: list[list[int]]  # rows: human grade, columns: judge grade (both over `grades`)
    disagreements: list[JudgeDisagreement] = field(default_factory=list)
    measure: str = "nDCG@10"
    rankers: list[RankerChange] = field(default_factory=list)
    tau: float | None = None
    tau_p: float | None = None

    def to_dict(self) -> dict:
        return {
            "judge": self.judge,
            "weights": self.weights,
            "grades": list(self.grades),
            "units": self.n,
            "queries": self.queries,
            "human_only": self.human_only,
            "judge_only": self.judge_only,
            "kappa": self.kappa,
            "exact_agreement": self.exact,
            "confusion": self.confusion,
            "disagreements": [{**d._asdict(), "width": d.width} for d in self.disagreements],
            "measure": self.measure,
            "rankers": [{**r._asdict(), "delta": r.delta} for r in self.rankers],
            "kendall_tau": self.tau,
            "kendall_tau_p": self.tau_p,
        }

    def summary(self) -> str:
        kappa = "undefined" if self.kappa is None else f"{self.kappa:.3f}"
        exact = "-" if self.exact is None else f"{self.exact:.0%}"
        text = (
            f"{self.judge}: {self.n} units in {self.queries} queries; kappa "
            f"({self.weights or 'unweighted'}) {kappa}; exact agreement {exact}; "
            f"{len(self.disagreements)} disagreements"
        )
        if self.rankers:
            tau = "undefined" if self.tau is None else f"{self.tau:.3f}"
            text += f"; Kendall's tau of the {len(self.rankers)} rankers by {self.measure}: {tau}"
        return text


def _none_if_nan(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def common_units(human: Qrels, judged: Qrels) -> tuple[list[tuple[str, str, int, int]], int, int]:
    """(query_id, doc_id, human grade, judge grade) for units both graded, in the humans' order;
    and how many units only the humans, only the judge graded."""
    h, j = qrels_dict(human), qrels_dict(judged)
    both = [
        (q, d, g, j[q][d]) for q, docs in h.items() for d, g in docs.items() if d in j.get(q, {})
    ]
    n_h = sum(len(docs) for docs in h.values())
    n_j = sum(len(docs) for docs in j.values())
    return both, n_h - len(both), n_j - len(both)


def kappa(
    human: Sequence[int],
    judge: Sequence[int],
    grades: Sequence[int],
    weights: str | None = "linear",
) -> float | None:
    """Cohen's kappa (ranklens.judging.agreement.cohen_kappa) over the whole scale; None where it is
    undefined."""
    return cohen_kappa(human, judge, categories=grades, weights=weights)


def ranker_changes(
    runs: Mapping[str, Run],
    human: Qrels,
    judged: Qrels,
    *,
    measure: str = "nDCG@10",
    level: str = "doc",
) -> tuple[list[RankerChange], float | None, float | None]:
    """Each ranker's mean `measure` under the humans' and under the judge's grades (the same
    units), best first by the humans'; and Kendall's tau-b (with its p-value) between the two."""
    h_scores = mean_scores(evaluate_runs(runs, human, [measure], level=level))
    j_scores = mean_scores(evaluate_runs(runs, judged, [measure], level=level))
    names = list(runs)
    hv = [h_scores.get(r, {}).get(measure, 0.0) for r in names]
    jv = [j_scores.get(r, {}).get(measure, 0.0) for r in names]
    h_rank = rankdata([-v for v in hv], method="min").astype(int)
    j_rank = rankdata([-v for v in jv], method="min").astype(int)
    changes = [
        RankerChange(r, float(a), float(b), int(ra), int(rb))
        for r, a, b, ra, rb in zip(names, hv, jv, h_rank, j_rank, strict=True)
    ]
    changes.sort(key=lambda c: (c.human_rank, c.judge_rank, names.index(c.ranker)))
    tau = p = None
    if len(names) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = kendalltau(hv, jv)
        tau, p = _none_if_nan(res.statistic), _none_if_nan(res.pvalue)
    return changes, tau, p


def judge_agreement(
    judge: str,
    human: Qrels,
    judged: Qrels,
    grades: Sequence[int],
    *,
    weights: str | None = "linear",
    runs: Mapping[str, Run] | None = None,
    measure: str = "nDCG@10",
    level: str = "doc",
) -> JudgeAgreement:
    """One judge against the humans' final labels (qrels at the same level as `level`)."""
    check_weights(weights)
    both, human_only, judge_only = common_units(human, judged)
    grades = tuple(sorted(set(grades)))
    outside = {g for *_, a, b in both for g in (a, b)} - set(grades)
    if outside:
        raise InputError(None, f"grades {sorted(outside)} are outside the scale {list(grades)}")
    hs = [a for *_, a, _ in both]
    js = [b for *_, b in both]
    conf = (
        confusion_matrix(hs, js, labels=list(grades)).tolist()
        if both
        else [[0] * len(grades) for _ in grades]
    )
    dis = [JudgeDisagreement(q, d, a, b) for q, d, a, b in both if a != b]
    dis.sort(key=lambda x: (-x.width, natural_key(x.query_id), natural_key(x.doc_id)))
    report = JudgeAgreement(
        judge=judge,
        weights=weights,
        grades=grades,
        n=len(both),
        queries=len({q for q, *_ in both}),
        human_only=human_only,
        judge_only=judge_only,
        kappa=kappa(hs, js, grades, weights),
        exact=(sum(a == b for a, b in zip(hs, js, strict=True)) / len(both)) if both else None,
        confusion=[[int(c) for c in row] for row in conf],
        disagreements=dis,
        measure=measure,
    )
    if runs and both:
        h_common = {}
        j_common = {}
        for q, d, a, b in both:
            h_common.setdefault(q, {})[d] = a
            j_common.setdefault(q, {})[d] = b
        report.rankers, report.tau, report.tau_p = ranker_changes(
            runs, h_common, j_common, measure=measure, level=level
        )
    return report


def compare_judges(
    human: Qrels,
    judges: Mapping[str, Qrels],
    grades: Sequence[int],
    **options: object,
) -> list[JudgeAgreement]:
    """judge_agreement for every judge (name -> its qrels), in the order given."""
    return [
        judge_agreement(name, human, qrels, grades, **options) for name, qrels in judges.items()
    ]  # type: ignore[arg-type]


def fit_thresholds(scores: Sequence[float], grades: Sequence[int], top: int) -> list[float]:
    """Score thresholds (one per grade 1..top, strictly increasing) that give a scoring model
    the humans' grade distribution on labelled pairs: as many pairs fall below the threshold of
    grade g as the humans graded below g. Fit on some queries, apply to others."""
    if len(scores) != len(grades):
        raise InputError(None, f"{len(scores)} scores but {len(grades)} grades")
    if not scores:
        raise InputError(None, "fitting thresholds needs labelled pairs; none given")
    if top < 1:
        raise InputError(None, f"a scale needs a top grade of at least 1, got {top}")
    s = np.sort(np.asarray(scores, dtype=float))
    if np.isnan(s).any():
        raise InputError(None, "a score is NaN; expected numbers")
    g = np.asarray(grades)
    out: list[float] = []
    for grade in range(1, top + 1):
        below = int((g < grade).sum())
        if below == 0:
            t = float(s[0])
        elif below == len(s):
            t = float(s[-1]) + 1.0
        else:
            t = float((s[below - 1] + s[below]) / 2)
        if out and t <= out[-1]:
            t = float(np.nextafter(out[-1], math.inf))
        out.append(t)
    return out
