"""A class over a corpus: start one from a pool of its rankers' results, and compute its board
(agreement, disagreements, rankers scored with the class's labels beside the corpus's).

The Judge page's class tab and `python -m ranklens class ...` call these same functions.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ranklens.corpus.index import Corpus
from ranklens.errors import InputError, RankLensError, StoreUnavailable
from ranklens.evaluation.qrels_sources import NoLabelsError, resolve_labels
from ranklens.judging.classes import ClassInfo, ClassLabel, ClassStore, sample_pairs
from ranklens.judging.pooling import make_pool, query_set_of
from ranklens.judging.store import JudgmentStore
from ranklens.ranking.recipes import default_rankers, make_rankers, rank_corpus
from ranklens.scale import Scale
from ranklens.teaching import class_stats
from ranklens.types import Qrel, Query, Run

BOARD_K = 10


def start_class(
    store: JudgmentStore,
    corpus: Corpus,
    query_set: str,
    n_pairs: int,
    *,
    pool_id: int | None = None,
    seed: int | None = None,
    rankers: Sequence[str] | None = None,
    depth: int = 10,
    title: str = "",
    guidelines: str | None = None,
    scale: Scale | None = None,
    created_by: str = "",
) -> ClassInfo:
    """Start a class of n_pairs pairs, a stratified sample of a pool (the given one, or a new
    pool of the corpus's default rankers to `depth`): half likely relevant (found by at least
    half of the pool's rankers, or labelled relevant in the labels that came with the corpus),
    half likely not. Guidelines and scale default to the query set's and the corpus's."""
    queries = query_set_of(corpus, query_set)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    if pool_id is None:
        specs = list(rankers) if rankers else default_rankers(corpus)
        built = make_rankers(specs, corpus)
        pool = make_pool(store, corpus, query_set, built, depth)
    else:
        pool = store.pool(pool_id)
        if pool.corpus != corpus.name or pool.query_set != query_set:
            raise InputError(
                None,
                f"pool {pool_id} is of corpus {pool.corpus!r}, set {pool.query_set!r}, not "
                f"{corpus.name!r}, {query_set!r}",
            )
    found_by = store.pool_provenance(pool.id)
    need = max(1, math.ceil(len(pool.rankers) / 2))
    shipped = corpus.shipped_qrels().get(query_set, [])
    relevant = {(q.query_id, q.doc_id) for q in shipped if q.relevance > 0}
    known = {q.query_id for q in queries}
    candidates = []
    for it in pool.items:
        if it.query_id not in known:
            continue
        rankers_found = found_by.get((it.query_id, it.passage_id), ())
        likely = (
            len(rankers_found) >= need
            or (it.query_id, it.doc_id) in relevant
            or (it.query_id, it.passage_id) in relevant
        )
        candidates.append((it.query_id, it.passage_id, it.doc_id, likely))
    pairs = sample_pairs(candidates, n_pairs, seed)
    if guidelines is None:
        guidelines = store.judging_settings(corpus.name, query_set).guidelines
    return ClassStore(store).create(
        corpus.name,
        query_set,
        pairs,
        scale=scale or store.scale(corpus.name),
        seed=seed,
        title=title,
        guidelines=guidelines,
        pool_id=pool.id,
        created_by=created_by,
    )


def class_queries(corpus: Corpus, info: ClassInfo) -> list[Query]:
    """The class's queries, as the corpus holds them (in the set's order)."""
    wanted = {p.query_id for p in info.pairs}
    return [q for q in query_set_of(corpus, info.query_set) if q.query_id in wanted]


def class_runs(
    corpus: Corpus, info: ClassInfo, rankers: Sequence[str] | None = None, k: int = BOARD_K
) -> dict[str, Run]:
    """Each ranker's top k documents for the class's queries (rankers.rank_all, as everywhere)."""
    specs = list(rankers) if rankers else default_rankers(corpus)
    return rank_corpus(corpus, specs, class_queries(corpus, info), k, "doc").runs


def corpus_qrels(corpus: Corpus, info: ClassInfo, store: JudgmentStore) -> list[Qrel]:
    """The labels the corpus has for the class's queries (shipped, else the store's), document
    level; [] when it has none."""
    try:
        return resolve_labels(
            corpus, info.query_set, class_queries(corpus, info), level="doc", store=store
        ).qrels
    except StoreUnavailable:
        raise
    except (NoLabelsError, RankLensError):  # no labels, or labels for other queries only
        return []


@dataclass
class Board:
    """Everything the live board shows, computed at one moment."""

    info: ClassInfo
    students: list[str]
    labels: list[ClassLabel]
    progress: list[tuple[str, int, int]]
    fleiss: class_stats.Estimate
    alpha: class_stats.Estimate
    widest: list[class_stats.WidePair]
    rankers: class_stats.RankerBoard | None
    computed_in_ms: float

    def to_dict(self) -> dict:
        r = self.rankers
        return {
            "class": self.info.to_dict(),
            "students": len(self.students),
            "labels": len(self.labels),
            "progress": [{"student": s, "done": d, "total": t} for s, d, t in self.progress],
            "fleiss_kappa": self.fleiss.to_dict(),
            "krippendorff_alpha": self.alpha.to_dict(),
            "widest": [
                {
                    "query_id": w.query_id,
                    "passage_id": w.passage_id,
                    "spread": w.spread,
                    "grades": w.grades,
                    "reasons": w.reasons,
                }
                for w in self.widest
            ],
            "rankers": None
            if r is None
            else {
                "class": r.class_scores,
                "corpus": r.corpus_scores,
                "kendall_tau": r.tau,
                "per_student": r.student_scores,
            },
        }


def board(
    classes: ClassStore,
    info: ClassInfo,
    runs: Mapping[str, Run] | None = None,
    corpus_labels: Sequence[Qrel] = (),
    *,
    per_student: bool = True,
) -> Board:
    """The board's numbers from the stored labels now (runs and corpus labels are computed
    once per class by the caller: class_runs, corpus_qrels)."""
    t0 = time.perf_counter()
    info = classes.get(info.id)
    students = classes.students(info.id)
    labels = classes.labels(info.id)
    rankers = None
    if runs:
        rankers = class_stats.ranker_board(info, labels, runs, corpus_labels, per_student)
    return Board(
        info=info,
        students=students,
        labels=labels,
        progress=class_stats.progress(info, labels, students),
        fleiss=class_stats.fleiss(info, labels, info.seed),
        alpha=class_stats.alpha(info, labels, info.seed),
        widest=class_stats.widest(info, labels),
        rankers=rankers,
        computed_in_ms=(time.perf_counter() - t0) * 1000,
    )
