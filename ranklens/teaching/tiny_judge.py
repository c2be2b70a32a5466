"""The lesson "Can a tiny model judge?": a small FAQ pool graded by an LLM (the local SmolLM2 by
default), its grades for the FAQ's known answers against the other pooled passages, and, where
people labelled the pool, its agreement with them (weighted kappa with a 95% interval, the
confusion matrix, Kendall's tau of the rankers' order). Numbers are shown as they come out.

Decisions: the pool is the top POOL_DEPTH documents of each ranker for the first POOL_QUERIES
labelled queries of the set (set order), each document judged by the passage the ranker found.
The model's grades are never stored as labels. The kappa interval is a percentile bootstrap over
queries (scipy.stats.bootstrap), since a query's pairs are not independent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from ranklens import models
from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.errors import RankLensError
from ranklens.judges.judge_agreement import JudgeAgreement, judge_agreement
from ranklens.judging.agreement import cohen_kappa
from ranklens.llm.judge import LLMJudge
from ranklens.llm.reports import BatchReport, JudgePair
from ranklens.ranking.rankers import passages_per_doc, rank_all
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Qrel, Query, Run

TITLE = "Can a tiny model judge?"
POOL_QUERIES = 4
POOL_DEPTH = 2
RANK_K = 10  # the rankers' runs for Kendall's tau (nDCG@10)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


@dataclass
class LessonPool:
    """The pairs to grade, which of them are the FAQ's known answers, and the rankers' runs."""

    queries: list[Query]
    pairs: list[JudgePair]
    known: set[tuple[str, str]]  # (query id, doc id) of the known answers (shipped labels > 0)
    runs: dict[str, Run]


@dataclass
class TinyJudgeResult:
    """What the lesson shows."""

    model: str
    report: BatchReport
    grades: pd.DataFrame  # one row per pair
    known_vs_other: pd.DataFrame  # one row per group: pairs, graded, mean grade, grade counts
    agreement: JudgeAgreement | None = None
    kappa_interval: tuple[float, float] | None = None
    text: str = ""
    notes: list[str] = field(default_factory=list)


def lesson_pool(
    corpus: index_mod.Corpus,
    query_set: str,
    known_qrels: Sequence[Qrel],
    *,
    n_queries: int = POOL_QUERIES,
    depth: int = POOL_DEPTH,
) -> LessonPool:
    """Pool the first n labelled queries of the set: each ranker's top `depth` documents."""
    sets = corpus.query_sets()
    if query_set not in sets:
        raise RankLensError(f"corpus {corpus.name!r} has no query set {query_set!r}")
    labelled = {q.query_id for q in known_qrels}
    queries = [q for q in sets[query_set] if q.query_id in labelled][:n_queries]
    if not queries:
        raise RankLensError(f"query set {query_set!r} has no labelled query to pool")
    names = [models.BM25] if models.BM25 in corpus.models() else []
    names += list(corpus.dense_models())[:1]
    if not names:
        raise RankLensError(f"corpus {corpus.name!r} has no index to pool with")
    if len(names) == 2:
        names.append(f"rrf({names[0]},{names[1]})")
    rankers = make_rankers(names, corpus)
    ranked = rank_all(
        rankers, queries, RANK_K, level="doc", passages_per_doc=passages_per_doc(corpus)
    )
    chosen: dict[str, dict[str, str]] = {q.query_id: {} for q in queries}  # doc -> passage
    for name in names:
        for q in queries:
            for hit in ranked.runs[name].get(q.query_id, [])[:depth]:
                chosen[q.query_id].setdefault(hit.doc_id, hit.passage_id)
    known = {(q.query_id, q.doc_id) for q in known_qrels if q.relevance > 0}
    passages = corpus.get_passages([p for docs in chosen.values() for p in docs.values()])
    pairs = [
        JudgePair(q.query_id, q.text, pid, doc, index_text(passages[pid]))
        for q in queries
        for doc, pid in chosen[q.query_id].items()
        if pid in passages
    ]
    return LessonPool(queries, pairs, known, ranked.runs)


def kappa_interval(
    human: dict[tuple[str, str], int],
    judged: dict[tuple[str, str], int],
    grades: Sequence[int],
    weights: str | None = "linear",
) -> tuple[float, float] | None:
    """A 95% percentile-bootstrap interval of weighted kappa, resampling queries; None with
    fewer than two queries or when kappa is undefined in the resamples."""
    units = sorted(set(human) & set(judged))
    by_query: dict[str, list[tuple[str, str]]] = {}
    for u in units:
        by_query.setdefault(u[0], []).append(u)
    qids = sorted(by_query)
    if len(qids) < 2:
        return None

    def kappa(idx: np.ndarray) -> float:
        picked = [u for i in idx for u in by_query[qids[int(i)]]]
        value = cohen_kappa(
            [human[u] for u in picked], [judged[u] for u in picked], grades, weights
        )
        return float("nan") if value is None else value

    res = bootstrap(
        (np.arange(len(qids)),),
        kappa,
        vectorized=False,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        random_state=np.random.default_rng(BOOTSTRAP_SEED),
    )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return None if np.isnan(low) or np.isnan(high) else (low, high)


def _grade_text(j) -> str:
    if j.error:
        return "failed"
    return "no grade (unparseable)" if j.grade is None else str(j.grade)


def run_lesson(
    corpus: index_mod.Corpus,
    query_set: str,
    known_qrels: Sequence[Qrel],
    judge: LLMJudge,
    *,
    people: Sequence[Qrel] = (),
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    pool: LessonPool | None = None,
) -> TinyJudgeResult:
    """Grade the lesson's pool with `judge`; compare with `people` (final human labels at
    document level) where they labelled pooled pairs."""
    pool = pool or lesson_pool(corpus, query_set, known_qrels)
    report = judge.judge(pool.pairs, progress=progress, cancelled=cancelled)
    rows = [
        {
            "query": j.pair.query_id,
            "document": j.pair.doc_id,
            "known answer": (j.pair.query_id, j.pair.doc_id) in pool.known,
            "model's grade": _grade_text(j),
            "reply": (j.reply or j.error or "")[:300],
        }
        for j in report.judgments
    ]
    grades = pd.DataFrame(rows)
    top = judge.scale.max
    groups = []
    for label, is_known in (("the FAQ's known answers", True), ("other pooled passages", False)):
        js = [
            j
            for j in report.judgments
            if ((j.pair.query_id, j.pair.doc_id) in pool.known) == is_known
        ]
        graded = [j.grade for j in js if j.grade is not None]
        row = {
            "passages": label,
            "pairs": len(js),
            "graded": len(graded),
            "mean grade": round(float(np.mean(graded)), 3) if graded else None,
        }
        for g in range(top + 1):
            row[f"grade {g}"] = graded.count(g)
        groups.append(row)
    known_vs_other = pd.DataFrame(groups)
    result = TinyJudgeResult(judge.config.model, report, grades, known_vs_other)
    k, o = groups
    result.text = (
        f"{judge.name} graded {len(report.graded)} of {report.total} pooled pairs "
        f"({len(report.unparseable)} replies without a grade, {len(report.failed)} failed). "
        f"Mean grade of the FAQ's known answers: {_fmt(k['mean grade'])} over {k['graded']}; "
        f"of the other pooled passages: {_fmt(o['mean grade'])} over {o['graded']}. "
        "A judge worth its name grades the known answers clearly higher."
    )
    if report.gave_up:
        result.notes.append(f"The batch stopped: {report.gave_up}")
    note = report.mode_note()
    if note:
        result.notes.append(note)
    pooled = {(p.query_id, p.doc_id) for p in pool.pairs}
    human = {
        (q.query_id, q.doc_id): q.relevance for q in people if (q.query_id, q.doc_id) in pooled
    }
    if not human:
        result.notes.append(
            "No one has labelled these pooled pairs on the Judge page yet: agreement with people "
            "(weighted kappa, the confusion matrix, Kendall's tau of the rankers) appears once "
            "they have."
        )
        return result
    judged = {
        (j.pair.query_id, j.pair.doc_id): j.grade for j in report.judgments if j.grade is not None
    }
    if not set(judged) & set(human):
        result.notes.append(
            "The model graded none of the pairs people labelled: no agreement to show."
        )
        return result
    human_qrels = [Qrel(q, d, g) for (q, d), g in human.items()]
    judged_qrels = [Qrel(q, d, g) for (q, d), g in judged.items()]
    grades_scale = judge.scale.values
    result.agreement = judge_agreement(
        judge.name,
        human_qrels,
        judged_qrels,
        grades_scale,
        weights="linear",
        runs=pool.runs,
        measure="nDCG@10",
        level="doc",
    )
    result.kappa_interval = kappa_interval(human, judged, grades_scale)
    return result


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def agreement_text(result: TinyJudgeResult) -> str:
    """The agreement numbers in words, as they came out."""
    a = result.agreement
    if a is None:
        return ""
    kappa = "undefined" if a.kappa is None else f"{a.kappa:.3f}"
    ci = (
        "no interval (fewer than two queries, or kappa undefined in resamples)"
        if result.kappa_interval is None
        else f"95% interval [{result.kappa_interval[0]:.3f}, {result.kappa_interval[1]:.3f}]"
    )
    tau = "undefined" if a.tau is None else f"{a.tau:.3f}"
    return (
        f"Against people on {a.n} pairs in {a.queries} queries: weighted kappa (linear) {kappa}, "
        f"{ci}; Kendall's tau of the {len(a.rankers)} rankers' order by {a.measure}: {tau}."
    )


def confusion_table(result: TinyJudgeResult) -> pd.DataFrame | None:
    """Rows: people's grade; columns: the model's grade."""
    a = result.agreement
    if a is None:
        return None
    return pd.DataFrame(
        a.confusion,
        index=[f"people {g}" for g in a.grades],
        columns=[f"model {g}" for g in a.grades],
    )
