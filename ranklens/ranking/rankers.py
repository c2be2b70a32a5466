"""The Ranker protocol and its optional abilities (SupportsCombine, SupportsPrepare), and rank_all,
the ONE way to rank queries with several rankers at once (by passage or by document).

Levels (rank_all's `level`): "passage" ranks passages. "doc" ranks documents, each by its best
passage (the hit kept is that passage): a ranker's passages are ranked deeper, and deeper again,
until every query holds k documents or the ranker has no more. A composite (SupportsCombine)
names the level each input is ranked at and combines their runs (ranklens.ranking.composites).

The rankers themselves: BM25 and dense in ranklens.ranking.retrievers; fusion and reranking (and
the recipe syntax) in ranklens.ranking.composites; ranklens.ranking.recipes builds them by name.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ranklens.corpus import index as index_mod
from ranklens.errors import RankLensError
from ranklens.types import Query, Run, check_level, doc_level

MAX_K = 1000


class RankerSpecError(RankLensError):
    """A recipe that does not parse, or names a ranker the corpus does not have."""


@runtime_checkable
class Ranker(Protocol):
    """What every ranker is: a name (its recipe) and rank(queries, k), its top k passages."""

    name: str

    def rank(self, queries: Sequence[Query], k: int) -> Run: ...


# The optional abilities, each a protocol of its own (as PyTerrier's SupportsFuseRankCutoff);
# rank_all finds them with isinstance.


@runtime_checkable
class SupportsCombine(Protocol):
    """A composite: built from other rankers, ranked by ranking its inputs (children), then
    combining their runs. rank_all ranks shared inputs once, at the deepest depth any needs."""

    def children(self, k: int, level: str = "passage") -> list[tuple[Ranker, int, str]]: ...

    def combine(
        self, queries: Sequence[Query], runs: list[Run], k: int, level: str = "passage"
    ) -> Run: ...


@runtime_checkable
class SupportsPrepare(Protocol):
    """A ranker with shared work to do before ranking (loading a model): rank_all calls
    prepare() before its clock starts, so that latency is search time, not loading time."""

    def prepare(self) -> None: ...


def check_k(k: int, limit: int = MAX_K) -> int:
    """k as an int in 1..limit, or a RankLensError saying what is allowed."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= limit:
        raise RankLensError(f"k must be an integer from 1 to {limit}, got {k!r}")
    return int(k)


def truncate(run: Run, k: int) -> Run:
    """The top k hits of every query."""
    return {qid: hits[:k] for qid, hits in run.items()}


def passages_per_doc(corpus: index_mod.Corpus) -> float:
    """The corpus's mean number of passages per document (how deep to rank for k documents)."""
    return corpus.passages / max(1, corpus.documents)


def _first_depth(k: int, per_doc: float) -> int:
    """Passages to rank first so that k documents usually remain (deeper again when not)."""
    return min(MAX_K, max(k, math.ceil(k * max(1.0, per_doc) * 1.5)))


# ---------------------------------------------------------------- ranking several rankers at once


@dataclass
class RankedRuns:
    """Runs of several rankers over the same queries, with each ranker's latency.

    latency_ms[name] is what the ranker alone would take: its own work plus that of every input
    it is built from (inputs shared between rankers are computed once, and counted in each).
    own_ms[name] is the time spent in that ranker's own step (both levels, when both ran).
    """

    runs: dict[str, Run]
    latency_ms: dict[str, float]
    wall_ms: float
    own_ms: dict[str, float] = field(default_factory=dict)


_Node = tuple[str, str]  # (ranker name, level)


def _kids(r: Ranker, k: int, level: str) -> list[tuple[Ranker, int, str]]:
    return r.children(k, level) if isinstance(r, SupportsCombine) else []


def _deepen(
    r: Ranker,
    queries: Sequence[Query],
    k: int,
    per_doc: float,
    given: tuple[Run, int] | None = None,
) -> Run:
    """k documents per query from a ranker that ranks passages (each by its best passage).

    Ranking k passages leaves fewer than k documents when a document has several passages in
    the top k, so passages are ranked deeper, and deeper again (up to MAX_K) for the queries
    that still have fewer than k documents while the ranker had more to give. `given`: a
    passage run already made at some depth, used as the first round when deep enough.
    """
    depth = _first_depth(k, per_doc)
    run: Run | None = None
    if given is not None and given[1] >= depth:
        run, depth = given
    pending = list(queries)
    out: Run = {}
    while pending:
        if run is None:
            run = r.rank(pending, depth)
        docs = doc_level({q.query_id: run.get(q.query_id, []) for q in pending})
        again = []
        for q in pending:
            exhausted = len(run.get(q.query_id, [])) < depth or depth >= MAX_K
            if len(docs[q.query_id]) >= k or exhausted:
                out[q.query_id] = docs[q.query_id][:k]
            else:
                again.append(q)
        pending, depth, run = again, min(MAX_K, depth * 2), None
    return {q.query_id: out[q.query_id] for q in queries}


def rank_all(
    rankers: Sequence[Ranker],
    queries: Sequence[Query],
    k: int,
    *,
    level: str = "passage",
    passages_per_doc: float = 1.0,
) -> RankedRuns:
    """Rank the queries with every ranker: the ONE ranking the pages, the CLI and pools use.

    level "passage": each ranker's top k passages. level "doc": each ranker's top k documents,
    a document scored by its best passage (the hit kept); passages are ranked deep enough that
    every query holds k documents whenever the ranker has them, fusions fuse their inputs'
    document rankings and rerankers keep each document's best rescored passage (see the module
    docstring). passages_per_doc (see passages_per_doc()) sets how deep the first round goes.

    Inputs shared by several rankers are ranked once, at the deepest depth any needs. Models
    are loaded before the clock starts: latency_ms and wall_ms measure ranking only.
    """
    k = check_k(k)
    level = check_level(level)
    if not math.isfinite(passages_per_doc) or passages_per_doc <= 0:
        raise RankLensError(f"passages_per_doc must be a positive number, got {passages_per_doc}")
    queries = list(queries)
    need: dict[_Node, int] = {}
    by_name: dict[str, Ranker] = {}

    def walk(r: Ranker, depth: int, lvl: str) -> None:
        node = (r.name, lvl)
        need[node] = max(need.get(node, 0), depth)
        by_name.setdefault(r.name, r)
        for child, d, child_level in _kids(r, depth, lvl):
            walk(child, d, child_level)

    for r in rankers:
        walk(r, k, level)
    for r in by_name.values():  # load models first: latency is search time, not loading time
        if isinstance(r, SupportsPrepare):
            r.prepare()
    start = time.perf_counter()
    done: dict[_Node, Run] = {}
    own: dict[_Node, float] = {}
    subtree: dict[_Node, set[_Node]] = {}

    def evaluate(node: _Node) -> Run:
        if node in done:
            return done[node]
        name, lvl = node
        r, depth = by_name[name], need[node]
        kids = _kids(r, depth, lvl)
        runs = [truncate(evaluate((c.name, cl)), d) for c, d, cl in kids]
        below = {node}.union(*(subtree[(c.name, cl)] for c, _, cl in kids))
        given = None
        if not kids and lvl == "doc" and (name, "passage") in need:  # reuse that passage run
            given = (evaluate((name, "passage")), need[(name, "passage")])
            below.add((name, "passage"))
        t0 = time.perf_counter()
        if kids:
            done[node] = r.combine(queries, runs, depth, lvl)
        elif lvl == "doc":
            done[node] = _deepen(r, queries, depth, passages_per_doc, given)
        else:
            done[node] = r.rank(queries, depth) if queries else {}
        own[node] = (time.perf_counter() - t0) * 1000
        subtree[node] = below
        return done[node]

    out_runs: dict[str, Run] = {}
    for r in rankers:
        out_runs[r.name] = truncate(evaluate((r.name, level)), k)
    latency = {r.name: sum(own[n] for n in subtree[(r.name, level)]) for r in rankers}
    own_ms: dict[str, float] = {}
    for (name, _), ms in own.items():
        own_ms[name] = own_ms.get(name, 0.0) + ms
    return RankedRuns(out_runs, latency, (time.perf_counter() - start) * 1000, own_ms)
