"""Statistics on per-query values: intervals, paired tests, Holm, rankings of rankers, power.

Tests and intervals come from scipy (ttest_rel, bootstrap, t.interval, permutation_test); this module
fixes the conventions (degenerate cases, ties, seeds) once, for the Evaluate page, the CLI and reports.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ranklens.errors import RankLensError
from ranklens.evaluation.measures import (
    Qrels,
    evaluate_runs,
    parse_measures,
    per_query_table,
    qrels_dict,
)
from ranklens.types import Run

__all__ = [
    "MAX_EXACT",
    "MAX_DRAWS",
    "DiscriminativePower",
    "summary",
    "t_interval",
    "bootstrap_interval",
    "INTERVAL_METHOD",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "interval_name",
    "paired_t_test",
    "paired_t_interval",
    "randomization_test",
    "holm",
    "pairwise_significance",
    "significance_matrix",
    "rank_by_mean",
    "borda",
    "discriminative_power",
]

# the randomization test enumerates every sign vector only up to this many (scipy enumerates in
# Python: 2^16 take about half a second), and never draws more than MAX_DRAWS at random
MAX_EXACT = 1 << 16
MAX_FORCED_EXACT = 1 << 20
MAX_DRAWS = 100_000


def _order(values: Iterable[Hashable]) -> list:
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------------------------
# Intervals


def t_interval(mean: float, sem: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """mean -/+ t_{(1+c)/2, n-1} * sem (scipy.stats.t.interval); NaNs with fewer than two values.

    A zero sem gives the point interval (mean, mean).
    """
    if n < 2 or sem is None or math.isnan(sem):
        return float("nan"), float("nan")
    if sem == 0:
        return float(mean), float(mean)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return float(low), float(high)


# The mean of a bounded, skewed per-query measure (RR, R@100 near 1) gets a bootstrap interval:
# it stays inside the range of the values, where mean +/- t * sem ran past 1 on few queries.
INTERVAL_METHOD = "BCa"
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 0
BCA_MAX_VALUES = 5000  # BCa's jackknife grows with n^2; past this the percentile interval is used


def interval_name(confidence: float = 0.95) -> str:
    """How the summary's intervals are made, in words, for every page, report and command."""
    return (
        f"{confidence:.0%} bootstrap interval ({INTERVAL_METHOD}; percentile past "
        f"{BCA_MAX_VALUES:,} queries; {BOOTSTRAP_RESAMPLES:,} resamples of the queries, "
        f"seed {BOOTSTRAP_SEED})"
    )


def bootstrap_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    method: str = INTERVAL_METHOD,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """A seeded scipy.stats.bootstrap interval of the mean (BCa by default, or percentile).

    Queries are resampled with replacement; the interval never leaves [min, max] of the values.
    NaNs with fewer than two values; equal values give the point interval. Where BCa cannot
    be computed (its acceleration is undefined), the percentile interval is given instead.
    """
    if method.lower() not in ("bca", "percentile"):
        raise RankLensError(f"bootstrap interval: method must be BCa or percentile, not {method!r}")
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return float("nan"), float("nan")
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    bca = method.lower() == "bca" and x.size <= BCA_MAX_VALUES
    kinds = ["BCa", "percentile"] if bca else ["percentile"]
    for kind in kinds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                (x,),
                np.mean,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=kind,
                vectorized=True,
                batch=500,
                random_state=np.random.default_rng(seed),
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isnan(low) or math.isnan(high)):
            # the bootstrap means are means of the values: clip float noise at the range
            return max(low, float(x.min())), min(high, float(x.max()))
    return float("nan"), float("nan")


def summary(per_query: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean per ranker x measure with a seeded bootstrap interval (see ``interval_name``).

    Columns ``ranker, measure, n, mean, std, sem, ci_low, ci_high``: std is the sample standard
    deviation (ddof=1), sem = std / sqrt(n), and the interval is ``bootstrap_interval`` of the
    per-query values (NaN with fewer than two queries). Rankers and measures keep their order of
    appearance.
    """
    if not 0 < confidence < 1:
        raise RankLensError("confidence must be between 0 and 1")
    cols = ["ranker", "measure", "n", "mean", "std", "sem", "ci_low", "ci_high"]
    if per_query.empty:
        return pd.DataFrame(columns=cols)
    g = per_query.groupby(["ranker", "measure"], sort=False)["value"]
    out = g.agg(n="count", mean="mean", std="std").reset_index()
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = out["std"].to_numpy() / np.sqrt(n)
    out["sem"] = sem
    bounds = [bootstrap_interval(v.to_numpy(), confidence) for _, v in g]
    out["ci_low"] = [b[0] for b in bounds]
    out["ci_high"] = [b[1] for b in bounds]
    return out[cols]


# --------------------------------------------------------------------------------------------
# Paired tests


def _diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise RankLensError("paired tests need two 1-d sequences of the same length")
    return x - y


def _constant(d: np.ndarray) -> bool:
    """True when the differences do not vary (up to rounding): t is undefined there."""
    return bool(np.ptp(d) <= 1e-15 * max(1.0, float(np.abs(d).max())))


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p-value for per-query values ``a`` and ``b`` (same query order).

    scipy.stats.ttest_rel: t = mean(d) / (sd(d) / sqrt(n)) with d = a - b and sd with ddof=1;
    p = 2 * P(T_{n-1} > |t|). Degenerate cases, where scipy gives NaN: fewer than two pairs or
    all differences equal to zero give p = 1; a constant non-zero difference (sd = 0) gives 0.
    """
    d = _diffs(a, b)
    if d.size < 2:
        return 1.0
    if _constant(d):
        return 1.0 if np.all(d == 0) else 0.0
    return float(min(1.0, stats.ttest_rel(a, b).pvalue))


def paired_t_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> tuple[float, float]:
    """Confidence interval of the mean difference a - b (scipy.stats.t.interval, n - 1 df)."""
    d = _diffs(a, b)
    if d.size < 2:
        return float("nan"), float("nan")
    sem = 0.0 if _constant(d) else float(d.std(ddof=1) / math.sqrt(d.size))
    return t_interval(float(d.mean()), sem, d.size, confidence)


def randomization_test(
    a: Sequence[float],
    b: Sequence[float],
    n_permutations: int = 10_000,
    seed: int = 0,
    exact: bool | None = None,
) -> float:
    """Two-sided paired randomization (sign-flip) test p-value, by scipy.stats.permutation_test.

    Under the null hypothesis each per-query difference d_i = a_i - b_i is as likely to have had
    the other sign (``permutation_type="samples"`` on the one sample d flips signs). The statistic is
    |sum_i s_i d_i| over sign vectors s; p is the share of them at least as large as observed.

    * Exact, when the 2^m sign vectors over the m non-zero differences number at most
      ``n_permutations`` and MAX_EXACT (or ``exact=True``, up to 2^20): all are enumerated and
      p = count / 2^m (the observed vector is one of them, so p >= 1/2^m). Zero differences do
      not change the statistic and are left out.
    * Monte Carlo otherwise, whatever m: min(n_permutations, MAX_DRAWS) random sign vectors from
      ``numpy.random.default_rng(seed)``, and p = (count + 1) / (draws + 1): the observed
      assignment counts once, so p is never 0 and the test keeps its level (Phipson & Smyth 2010).

    Statistics equal to the observed one up to floating rounding (1e-9 of sum |d_i|) count as >=:
    the statistic is rounded to that grain before scipy compares.
    """
    d = _diffs(a, b)
    d = d[d != 0]
    m = d.size
    if m <= 1:  # both signs of one difference give the same |sum|: p = 2/2 (scipy needs two)
        return 1.0
    scale = float(np.abs(d).sum())
    n_permutations = int(n_permutations)
    if n_permutations < 1:
        raise RankLensError("n_permutations must be at least 1")
    total = 2.0**m
    if exact is None:
        exact = total <= min(n_permutations, MAX_EXACT)
    if exact and total > MAX_FORCED_EXACT:
        raise RankLensError(
            f"exact enumeration of 2^{m} sign flips is too large (at most 2^20): "
            "use the Monte Carlo test (exact=None)"
        )

    def statistic(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.round(np.abs(np.sum(x, axis=axis)) / scale, 9)

    # One sample with permutation_type="samples" is scipy's sign-flip test: each difference
    # keeps or flips its sign (the same null as swapping a_i and b_i, about 3x faster).
    result = stats.permutation_test(
        (d,),
        statistic,
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf if exact else min(n_permutations, MAX_DRAWS),
        alternative="greater",
        batch=20_000,
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


def holm(pvalues: Mapping[Hashable, float]) -> dict[Hashable, float]:
    """Holm-Bonferroni adjusted p-values, same keys.

    Sort the m p-values ascending, p_(1) <= ... <= p_(m); the adjusted value of p_(i) is
    max_{j <= i} min(1, (m - j + 1) p_(j)). Reject where adjusted < alpha. NaN values stay NaN and
    do not count towards m. Equal p-values are ordered by their order in the mapping.
    """
    keys = [k for k, p in pvalues.items() if not (p is None or math.isnan(p))]
    out: dict[Hashable, float] = {k: float("nan") for k in pvalues}
    m = len(keys)
    running = 0.0
    for i, k in enumerate(sorted(keys, key=lambda k: pvalues[k])):
        running = max(running, min(1.0, (m - i) * float(pvalues[k])))
        out[k] = running
    return out


def _run_test(
    test: str, n_permutations: int, seed: int
) -> Callable[[np.ndarray, np.ndarray], float]:
    if test in ("randomization", "permutation"):
        return lambda x, y: randomization_test(x, y, n_permutations=n_permutations, seed=seed)
    if test in ("t", "t-test", "ttest"):
        return paired_t_test
    raise RankLensError(f"test must be 'randomization' or 't', not {test!r}")


def pairwise_significance(
    per_query: pd.DataFrame,
    measure: str,
    test: str = "randomization",
    alpha: float = 0.05,
    n_permutations: int = 10_000,
    seed: int = 0,
    rankers: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Every pair of rankers on one measure: paired test, Holm correction across all pairs.

    Columns ``measure, ranker_a, ranker_b, n, mean_a, mean_b, diff (mean_a - mean_b), diff_low,
    diff_high (paired t interval of diff), p, p_holm, significant (p_holm < alpha)``. Pairs
    follow the ranker order (a before b); only queries that both rankers have a value for are
    paired. ``test`` is "randomization" (seeded, see randomization_test) or "t" (paired_t_test).
    """
    fn = _run_test(test, n_permutations, seed)
    wide = per_query_table(per_query, measure)
    names = list(rankers) if rankers is not None else list(wide.columns)
    cols = [
        "measure",
        "ranker_a",
        "ranker_b",
        "n",
        "mean_a",
        "mean_b",
        "diff",
        "diff_low",
        "diff_high",
        "p",
        "p_holm",
        "significant",
    ]
    rows = []
    for a, b in itertools.combinations(names, 2):
        pair = wide[[a, b]].dropna()
        x, y = pair[a].to_numpy(), pair[b].to_numpy()
        n = len(pair)
        p = fn(x, y) if n else float("nan")
        mean_a = float(x.mean()) if n else float("nan")
        mean_b = float(y.mean()) if n else float("nan")
        low, high = paired_t_interval(x, y, confidence)
        rows.append([measure, a, b, n, mean_a, mean_b, mean_a - mean_b, low, high, p])
    adjusted = holm({i: r[-1] for i, r in enumerate(rows)})
    for i, r in enumerate(rows):
        r.append(adjusted[i])
        r.append(bool(adjusted[i] < alpha))
    return pd.DataFrame(rows, columns=cols)


def significance_matrix(pairs: pd.DataFrame, column: str = "p_holm") -> pd.DataFrame:
    """A symmetric ranker x ranker matrix of ``column`` from pairwise_significance (NaN diagonal)."""
    names = _order(list(pairs["ranker_a"]) + list(pairs["ranker_b"]))
    mat = pd.DataFrame(np.nan, index=names, columns=names)
    for a, b, v in zip(pairs["ranker_a"], pairs["ranker_b"], pairs[column], strict=True):
        mat.loc[a, b] = v
        mat.loc[b, a] = v
    return mat


# --------------------------------------------------------------------------------------------
# Ranking the rankers


def rank_by_mean(per_query: pd.DataFrame, measure: str | None = None) -> pd.DataFrame:
    """Rankers ordered by their mean on one measure (the first in the table when None).

    Columns ``ranker, mean, rank``; rank 1 is best, equal means share the best rank ("min").
    """
    if per_query.empty:
        return pd.DataFrame(columns=["ranker", "mean", "rank"])
    if measure is None:
        measure = per_query["measure"].iloc[0]
    sub = per_query[per_query["measure"] == measure]
    if sub.empty:
        raise RankLensError(f"no values for measure {measure!r}")
    out = sub.groupby("ranker", sort=False)["value"].mean().rename("mean").reset_index()
    out["rank"] = out["mean"].rank(method="min", ascending=False).astype(int)
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


def borda(per_query: pd.DataFrame, measures: Sequence[str] | None = None) -> pd.DataFrame:
    """Borda count over every (query, measure): who wins most often, whatever the margins.

    Rule: in each (query, measure), the rankers with a value are sorted by value, best first; with
    n of them the one at position p (1-based) gets n - p points, so the best gets n - 1 and the
    worst 0. Rankers tied on a value share the average of the points of the positions they span
    (two tied for the top of three get (2 + 1) / 2 = 1.5 each). Points add up over all queries
    and the chosen measures (all when None). Columns ``ranker, points, rank`` (rank 1 = most
    points, equal points share the best rank), most points first.
    """
    df = per_query
    if measures is not None:
        df = df[df["measure"].isin(list(measures))]
    df = df.dropna(subset=["value"])
    if df.empty:
        return pd.DataFrame(columns=["ranker", "points", "rank"])
    grp = df.groupby(["query_id", "measure"], sort=False)["value"]
    position = grp.rank(method="average", ascending=False)
    size = grp.transform("size")
    points = (size - position).rename("points")
    out = points.groupby(df["ranker"], sort=False).sum().reset_index()
    out.columns = ["ranker", "points"]
    out["rank"] = out["points"].rank(method="min", ascending=False).astype(int)
    return out.sort_values("rank", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Discriminative power


@dataclass(frozen=True)
class DiscriminativePower:
    """How many significant differences survive when the labels are subsampled.

    ``pairs`` has one row per ranker pair: ``ranker_a, ranker_b, diff, p_holm, significant`` (all
    labels) and ``survived`` (in how many repeats a pair significant with all labels was again
    significant, in the same direction) and ``survival_rate`` (survived / repeats).
    """

    measure: str
    unit: str
    fraction: float
    repeats: int
    test: str
    alpha: float
    pairs: pd.DataFrame
    significant_full: int
    significant_per_repeat: list[int] = field(default_factory=list)
    survived_per_repeat: list[int] = field(default_factory=list)

    @property
    def survival_rate(self) -> float:
        """Mean share of the all-label significant pairs still significant (NaN if none were)."""
        if self.significant_full == 0 or not self.survived_per_repeat:
            return float("nan")
        return float(np.mean(self.survived_per_repeat)) / self.significant_full

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "unit": self.unit,
            "fraction": self.fraction,
            "repeats": self.repeats,
            "test": self.test,
            "alpha": self.alpha,
            "significant_full": self.significant_full,
            "survival_rate": self.survival_rate,
            "significant_per_repeat": list(self.significant_per_repeat),
            "survived_per_repeat": list(self.survived_per_repeat),
            "pairs": self.pairs.to_dict(orient="records"),
        }


def _subsample_labels(
    qd: Mapping[str, Mapping[str, int]], fraction: float, rng: np.random.Generator
) -> dict[str, dict[str, int]]:
    out = {}
    for qid, docs in qd.items():
        items = list(docs.items())
        keep = max(1, round(fraction * len(items)))
        idx = np.sort(rng.choice(len(items), size=keep, replace=False))
        out[qid] = {items[i][0]: items[i][1] for i in idx}
    return out


def discriminative_power(
    runs: Mapping[str, Run],
    qrels: Qrels,
    measure: str,
    fraction: float = 0.5,
    repeats: int = 20,
    seed: int = 0,
    unit: str = "query",
    test: str = "randomization",
    alpha: float = 0.05,
    n_permutations: int = 10_000,
    level: str = "doc",
    condensed: bool = False,
    rank_as_score: bool = True,
) -> DiscriminativePower:
    """Do the labels collected so far tell the rankers apart? Significance under subsampling.

    First every pair of rankers is tested with all labels (pairwise_significance, Holm-corrected).
    Then, ``repeats`` times, a random ``fraction`` of the labels is kept and the pairs are tested
    again; a pair *survives* a repeat when it is significant there too, in the same direction.

    ``unit`` chooses what is subsampled:

    * ``"query"`` (default): keep round(fraction x labelled queries) queries (at least 2) with all
      their labels, i.e. "had I labelled only half of the queries". Per-query values do not
      change, so the runs are evaluated once.
    * ``"label"``: keep round(fraction x labels) of each query's labels (at least one per query)
      and re-evaluate, i.e. "had I labelled only half of each query's pool"; dropped labels become
      unjudged, so they count as not relevant (or vanish, with ``condensed``).

    Draws come from one ``numpy.random.default_rng(seed)``, in order, so a seed gives the same
    answer every time; the randomization test inside uses ``seed`` too.
    """
    if not 0 < fraction <= 1:
        raise RankLensError("fraction must be in (0, 1]")
    if unit not in ("query", "label"):
        raise RankLensError(f"unit must be 'query' or 'label', not {unit!r}")
    spec = parse_measures([measure])[0]
    qd = qrels_dict(qrels)
    full_df = evaluate_runs(runs, qd, [spec], level, condensed, rank_as_score)
    full = pairwise_significance(full_df, spec.name, test, alpha, n_permutations, seed)
    sign = np.sign(full["diff"].to_numpy())
    sig_full = full["significant"].to_numpy()
    survived = np.zeros(len(full), dtype=int)
    sig_counts: list[int] = []
    surv_counts: list[int] = []
    rng = np.random.default_rng(seed)
    qids = list(qd)
    for _ in range(repeats):
        if unit == "query":
            keep = min(len(qids), max(2, round(fraction * len(qids))))
            chosen = {qids[i] for i in rng.choice(len(qids), size=keep, replace=False)}
            sub_df = full_df[full_df["query_id"].isin(chosen)]
        else:
            sub_df = evaluate_runs(
                runs, _subsample_labels(qd, fraction, rng), [spec], level, condensed, rank_as_score
            )
        sub = pairwise_significance(sub_df, spec.name, test, alpha, n_permutations, seed)
        sig = sub["significant"].to_numpy()
        same = np.sign(sub["diff"].to_numpy()) == sign
        kept = sig_full & sig & same
        survived += kept
        sig_counts.append(int(sig.sum()))
        surv_counts.append(int(kept.sum()))
    pairs = full[["ranker_a", "ranker_b", "diff", "p_holm", "significant"]].copy()
    pairs["survived"] = np.where(sig_full, survived, 0)
    pairs["survival_rate"] = np.where(sig_full, survived / max(repeats, 1), np.nan)
    return DiscriminativePower(
        measure=spec.name,
        unit=unit,
        fraction=fraction,
        repeats=repeats,
        test=test,
        alpha=alpha,
        pairs=pairs,
        significant_full=int(sig_full.sum()),
        significant_per_repeat=sig_counts,
        survived_per_repeat=surv_counts,
    )
