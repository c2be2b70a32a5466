"""Fusion tuning: sweep RRF k and weighted sums (min-max, z-score) against labels, cross-validated.

Each input is ranked ONCE, deep; every grid point is fused in memory by composites.Fusion.combine
(the same code as the recipe it names), scored through ranklens.evaluation.measures and ranklens.evaluation.stats.

How a choice is kept honest: the queries are split into K folds (seeded). For each fold the
recipe with the best mean on the OTHER folds is chosen, and its per-query values on the fold
itself are its held-out values; every query is held out exactly once, so the held-out vector
covers all labelled queries and can be paired with each input alone and with plain rrf(...).
The recipe "chosen overall" is the best on all queries (the one to deploy); its own in-sample
mean is optimistic, the held-out mean is the estimate of what tuning gains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import stats
from ranklens.ranking import composites
from ranklens.ranking import rankers as rk
from ranklens.ranking.recipes import make_rankers, rank_corpus
from ranklens.types import Query, Run

RRF_KS = (1, 5, 10, 20, 60, 100)
WEIGHT_STEP = 0.1
NORMS = ("minmax", "z")
DEFAULT_FOLDS = 5
DEFAULT_DEPTH = composites.FUSION_DEPTH


@dataclass(frozen=True)
class Candidate:
    """One grid point: its recipe (the canonical ranker name) and what it is made of."""

    recipe: str
    method: str  # "rrf" or "wsum"
    rrf_k: int | None = None
    weights: tuple[float, ...] | None = None
    norm: str | None = None


class FixedRun:
    """A ranker that returns a run ranked once before (so fusion can be swept in memory)."""

    def __init__(self, name: str, run: Run) -> None:
        self.name = name
        self.run = run

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        return {q.query_id: self.run.get(q.query_id, [])[:k] for q in queries}


def weight_grid(n: int, step: float = WEIGHT_STEP) -> list[tuple[float, ...]]:
    """Every weight vector of n non-negative multiples of step that sum to 1 (n >= 2)."""
    if n < 2:
        raise RankLensError("fusion tuning needs at least two rankers")
    units = round(1 / step)
    if units < 1 or not math.isclose(units * step, 1.0):
        raise RankLensError(f"weight step must divide 1 (e.g. 0.1, 0.25), got {step!r}")

    def parts(left: int, slots: int) -> list[tuple[int, ...]]:
        if slots == 1:
            return [(left,)]
        return [(i, *rest) for i in range(left, -1, -1) for rest in parts(left - i, slots - 1)]

    return [tuple(round(u / units, 10) for u in p) for p in parts(units, n)]


def _fusion(inputs: Sequence[rk.Ranker], cand: Candidate, depth: int) -> composites.Fusion:
    if cand.method == "rrf":
        return composites.Fusion(inputs, "rrf", rrf_k=cand.rrf_k or composites.RRF_K, depth=depth)
    return composites.Fusion(
        inputs, "wsum", list(cand.weights or ()), depth=depth, norm=cand.norm or "minmax"
    )


def candidates(
    names: Sequence[str],
    rrf_ks: Sequence[int] = RRF_KS,
    step: float = WEIGHT_STEP,
    norms: Sequence[str] = NORMS,
    depth: int = DEFAULT_DEPTH,
) -> list[Candidate]:
    """The grid in a fixed order (RRF by k, then wsum by norm and weights from the first input
    down); ties in a fold's choice go to the earlier point. Plain rrf (k=60) is always in it."""
    if len(set(names)) != len(names):
        raise RankLensError(f"a ranker is named twice: {', '.join(names)}")
    stand_ins = [FixedRun(n, {}) for n in names]
    out: list[Candidate] = []
    for k in dict.fromkeys([*rrf_ks, composites.RRF_K]):
        cand = Candidate("", "rrf", rrf_k=int(k))
        out.append(Candidate(_fusion(stand_ins, cand, depth).name, "rrf", rrf_k=int(k)))
    for norm in norms:
        for w in weight_grid(len(names), step):
            cand = Candidate("", "wsum", weights=w, norm=norm)
            name = _fusion(stand_ins, cand, depth).name
            out.append(Candidate(name, "wsum", weights=w, norm=norm))
    return out


def fold_of(query_ids: Sequence[str], folds: int, seed: int = 0) -> dict[str, int]:
    """query id -> fold (0..folds-1): a seeded shuffle dealt round-robin (sizes differ by <= 1)."""
    ids = list(dict.fromkeys(query_ids))
    if not 2 <= folds <= len(ids):
        raise RankLensError(
            f"folds must be from 2 to the number of labelled queries ({len(ids)}), got {folds}"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[i]: pos % folds for pos, i in enumerate(order)}


@dataclass
class FoldResult:
    fold: int
    recipe: str  # chosen on the other folds
    train_mean: float
    test_mean: float
    train_queries: list[str]
    test_queries: list[str]


@dataclass
class CrossValidation:
    """Per-fold choices and the held-out value of every query (from its own fold's choice)."""

    folds: list[FoldResult]
    heldout: pd.Series  # query_id -> value of the recipe its fold chose
    chosen_by: pd.Series  # query_id -> that recipe


def cross_validate(values: pd.DataFrame, fold: Mapping[str, int]) -> CrossValidation:
    """Choose per fold on the other folds' queries only; score the choice on the fold.

    ``values``: one row per query (index query_id), one column per recipe in grid order.
    The choice for fold f is the column with the highest mean over queries NOT in f (the first
    such column on ties, means compared to 12 decimals); nothing of fold f enters it.
    """
    qids = list(values.index)
    missing = [q for q in qids if q not in fold]
    if missing:
        raise RankLensError(f"queries without a fold: {', '.join(map(str, missing[:5]))}")
    matrix = values.to_numpy(dtype=float)
    labels = np.array([fold[q] for q in qids])
    heldout = pd.Series(np.nan, index=values.index, dtype=float)
    chosen_by = pd.Series("", index=values.index, dtype=object)
    results = []
    for f in sorted(set(labels.tolist())):
        test = labels == f
        train = ~test
        means = np.round(matrix[train].mean(axis=0), 12)
        best = int(np.argmax(means))
        heldout[test] = matrix[test, best]
        chosen_by[test] = values.columns[best]
        results.append(
            FoldResult(
                fold=f,
                recipe=str(values.columns[best]),
                train_mean=float(matrix[train, best].mean()),
                test_mean=float(matrix[test, best].mean()),
                train_queries=[q for q, t in zip(qids, train, strict=True) if t],
                test_queries=[q for q, t in zip(qids, test, strict=True) if t],
            )
        )
    return CrossValidation(results, heldout, chosen_by)


@dataclass
class TuneResult:
    """What `tune` reports: per-fold choices, the overall choice, held-out score against baselines."""

    measure: str
    level: str
    folds: list[FoldResult]
    chosen: str  # best on all queries: the recipe to use
    chosen_mean: float  # its in-sample mean (optimistic)
    heldout_mean: float
    heldout_ci: tuple[float, float]
    n_queries: int
    comparisons: (
        pd.DataFrame
    )  # baseline, mean, ci_low, ci_high, diff, diff_low, diff_high, p, p_holm, significant
    grid: pd.DataFrame  # recipe, mean (all queries), folds_chosen
    heldout: pd.Series
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "level": self.level,
            "n_queries": self.n_queries,
            "settings": self.settings,
            "folds": [
                {
                    "fold": f.fold,
                    "recipe": f.recipe,
                    "train_mean": f.train_mean,
                    "test_mean": f.test_mean,
                    "n_train": len(f.train_queries),
                    "n_test": len(f.test_queries),
                }
                for f in self.folds
            ],
            "chosen": self.chosen,
            "chosen_mean_all_queries": self.chosen_mean,
            "heldout": {
                "mean": self.heldout_mean,
                "ci_low": self.heldout_ci[0],
                "ci_high": self.heldout_ci[1],
            },
            "comparisons": _records(self.comparisons),
            "grid": _records(self.grid),
        }


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})
    return out


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    return stats.bootstrap_interval(values, confidence)


def tune_runs(
    input_runs: Mapping[str, Run],
    queries: Sequence[Query],
    qrels: ev.Qrels,
    measure: str = "nDCG@10",
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    level: str = "doc",
    depth: int = DEFAULT_DEPTH,
    rrf_ks: Sequence[int] = RRF_KS,
    step: float = WEIGHT_STEP,
    norms: Sequence[str] = NORMS,
    test: str = "randomization",
    alpha: float = 0.05,
    confidence: float = 0.95,
    n_permutations: int = 10_000,
) -> TuneResult:
    """Tune fusion of runs ranked once (name -> Run, each at least `depth` deep where it can be).

    Only labelled queries count (ranklens.evaluation.measures's convention). The held-out vector is paired
    with each input alone and plain rrf(...) (k=60); p-values are Holm-corrected across them.
    """
    names = list(input_runs)
    if len(names) < 2:
        raise RankLensError("fusion tuning needs at least two rankers")
    spec = ev.parse_measures([measure])
    if len(spec) != 1:
        raise RankLensError(f"give one measure to tune for, got {measure!r}")
    for norm in norms:
        if norm not in NORMS:
            raise RankLensError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    depth = rk.check_k(depth)
    qd = ev.qrels_dict(qrels)
    labelled = [q for q in queries if q.query_id in qd]
    if len(labelled) < folds:
        raise RankLensError(
            f"{len(labelled)} of {len(queries)} queries have labels: too few for {folds} folds"
        )
    grid = candidates(names, rrf_ks, step, norms, depth)
    inputs = [FixedRun(n, input_runs[n]) for n in names]
    runs_in = [inp.rank(labelled, depth) for inp in inputs]
    fused: dict[str, Run] = {}
    for cand in grid:
        fused[cand.recipe] = _fusion(inputs, cand, depth).combine(labelled, runs_in, depth, level)
    all_runs = {**{n: r for n, r in zip(names, runs_in, strict=True)}, **fused}
    per_query = ev.evaluate_runs(all_runs, qd, spec, level)
    wide = ev.per_query_table(per_query, spec[0].name)
    values = wide[[c.recipe for c in grid]]
    fold = fold_of(list(values.index), folds, seed)
    cv = cross_validate(values, fold)

    overall = np.round(values.to_numpy(dtype=float).mean(axis=0), 12)
    best = int(np.argmax(overall))
    heldout = cv.heldout.to_numpy(dtype=float)
    plain_rrf = next(c.recipe for c in grid if c.method == "rrf" and c.rrf_k == composites.RRF_K)
    rows, pvals = [], {}
    test_fn = _test(test, n_permutations, seed)
    for base in [*names, plain_rrf]:
        b = wide[base].to_numpy(dtype=float)
        low, high = _interval(b, confidence)
        d_low, d_high = stats.paired_t_interval(heldout, b, confidence)
        p = test_fn(heldout, b)
        pvals[base] = p
        rows.append(
            [base, float(b.mean()), low, high, float((heldout - b).mean()), d_low, d_high, p]
        )
    adjusted = stats.holm(pvals)
    cols = ["baseline", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high", "p"]
    comparisons = pd.DataFrame(rows, columns=cols)
    comparisons["p_holm"] = [adjusted[r[0]] for r in rows]
    comparisons["significant"] = comparisons["p_holm"] < alpha
    chosen_counts = pd.Series([f.recipe for f in cv.folds]).value_counts()
    grid_df = pd.DataFrame(
        {
            "recipe": [c.recipe for c in grid],
            "mean": values.mean(axis=0).to_numpy(dtype=float),
            "folds_chosen": [int(chosen_counts.get(c.recipe, 0)) for c in grid],
        }
    )
    return TuneResult(
        measure=spec[0].name,
        level=level,
        folds=cv.folds,
        chosen=grid[best].recipe,
        chosen_mean=float(values.iloc[:, best].mean()),
        heldout_mean=float(heldout.mean()),
        heldout_ci=_interval(heldout, confidence),
        n_queries=len(values.index),
        comparisons=comparisons,
        grid=grid_df,
        heldout=cv.heldout,
        settings={
            "folds": folds,
            "seed": seed,
            "depth": depth,
            "rrf_ks": list(rrf_ks),
            "weight_step": step,
            "norms": list(norms),
            "test": test,
            "alpha": alpha,
            "confidence": confidence,
        },
    )


def _test(test: str, n_permutations: int, seed: int):
    if test in ("randomization", "permutation"):
        return lambda a, b: stats.randomization_test(a, b, n_permutations=n_permutations, seed=seed)
    if test in ("t", "t-test", "ttest"):
        return stats.paired_t_test
    raise RankLensError(f"test must be 'randomization' or 't', not {test!r}")


def tune(
    corpus: Any,
    specs: Sequence[str],
    queries: Sequence[Query],
    qrels: ev.Qrels,
    measure: str = "nDCG@10",
    *,
    level: str = "doc",
    depth: int = DEFAULT_DEPTH,
    **options: Any,
) -> TuneResult:
    """Rank the labelled queries once with each input (rankers.rank_all), then tune_runs
    (`options` are its own: folds, seed, the grid, the test)."""
    qd = ev.qrels_dict(qrels)
    labelled = [q for q in queries if q.query_id in qd]
    if not labelled:
        raise RankLensError("none of the queries has a label: nothing to tune against")
    inputs = make_rankers(list(specs), corpus)
    names = [r.name for r in inputs]
    if len(set(names)) != len(names):
        raise RankLensError(f"a ranker is named twice: {', '.join(names)}")
    ranked = rank_corpus(corpus, inputs, labelled, rk.check_k(depth), level)
    runs = {n: ranked.runs[n] for n in names}
    return tune_runs(runs, labelled, qd, measure, level=level, depth=depth, **options)
