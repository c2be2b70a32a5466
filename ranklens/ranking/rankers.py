"""Rankers: the one Ranker protocol and its optional abilities, BM25, dense, fusion and reranking,
and rank_all, the ONE way to rank queries (by passage or document); ranklens.ranking.recipes builds them.

Recipe syntax (a ranker's name is its recipe, the same string in the app, the CLI and run files):

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

Levels (rank_all's `level`): "passage" ranks passages. "doc" ranks documents, each by its best
passage (the hit kept is that passage): a ranker's passages are ranked deeper, and deeper again,
until every query holds k documents or the ranker has no more. At document level a fusion fuses
its inputs' DOCUMENT rankings (an input scores a document by its best passage; rrf over document
ranks, wsum over min-max of document scores), and a reranker rescores its first stage's top
DEPTH passages, then keeps each document's best rescored passage.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ranklens.corpus import external_docs
from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.errors import NotFoundError, RankLensError
from ranklens.ranking import models
from ranklens.ranking.exact import exact_search
from ranklens.types import Hit, Query, Run, check_level, doc_level

RRF_K = 60
FUSION_DEPTH = 100
RERANK_DEPTH = 100
MAX_K = 1000

EncoderLoader = Callable[[str], models.Encoder]
ScorerLoader = Callable[[str], models.Scorer]


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


def not_indexed(corpus: index_mod.Corpus, model: str) -> str:
    have = ", ".join(corpus.models()) or "none"
    if model in corpus.indexes():
        return f"model {model!r} is still being indexed for corpus {corpus.name!r}; ready: {have}"
    return f"model {model!r} is not indexed for corpus {corpus.name!r}; indexed: {have}"


def check_dense(corpus: index_mod.Corpus, model: str) -> None:
    """A RankerSpecError unless `model` is a dense model indexed (complete) for the corpus."""
    if model not in corpus.dense_models():
        raise RankerSpecError(not_indexed(corpus, model))


# ---------------------------------------------------------------- BM25


_bm25_cache: dict[tuple[str, float], object] = {}
_bm25_lock = threading.Lock()


def load_bm25(corpus: index_mod.Corpus):
    """The corpus's bm25s retriever, loaded once per process (reloaded if the index changes)."""
    import bm25s

    folder = corpus.bm25_dir()
    params = folder / "params.index.json"
    if not params.exists():
        raise NotFoundError(f"corpus {corpus.name!r} has no BM25 index")
    key = (str(folder.resolve()), params.stat().st_mtime)
    with _bm25_lock:
        retriever = _bm25_cache.get(key)
        if retriever is None:
            for old in [k for k in _bm25_cache if k[0] == key[0]]:
                del _bm25_cache[old]
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
            _bm25_cache[key] = retriever
        return retriever


def _hits_from_ords(
    corpus: index_mod.Corpus, qid: str, ords: Sequence[int], scores: Sequence[float]
) -> list[Hit]:
    passages = corpus.passages_at(ords) if len(ords) else []
    return [
        Hit(qid, p.passage_id, p.doc_id, float(s), i)
        for i, (p, s) in enumerate(zip(passages, scores, strict=True), 1)
    ]


class BM25Ranker:
    """BM25 over the corpus's bm25s index; passages that match no query term are not returned."""

    def __init__(self, corpus: index_mod.Corpus) -> None:
        self.name = models.BM25
        self.corpus = corpus
        self.params = corpus.bm25_settings()

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        retriever = load_bm25(self.corpus)
        tokens = index_mod.bm25_query_tokens([q.text for q in queries], self.params)
        run: Run = {}
        for q, toks in zip(queries, tokens, strict=True):
            scores = retriever.get_scores_from_ids(retriever.get_tokens_ids(list(toks)))
            ords = _top_matching(scores, k)
            run[q.query_id] = _hits_from_ords(self.corpus, q.query_id, ords, scores[ords])
        return run


def _top_matching(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best passages that match (score > 0), best first, ties by position.

    Only the matching passages are selected among: numpy's argpartition over a whole corpus of
    mostly zero scores (what bm25s.retrieve does) takes ~160 ms at 100k passages, this ~1 ms.
    """
    hit = np.flatnonzero(scores > 0)
    if len(hit) > k:
        hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
    return hit[np.lexsort((hit, -scores[hit]))]


# ---------------------------------------------------------------- dense


class DenseRanker:
    """A bi-encoder's vectors in Chroma: cosine similarity (1 - Chroma's cosine distance)."""

    def __init__(
        self,
        corpus: index_mod.Corpus,
        model: str,
        load_encoder: EncoderLoader | None = None,
    ) -> None:
        info = corpus.indexes().get(model)
        check_dense(corpus, model)
        if info is None:
            raise RankerSpecError(not_indexed(corpus, model))
        self.name = model
        self.corpus = corpus
        self.count = int(info.get("count", corpus.passages))
        self._load_encoder = load_encoder or models.load_encoder
        self._collection = None

    @property
    def encoder(self) -> models.Encoder:
        return self._load_encoder(self.name)

    @property
    def collection(self):
        if self._collection is None:
            self._collection = self.corpus.collection(self.name)
        return self._collection

    def prepare(self) -> None:
        """Load the model and open the collection (so latency measures searching, not loading)."""
        _ = self.encoder, self.collection

    def encode(self, queries: Sequence[Query]) -> np.ndarray:
        return np.asarray(self.encoder.encode_queries([q.text for q in queries]), np.float32)

    @property
    def exact(self) -> bool:
        """Exact search for collections up to Settings.exact_max passages (RANKLENS_EXACT_MAX).

        Chroma's HNSW graph is rebuilt differently in each process (measured: 4 processes
        querying one persisted 2,851-vector collection gave 4 different top-100 lists), so the
        same recipe could give different numbers in the CLI and the app. Exact cosine over the
        stored vectors is the same everywhere and is what reference numbers use.
        """
        return self.count <= self.corpus.settings.exact_max

    def rank_vectors(self, queries: Sequence[Query], vectors: np.ndarray, k: int) -> Run:
        """Hits for query vectors; a hit's doc_id is the one stored with the passage (never
        parsed out of the passage id: a document id may itself hold '#')."""
        if self.exact:
            return self._rank_exact(queries, vectors, k)
        return self._rank_hnsw(queries, vectors, k)

    def _hits(self, queries: Sequence[Query], found: list[list[tuple[str, float]]]) -> Run:
        docs = self.corpus.doc_id_of(sorted({pid for hits in found for pid, _ in hits}))
        return {
            q.query_id: [
                Hit(q.query_id, pid, docs.get(pid, pid), score, i)
                for i, (pid, score) in enumerate(hits, 1)
            ]
            for q, hits in zip(queries, found, strict=True)
        }

    def _rank_exact(self, queries: Sequence[Query], vectors: np.ndarray, k: int) -> Run:
        with index_mod.chroma_errors(self.corpus.settings):  # a stopped server says so
            return self._hits(queries, exact_search(self.corpus, self.name, vectors, k))

    def _rank_hnsw(self, queries: Sequence[Query], vectors: np.ndarray, k: int) -> Run:
        """Chroma's approximate search; distances only (fetching metadata cost ~10x at 1M
        passages): document ids come from the corpus's passage store."""
        n_results = max(1, min(k, self.count))
        found: list[list[tuple[str, float]]] = []
        step = max(1, 8192 // n_results)  # a bounded response per call
        for start in range(0, len(vectors), step):
            with index_mod.chroma_errors(self.corpus.settings):
                part = self.collection.query(
                    query_embeddings=vectors[start : start + step],
                    n_results=n_results,
                    include=["distances"],
                )
            for ids, dists in zip(part["ids"], part["distances"], strict=True):
                found.append([(pid, 1.0 - float(d)) for pid, d in zip(ids, dists, strict=True)])
        return self._hits(queries, found)

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        return self.rank_vectors(queries, self.encode(queries), k)


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
