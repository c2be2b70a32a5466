"""Judging against a corpus, headless: pools and suggestions made from its rankers, sessions and
qrels imports checked against it. The Judge page and the CLI (`judgments pool`, `judgments
suggest`, `judgments import`) call these same functions, so they build the same pool.

Queries always come from the corpus (its one owner of query sets); passages are ranked through
rankers.rank_all, the one ranking function. Judging settings stay in the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ranklens import models
from ranklens.corpus import external_docs
from ranklens.corpus.chunking import index_text
from ranklens.corpus.index import Corpus
from ranklens.corpus.lookups import query_texts
from ranklens.corpus.trec_files import read_qrels
from ranklens.errors import InputError, NotFoundError
from ranklens.judging.records import (
    DEFAULT_IMPORT_ANNOTATOR,
    MAX_POOL_DEPTH,
    ImportReport,
    PoolInfo,
    PoolItem,
)
from ranklens.judging.rules import drop_unshown
from ranklens.judging.session import JudgingSession
from ranklens.judging.store import JudgmentStore
from ranklens.models import Scorer
from ranklens.ranking import compare
from ranklens.ranking import rankers as rankers_mod
from ranklens.ranking.recipes import rank_corpus
from ranklens.scale import Scale
from ranklens.types import Query, Run


def query_set_of(corpus: Corpus, name: str) -> list[Query]:
    """The queries of one of the corpus's query sets; NotFoundError naming the sets it has."""
    sets = corpus.query_sets()
    if name not in sets:
        have = ", ".join(sorted(sets)) or "none"
        raise NotFoundError(f"corpus {corpus.name!r} has no query set {name!r}; it has: {have}")
    if not sets[name]:
        raise InputError(None, f"query set {name!r} of corpus {corpus.name!r} has no queries")
    return list(sets[name])


def check_depth(depth: int) -> int:
    """The pool depth, or InputError unless it is from 1 to MAX_POOL_DEPTH."""
    if not isinstance(depth, int) or not 1 <= depth <= MAX_POOL_DEPTH:
        raise InputError(None, f"pool depth must be from 1 to {MAX_POOL_DEPTH}, got {depth!r}")
    return depth


def make_pool(
    store: JudgmentStore,
    corpus: Corpus,
    query_set: str,
    rankers: Sequence[rankers_mod.Ranker],
    depth: int,
    *,
    annotators_per_passage: int | None = None,
    query_ids: Sequence[str] | None = None,
    most_different: int | None = None,
) -> PoolInfo:
    """Rank the corpus's query set with each ranker to `depth` passages (rankers.rank_all) and
    store the pool of their top passages (per query, the union, deduplicated); returns it.
    Ids the corpus lacks are pooled when the system that returned them gave their text
    (external_docs), left out otherwise: PoolInfo.left_out counts those.

    A subset of the set's queries: `query_ids` (each must be in the set), or `most_different`
    = N, the N queries whose first two rankers' top `depth` are least alike (compare.
    most_different: RBO, ties by tau-AP), from the runs the pool is built from.
    annotators_per_passage, when given, is saved in the query set's judging settings first.
    """
    check_depth(depth)
    if not rankers:
        raise InputError(None, "no rankers to pool; name at least one recipe")
    queries = query_set_of(corpus, query_set)
    if query_ids is not None:
        known = {q.query_id for q in queries}
        unknown = [q for q in query_ids if q not in known]
        if unknown:
            raise InputError(
                None, f"query set {query_set!r} has no query {', '.join(map(repr, unknown[:10]))}"
            )
        wanted = set(query_ids)
        queries = [q for q in queries if q.query_id in wanted]
        if not queries:
            raise InputError(None, "choose at least one query to pool")
    if most_different is not None:
        if most_different < 1:
            raise InputError(None, f"most_different must be at least 1, got {most_different}")
        if len(rankers) < 2:
            raise InputError(None, "the most different queries need two rankers to compare")
    if annotators_per_passage is not None:
        store.set_judging_settings(
            corpus.name, query_set, annotators_per_passage=annotators_per_passage
        )
    ranked = rankers_mod.rank_all(rankers, queries, depth, level="passage")
    ids = [q.query_id for q in queries]
    if most_different is not None:
        a, b = (ranked.runs[r.name] for r in rankers[:2])
        order = compare.most_different(a, b, depth, "rbo")
        ids = list(order["query_id"][:most_different])
    found = {h.passage_id for run in ranked.runs.values() for hits in run.values() for h in hits}
    shown = external_docs.passages_for(corpus, sorted(found))  # the corpus's, or a system's text
    runs, left_out = drop_unshown(ranked.runs, depth, shown)
    pool = store.create_pool(corpus.name, query_set, runs, depth, ids)
    pool.left_out = left_out
    return pool


def latest_pool(store: JudgmentStore, corpus: str, query_set: str) -> PoolInfo:
    """The newest pool of a query set; NotFoundError when there is none yet."""
    pools = store.pools(corpus, query_set)
    if not pools:
        raise NotFoundError(
            f"corpus {corpus!r} has no pool for query set {query_set!r} yet; build one "
            f"(python -m ranklens judgments pool --corpus {corpus} --queries {query_set})"
        )
    return pools[-1]


def default_thresholds(scale: Scale) -> list[float]:
    """Cross-encoder logit thresholds spread over -3..5 (one per grade above 0)."""
    m = scale.max
    if m == 1:
        return [0.0]
    return [-3 + 8 * i / (m - 1) for i in range(m)]


def format_thresholds(thresholds: Sequence[float]) -> str:
    """Thresholds as typed: "-3, 1, 5"."""
    return ", ".join(f"{t:g}" for t in thresholds)


def parse_thresholds(text: str) -> list[float]:
    """Numbers separated by commas or spaces; InputError naming what was expected."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise InputError(
            None, f"thresholds {text!r}: expected numbers separated by commas, e.g. -3, 1, 5"
        ) from None


def default_suggestion_model() -> str:
    """The cross-encoder suggestions use unless told otherwise (the first one installed)."""
    names = models.reranker_names()
    if not names:
        raise NotFoundError("no cross-encoder is installed")
    return names[0]


def make_suggestions(
    store: JudgmentStore,
    corpus: Corpus,
    pool: PoolInfo,
    model: str,
    thresholds: Sequence[float],
    *,
    scorer: Scorer | None = None,
) -> list[int]:
    """Score every pool passage with the cross-encoder `model` against its query (the corpus's
    text of it) and store the graded suggestions; returns the grades, in pool order.

    `scorer` is the loaded model (default: models.load_reranker(model)); passages no longer in
    the corpus, and queries the set no longer holds, are left out.
    """
    texts = {q.query_id: q.text for q in corpus.query_sets().get(pool.query_set, [])}
    scorer = scorer if scorer is not None else models.load_reranker(model)
    passages = external_docs.passages_for(corpus, sorted({it.passage_id for it in pool.items}))
    by_query: dict[str, list[PoolItem]] = {}
    for it in pool.items:
        if it.passage_id in passages and it.query_id in texts:
            by_query.setdefault(it.query_id, []).append(it)
    items: list[PoolItem] = []
    scores: list[float] = []
    for qid, its in by_query.items():
        got = scorer.score(texts[qid], [index_text(passages[it.passage_id]) for it in its])
        items += its
        scores += [float(s) for s in got]
    return store.add_suggestions(
        corpus.name, model, items, scores, thresholds, query_set=pool.query_set
    )


def open_session(
    store: JudgmentStore, corpus: Corpus, pool_id: int, annotator: str, seed: int | None = None
) -> JudgingSession:
    """Start (or resume) judging a pool, with the query texts the corpus holds now (a set
    replaced on the Search page reaches the next session)."""
    pool = store.pool(pool_id)
    if pool.corpus != corpus.name:
        raise InputError(
            None, f"pool {pool_id} belongs to corpus {pool.corpus!r}, not {corpus.name!r}"
        )
    queries = corpus.query_sets().get(pool.query_set, [])
    return store.start_session(pool_id, annotator, seed, queries=queries)


def known_query_ids(corpus: Corpus) -> set[str]:
    """The query ids of every query set of the corpus."""
    return set(query_texts(corpus))


def import_labels(
    store: JudgmentStore,
    corpus: Corpus,
    path: str | Path,
    fmt: str | None = None,
    *,
    origin: str | None = None,
    annotator: str = DEFAULT_IMPORT_ANNOTATOR,
    query_set: str | None = None,
    keep_unknown: bool = False,
) -> ImportReport:
    """Import a qrels file into the corpus's labels, all or nothing, checked against the corpus:
    an id is a document id or a passage id of it (looked up, never taken apart), query ids not in
    its query sets are listed. `origin` names the file in errors and the report (an upload's
    own name rather than where it was saved)."""
    origin = origin or str(path)
    try:
        records = list(read_qrels(Path(path), fmt))
    except InputError as exc:
        raise InputError(
            origin if exc.path in (str(path), None) else exc.path, exc.reason, exc.line
        ) from None
    doc_ids = corpus.doc_ids()
    others = sorted({q.doc_id for _, q in records if q.doc_id not in doc_ids})
    passages = {pid: p.doc_id for pid, p in corpus.get_passages(others).items()}
    return store.import_records(
        corpus.name,
        records,
        origin=origin,
        annotator=annotator or DEFAULT_IMPORT_ANNOTATOR,
        query_set=query_set,
        known_doc_ids=doc_ids,
        known_passages=passages,
        known_query_ids=known_query_ids(corpus),
        keep_unknown=keep_unknown,
    )


def agreement_runs(
    corpus: Corpus, specs: Sequence[str], query_set: str, *, k: int = 10, level: str = "doc"
) -> dict[str, Run]:
    """The runs judges_vs_people compares rankers with: each recipe's top k for the query set,
    through rankers.rank_all (the one ranking the pages and the CLI use)."""
    queries = corpus.query_sets().get(query_set, [])
    if not queries:
        raise NotFoundError(f"corpus {corpus.name!r} has no queries in set {query_set!r}")
    return rank_corpus(corpus, specs, queries, k, level).runs
