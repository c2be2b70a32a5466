"""Evaluation of run files without a corpus, with trec_eval's numbers and options (-c, -M, -l).

Every value comes from ir_measures (trec_eval's measures through its pytrec_eval provider); this
module only decides which ranking, which queries and which relevance level are handed over:

* **Order and -M.** trec_eval ranks a query's documents by score descending, then document id
  descending, and ignores the rank column; ``max_docs`` keeps the first N in that order
  (runfiles.trec_order) before anything is computed, as trec_eval's ``-M N`` does.
* **Which queries, and -c.** A query counts when both the run and the qrels have it (trec_eval's
  default). With ``complete`` every query of the qrels counts and a query the run lacks scores 0
  (``-c``); ir_measures already yields that 0 for every qrels query a run does not answer.
* **-l.** ``relevance_level`` L becomes ``rel=L`` on every measure that takes one (P, AP, RR,
  Rprec, bpref, num_rel, num_rel_ret, iprec_at_recall, ...), unless the name already sets rel;
  nDCG uses the grades themselves and is not changed, as in trec_eval.
* **Summary values.** ir_measures' own aggregators: a sum over queries for the counting measures
  (num_ret, num_rel, num_rel_ret), the mean otherwise; with ``complete`` the mean is over every
  qrels query, as trec_eval -c averages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ir_measures
import pandas as pd
from ir_measures.measures.base import SumAgg

from ranklens.errors import InputError, RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import report, stats
from ranklens.evaluation.snapshots import RUN_FILES  # the snapshots' corpus column for run files
from ranklens.ranking.runfiles import Scores, read_run_scores, scores_to_run, trec_order
from ranklens.types import Hit, Qrel, Run

__all__ = [
    "TREC_SUMMARY",
    "TrecOptions",
    "RunFilesEvaluation",
    "run_names",
    "trec_measures",
    "truncate",
    "evaluate_scores",
    "evaluate_run_files",
    "aggregate",
    "quality_measures",
    "significance",
    "curve",
    "html_report",
    "scores_from_run",
    "run_from_scores",
]

# trec_eval's usual summary, in ir_measures names: counts, MAP, R-precision, bpref, reciprocal
# rank, the 11 interpolated precision points, P at its nine cutoffs, and nDCG over the whole run
TREC_SUMMARY = (
    "NumRet",
    "NumRel",
    "NumRelRet",
    "MAP",
    "Rprec",
    "Bpref",
    "RR",
    *(f"IPrec@{r / 10:.1f}" for r in range(11)),
    *(f"P@{k}" for k in (5, 10, 15, 20, 30, 100, 200, 500, 1000)),
    "nDCG",
)


@dataclass(frozen=True)
class TrecOptions:
    """trec_eval's -c (complete), -M (max_docs) and -l (relevance_level)."""

    complete: bool = False
    max_docs: int | None = None
    relevance_level: int = 1

    def check(self) -> TrecOptions:
        if self.max_docs is not None and int(self.max_docs) < 1:
            raise RankLensError(f"--max-docs must be at least 1, not {self.max_docs}")
        if int(self.relevance_level) < 1:
            raise RankLensError(
                f"--relevance-level must be at least 1 (trec_eval's -l), not {self.relevance_level}"
            )
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": bool(self.complete),
            "max_docs": self.max_docs,
            "relevance_level": int(self.relevance_level),
        }


@dataclass
class RunFilesEvaluation:
    """Run files scored against one qrels: per-query values and trec_eval's summary values."""

    runs: dict[str, Scores]  # as read (before -M), by run name
    per_query: pd.DataFrame  # ranker, query_id, measure, value
    summary: dict[str, dict[str, float]]  # {run: {measure: sum or mean}}, trec_eval's "all"
    measures: list[str]
    options: TrecOptions
    qrels: list[Qrel]
    files: dict[str, str] = field(default_factory=dict)  # run name -> file it came from


def run_names(paths: Sequence[str | Path], names: Sequence[str] | None = None) -> list[str]:
    """Each run's name: --name in order, else the file's name; two runs may not share one."""
    names = list(names or [])
    if len(names) > len(paths):
        raise RankLensError(f"{len(names)} names for {len(paths)} run files")
    out = [names[i] if i < len(names) else Path(p).name for i, p in enumerate(paths)]
    for n in out:
        if not str(n).strip():
            raise RankLensError("a run's name must not be empty")
    seen: set[str] = set()
    for n in out:
        if n in seen:
            raise RankLensError(
                f"two runs are named {n!r}: give each a name with --name (in the order of --run)"
            )
        seen.add(n)
    return out


def _counting(measure: Any) -> bool:
    return isinstance(measure.aggregator(), SumAgg)


def trec_measures(
    names: Sequence[str | ev.MeasureSpec], relevance_level: int = 1
) -> list[ev.MeasureSpec]:
    """Measures by name (ev.parse_measures), with trec_eval's -l applied as rel=L.

    MeasureSpecs pass as they are (they may already carry rel=L, which the default pipeline
    does not list for num_rel); names are parsed and checked.
    """
    if isinstance(names, str):
        names = [names]
    specs = [n if isinstance(n, ev.MeasureSpec) else ev.parse_measures([n])[0] for n in names]
    seen: dict[str, ev.MeasureSpec] = {}
    for spec in specs:
        seen.setdefault(spec.name, spec)  # a name once, where it first appears
    specs = list(seen.values())
    level = int(relevance_level)
    if level == 1:
        return specs
    out = []
    for spec in specs:
        m = spec.measure
        typed_rel = "rel=" in spec.name.replace(" ", "")
        counts_all = m.NAME == "NumRet" and "rel" not in m.params  # num_ret: every document
        if "rel" in m.SUPPORTED_PARAMS and not typed_rel and not counts_all:
            m = m(rel=level)
        out.append(ev.MeasureSpec(spec.name, m))
    return out


def truncate(scores: Mapping[str, Mapping[str, float]], max_docs: int | None) -> Scores:
    """At most max_docs documents per query, the first in trec_eval's order (-M); empty queries
    are dropped (trec_eval never sees a query without a line)."""
    out: Scores = {}
    for qid, docs in scores.items():
        if not docs:
            continue
        if max_docs is None or len(docs) <= max_docs:
            out[qid] = docs  # type: ignore[assignment] - read only from here on
        else:
            out[qid] = dict(trec_order(docs)[: int(max_docs)])
    return out


def _evaluators(specs: Sequence[ev.MeasureSpec], qd: Mapping[str, Mapping[str, int]]) -> list:
    """trec_eval's measures to ir_measures' pytrec_eval provider, any other to its pipeline.

    num_rel at a relevance level above 1 goes to the pytrec_eval provider too: ir_measures lists
    only rel=1 for it (an old pytrec_eval limit), and the tests check the provider's value against
    pytrec_eval at every level.
    """
    provider = ir_measures.pytrec_eval
    trec, other = [], []
    for m in dict.fromkeys(s.measure for s in specs):
        if provider.supports(m) or m.NAME == "NumRel":
            trec.append(m)
        else:
            other.append(m)
    out = []
    if trec:
        out.append(provider.evaluator(trec, qd))
    if other:
        out.append(ir_measures.evaluator(other, qd))
    return out


def evaluate_scores(
    runs: Mapping[str, Mapping[str, Mapping[str, float]]],
    qrels: ev.Qrels,
    measures: Sequence[str | ev.MeasureSpec] = TREC_SUMMARY,
    options: TrecOptions | None = None,
) -> pd.DataFrame:
    """Per-query values, as trec_eval -q prints them: columns ranker, query_id, measure, value.

    ``runs`` maps a name to {query id: {document id: score}}. Rows come for the queries in both
    the run and the qrels (every qrels query with ``options.complete``), ordered by run, measure
    (as given), query (first appearance in the qrels).
    """
    options = (options or TrecOptions()).check()
    specs = trec_measures(measures, options.relevance_level)
    qd = ev.qrels_dict(qrels)
    columns = ev.COLUMNS
    if not specs or not qd or not runs:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "value" else object) for c in columns}
        )
    evaluators = _evaluators(specs, qd)
    names_of: dict[Any, list[str]] = {}
    for spec in specs:
        names_of.setdefault(spec.measure, []).append(spec.name)
    by_id = {id(m): names for m, names in names_of.items()}
    qpos = {q: i for i, q in enumerate(qd)}
    mpos = {spec.name: i for i, spec in enumerate(specs)}
    frames = []
    for ranker, scores in runs.items():
        run = truncate(scores, options.max_docs)
        present = set(run)
        rows = []
        for evaluator in evaluators:
            for metric in evaluator.iter_calc(run):
                qid = metric.query_id
                if qid not in qpos or not (options.complete or qid in present):
                    continue
                names = by_id.get(id(metric.measure))  # identity first: hashing formats it
                if names is None:
                    names = names_of.get(metric.measure, ())
                for name in names:
                    rows.append((ranker, qid, name, float(metric.value)))
        df = pd.DataFrame(rows, columns=columns)
        df = df.assign(_m=df["measure"].map(mpos), _q=df["query_id"].map(qpos))
        frames.append(df.sort_values(["_m", "_q"], kind="stable").drop(columns=["_m", "_q"]))
    return pd.concat(frames, ignore_index=True)


def aggregate(
    per_query: pd.DataFrame, measures: Sequence[str | ev.MeasureSpec], relevance_level: int = 1
) -> dict[str, dict[str, float]]:
    """trec_eval's summary line ("all") per run: ir_measures' aggregator of each measure (a sum
    for num_ret, num_rel, num_rel_ret; the mean otherwise) over the per-query rows."""
    specs = trec_measures(measures, relevance_level)
    agg_of = {s.name: s.measure for s in specs}
    out: dict[str, dict[str, float]] = {}
    for ranker in dict.fromkeys(per_query["ranker"]):
        sub = per_query[per_query["ranker"] == ranker]
        out[ranker] = {}
        for name, measure in agg_of.items():
            agg = measure.aggregator()
            values = sub.loc[sub["measure"] == name, "value"]
            if values.empty:
                out[ranker][name] = float("nan")
                continue
            for v in values:
                agg.add(float(v))
            out[ranker][name] = float(agg.result())
    return out


def quality_measures(measures: Sequence[str | ev.MeasureSpec]) -> list[str]:
    """The measures averaged over queries (not num_ret, num_rel, num_rel_ret): those that paired
    tests, Borda and the report's summary compare."""
    return [s.name for s in ev.parse_measures(measures) if not _counting(s.measure)]


def read_runs(
    paths: Sequence[str | Path], names: Sequence[str] | None = None, fmt: str | None = None
) -> dict[str, Scores]:
    """Every run file read and checked (runfiles.read_run_scores), by run name."""
    chosen = run_names(paths, names)
    return {n: read_run_scores(Path(p), fmt) for n, p in zip(chosen, paths, strict=True)}


def read_uploaded_runs(files: Sequence[tuple[str, bytes]], settings: Any) -> dict[str, Scores]:
    """Uploaded run files (name, bytes), read and checked as files are; each named after its
    upload, and errors name the upload (not a temporary path)."""
    from ranklens.corpus.uploads import temporary_upload

    names = run_names([name for name, _ in files])
    out: dict[str, Scores] = {}
    for name, (upload, data) in zip(names, files, strict=True):
        with temporary_upload(upload, data, settings) as path:
            try:
                out[name] = read_run_scores(path)
            except InputError as exc:
                raise InputError(upload, exc.reason, exc.line) from None
    return out


def evaluate_run_files(
    runs: Mapping[str, Scores],
    qrels: Sequence[Qrel],
    measures: Sequence[str] | None = None,
    options: TrecOptions | None = None,
    files: Mapping[str, str] | None = None,
) -> RunFilesEvaluation:
    """Score read runs against qrels: per-query values and trec_eval's summary values.

    Raises RankLensError when no query has both a result and a label (trec_eval stops there too).
    """
    options = (options or TrecOptions()).check()
    names = list(measures or TREC_SUMMARY)
    specs = trec_measures(names, options.relevance_level)
    if not qrels:
        raise RankLensError("the qrels hold no label")
    labelled = {q.query_id for q in qrels}
    for name, scores in runs.items():
        if not options.complete and not labelled & {q for q, d in scores.items() if d}:
            where = f" ({files[name]})" if files and name in files else ""
            raise RankLensError(
                f"run {name!r}{where} has no query that the qrels label: check that both use "
                "the same query ids (or add --complete to score every labelled query as 0)"
            )
    per_query = evaluate_scores(runs, qrels, specs, options)
    return RunFilesEvaluation(
        runs=dict(runs),
        per_query=per_query,
        summary=aggregate(per_query, specs, options.relevance_level),
        measures=[s.name for s in specs],
        options=options,
        qrels=list(qrels),
        files=dict(files or {}),
    )


def significance(
    result: RunFilesEvaluation, test: str = "randomization", seed: int = 0, alpha: float = 0.05
) -> dict[str, pd.DataFrame]:
    """{measure: stats.pairwise_significance} over the averaged measures (two runs or more)."""
    if len(result.runs) < 2:
        return {}
    table = result.per_query
    return {
        m: stats.pairwise_significance(table, m, test, alpha=alpha, seed=seed)
        for m in quality_measures(result.measures)
    }


def quality_table(result: RunFilesEvaluation) -> pd.DataFrame:
    """The per-query rows of the averaged measures (tests, Borda, intervals use these)."""
    keep = set(quality_measures(result.measures))
    return result.per_query[result.per_query["measure"].isin(keep)].reset_index(drop=True)


def curve(
    result: RunFilesEvaluation, base: str = "nDCG", ks: Sequence[int] = range(1, 101)
) -> pd.DataFrame:
    """Mean base@k per run for each k (columns ranker, k, value), with the same options."""
    ks = [int(k) for k in ks]
    names = [f"{base}@{k}" for k in ks]
    df = evaluate_scores(result.runs, result.qrels, names, result.options)
    if df.empty:
        return pd.DataFrame(columns=["ranker", "k", "value"])
    k_of = dict(zip(names, ks, strict=True))
    out = df.groupby(["ranker", "measure"], sort=False)["value"].mean().reset_index()
    out["k"] = out["measure"].map(k_of)
    return out[["ranker", "k", "value"]].reset_index(drop=True)


def judged(result: RunFilesEvaluation, k: int = 10) -> dict[str, float]:
    """Mean Judged@k per run (ir_measures), over the same queries as the other measures."""
    df = evaluate_scores(result.runs, result.qrels, [f"Judged@{int(k)}"], result.options)
    means = df.groupby("ranker", sort=False)["value"].mean()
    return {r: float(means.get(r, math.nan)) for r in result.runs}


def counts_text(result: RunFilesEvaluation) -> dict[str, str]:
    """The counting measures' sums per run, for a report's settings table."""
    counting = [m for m in result.measures if m not in set(quality_measures(result.measures))]
    return {
        m: ", ".join(f"{r} {result.summary[r][m]:.0f}" for r in result.summary) for m in counting
    }


def html_report(
    result: RunFilesEvaluation,
    sig: Mapping[str, pd.DataFrame] | None = None,
    test: str = "randomization",
    alpha: float = 0.05,
    qrels_name: str = "",
) -> str:
    """The self-contained HTML report (ranklens.evaluation.report) of an evaluation of run files."""
    table = quality_table(result)
    names = list(result.runs)
    measures = quality_measures(result.measures)
    depth = max((len(d) for s in result.runs.values() for d in s.values()), default=1)
    if result.options.max_docs:
        depth = min(depth, result.options.max_docs)
    context: dict[str, object] = {
        "runs": ", ".join(f"{n} ({result.files.get(n, n)})" for n in names),
        "qrels": qrels_name or "uploaded",
        "labels": len(result.qrels),
        "trec_eval options": (
            f"-c {'on' if result.options.complete else 'off'}, "
            f"-M {result.options.max_docs or 'none'}, -l {result.options.relevance_level}"
        ),
        **counts_text(result),
    }
    return report.html_report(
        table,
        title="RankLens evaluation of run files",
        context=context,
        significance=dict(sig or {}),
        test=test,
        alpha=alpha,
        judged=judged(result),
        curve=curve(result, "nDCG", range(1, min(100, depth) + 1)),
        differences=(measures[0], names[0], names[1]) if len(names) > 1 and measures else None,
    )


def run_from_scores(scores: Mapping[str, Mapping[str, float]]) -> Run:
    """A Run in trec_eval's order (passage id = document id), as a snapshot keeps it."""
    return scores_to_run(scores)


def scores_from_run(run: Mapping[str, Sequence[Hit]]) -> Scores:
    """{query: {document: score}} back from a Run kept by a snapshot (the best score per doc)."""
    out: Scores = {}
    for qid, hits in run.items():
        docs = out.setdefault(qid, {})
        for h in hits:
            if h.doc_id not in docs or h.score > docs[h.doc_id]:
                docs[h.doc_id] = float(h.score)
    return out


def check_qrels_file(path: str | Path) -> list[Qrel]:
    """Every label of a qrels file (labels.qrels_from_file), for evaluation without a corpus."""
    from ranklens.evaluation.qrels_sources import qrels_from_file

    if not path:
        raise InputError(None, "evaluating run files needs --qrels FILE")
    return qrels_from_file(path)


# ---------------------------------------------------------------- snapshots of run files


def make_snapshot(name: str, result: RunFilesEvaluation, qrels_name: str = "") -> Any:
    """A snapshot (ranklens.evaluation.snapshots.Snapshot, not stored yet) of an evaluation of run files.

    It keeps every run whole (before -M, in trec_eval's order), the per-query values, trec_eval's
    summary values as its means, the labels' hash and the options, under corpus RUN_FILES.
    """
    import time

    from ranklens.evaluation import snapshots, snapshots_store

    name = snapshots_store.check_name(name, "snapshot")
    if not result.runs:
        raise RankLensError("a snapshot needs at least one run")
    manifest = {
        "format": snapshots.FORMAT,
        "rankers": list(result.runs),
        "models": {},
        "measures": list(result.measures),
        "means": result.summary,
        "level": "doc",
        "queries": int(result.per_query["query_id"].nunique()) if not result.per_query.empty else 0,
        "settings": {
            "source": "run files",
            "files": dict(result.files),
            "qrels_file": qrels_name,
            **result.options.as_dict(),
        },
        "corpus": {"name": RUN_FILES},
        "ranklens": snapshots._package_version("ranklens"),
    }
    return snapshots_store.Snapshot(
        corpus=RUN_FILES,
        name=name,
        query_set=Path(qrels_name).name if qrels_name else "qrels",
        created_at=time.time(),
        labels_hash=snapshots.labels_hash(result.qrels),
        labels_count=len({(q.query_id, q.doc_id) for q in result.qrels}),
        corpus_fingerprint="",
        manifest=manifest,
        per_query=result.per_query.reset_index(drop=True),
        runs={r: run_from_scores(s) for r, s in result.runs.items()},
    )


def gate_tables(
    result: RunFilesEvaluation, snapshot: Any, measure: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(then, now, notes): the snapshot's kept runs and today's, scored on ``measure`` with
    today's labels and options, every labelled query counted (a query a run dropped scores 0)."""
    options = TrecOptions(True, result.options.max_docs, result.options.relevance_level)
    then_runs = {r: scores_from_run(run) for r, run in snapshot.runs.items()}
    now = evaluate_scores(result.runs, result.qrels, [measure], options)
    then = evaluate_scores(then_runs, result.qrels, [measure], options)
    notes = []
    from ranklens.evaluation.snapshots import labels_hash

    if labels_hash(result.qrels) != snapshot.labels_hash:
        notes.append(
            "the labels differ from the snapshot's: both sides are scored with today's labels"
        )
    saved = snapshot.manifest.get("settings", {})
    for key, value in result.options.as_dict().items():
        if key != "complete" and key in saved and saved[key] != value:
            notes.append(f"the snapshot was evaluated with {key}={saved[key]}, now {value}")
    return then, now, notes
