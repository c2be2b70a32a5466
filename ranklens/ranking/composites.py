"""Rankers built from rankers (SupportsCombine): reciprocal rank fusion and weighted sums of
normalised scores, and a cross-encoder rescoring a first stage; the recipe syntax naming them.

Recipe syntax (a ranker's name is its recipe, the same string in the app, the CLI and run files;
ranklens.ranking.recipes parses it):

    bm25                                  the corpus's BM25 index
    all-MiniLM-L6-v2                      a dense model indexed for the corpus (any indexed name)
    rrf(A,B[,...][,k=60][,depth=100])     reciprocal rank fusion: sum of 1/(k + rank)
    wsum(A:0.3,B:0.7[,depth=100])         weighted sum of min-max normalised scores (weights
                                          optional, equal by default)
    wsum(A:0.3,B:0.7,norm=z)              the same over z-scores (s - mean) / sd of each list
    rerank(A,CROSS_ENCODER[,DEPTH])       the cross-encoder rescores A's top DEPTH (default 100)

A, B are recipes themselves, so nesting is allowed: `rerank(rrf(bm25,all-MiniLM-L6-v2),
ms-marco-MiniLM-L-12-v2,50)`. Spaces are ignored; a model name may not contain `(`, `)` or `,`.
Fusion ranks each input to max(k, depth) (passages, or documents at document level); an item
missing from one input's list gets nothing from it (RRF) or its floor (weighted sum: 0 under
min-max, the input's lowest z-score under norm=z). A reranker returns at most DEPTH hits.

At document level (rank_all's level "doc") a fusion fuses its inputs' DOCUMENT rankings (an input
scores a document by its best passage; rrf over document ranks, wsum over min-max of document
scores), and a reranker rescores its first stage's top DEPTH passages, then keeps each document's
best rescored passage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ranklens import models
from ranklens.corpus import external_docs
from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.ranking.rankers import Ranker, RankerSpecError, check_k, rank_all, truncate
from ranklens.types import Hit, Query, Run, check_level, doc_level

RRF_K = 60
FUSION_DEPTH = 100
RERANK_DEPTH = 100

ScorerLoader = Callable[[str], models.Scorer]


# ---------------------------------------------------------------- composites


class Composite:
    """A ranker built from other rankers: rank each input (children), then combine.

    rank() is the passage-level ranking; rank_all(..., level="doc") asks children() and
    combine() for the document level (each child at the level it names).
    """

    name: str

    def children(self, k: int, level: str = "passage") -> list[tuple[Ranker, int, str]]:
        """The inputs, with the depth and level each must be ranked at, for a top k at `level`."""
        raise NotImplementedError

    def combine(
        self, queries: Sequence[Query], runs: list[Run], k: int, level: str = "passage"
    ) -> Run:
        """The top k at `level` from the children's runs (in children()'s order)."""
        raise NotImplementedError

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        return rank_all([self], queries, k).runs[self.name]


def _fmt_weight(w: float) -> str:
    return format(w, "g")


def rrf_scores(lists: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion: id -> sum over lists of 1 / (k + rank), ranks from 1."""
    out: dict[str, float] = {}
    for ids in lists:
        for rank, pid in enumerate(ids, 1):
            out[pid] = out.get(pid, 0.0) + 1.0 / (k + rank)
    return out


def minmax(scores: Sequence[float]) -> list[float]:
    """Scores scaled to [0, 1] by (s - min) / (max - min); all 1.0 when every score is equal."""
    if not len(scores):
        return []
    lo, hi = min(scores), max(scores)
    if hi == lo:
        return [1.0] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def zscore(scores: Sequence[float]) -> list[float]:
    """Scores as (s - mean) / sd (population sd); all 0.0 when every score is equal."""
    if not len(scores):
        return []
    arr = np.asarray(scores, dtype=float)
    sd = float(arr.std())
    if sd == 0 or not math.isfinite(sd):
        return [0.0] * len(arr)
    return ((arr - arr.mean()) / sd).tolist()


NORMS = ("minmax", "z")


def wsum_scores(
    lists: Sequence[Sequence[tuple[str, float]]],
    weights: Sequence[float],
    norm: str = "minmax",
) -> dict[str, float]:
    """Weighted sum of normalised scores, norm "minmax" (default) or "z" (z-scores).

    An id missing from a list gets that list's lowest normalised score from it: 0 under min-max,
    the lowest z-score under "z" (an item below an input's cut-off is not average for it).
    """
    out: dict[str, float] = {}
    floor = 0.0
    for hits, w in zip(lists, weights, strict=True):
        normed = (zscore if norm == "z" else minmax)([s for _, s in hits])
        low = min(normed) if norm == "z" and normed else 0.0
        floor += w * low
        for (pid, _), s in zip(hits, normed, strict=True):
            out[pid] = out.get(pid, 0.0) + w * (s - low)
    return {pid: s + floor for pid, s in out.items()}


def _first_per_doc(hits: Sequence[Hit]) -> list[Hit]:
    seen: dict[str, Hit] = {}
    for h in hits:
        seen.setdefault(h.doc_id, h)
    return list(seen.values())


class Fusion(Composite):
    """Fuse two or more rankers: "rrf" (reciprocal rank fusion) or "wsum" (min-max weighted sum).

    By passage it fuses the inputs' passage rankings; by document (level "doc") it fuses their
    document rankings, a document scored by its best passage in each. Ties are broken by the
    best rank an item has in any input, then by its id. A fused document's hit is the passage
    through which it ranks best in an input (the earlier input on ties).
    """

    def __init__(
        self,
        rankers: Sequence[Ranker],
        method: str = "rrf",
        weights: Sequence[float] | None = None,
        rrf_k: int = RRF_K,
        depth: int = FUSION_DEPTH,
        norm: str = "minmax",
    ) -> None:
        if method not in ("rrf", "wsum"):
            raise RankerSpecError(f"unknown fusion method {method!r}; expected rrf or wsum")
        if len(rankers) < 2:
            raise RankerSpecError(f"{method} needs at least two rankers")
        names = [r.name for r in rankers]
        if len(set(names)) != len(names):
            raise RankerSpecError(f"{method} lists a ranker twice: {', '.join(names)}")
        if weights is not None:
            if method != "wsum":
                raise RankerSpecError("weights (name:weight) are for wsum only")
            if len(weights) != len(rankers) or any(not math.isfinite(w) or w < 0 for w in weights):
                raise RankerSpecError("wsum weights must be one non-negative number per ranker")
        if rrf_k < 1:
            raise RankerSpecError("rrf k must be at least 1")
        if norm not in NORMS or (norm != "minmax" and method != "wsum"):
            raise RankerSpecError(f"norm must be one of {', '.join(NORMS)}, for wsum only")
        self.norm = norm
        self.rankers = list(rankers)
        self.method = method
        self.weights = list(weights) if weights is not None else None
        self.rrf_k = int(rrf_k)
        self.depth = check_k(depth)
        if method == "rrf":
            args = names + ([f"k={self.rrf_k}"] if self.rrf_k != RRF_K else [])
        elif self.weights is None:
            args = list(names)
        else:
            args = [f"{n}:{_fmt_weight(w)}" for n, w in zip(names, self.weights, strict=True)]
        if self.norm != "minmax":
            args.append(f"norm={self.norm}")
        if self.depth != FUSION_DEPTH:
            args.append(f"depth={self.depth}")
        self.name = f"{method}({','.join(args)})"

    def children(self, k: int, level: str = "passage") -> list[tuple[Ranker, int, str]]:
        return [(r, max(k, self.depth), level) for r in self.rankers]

    def combine(
        self, queries: Sequence[Query], runs: list[Run], k: int, level: str = "passage"
    ) -> Run:
        by_doc = check_level(level) == "doc"
        out: Run = {}
        for q in queries:
            lists = [run.get(q.query_id, []) for run in runs]
            if by_doc:  # one hit per document and input (its first, best ranked)
                lists = [_first_per_doc(hits) for hits in lists]
            ident = (lambda h: h.doc_id) if by_doc else (lambda h: h.passage_id)
            first: dict[str, Hit] = {}  # id -> its best-ranked hit in any input
            for hits in lists:
                for h in hits:
                    if ident(h) not in first or h.rank < first[ident(h)].rank:
                        first[ident(h)] = h
            if self.method == "rrf":
                scores = rrf_scores([[ident(h) for h in hits] for hits in lists], self.rrf_k)
            else:
                weights = self.weights or [1.0 / len(lists)] * len(lists)
                scores = wsum_scores(
                    [[(ident(h), h.score) for h in hits] for hits in lists], weights, self.norm
                )
            order = sorted(scores, key=lambda i: (-scores[i], first[i].rank, i))[:k]
            out[q.query_id] = [
                Hit(q.query_id, first[i].passage_id, first[i].doc_id, scores[i], r)
                for r, i in enumerate(order, 1)
            ]
        return out


class Rerank(Composite):
    """A cross-encoder rescoring the top `depth` passages of a first stage (at most depth hits).

    By document (level "doc"): the same `depth` passages are rescored, then each document keeps
    its best rescored passage, so the documents are those the first stage's top passages hold.
    """

    def __init__(
        self,
        first_stage: Ranker,
        corpus: index_mod.Corpus,
        cross_encoder: str = models.DEFAULT_RERANKER,
        depth: int = RERANK_DEPTH,
        load_reranker: ScorerLoader | None = None,
    ) -> None:
        if cross_encoder not in models.reranker_names():
            raise RankerSpecError(
                f"unknown reranker {cross_encoder!r}; available: {', '.join(models.reranker_names())}"
            )
        self.first_stage = first_stage
        self.corpus = corpus
        self.cross_encoder = cross_encoder
        self.depth = check_k(depth)
        self._load = load_reranker or models.load_reranker
        self.name = f"rerank({first_stage.name},{cross_encoder},{self.depth})"

    def children(self, k: int, level: str = "passage") -> list[tuple[Ranker, int, str]]:
        return [(self.first_stage, self.depth, "passage")]

    def prepare(self) -> None:
        """Load the cross-encoder (so latency measures scoring, not loading)."""
        self._load(self.cross_encoder)

    def combine(
        self, queries: Sequence[Query], runs: list[Run], k: int, level: str = "passage"
    ) -> Run:
        by_doc = check_level(level) == "doc"
        scorer = self._load(self.cross_encoder)
        first = runs[0]
        pids = {h.passage_id for hits in first.values() for h in hits[: self.depth]}
        passages = external_docs.passages_for(self.corpus, sorted(pids))  # a system's text too
        out: Run = {}
        for q in queries:  # an id the corpus lacks, with no text, cannot be rescored: left out
            hits = [h for h in first.get(q.query_id, [])[: self.depth] if h.passage_id in passages]
            if not hits:
                out[q.query_id] = []
                continue
            scores = scorer.score(q.text, [index_text(passages[h.passage_id]) for h in hits])
            order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), hits[i].rank))
            ranked = [
                hits[i]._replace(score=float(scores[i]), rank=r) for r, i in enumerate(order, 1)
            ]
            out[q.query_id] = ranked
        if by_doc:
            out = doc_level(out)
        return truncate(out, k)
