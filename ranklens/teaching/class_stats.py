"""The numbers of a class's live board: progress, agreement with bootstrap intervals, the pairs
the class disagrees on most, and each ranker's nDCG@10 under the class's labels and the corpus's.

Pure functions over a class, its labels and the rankers' runs (no store, no UI). Agreement comes
from statsmodels (Fleiss' kappa) and krippendorff, intervals from scipy.stats.bootstrap, nDCG from
ir_measures (ranklens.evaluation.measures), Kendall's tau from scipy.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ranklens.judging.agreement import krippendorff_alpha
from ranklens.judging.classes import ClassInfo, ClassLabel
from ranklens.judging.rules import combine_grades
from ranklens.types import Qrel, Run

MEASURE = "nDCG@10"
BOOTSTRAP_RESAMPLES = 500
CONFIDENCE = 0.95

EXPLAIN = {
    "progress": (
        "How many of the class's pairs each student has graded. Everyone sees the same pairs, "
        "each in their own shuffled order."
    ),
    "fleiss": (
        "Fleiss' kappa: how much more the students agree than they would by chance, given how "
        "often each grade is used. 1 is perfect agreement, 0 is what chance gives, below 0 is "
        "worse than chance. It needs every counted student to have graded every pair, so it "
        "counts the students who have finished."
    ),
    "alpha": (
        "Krippendorff's alpha (ordinal): the same idea, but it uses every label given so far "
        "and counts a 0-versus-3 disagreement as worse than a 2-versus-3 one."
    ),
    "interval": (
        "The range in brackets is a 95% bootstrap interval: the pairs are resampled with "
        "replacement many times and the agreement recomputed; 95% of those values fall inside. "
        "Few pairs give a wide range."
    ),
    "widest": (
        "The pairs the class disagrees on most (the largest gap between the highest and the "
        "lowest grade), with the reasons the students gave."
    ),
    "rankers": (
        "Each ranker's nDCG@10 on the class's queries, scored once with the class's labels "
        "(one grade per pair: the grade most students gave) and once with the labels that came "
        "with the corpus (or, where it came with none, the judgment store's). Kendall's tau compares the two orders of the rankers: 1 means the "
        "class's labels rank the systems exactly as the corpus's labels do, -1 the reverse."
    ),
    "students": (
        "The same nDCG@10, scored with one student's labels at a time. A wide spread means who "
        "does the labelling changes the numbers; a different winner per student means it can "
        "change the conclusion."
    ),
}


@dataclass
class Estimate:
    """An agreement value with its bootstrap interval; None where it is not defined yet."""

    value: float | None
    low: float | None = None
    high: float | None = None
    items: int = 0
    raters: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "items": self.items,
            "raters": self.raters,
            "note": self.note,
        }


@dataclass
class WidePair:
    position: int
    query_id: str
    passage_id: str
    spread: int
    grades: dict[str, int]
    reasons: dict[str, str] = field(default_factory=dict)


def ratings(info: ClassInfo, labels: Sequence[ClassLabel]) -> dict[int, dict[str, int]]:
    """position -> {student: grade} for every pair of the class (empty dict: not graded yet)."""
    out: dict[int, dict[str, int]] = {p.position: {} for p in info.pairs}
    for lab in labels:
        if lab.position in out:
            out[lab.position][lab.student] = lab.grade
    return out


def progress(
    info: ClassInfo, labels: Sequence[ClassLabel], students: Sequence[str]
) -> list[tuple[str, int, int]]:
    """(student, pairs graded, pairs in the class) for every student who joined."""
    done: dict[str, int] = defaultdict(int)
    for lab in labels:
        done[lab.student] += 1
    return [(s, done.get(s, 0), len(info.pairs)) for s in students]


def anonymise(students: Sequence[str]) -> dict[str, str]:
    """Student -> 'Student 1', 'Student 2', ... in joining order (for the projector)."""
    return {s: f"Student {i}" for i, s in enumerate(students, 1)}


def _fleiss_value(table: np.ndarray) -> float:
    from statsmodels.stats.inter_rater import fleiss_kappa

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = float(fleiss_kappa(table, method="fleiss"))
    return value


def _bootstrap(
    n_items: int, statistic: Callable[[np.ndarray], float], seed: int
) -> tuple[float | None, float | None]:
    """A percentile bootstrap interval over items (scipy.stats.bootstrap, seeded)."""
    if n_items < 2:
        return None, None
    from scipy.stats import bootstrap

    def stat(idx: np.ndarray) -> float:
        value = statistic(np.asarray(idx, dtype=int))
        return np.nan if value is None else value

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = bootstrap(
            (np.arange(n_items),),
            stat,
            vectorized=False,
            n_resamples=BOOTSTRAP_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    # resamples where the statistic is undefined (every grade alike) are left out of the
    # percentiles; scipy's own interval would be nan as soon as one resample is
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    dist = dist[~np.isnan(dist)]
    if dist.size < BOOTSTRAP_RESAMPLES // 2:
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(dist, [tail, 100 - tail])
    return float(low), float(high)


def fleiss(info: ClassInfo, labels: Sequence[ClassLabel], seed: int = 0) -> Estimate:
    """Fleiss' kappa over the students who graded every pair (it needs a full table)."""
    table_by_pair = ratings(info, labels)
    n_pairs = len(info.pairs)
    counts: dict[str, int] = defaultdict(int)
    for grades in table_by_pair.values():
        for s in grades:
            counts[s] += 1
    finished = sorted(s for s, c in counts.items() if c == n_pairs)
    if len(finished) < 2:
        return Estimate(
            None, raters=len(finished), note="defined once two students have graded every pair"
        )
    cats = list(info.scale.values)
    pos = {g: i for i, g in enumerate(cats)}
    table = np.zeros((n_pairs, len(cats)))
    for row, p in enumerate(info.pairs):
        for s in finished:
            table[row, pos[table_by_pair[p.position][s]]] += 1
    value = _fleiss_value(table)
    if math.isnan(value):
        return Estimate(
            None,
            items=n_pairs,
            raters=len(finished),
            note="not defined: every grade given was the same",
        )

    def stat(idx: np.ndarray) -> float | None:
        v = _fleiss_value(table[idx])
        return None if math.isnan(v) else v

    low, high = _bootstrap(n_pairs, stat, seed)
    return Estimate(value, low, high, n_pairs, len(finished))


def alpha(info: ClassInfo, labels: Sequence[ClassLabel], seed: int = 0) -> Estimate:
    """Krippendorff's alpha (ordinal) over every label so far; pairs graded once are left out."""
    table_by_pair = ratings(info, labels)
    units = [grades for grades in table_by_pair.values() if len(grades) >= 2]
    raters = len({s for g in units for s in g})
    values = list(info.scale.values)
    value = krippendorff_alpha(dict(enumerate(units)), "ordinal", values)
    if value is None:
        return Estimate(
            None,
            items=len(units),
            raters=raters,
            note="defined once two students have graded the same pairs with different grades",
        )

    # the resamples reuse one reliability matrix (students x pairs) and pick its columns
    import krippendorff

    names = sorted({s for g in units for s in g})
    row = {s: i for i, s in enumerate(names)}
    data = np.full((len(names), len(units)), np.nan)
    for col, grades in enumerate(units):
        for s, g in grades.items():
            data[row[s], col] = g
    domain = sorted(set(values) | {g for u in units for g in u.values()})

    def stat(idx: np.ndarray) -> float | None:
        sub = data[:, idx]
        if np.unique(sub[~np.isnan(sub)]).size < 2:
            return None
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            v = krippendorff.alpha(
                reliability_data=sub, value_domain=domain, level_of_measurement="ordinal"
            )
        return None if np.isnan(v) else float(v)

    low, high = _bootstrap(len(units), stat, seed)
    return Estimate(value, low, high, len(units), raters)


def widest(info: ClassInfo, labels: Sequence[ClassLabel], n: int = 5) -> list[WidePair]:
    """The n pairs with the widest spread of grades (graded by at least two students)."""
    reasons: dict[int, dict[str, str]] = defaultdict(dict)
    for lab in labels:
        if lab.reason:
            reasons[lab.position][lab.student] = lab.reason
    by_pos = {p.position: p for p in info.pairs}
    rows = []
    for position, grades in ratings(info, labels).items():
        if len(grades) < 2:
            continue
        spread = max(grades.values()) - min(grades.values())
        p = by_pos[position]
        rows.append(
            WidePair(position, p.query_id, p.passage_id, spread, grades, reasons.get(position, {}))
        )
    rows.sort(key=lambda w: (-w.spread, -float(np.std(list(w.grades.values()))), w.position))
    return [w for w in rows if w.spread > 0][:n]


def class_qrels(
    info: ClassInfo, labels: Sequence[ClassLabel], rule: str = "majority"
) -> list[Qrel]:
    """Document-level qrels from the class's labels: one grade per pair by the rule, and a
    document takes its best pair's grade (as the store exports document-level labels)."""
    by_pos = {p.position: p for p in info.pairs}
    per_pair: dict[int, list[int]] = defaultdict(list)
    for lab in labels:
        per_pair[lab.position].append(lab.grade)
    best: dict[tuple[str, str], int] = {}
    for position, grades in per_pair.items():
        p = by_pos[position]
        g = combine_grades(grades, rule)
        key = (p.query_id, p.doc_id)
        best[key] = max(best.get(key, g), g)
    return [Qrel(q, d, g) for (q, d), g in best.items()]


def _ndcg(runs: Mapping[str, Run], qrels: Sequence[Qrel], query_ids: Sequence[str]) -> dict:
    from ranklens.evaluation.measures import evaluate_runs

    wanted = set(query_ids)
    qrels = [q for q in qrels if q.query_id in wanted]
    if not qrels or not runs:
        return {name: None for name in runs}
    table = evaluate_runs(runs, qrels, [MEASURE], level="doc")
    means = table.groupby("ranker", sort=False)["value"].mean()
    return {name: (float(means[name]) if name in means else None) for name in runs}


@dataclass
class RankerBoard:
    """Each ranker's nDCG@10 under the class's labels and the corpus's, and how the orders agree."""

    class_scores: dict[str, float | None]
    corpus_scores: dict[str, float | None]
    tau: float | None
    student_scores: dict[str, dict[str, float | None]]  # student -> ranker -> nDCG@10
    winners: dict[str, list[str]]  # student -> the ranker(s) with the best score

    def spread(self) -> dict[str, tuple[float, float]]:
        """ranker -> (lowest, highest) nDCG@10 across students."""
        out = {}
        for ranker in self.class_scores:
            vals = [s[ranker] for s in self.student_scores.values() if s.get(ranker) is not None]
            if vals:
                out[ranker] = (min(vals), max(vals))
        return out


def kendall_tau(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> float | None:
    """Kendall's tau (scipy, tau-b) between two scorings of the same rankers."""
    names = [n for n in a if a.get(n) is not None and b.get(n) is not None]
    if len(names) < 2:
        return None
    from scipy.stats import kendalltau

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = kendalltau([a[n] for n in names], [b[n] for n in names]).statistic
    return None if tau is None or math.isnan(tau) else float(tau)


def ranker_board(
    info: ClassInfo,
    labels: Sequence[ClassLabel],
    runs: Mapping[str, Run],
    corpus_qrels: Sequence[Qrel],
    per_student: bool = True,
) -> RankerBoard:
    """nDCG@10 per ranker on the class's queries with the class's labels (majority) and with
    the corpus's own labels, Kendall's tau between the two orders, and (per_student) each
    student's labels alone."""
    query_ids = sorted({p.query_id for p in info.pairs})
    ours = _ndcg(runs, class_qrels(info, labels), query_ids)
    theirs = _ndcg(runs, list(corpus_qrels), query_ids)
    students: dict[str, dict[str, float | None]] = {}
    winners: dict[str, list[str]] = {}
    if per_student:
        by_student: dict[str, list[ClassLabel]] = defaultdict(list)
        for lab in labels:
            by_student[lab.student].append(lab)
        for student, own in sorted(by_student.items()):
            scores = _ndcg(runs, class_qrels(info, own), query_ids)
            students[student] = scores
            known = {r: v for r, v in scores.items() if v is not None}
            if known:
                top = max(known.values())
                winners[student] = [r for r, v in known.items() if v == top]
    return RankerBoard(ours, theirs, kendall_tau(ours, theirs), students, winners)
