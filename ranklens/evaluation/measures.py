"""Evaluation: measures by name through ir_measures, per-query tables, metric@k curves, Judged@k.

Every number comes from ir_measures (pytrec_eval, i.e. trec_eval, underneath); this module only
decides what ranking and which labels are handed over. Statistics on the per-query values that
come back live in ranklens.evaluation.stats, explanations of a measure in ranklens.teaching.explain. Conventions,
fixed here once for the whole app:

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
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import ir_measures
import numpy as np
import pandas as pd

from ranklens.errors import RankLensError
from ranklens.types import LEVELS, Hit, Run, check_level

__all__ = [
    "LEVELS",
    "COLUMNS",
    "EXAMPLE_MEASURES",
    "Qrels",
    "MeasureSpec",
    "parse_measures",
    "qrels_dict",
    "to_ir_run",
    "evaluate_runs",
    "mean_scores",
    "per_query_table",
    "per_query_differences",
    "metric_at_k_curve",
    "judged_fraction",
    "judged_warnings",
]

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
    level = check_level(level)
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
    level = check_level(level)
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


def mean_scores(per_query: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{ranker: {measure: mean over queries}}, the CLI's JSON shape."""
    out: dict[str, dict[str, float]] = {}
    g = per_query.groupby(["ranker", "measure"], sort=False)["value"].mean()
    for (ranker, measure), value in g.items():
        out.setdefault(ranker, {})[measure] = float(value)
    return out


def nested_per_query(per_query: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """{ranker: {measure: {query_id: value}}}: the per-query frame as the CLI's JSON and a
    snapshot keep it."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r, q, m, v in per_query[COLUMNS].itertuples(index=False):
        out.setdefault(str(r), {}).setdefault(str(m), {})[str(q)] = float(v)
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
