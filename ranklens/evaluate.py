"""Evaluation: measures by name through ir_measures, per-query tables, statistics and rankings.

Every number comes from ir_measures (pytrec_eval, i.e. trec_eval, underneath); this module only
decides what ranking and which labels are handed over, and does the statistics on the per-query
values that come back. Conventions, fixed here once for the whole app:

* **Which queries count.** Only queries with at least one label (any grade, 0 included) are
  evaluated; queries without labels are left out, as trec_eval does. A labelled query that a
  ranker returned nothing for scores 0 on every measure (trec_eval ``-c``), so every ranker is
  averaged over the same queries and no ranker gains by failing to answer.
* **Unjudged results count as not relevant**, unless ``condensed=True``: then unjudged results
  are removed from each ranking before scoring and the ranks close up (condensed lists, Sakai 2007).
* **Order evaluated = order shown.** trec_eval sorts a run by score, breaking exact ties by
  document id (descending), and ignores the rank column. With ``rank_as_score=True`` (the
  default) we hand ir_measures the scores ``n, n-1, ..., 1`` in our displayed order, so tied
  scores keep the order the user sees and every measure (Judged@k included, whose provider breaks
  ties the other way) sees the same ranking. With untied scores both choices give the same numbers;
  ``rank_as_score=False`` hands over the raw scores, to mimic trec_eval on an exported run file.
* **Levels.** ``level="doc"`` ranks documents: a document takes the place of its best passage
  (:func:`ranklens.types.doc_level`) and labels are per document. ``level="passage"`` evaluates
  passage ids against labels keyed by passage id.
* **Labels.** nDCG's gain is the grade itself (trec_eval); grades <= 0 give no gain. P, R, AP and
  RR count a result as relevant when its grade >= ``rel`` (default 1); ``P(rel=2)@10`` raises it.
  Duplicate labels for the same (query, document) keep the last one.

Per-query results are a long DataFrame with columns ``ranker, query_id, measure, value``, where
``measure`` is the name as the user typed it ("MAP", "nDCG@10").
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ir_measures
import numpy as np
import pandas as pd
from scipy import stats

from ranklens.errors import RankLensError
from ranklens.types import Hit, Run

__all__ = [
    "LEVELS",
    "COLUMNS",
    "EXAMPLE_MEASURES",
    "MeasureSpec",
    "DiscriminativePower",
    "parse_measures",
    "qrels_dict",
    "to_ir_run",
    "evaluate_runs",
    "summary",
    "mean_scores",
    "per_query_table",
    "per_query_differences",
    "paired_t_test",
    "randomization_test",
    "holm",
    "pairwise_significance",
    "significance_matrix",
    "rank_by_mean",
    "borda",
    "discriminative_power",
    "metric_at_k_curve",
    "judged_fraction",
    "judged_warnings",
    "explain_measure",
]

LEVELS = ("doc", "passage")
COLUMNS = ["ranker", "query_id", "measure", "value"]
EXAMPLE_MEASURES = (
    "nDCG@10",
    "P@5",
    "R@100",
    "AP",
    "MAP",
    "RR",
    "MRR",
    "Judged@10",
    "P(rel=2)@10",
    "AP@100",
    "nDCG",
)

Qrels = Iterable[Any] | Mapping[str, Mapping[str, int]]


# --------------------------------------------------------------------------------------------
# Measures by name


class MeasureSpec(NamedTuple):
    """A measure as the user named it (``name``) and as ir_measures computes it (``measure``)."""

    name: str
    measure: Any  # ir_measures.Measure


def _parse_one(name: str) -> Any:
    """ir_measures.parse_measure, forgiving about case ("ndcg@10", "map") and trec_eval names."""
    try:
        return ir_measures.parse_measure(name)
    except (ValueError, NameError, SyntaxError, TypeError):
        pass
    head, sep, tail = name.partition("@")
    base, paren, rest = head.partition("(")
    by_lower = {k.lower(): k for k in ir_measures.measures.registry}
    if base.strip().lower() in by_lower:
        fixed = by_lower[base.strip().lower()] + paren + rest + sep + tail
        try:
            return ir_measures.parse_measure(fixed)
        except (ValueError, NameError, SyntaxError, TypeError):
            pass
    try:  # trec_eval spellings: "map", "ndcg_cut_10", "P_5", "recip_rank", "recall_100"
        with contextlib.redirect_stdout(io.StringIO()):  # it prints what it skips
            parsed = ir_measures.parse_trec_measure(name)
    except Exception:  # noqa: BLE001 - any failure means "not a trec_eval name"
        parsed = []
    if len(parsed) == 1:
        return parsed[0]
    raise ValueError(name)


def parse_measures(names: Sequence[str | MeasureSpec | Any]) -> list[MeasureSpec]:
    """Measures from the names users type, keeping their spelling as the display name.

    Accepts ir_measures syntax ("nDCG@10", "P(rel=2)@10", "AP", "RR", "Judged@10", and the aliases
    "MAP" and "MRR"), the same names in any letter case, and trec_eval names ("ndcg_cut_10",
    "map"). Repeated names are kept once; two spellings of one measure ("AP" and "MAP") are both
    kept and give identical values. A name that is not a measure, or that no installed provider
    computes, raises RankLensError listing valid examples.
    """
    if isinstance(names, str):
        names = [names]
    out: list[MeasureSpec] = []
    seen: set[str] = set()
    for item in names:
        if isinstance(item, MeasureSpec):
            spec = item
        elif isinstance(item, ir_measures.measures.Measure):
            spec = MeasureSpec(str(item), item)
        else:
            name = str(item).strip()
            try:
                measure = _parse_one(name)
            except ValueError:
                raise RankLensError(
                    f"Unknown measure {name!r}. Valid names look like: "
                    + ", ".join(EXAMPLE_MEASURES)
                    + " (k after '@' is the cutoff; rel=N sets the lowest relevant grade)."
                ) from None
            spec = MeasureSpec(name, measure)
        if spec.name in seen:
            continue
        try:
            supported = ir_measures.DefaultPipeline.supports(spec.measure)
        except (ValueError, TypeError) as exc:
            raise RankLensError(f"Measure {spec.name!r} has an invalid parameter: {exc}") from None
        if not supported:
            raise RankLensError(
                f"Measure {spec.name!r} is a valid name but cannot be computed with the installed "
                "evaluation libraries. Try one of: " + ", ".join(EXAMPLE_MEASURES)
            )
        seen.add(spec.name)
        out.append(spec)
    return out


# --------------------------------------------------------------------------------------------
# Converting runs and qrels


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise RankLensError(f"level must be one of {LEVELS}, not {level!r}")


def qrels_dict(qrels: Qrels) -> dict[str, dict[str, int]]:
    """qrels as {query_id: {doc_id: grade}}, from Qrel records (ours or ir_measures') or a dict.

    Query order is first appearance; a repeated (query, doc) keeps the last grade.
    """
    if isinstance(qrels, Mapping):
        return {str(q): {str(d): int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    out: dict[str, dict[str, int]] = {}
    for qrel in qrels:
        docs = out.get(qrel.query_id)
        if docs is None:
            docs = out[qrel.query_id] = {}
        docs[qrel.doc_id] = int(qrel.relevance)
    return out


def to_ir_run(
    run: Run,
    level: str = "doc",
    rank_as_score: bool = True,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    condensed: bool = False,
) -> dict[str, dict[str, float]]:
    """The ranking handed to ir_measures: {query_id: {doc_id: score}}.

    At doc level a document takes its best passage's place (types.doc_level); at passage level
    hits are ordered by rank. With ``qrels`` given, queries without labels are skipped (they are
    not evaluated anyway); ``condensed`` also drops results without a label. Queries left with no
    result are omitted, so they score 0. With ``rank_as_score`` the scores are n, n-1, ..., 1 in
    the displayed order (see the module docstring); otherwise the raw (best passage) scores.
    """
    _check_level(level)
    if condensed and qrels is None:
        raise RankLensError("condensed lists need the qrels")
    out: dict[str, dict[str, float]] = {}
    for qid, hits in run.items():
        judged = None
        if qrels is not None:
            judged = qrels.get(qid)
            if judged is None:
                continue
        keyed = _doc_ranking(hits) if level == "doc" else _passage_ranking(hits)
        if condensed:
            keyed = [(d, s) for d, s in keyed if d in judged]
        scores: dict[str, float] = {}
        if rank_as_score:
            n = len(keyed)
            for i, (d, _) in enumerate(keyed):
                if d not in scores:  # a repeated id keeps its first (best) place
                    scores[d] = float(n - i)
        else:
            for d, s in keyed:
                if d not in scores:
                    scores[d] = float(s)
        if scores:
            out[qid] = scores
    return out


def _doc_ranking(hits: Sequence[Hit]) -> list[tuple[str, float]]:
    """(doc_id, best passage score) in the order of types.doc_level(run)[qid], without new Hits.

    Same rule as doc_level: a document keeps its best-scoring passage (the first one met on
    ties), and documents are ordered by (-score, rank of that passage). When the hits are already
    sorted that way (the usual case) the first occurrences are the answer and no sort is needed.
    """
    best: dict[str, tuple[float, int]] = {}
    ordered = True
    prev_s, prev_r = math.inf, -math.inf
    for _, _, doc, s, r in hits:
        if s > prev_s or (s == prev_s and r < prev_r):
            ordered = False
        prev_s, prev_r = s, r
        b = best.get(doc)
        if b is None or s > b[0]:
            best[doc] = (s, r)
    items = best.items()
    if not ordered:
        items = sorted(items, key=lambda kv: (-kv[1][0], kv[1][1]))
    return [(doc, sr[0]) for doc, sr in items]


def _passage_ranking(hits: Sequence[Hit]) -> list[tuple[str, float]]:
    """(passage_id, score) in rank order (a stable sort by rank when hits are out of order)."""
    prev_r = -math.inf
    for h in hits:
        if h.rank < prev_r:
            hits = sorted(hits, key=lambda h: h.rank)
            break
        prev_r = h.rank
    return [(h.passage_id, h.score) for h in hits]


# --------------------------------------------------------------------------------------------
# Per-query evaluation


def _group_specs(specs: Sequence[MeasureSpec]) -> dict[Any, list[str]]:
    by_measure: dict[Any, list[str]] = {}
    for spec in specs:
        by_measure.setdefault(spec.measure, []).append(spec.name)
    return by_measure


def evaluate_runs(
    runs: Mapping[str, Run],
    qrels: Qrels,
    measures: Sequence[str | MeasureSpec],
    level: str = "doc",
    condensed: bool = False,
    rank_as_score: bool = True,
) -> pd.DataFrame:
    """Per-query values of every measure for every ranker, as a long DataFrame.

    Columns ``ranker, query_id, measure, value``; one row per ranker x labelled query x measure,
    ordered by ranker (as given), measure (as given), query (first appearance in the qrels).
    Queries without labels are excluded; a labelled query missing from a run (or with no hits)
    scores 0, like ``trec_eval -c``. ``condensed=True`` drops unjudged results before scoring.
    One ir_measures evaluator is built for the measures and qrels and reused for every ranker.
    """
    _check_level(level)
    specs = parse_measures(measures)
    qd = qrels_dict(qrels)
    qids = list(qd)
    if not specs or not qids or not runs:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "value" else object) for c in COLUMNS}
        )
    by_measure = _group_specs(specs)
    evaluator = ir_measures.evaluator(list(by_measure), qd)
    n_q = len(qids)
    qpos = {q: i for i, q in enumerate(qids)}
    mpos = {m: i for i, m in enumerate(by_measure)}
    mpos_by_id = {id(m): i for m, i in mpos.items()}
    blocks = []
    for ranker, run in runs.items():
        values = np.zeros((len(by_measure), n_q))
        ir_run = to_ir_run(run, level, rank_as_score, qd, condensed)
        for qid, measure, value in evaluator.iter_calc(ir_run):
            i = qpos.get(qid)
            if i is not None:
                # look measures up by identity first: hashing an ir_measures Measure formats it
                j = mpos_by_id.get(id(measure))
                values[mpos[measure] if j is None else j, i] = value
        blocks.append((ranker, values))
    names = [spec.name for spec in specs]
    # row index into each ranker's values array for every display name, in the user's order
    rows = [mpos[spec.measure] for spec in specs]
    n_m = len(specs)
    ranker_col = np.repeat(np.array([r for r, _ in blocks], dtype=object), n_m * n_q)
    measure_col = np.tile(np.repeat(np.array(names, dtype=object), n_q), len(blocks))
    query_col = np.tile(np.array(qids, dtype=object), n_m * len(blocks))
    value_col = np.concatenate([values[rows].ravel() for _, values in blocks])
    return pd.DataFrame(
        {"ranker": ranker_col, "query_id": query_col, "measure": measure_col, "value": value_col}
    )


# --------------------------------------------------------------------------------------------
# Summaries and tables


def _order(values: Iterable[Hashable]) -> list:
    return list(dict.fromkeys(values))


def summary(per_query: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean per ranker x measure with a t-distribution confidence interval.

    Columns ``ranker, measure, n, mean, std, sem, ci_low, ci_high``: std is the sample standard
    deviation (ddof=1), sem = std / sqrt(n), and the interval is mean -/+ t_{(1+c)/2, n-1} * sem
    (NaN with fewer than two queries). Rankers and measures keep their order of appearance.
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
        tq = np.where(n > 1, stats.t.ppf((1 + confidence) / 2, np.maximum(n - 1, 1)), np.nan)
    out["sem"] = sem
    out["ci_low"] = out["mean"] - tq * sem
    out["ci_high"] = out["mean"] + tq * sem
    return out[cols]


def mean_scores(per_query: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{ranker: {measure: mean over queries}}, the CLI's JSON shape."""
    out: dict[str, dict[str, float]] = {}
    g = per_query.groupby(["ranker", "measure"], sort=False)["value"].mean()
    for (ranker, measure), value in g.items():
        out.setdefault(ranker, {})[measure] = float(value)
    return out


def per_query_table(per_query: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One measure as a wide table: a row per query (index ``query_id``), a column per ranker."""
    sub = per_query[per_query["measure"] == measure]
    if sub.empty:
        raise RankLensError(f"no values for measure {measure!r}")
    wide = sub.pivot(index="query_id", columns="ranker", values="value")
    wide = wide.reindex(index=_order(sub["query_id"]), columns=_order(sub["ranker"]))
    wide.columns.name = None
    return wide


def per_query_differences(per_query: pd.DataFrame, measure: str, a: str, b: str) -> pd.DataFrame:
    """Per-query ``a - b`` for one measure, sorted from a's best win to b's (TREC-style bars).

    Columns ``query_id, <a>, <b>, diff``; ties keep query order.
    """
    wide = per_query_table(per_query, measure)
    for r in (a, b):
        if r not in wide.columns:
            raise RankLensError(f"no values for ranker {r!r}")
    out = pd.DataFrame({"query_id": wide.index, a: wide[a].to_numpy(), b: wide[b].to_numpy()})
    out["diff"] = out[a] - out[b]
    return out.sort_values("diff", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Significance


def _diffs(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise RankLensError("paired tests need two 1-d sequences of the same length")
    return x - y


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided paired t-test p-value for per-query values ``a`` and ``b`` (same query order).

    t = mean(d) / (sd(d) / sqrt(n)) with d = a - b and sd with ddof=1; p = 2 * P(T_{n-1} > |t|).
    Degenerate cases: fewer than two pairs or all differences equal to zero give p = 1; a constant
    non-zero difference (sd = 0) gives p = 0.
    """
    d = _diffs(a, b)
    n = d.size
    if n < 2:
        return 1.0
    mean = d.mean()
    sd = d.std(ddof=1)
    if sd == 0 or sd < 1e-15 * max(1.0, abs(mean)):
        return 1.0 if mean == 0 else 0.0
    t = mean / (sd / math.sqrt(n))
    return float(min(1.0, 2.0 * stats.t.sf(abs(t), n - 1)))


def randomization_test(
    a: Sequence[float],
    b: Sequence[float],
    n_permutations: int = 10_000,
    seed: int = 0,
    exact: bool | None = None,
) -> float:
    """Two-sided paired randomization (sign-flip) test p-value.

    Under the null hypothesis each per-query difference d_i = a_i - b_i is as likely to have had
    the other sign. The statistic is |sum_i s_i d_i| (equivalently |mean|) over sign vectors s;
    the p-value is the share of sign vectors whose statistic is at least the observed one.

    * Exact: when the 2^m sign vectors over the m non-zero differences number at most
      ``n_permutations`` (or ``exact=True``), all are enumerated and p = count / 2^m (the observed
      vector is one of them, so p >= 1/2^m). Zero differences do not change the statistic.
    * Monte Carlo otherwise: ``n_permutations`` random sign vectors from
      ``numpy.random.default_rng(seed)``, and p = (count + 1) / (n_permutations + 1), counting the
      observed assignment once, so p is never 0 and the test keeps its level (Phipson & Smyth 2010).

    Statistics equal to the observed one up to floating rounding (1e-9 relative) count as >=.
    """
    d = _diffs(a, b)
    d = d[d != 0]
    m = d.size
    if m == 0:
        return 1.0
    observed = abs(d.sum())
    tol = 1e-9 * max(float(np.abs(d).sum()), 1e-300)
    threshold = observed - tol
    if exact is None:
        exact = m < 63 and (1 << m) <= n_permutations
    if exact:
        if m > 26:
            raise RankLensError(f"exact enumeration of 2^{m} sign flips is too large")
        count = 0
        total = 1 << m
        # enumerate in blocks: the low bits vary inside a block, the high bits per block
        low = min(m, 16)
        low_bits = ((np.arange(1 << low)[:, None] >> np.arange(low)) & 1).astype(float)
        low_sums = d[:low].sum() - 2.0 * (low_bits @ d[:low])
        high = m - low
        for h in range(1 << high):
            flips = np.array([(h >> j) & 1 for j in range(high)], dtype=float)
            high_sum = d[low:].sum() - 2.0 * float(flips @ d[low:]) if high else 0.0
            count += int(np.count_nonzero(np.abs(low_sums + high_sum) >= threshold))
        return count / total
    rng = np.random.default_rng(seed)
    total_d = d.sum()
    count = 0
    chunk = max(1, min(n_permutations, 4_000_000 // max(m, 1)))
    done = 0
    while done < n_permutations:
        size = min(chunk, n_permutations - done)
        flips = rng.integers(0, 2, size=(size, m), dtype=np.int8)
        sums = total_d - 2.0 * (flips @ d)  # flipping d_i subtracts 2 d_i
        count += int(np.count_nonzero(np.abs(sums) >= threshold))
        done += size
    return (count + 1) / (n_permutations + 1)


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
) -> pd.DataFrame:
    """Every pair of rankers on one measure: paired test, Holm correction across all pairs.

    Columns ``measure, ranker_a, ranker_b, n, mean_a, mean_b, diff (mean_a - mean_b), p, p_holm,
    significant (p_holm < alpha)``. Pairs follow the ranker order (a before b); only queries that
    both rankers have a value for are paired. ``test`` is "randomization" (seeded, see
    randomization_test) or "t" (paired_t_test).
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
        rows.append([measure, a, b, n, mean_a, mean_b, mean_a - mean_b, p])
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


# --------------------------------------------------------------------------------------------
# Curves and judged fraction


def metric_at_k_curve(
    runs: Mapping[str, Run],
    qrels: Qrels,
    base: str = "nDCG",
    ks: Iterable[int] = range(1, 101),
    level: str = "doc",
    condensed: bool = False,
    rank_as_score: bool = True,
) -> pd.DataFrame:
    """Mean ``base@k`` for each k, per ranker: columns ``ranker, k, value``.

    ``base`` is a measure name without a cutoff ("nDCG", "P", "R", "P(rel=2)", "AP", "Judged").
    One evaluator computes every k at once; means are over the labelled queries.
    """
    if "@" in base:
        raise RankLensError(f"base measure {base!r} must not have a cutoff; k comes from ks")
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise RankLensError("every k must be >= 1")
    specs = parse_measures([f"{base}@{k}" for k in ks])
    df = evaluate_runs(runs, qrels, specs, level, condensed, rank_as_score)
    k_of = {spec.name: k for spec, k in zip(specs, ks, strict=True)}
    out = df.groupby(["ranker", "measure"], sort=False)["value"].mean().reset_index()
    out["k"] = out["measure"].map(k_of)
    return out[["ranker", "k", "value"]].reset_index(drop=True)


def judged_fraction(
    runs: Mapping[str, Run],
    qrels: Qrels,
    k: int = 10,
    level: str = "doc",
    rank_as_score: bool = True,
) -> dict[str, float]:
    """Mean Judged@k per ranker: the share of its top k results that carry a label.

    ir_measures' definition: the share of the first min(k, returned) results that are labelled
    (any grade), averaged over labelled queries; a labelled query with no results counts 0.
    """
    df = evaluate_runs(runs, qrels, [f"Judged@{int(k)}"], level, False, rank_as_score)
    means = df.groupby("ranker", sort=False)["value"].mean()
    return {r: float(means.get(r, float("nan"))) for r in runs}


def judged_warnings(
    fractions: Mapping[str, float], threshold: float = 0.8, k: int = 10
) -> list[str]:
    """Warnings for rankers whose top k is less than ``threshold`` judged (from judged_fraction)."""
    out = []
    for ranker, frac in fractions.items():
        if frac is None or math.isnan(frac) or frac < threshold:
            shown = "no" if frac is None or math.isnan(frac) else f"only {frac:.0%} of the"
            out.append(
                f"{ranker}: {shown} top-{k} results are judged (below {threshold:.0%}). "
                "Unjudged results count as not relevant, so its scores may be underestimated; "
                "label more of its results or compare with condensed lists."
            )
    return out


# --------------------------------------------------------------------------------------------
# Explanations


def _cut(measure: Any) -> int | None:
    c = measure.params.get("cutoff")
    return c if isinstance(c, int) else None


def _rel(measure: Any) -> int:
    r = measure.params.get("rel")
    return r if isinstance(r, int) else 1


def explain_measure(measure_name: str) -> str:
    """A short Markdown explanation of how the named measure's number is computed."""
    spec = parse_measures([measure_name])[0]
    m = spec.measure
    name = spec.name
    k = _cut(m)
    rel = _rel(m)
    top = f"the top {k}" if k else "the whole ranking"
    relevant = f"grade >= {rel}"
    unjudged = (
        "Unjudged results count as not relevant (grade 0), unless condensed lists are on: then "
        "they are removed before scoring. The number shown is the mean over the queries that have "
        "labels; a labelled query the ranker returned nothing for scores 0."
    )
    kind = m.NAME
    if kind == "nDCG":
        kk = k if k else "n"
        body = (
            f"**{name}**: normalised discounted cumulative gain over {top}.\n\n"
            "- **Gain** of a result = its relevance grade itself (trec_eval's rule): grade 2 "
            "gives 2; grade 0, negative grades and unjudged results give 0.\n"
            "- **Discount**: the result at rank i is divided by log2(i + 1) (rank 1: 1, rank 2: "
            "1.585, rank 3: 2, ...).\n"
            f"- DCG@{kk} = sum over i = 1..{kk} of gain_i / log2(i + 1).\n"
            f"- **Ideal** DCG@{kk}: the same sum for the query's labelled results sorted by grade, "
            "best first (the best possible ranking); it comes from the qrels, not from what the "
            "ranker retrieved.\n"
            f"- nDCG@{kk} = DCG / ideal DCG, between 0 and 1; 0 when the query has no label above 0."
        )
    elif kind == "P":
        body = (
            f"**{name}**: precision at {k}.\n\n"
            f"- Count the results in the top {k} with {relevant}, and divide by {k}.\n"
            f"- The divisor is always {k}, even when the ranker returned fewer results (trec_eval)."
        )
    elif kind == "R":
        body = (
            f"**{name}**: recall at {k}.\n\n"
            f"- The relevant results ({relevant}) in the top {k}, divided by the number of "
            "relevant labels the query has in the qrels.\n"
            "- 0 when the query has no relevant label."
        )
    elif kind == "AP":
        body = (
            f"**{name}**: average precision{' cut at ' + str(k) if k else ''}.\n\n"
            f"- At each rank i{' <= ' + str(k) if k else ''} holding a relevant result "
            f"({relevant}), take the precision of the first i results.\n"
            "- Sum those precisions and divide by the number of relevant labels the query has in "
            "the qrels (relevant documents never retrieved add 0).\n"
            "- Its mean over queries is MAP."
        )
    elif kind == "RR":
        body = (
            f"**{name}**: reciprocal rank.\n\n"
            f"- 1 / rank of the first relevant result ({relevant}) in {top}; 0 if there is none.\n"
            "- Its mean over queries is MRR."
        )
    elif kind == "Judged":
        body = (
            f"**{name}**: the share of {top} that carries a label (any grade, 0 included).\n\n"
            f"- Divided by {'min(' + str(k) + ', number returned)' if k else 'the number returned'} "
            "(ir_measures' rule).\n"
            "- It measures the labels, not the ranker: below 0.8, the other measures may "
            "underestimate this ranker, because unjudged results count as not relevant."
        )
        unjudged = "The number shown is the mean over the queries that have labels."
    else:
        desc = getattr(m, "SHORT_DESC", "") or (type(m).__doc__ or "").strip().split("\n")[0]
        body = f"**{name}** ({getattr(m, 'PRETTY_NAME', kind)}): {desc}\n\nComputed by ir_measures."
    if kind in ("P", "R", "AP", "RR") and rel != 1:
        body += (
            f"\n- Graded threshold: only grades >= {rel} count as relevant here; lower grades "
            "count as not relevant."
        )
    return body + "\n\n" + unjudged
