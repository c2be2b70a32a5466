"""Agreement between annotators: Cohen's kappa, Krippendorff's alpha, disagreements, suggestions.

Pure functions over grades (no store, no UI); ranklens.judging feeds them the current labels.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations

import numpy as np

from ranklens.errors import InputError

WEIGHTS = (None, "linear", "quadratic")  # Cohen's kappa: unweighted, |i-j| or (i-j)^2

# A unit is what gets one grade from each annotator: (query_id, doc_id, passage_id).
Unit = tuple[str, str, str]


def check_weights(weights: str | None) -> str | None:
    """Kappa weights: None (unweighted), "linear" or "quadratic"; else an InputError."""
    if weights not in WEIGHTS:
        raise InputError(
            None, f"unknown kappa weights {weights!r}; expected none, linear or quadratic"
        )
    return weights


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    categories: Sequence[Hashable] | None = None,
    weights: str | None = None,
) -> float | None:
    """Cohen's kappa (scikit-learn) between two raters who graded the same items (a[i] and b[i]
    for item i): the one kappa of RankLens (annotators, judges, preferences against grades).

    weights: None (unweighted), "linear" or "quadratic" (disagreement weight |i-j| or (i-j)^2,
    i and j the positions of the two grades among `categories`). `categories` should be the whole
    scale, so the weights span it; by default the grades seen. Returns None where kappa is
    undefined: no items, or no expected disagreement (both raters used one and the same grade).
    """
    if len(a) != len(b):
        raise ValueError(f"the two raters graded {len(a)} and {len(b)} items; expected the same")
    check_weights(weights)
    if not a:
        return None
    cats = sorted(set(categories) if categories is not None else set(a) | set(b))
    pos = {c: i for i, c in enumerate(cats)}
    missing = (set(a) | set(b)) - set(pos)
    if missing:
        raise ValueError(f"grades {sorted(missing)} are not among the categories {cats}")
    if len(cats) < 2:
        return None  # one grade in all: no expected disagreement
    from sklearn.metrics import cohen_kappa_score  # here: the store imports this module

    with warnings.catch_warnings():  # an undefined kappa (0/0) comes back as nan, said below
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(list(a), list(b), labels=cats, weights=weights))
    return None if math.isnan(value) else value


def krippendorff_alpha(
    units: Mapping[Hashable, Mapping[str, int]],
    level: str = "ordinal",
    values: Sequence[int] | None = None,
) -> float | None:
    """Krippendorff's alpha (the `krippendorff` package) over units -> {annotator: grade}.

    Units with a single grade carry no pairs and are left out. `values` is the scale's value
    domain (default: the grades seen). Returns None where alpha is undefined: fewer than two
    annotators, no unit graded twice, or a single grade used throughout.
    """
    import krippendorff

    pairable = [grades for grades in units.values() if len(grades) >= 2]
    annotators = sorted({name for grades in pairable for name in grades})
    if len(annotators) < 2 or not pairable:
        return None
    seen = {g for grades in pairable for g in grades.values()}
    if len(seen) < 2:
        return None
    row = {name: i for i, name in enumerate(annotators)}
    data = np.full((len(annotators), len(pairable)), np.nan)
    for col, grades in enumerate(pairable):
        for name, grade in grades.items():
            data[row[name], col] = grade
    domain = sorted(set(values) | seen) if values is not None else sorted(seen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        alpha = krippendorff.alpha(
            reliability_data=data, value_domain=domain, level_of_measurement=level
        )
    return None if np.isnan(alpha) else float(alpha)


@dataclass
class PairAgreement:
    """Agreement of two annotators over the units both graded."""

    a: str
    b: str
    n: int  # units both graded
    exact: float | None  # share of those units with the same grade
    kappa: float | None  # Cohen's kappa (weighted as the report says)


@dataclass
class QueryAgreement:
    units: int  # units of this query graded by at least two annotators
    alpha: float | None
    pairs: list[PairAgreement] = field(default_factory=list)


@dataclass
class AgreementReport:
    """Pairwise kappa and Krippendorff's alpha, overall and per query."""

    annotators: list[str]
    units: int  # units graded by at least two annotators
    labels: int  # graded labels looked at
    weights: str | None  # kappa weights: "quadratic" for graded scales, None for binary
    level: str  # alpha's level of measurement
    alpha: float | None
    pairs: list[PairAgreement]
    per_query: dict[str, QueryAgreement]

    def to_dict(self) -> dict:
        """A JSON-ready dict (None stays None: undefined, e.g. one grade used throughout)."""
        return asdict(self)


def _pairs(
    by_unit: Mapping[Unit, Mapping[str, int]],
    annotators: Sequence[str],
    categories: Sequence[int],
    weights: str | None,
) -> list[PairAgreement]:
    out = []
    for a, b in combinations(annotators, 2):
        both = [(g[a], g[b]) for g in by_unit.values() if a in g and b in g]
        if not both:
            continue
        xs, ys = [x for x, _ in both], [y for _, y in both]
        exact = sum(x == y for x, y in both) / len(both)
        out.append(PairAgreement(a, b, len(both), exact, cohen_kappa(xs, ys, categories, weights)))
    return out


def agreement_report(
    labels: Iterable[tuple[Unit, str, int]],
    categories: Sequence[int],
    level: str = "ordinal",
    weights: str | None = "auto",
) -> AgreementReport:
    """Agreement over (unit, annotator, grade) triples (one current graded label each).

    Kappa is quadratic-weighted for a graded scale (more than two categories) and unweighted
    for a binary one, unless `weights` says otherwise; alpha is ordinal by default.
    """
    if weights == "auto":
        weights = "quadratic" if len(categories) > 2 else None
    by_unit: dict[Unit, dict[str, int]] = defaultdict(dict)
    count = 0
    for unit, annotator, grade in labels:
        by_unit[unit][annotator] = grade
        count += 1
    annotators = sorted({a for g in by_unit.values() for a in g})
    shared = {u: g for u, g in by_unit.items() if len(g) >= 2}
    per_query: dict[str, QueryAgreement] = {}
    by_query: dict[str, dict[Unit, dict[str, int]]] = defaultdict(dict)
    for unit, grades in shared.items():
        by_query[unit[0]][unit] = grades
    for qid in sorted(by_query, key=_natural):
        units = by_query[qid]
        names = sorted({a for g in units.values() for a in g})
        per_query[qid] = QueryAgreement(
            len(units),
            krippendorff_alpha(units, level, categories),
            _pairs(units, names, categories, weights),
        )
    return AgreementReport(
        annotators=annotators,
        units=len(shared),
        labels=count,
        weights=weights,
        level=level,
        alpha=krippendorff_alpha(shared, level, categories),
        pairs=_pairs(shared, annotators, categories, weights),
        per_query=per_query,
    )


@dataclass
class Disagreement:
    """A unit whose annotators gave different grades."""

    query_id: str
    doc_id: str
    passage_id: str  # "" for a label on the whole document
    grades: dict[str, int]  # annotator -> grade
    spread: int  # highest grade - lowest grade
    adjudicated: int | None = None  # the adjudicated grade, once there is one


def disagreements(
    labels: Iterable[tuple[Unit, str, int]],
    adjudicated: Mapping[Unit, int] | None = None,
    include_adjudicated: bool = False,
) -> list[Disagreement]:
    """Units graded differently, the widest spread first (then more annotators, then by id)."""
    adjudicated = adjudicated or {}
    by_unit: dict[Unit, dict[str, int]] = defaultdict(dict)
    for unit, annotator, grade in labels:
        by_unit[unit][annotator] = grade
    out = []
    for unit, grades in by_unit.items():
        spread = max(grades.values()) - min(grades.values())
        if spread == 0 or (unit in adjudicated and not include_adjudicated):
            continue
        out.append(Disagreement(*unit, dict(sorted(grades.items())), spread, adjudicated.get(unit)))
    out.sort(
        key=lambda d: (-d.spread, -len(d.grades), _natural(d.query_id), d.doc_id, d.passage_id)
    )
    return out


@dataclass
class SuggestionAgreement:
    """How often model suggestions agree with human labels on the same units."""

    n: int  # (suggestion, human label) pairs compared
    exact: float | None  # share of pairs with the same grade
    kappa: float | None  # Cohen's kappa, suggestion vs human (weighted as `weights`)
    weights: str | None


def suggestion_agreement(
    pairs: Sequence[tuple[int, int]], categories: Sequence[int], weights: str | None = "auto"
) -> SuggestionAgreement:
    """Agreement of (suggested grade, human grade) pairs: exact rate and (weighted) kappa."""
    if weights == "auto":
        weights = "quadratic" if len(categories) > 2 else None
    if not pairs:
        return SuggestionAgreement(0, None, None, weights)
    xs, ys = [s for s, _ in pairs], [h for _, h in pairs]
    exact = sum(s == h for s, h in pairs) / len(pairs)
    return SuggestionAgreement(len(pairs), exact, cohen_kappa(xs, ys, categories, weights), weights)


def _natural(text: str) -> tuple:
    """Sort key putting "2" before "10" (query ids are often numbers)."""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
