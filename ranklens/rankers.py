"""Rankers: the one Ranker protocol, BM25, dense, fusion and reranking, and recipes that name them.

Also what compares rankers: side-by-side runs with latency, overlap (Jaccard@k, RBO, tau-AP),
score cut-offs, and recall of Chroma's HNSW search against exact search over the same vectors.

Recipe syntax (a ranker's name is its recipe, the same string in the app, the CLI and run files):

    bm25                                  the corpus's BM25 index
    all-MiniLM-L6-v2                      a dense model indexed for the corpus (any indexed name)
    rrf(A,B[,...][,k=60][,depth=100])     reciprocal rank fusion: sum of 1/(k + rank)
    wsum(A:0.3,B:0.7[,depth=100])         weighted sum of min-max normalised scores (weights
                                          optional, equal by default)
    rerank(A,CROSS_ENCODER[,DEPTH])       the cross-encoder rescores A's top DEPTH (default 100)

A, B are recipes themselves, so nesting is allowed: `rerank(rrf(bm25,all-MiniLM-L6-v2),
ms-marco-MiniLM-L-12-v2,50)`. Spaces are ignored; a model name may not contain `(`, `)` or `,`.
Fusion ranks each input to max(k, depth); a document missing from one input's list gets nothing
from it (RRF) or 0 (weighted sum). A reranker returns at most DEPTH hits.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from . import index as index_mod
from . import models
from .chunking import index_text
from .errors import NotFoundError, RankLensError
from .types import Hit, Query, Run, doc_level, doc_of

RRF_K = 60
FUSION_DEPTH = 100
RERANK_DEPTH = 100
MAX_K = 1000
RBO_P = 0.9

EncoderLoader = Callable[[str], models.Encoder]
ScorerLoader = Callable[[str], models.Scorer]
HitKey = Callable[[Hit], str]  # what identifies a hit when rankings are compared


def passage_key(hit: Hit) -> str:
    """Compare rankings by passage (the default)."""
    return hit.passage_id


def doc_key(hit: Hit) -> str:
    """Compare rankings by document: two different passages of one document are the same item."""
    return hit.doc_id


class RankerSpecError(RankLensError):
    """A recipe that does not parse, or names a ranker the corpus does not have."""


@runtime_checkable
class Ranker(Protocol):
    name: str

    def rank(self, queries: Sequence[Query], k: int) -> Run: ...


def check_k(k: int, limit: int = MAX_K) -> int:
    """k as an int in 1..limit, or a RankLensError saying what is allowed."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= limit:
        raise RankLensError(f"k must be an integer from 1 to {limit}, got {k!r}")
    return int(k)


def truncate(run: Run, k: int) -> Run:
    """The top k hits of every query."""
    return {qid: hits[:k] for qid, hits in run.items()}


def document_depth(k: int, passages_per_doc: float) -> int:
    """How many passages to rank so that k documents usually remain after doc_level."""
    return min(MAX_K, max(k, math.ceil(k * max(1.0, passages_per_doc) * 1.5)))


def documents_of(runs: Mapping[str, Run], k: int) -> dict[str, Run]:
    """Each passage run as its top k documents (best passage each); rank deep enough first."""
    return {name: truncate(doc_level(run), k) for name, run in runs.items()}


def compare_documents(
    rankers: Sequence[Ranker], queries: Sequence[Query], k: int, passages_per_doc: float
) -> dict[str, Run]:
    """Every ranker's top k documents (best passage each), inputs shared as in compare()."""
    runs = compare(rankers, queries, document_depth(check_k(k), passages_per_doc)).runs
    return documents_of(runs, k)


def rank_documents(
    ranker: Ranker, queries: Sequence[Query], k: int, passages_per_doc: float = 1.0
) -> Run:
    """k documents per query (each scored by its best passage, types.doc_level).

    Ranking k passages leaves fewer than k documents when a document has several passages in
    the top k, so passages are ranked deeper, and deeper again (up to MAX_K) for the queries
    that still have fewer than k documents while the ranker had more to give.
    """
    k = check_k(k)
    depth = document_depth(k, passages_per_doc)
    pending = [q for q in queries]
    out: Run = {}
    while pending:
        run = ranker.rank(pending, depth)
        docs = doc_level(run)
        again = []
        for q in pending:
            hits = docs.get(q.query_id, [])
            exhausted = len(run.get(q.query_id, [])) < depth or depth >= MAX_K
            if len(hits) >= k or exhausted:
                out[q.query_id] = hits[:k]
            else:
                again.append(q)
        pending, depth = again, min(MAX_K, depth * 2)
    return out


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
        n = int(retriever.scores["num_docs"])
        tokens = index_mod.bm25_query_tokens([q.text for q in queries], self.params)
        res = retriever.retrieve(tokens, k=min(k, n), sorted=True, show_progress=False, n_threads=0)
        run: Run = {}
        for q, ords, scores in zip(queries, res.documents, res.scores, strict=True):
            keep = scores > 0
            run[q.query_id] = _hits_from_ords(self.corpus, q.query_id, ords[keep], scores[keep])
        return run


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
        if model not in corpus.dense_models() or info is None:
            raise RankerSpecError(_not_indexed(corpus, model))
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

    def rank_vectors(self, queries: Sequence[Query], vectors: np.ndarray, k: int) -> Run:
        res = self.collection.query(
            query_embeddings=vectors, n_results=min(k, self.count), include=["distances"]
        )
        run: Run = {}
        for q, ids, dists in zip(queries, res["ids"], res["distances"], strict=True):
            run[q.query_id] = [
                Hit(q.query_id, pid, doc_of(pid), 1.0 - float(d), i)
                for i, (pid, d) in enumerate(zip(ids, dists, strict=True), 1)
            ]
        return run

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        return self.rank_vectors(queries, self.encode(queries), k)


# ---------------------------------------------------------------- composites


class Composite:
    """A ranker built from other rankers: rank each input (children), then combine."""

    name: str

    def children(self, k: int) -> list[tuple[Ranker, int]]:
        """The input rankers and the depth each must be ranked to for a top k."""
        raise NotImplementedError

    def combine(self, queries: Sequence[Query], runs: list[Run], k: int) -> Run:
        raise NotImplementedError

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        runs = [r.rank(queries, depth) for r, depth in self.children(k)]
        return self.combine(queries, runs, k)


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


def wsum_scores(
    lists: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float]
) -> dict[str, float]:
    """Weighted sum of min-max normalised scores; an id missing from a list gets 0 from it."""
    out: dict[str, float] = {}
    for hits, w in zip(lists, weights, strict=True):
        for (pid, _), s in zip(hits, minmax([s for _, s in hits]), strict=True):
            out[pid] = out.get(pid, 0.0) + w * s
    return out


class Fusion(Composite):
    """Fuse two or more rankers: "rrf" (reciprocal rank fusion) or "wsum" (min-max weighted sum).

    Ties are broken by the best rank a passage has in any input, then by passage id.
    """

    def __init__(
        self,
        rankers: Sequence[Ranker],
        method: str = "rrf",
        weights: Sequence[float] | None = None,
        rrf_k: int = RRF_K,
        depth: int = FUSION_DEPTH,
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
        if self.depth != FUSION_DEPTH:
            args.append(f"depth={self.depth}")
        self.name = f"{method}({','.join(args)})"

    def children(self, k: int) -> list[tuple[Ranker, int]]:
        return [(r, max(k, self.depth)) for r in self.rankers]

    def combine(self, queries: Sequence[Query], runs: list[Run], k: int) -> Run:
        out: Run = {}
        for q in queries:
            lists = [run.get(q.query_id, []) for run in runs]
            docs: dict[str, str] = {}
            best: dict[str, int] = {}
            for hits in lists:
                for h in hits:
                    docs.setdefault(h.passage_id, h.doc_id)
                    best[h.passage_id] = min(best.get(h.passage_id, h.rank), h.rank)
            if self.method == "rrf":
                scores = rrf_scores([[h.passage_id for h in hits] for hits in lists], self.rrf_k)
            else:
                weights = self.weights or [1.0 / len(lists)] * len(lists)
                scores = wsum_scores(
                    [[(h.passage_id, h.score) for h in hits] for hits in lists], weights
                )
            order = sorted(scores, key=lambda pid: (-scores[pid], best[pid], pid))[:k]
            out[q.query_id] = [
                Hit(q.query_id, pid, docs[pid], scores[pid], i) for i, pid in enumerate(order, 1)
            ]
        return out


class Rerank(Composite):
    """A cross-encoder rescoring the top `depth` passages of a first stage (at most depth hits)."""

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

    def children(self, k: int) -> list[tuple[Ranker, int]]:
        return [(self.first_stage, self.depth)]

    def prepare(self) -> None:
        """Load the cross-encoder (so latency measures scoring, not loading)."""
        self._load(self.cross_encoder)

    def combine(self, queries: Sequence[Query], runs: list[Run], k: int) -> Run:
        scorer = self._load(self.cross_encoder)
        first = runs[0]
        pids = {h.passage_id for hits in first.values() for h in hits[: self.depth]}
        passages = self.corpus.get_passages(sorted(pids))
        out: Run = {}
        for q in queries:
            hits = first.get(q.query_id, [])[: self.depth]
            if not hits:
                out[q.query_id] = []
                continue
            scores = scorer.score(q.text, [index_text(passages[h.passage_id]) for h in hits])
            order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), hits[i].rank))
            out[q.query_id] = [
                hits[i]._replace(score=float(scores[i]), rank=r) for r, i in enumerate(order[:k], 1)
            ]
        return out


# ---------------------------------------------------------------- recipes


def _not_indexed(corpus: index_mod.Corpus, model: str) -> str:
    have = ", ".join(corpus.models()) or "none"
    if model in corpus.indexes():
        return f"model {model!r} is still being indexed for corpus {corpus.name!r}; ready: {have}"
    return f"model {model!r} is not indexed for corpus {corpus.name!r}; indexed: {have}"


def _split_args(body: str, spec: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise RankerSpecError(f"unbalanced parentheses in {spec!r}")
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    if depth != 0:
        raise RankerSpecError(f"unbalanced parentheses in {spec!r}")
    parts.append(body[start:])
    if any(not p for p in parts):
        raise RankerSpecError(f"empty argument in {spec!r}")
    return parts


def _int_arg(value: str, what: str, spec: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise RankerSpecError(f"{what} must be an integer in {spec!r}, got {value!r}") from None


class _Builder:
    def __init__(
        self,
        corpus: index_mod.Corpus,
        load_encoder: EncoderLoader | None,
        load_reranker: ScorerLoader | None,
    ) -> None:
        self.corpus = corpus
        self.load_encoder = load_encoder
        self.load_reranker = load_reranker
        self.leaves: dict[str, Ranker] = {}

    def leaf(self, name: str) -> Ranker:
        if name in self.leaves:
            return self.leaves[name]
        if name == models.BM25:
            if models.BM25 not in self.corpus.models():
                raise RankerSpecError(_not_indexed(self.corpus, name))
            ranker: Ranker = BM25Ranker(self.corpus)
        elif name in self.corpus.dense_models():
            ranker = DenseRanker(self.corpus, name, self.load_encoder)
        elif name in self.corpus.indexes() or name in models.dense_model_names():
            raise RankerSpecError(_not_indexed(self.corpus, name))
        elif name in models.reranker_names():
            raise RankerSpecError(
                f"{name} is a cross-encoder: use it as rerank(FIRST_STAGE,{name},DEPTH)"
            )
        else:
            raise RankerSpecError(
                f"unknown ranker {name!r}; available for corpus {self.corpus.name!r}: "
                f"{', '.join(self.corpus.models()) or 'none'}, or rrf(...), wsum(...), rerank(...)"
            )
        self.leaves[name] = ranker
        return ranker

    def build(self, spec: str, whole: str) -> Ranker:
        if "(" not in spec and ")" not in spec:
            return self.leaf(spec)
        head, _, rest = spec.partition("(")
        if not rest.endswith(")"):
            raise RankerSpecError(f"expected NAME(...) in {whole!r}, got {spec!r}")
        args = _split_args(rest[:-1], whole)
        if head in ("rrf", "wsum"):
            return self._fusion(head, args, whole)
        if head == "rerank":
            return self._rerank(args, whole)
        raise RankerSpecError(
            f"unknown combinator {head!r} in {whole!r}; expected rrf(...), wsum(...) or rerank(...)"
        )

    def _fusion(self, method: str, args: list[str], whole: str) -> Ranker:
        inputs: list[Ranker] = []
        weights: list[float | None] = []
        options = {"k": RRF_K, "depth": FUSION_DEPTH}
        for arg in args:
            key, eq, value = arg.partition("=")
            if eq and "(" not in key:
                if key not in options or (key == "k" and method != "rrf"):
                    raise RankerSpecError(f"unknown option {key!r} for {method} in {whole!r}")
                options[key] = _int_arg(value, key, whole)
                continue
            weight = None
            if method == "wsum" and ":" in arg and not arg.endswith(")"):
                name, _, w = arg.rpartition(":")
                try:
                    weight = float(w)
                except ValueError:
                    raise RankerSpecError(
                        f"weight must be a number in {whole!r}, got {w!r}"
                    ) from None
                arg = name
            inputs.append(self.build(arg, whole))
            weights.append(weight)
        given = [w for w in weights if w is not None]
        if given and len(given) != len(weights):
            raise RankerSpecError(f"give a weight for every input of wsum or for none: {whole!r}")
        return Fusion(
            inputs,
            method,
            [float(w) for w in given] if given else None,
            rrf_k=options["k"],
            depth=options["depth"],
        )

    def _rerank(self, args: list[str], whole: str) -> Ranker:
        if len(args) not in (2, 3):
            raise RankerSpecError(
                f"expected rerank(FIRST_STAGE,CROSS_ENCODER[,DEPTH]) in {whole!r}"
            )
        depth = RERANK_DEPTH
        if len(args) == 3:
            value = args[2].removeprefix("depth=")
            depth = _int_arg(value, "depth", whole)
            if not 1 <= depth <= MAX_K:
                raise RankerSpecError(f"rerank depth must be from 1 to {MAX_K} in {whole!r}")
        first = self.build(args[0], whole)
        return Rerank(first, self.corpus, args[1], depth, self.load_reranker)


def make_ranker(
    spec: str,
    corpus: index_mod.Corpus,
    load_encoder: EncoderLoader | None = None,
    load_reranker: ScorerLoader | None = None,
) -> Ranker:
    """A ranker from its recipe (see the module docstring); its .name is the canonical recipe.

    Models load lazily, at the first rank() call, through the loaders given (by default
    ranklens.models.load_encoder / load_reranker, which keep one instance per process).
    """
    text = "".join((spec or "").split())
    if not text:
        raise RankerSpecError("empty ranker name")
    return _Builder(corpus, load_encoder, load_reranker).build(text, text)


def make_rankers(
    specs: Sequence[str],
    corpus: index_mod.Corpus,
    load_encoder: EncoderLoader | None = None,
    load_reranker: ScorerLoader | None = None,
) -> list[Ranker]:
    """Several rankers from recipes; leaves with the same name are one shared object."""
    builder = _Builder(corpus, load_encoder, load_reranker)
    out = []
    for spec in specs:
        text = "".join((spec or "").split())
        if not text:
            raise RankerSpecError("empty ranker name")
        out.append(builder.build(text, text))
    return out


def available_rankers(corpus: index_mod.Corpus) -> list[str]:
    """Recipes to offer for a corpus: its indexes, then fusions and reranking built from them."""
    leaves = corpus.models()
    out = list(leaves)
    dense = corpus.dense_models()
    if models.BM25 in leaves:
        out += [f"rrf({models.BM25},{d})" for d in dense]
    if len(dense) >= 2:
        out.append(f"rrf({','.join(dense)})")
    if leaves:
        for r in models.reranker_names():
            out.append(f"rerank({leaves[0]},{r},50)")
    return out


# ---------------------------------------------------------------- side by side


@dataclass
class Comparison:
    """Runs of several rankers over the same queries, with each ranker's latency.

    latency_ms[name] is what the ranker alone would take: its own work plus that of every input
    it is built from (inputs shared between rankers are computed once, and counted in each).
    """

    runs: dict[str, Run]
    latency_ms: dict[str, float]
    wall_ms: float
    own_ms: dict[str, float] = field(default_factory=dict)


def _kids(r: Ranker, k: int) -> list[tuple[Ranker, int]]:
    return r.children(k) if isinstance(r, Composite) else []


def compare(rankers: Sequence[Ranker], queries: Sequence[Query], k: int) -> Comparison:
    """Rank the queries with every ranker; inputs shared by several rankers are ranked once.

    Models are loaded before the clock starts: latency_ms and wall_ms measure ranking only.
    """
    k = check_k(k)
    need: dict[str, int] = {}
    by_name: dict[str, Ranker] = {}

    def walk(r: Ranker, depth: int) -> None:
        need[r.name] = max(need.get(r.name, 0), depth)
        by_name.setdefault(r.name, r)
        for child, d in _kids(r, depth):
            walk(child, d)

    for r in rankers:
        walk(r, k)
    for r in by_name.values():  # load models first: latency is search time, not loading time
        prepare = getattr(r, "prepare", None)
        if prepare is not None:
            prepare()
    start = time.perf_counter()
    done: dict[str, Run] = {}
    own: dict[str, float] = {}
    subtree: dict[str, set[str]] = {}

    def evaluate(name: str) -> Run:
        if name in done:
            return done[name]
        r, depth = by_name[name], need[name]
        kids = _kids(r, depth)
        runs = [truncate(evaluate(c.name), d) for c, d in kids]
        t0 = time.perf_counter()
        done[name] = r.combine(queries, runs, depth) if kids else r.rank(queries, depth)
        own[name] = (time.perf_counter() - t0) * 1000
        subtree[name] = {name}.union(*(subtree[c.name] for c, _ in kids))
        return done[name]

    out_runs: dict[str, Run] = {}
    for r in rankers:
        out_runs[r.name] = truncate(evaluate(r.name), k)
    latency = {r.name: sum(own[n] for n in subtree[r.name]) for r in rankers}
    return Comparison(out_runs, latency, (time.perf_counter() - start) * 1000, own)


# ---------------------------------------------------------------- overlap and disagreement


def ids_of(hits: Sequence[Hit], k: int | None = None, key: HitKey | None = None) -> list[str]:
    """The ids of the top k hits (passage ids, or key(hit)); a repeated id is kept once, first."""
    key = key or passage_key
    return list(dict.fromkeys(key(h) for h in (hits if k is None else hits[:k])))


def jaccard(a: Sequence[str], b: Sequence[str], k: int | None = None) -> float:
    """|A n B| / |A u B| of the top k of two rankings (1.0 when both are empty)."""
    sa, sb = set(a[:k] if k else a), set(b[:k] if k else b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def rbo(a: Sequence[str], b: Sequence[str], p: float = RBO_P) -> float:
    """Rank-biased overlap, extrapolated (Webber, Moffat & Zobel 2010, eq. 32).

    Handles lists of unequal length (the shorter is taken as ending where it ends); items must
    be unique within a list. 1.0 for identical lists, 0.0 for disjoint ones.
    """
    if not 0 < p < 1:
        raise ValueError("rbo: p must be between 0 and 1")
    if len(a) > len(b):
        a, b = b, a
    s, ell = len(a), len(b)
    if ell == 0:
        return 1.0
    if s == 0:
        return 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap = 0
    x = [0] * (ell + 1)  # x[d]: overlap of the two prefixes of depth d
    for d in range(1, ell + 1):
        item_b = b[d - 1]
        if d <= s:
            item_a = a[d - 1]
            if item_a == item_b:
                overlap += 1
            else:
                overlap += (item_a in seen_b) + (item_b in seen_a)
            seen_a.add(item_a)
        elif item_b in seen_a:
            overlap += 1
        seen_b.add(item_b)
        x[d] = overlap
    total = sum(x[d] / d * p**d for d in range(1, ell + 1))
    total += sum(x[s] * (d - s) / (s * d) * p**d for d in range(s + 1, ell + 1))
    return (1 - p) / p * total + ((x[ell] - x[s]) / ell + x[s] / s) * p**ell


def tau_ap(ranking: Sequence[str], truth: Sequence[str]) -> float | None:
    """AP rank correlation tau_AP of `ranking` against `truth` (Yilmaz, Aslam & Robertson 2008).

    Computed over the items both lists hold, in each list's order; None when fewer than two are
    shared. 1.0 for the same order, -1.0 for the reverse; swaps near the top cost more.
    """
    common = set(ranking) & set(truth)
    order = [x for x in ranking if x in common]
    n = len(order)
    if n < 2:
        return None
    pos = {x: i for i, x in enumerate(x for x in truth if x in common)}
    total = 0.0
    for i in range(1, n):
        above = sum(1 for j in range(i) if pos[order[j]] < pos[order[i]])
        total += above / i
    return 2.0 * total / (n - 1) - 1.0


def tau_ap_symmetric(a: Sequence[str], b: Sequence[str]) -> float | None:
    """The mean of tau_AP both ways round (tau_AP itself is not symmetric)."""
    x, y = tau_ap(a, b), tau_ap(b, a)
    return None if x is None or y is None else (x + y) / 2


DISAGREEMENT_MEASURES = ("rbo", "tau_ap")


def disagreement(a: Sequence[str], b: Sequence[str], measure: str = "rbo") -> float:
    """How much two rankings disagree, from 0 (same) to 1.

    rbo: 1 - RBO (p=0.9). tau_ap: (1 - symmetric tau_AP) / 2 over the shared items; two rankings
    sharing fewer than two items disagree fully (1.0).
    """
    if measure == "rbo":
        return 1.0 - rbo(a, b)
    if measure == "tau_ap":
        t = tau_ap_symmetric(a, b)
        return 1.0 if t is None else (1.0 - t) / 2
    raise ValueError(f"unknown disagreement measure {measure!r}; expected rbo or tau_ap")


def disagreement_by_query(
    run_a: Run, run_b: Run, k: int, measure: str = "rbo", key: HitKey | None = None
) -> list[tuple[str, float]]:
    """Queries with their disagreement at depth k, most disagreeing first (then by query id).

    key: what identifies a hit (default its passage id; doc_key compares documents)."""
    out = [
        (
            qid,
            disagreement(
                ids_of(run_a.get(qid, []), k, key), ids_of(run_b.get(qid, []), k, key), measure
            ),
        )
        for qid in dict.fromkeys([*run_a, *run_b])
    ]
    return sorted(out, key=lambda t: (-t[1], t[0]))


def overlap_matrix(
    hit_lists: Mapping[str, Sequence[Hit]],
    k: int,
    measure: str = "jaccard",
    key: HitKey | None = None,
) -> tuple[list[str], np.ndarray]:
    """Pairwise Jaccard@k or RBO of the rankers' hit lists for one query: (names, matrix).

    key: what identifies a hit (default its passage id; doc_key compares documents)."""
    names = list(hit_lists)
    ids = {n: ids_of(hit_lists[n], k, key) for n in names}
    fn: Callable[[Sequence[str], Sequence[str]], float]
    if measure == "jaccard":
        fn = jaccard
    elif measure == "rbo":
        fn = rbo
    else:
        raise ValueError(f"unknown overlap measure {measure!r}; expected jaccard or rbo")
    m = np.ones((len(names), len(names)))
    for i, x in enumerate(names):
        for j, y in enumerate(names):
            if i < j:
                m[i, j] = m[j, i] = fn(ids[x], ids[y])
    return names, m


def rank_changes(
    hit_lists: Mapping[str, Sequence[Hit]], key: HitKey | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """For each ranker, each passage it returned, the passage's rank in every other ranker.

    out[ranker][passage_id][other] = rank in other (absent when other did not return it).
    key: what identifies a hit instead of its passage id (doc_key: out[ranker][doc_id][other]);
    an id returned more than once by a ranker has its best rank there.
    """
    key = key or passage_key
    ranks: dict[str, dict[str, int]] = {}
    for n, hits in hit_lists.items():
        ranks[n] = {}
        for h in hits:
            ident = key(h)
            ranks[n][ident] = min(ranks[n].get(ident, h.rank), h.rank)
    return {
        n: {
            pid: {o: ranks[o][pid] for o in hit_lists if o != n and pid in ranks[o]}
            for pid in ranks[n]
        }
        for n in hit_lists
    }


def count_at_or_above(hits: Iterable[Hit], threshold: float) -> int:
    """How many hits a score cut-off at `threshold` would keep."""
    return sum(1 for h in hits if h.score >= threshold)


# ---------------------------------------------------------------- approximate vs exact


VECTORS_CACHE_SIZE = 4  # collections whose vectors stay in memory (least recently used go)
_vectors_cache: OrderedDict[tuple, tuple[list[str], np.ndarray]] = OrderedDict()
_vectors_lock = threading.Lock()


def hnsw_settings(corpus: index_mod.Corpus, model: str) -> dict:
    """The HNSW settings of a model's Chroma collection (space, ef_search, max_neighbors, ...)."""
    if model not in corpus.dense_models():
        raise RankerSpecError(_not_indexed(corpus, model))
    config = corpus.collection(model).configuration_json or {}
    return dict(config.get("hnsw") or {})


def stored_vectors(corpus: index_mod.Corpus, model: str) -> tuple[list[str], np.ndarray]:
    """Every (id, vector) in a model's collection, rows normalised.

    Cached per process while the collection's count holds, for the VECTORS_CACHE_SIZE most
    recently used collections (a deleted collection's vectors are dropped in time).
    """
    collection = corpus.collection(model)
    n = collection.count()
    key = (str(corpus.settings.chroma_dir), corpus.settings.chroma_host, str(collection.id), n)
    with _vectors_lock:
        if key in _vectors_cache:
            _vectors_cache.move_to_end(key)
            return _vectors_cache[key]
        for old in [k for k in _vectors_cache if k[:3] == key[:3]]:
            del _vectors_cache[old]
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for offset in range(0, n, 5000):
            got = collection.get(include=["embeddings"], limit=5000, offset=offset)
            ids += got["ids"]
            parts.append(np.asarray(got["embeddings"], dtype=np.float32))
        matrix = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        found = (ids, matrix / norms)
        _vectors_cache[key] = found
        while len(_vectors_cache) > VECTORS_CACHE_SIZE:
            _vectors_cache.popitem(last=False)
        return found


def exact_search(
    corpus: index_mod.Corpus, model: str, vectors: np.ndarray, k: int
) -> list[list[tuple[str, float]]]:
    """Brute-force cosine top k over the same stored vectors: per query, (passage id, cosine)."""
    ids, matrix = stored_vectors(corpus, model)
    if not ids:
        return [[] for _ in range(len(vectors))]
    sims = np.asarray(vectors, np.float32) @ matrix.T
    k = min(k, len(ids))
    out = []
    for row in sims:
        top = np.argpartition(-row, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-row[top], kind="stable")]
        out.append([(ids[i], float(row[i])) for i in top])
    return out


TIE_EPS = 1e-5


def recall_with_ties(
    found: Sequence[str], found_exact: Sequence[float], truth: Sequence[tuple[str, float]]
) -> float:
    """Share of the exact top k (truth: (id, cosine), best first) that a search found.

    found_exact holds the exact cosine of each found id. A found passage that ties the k-th
    best (within TIE_EPS) counts as a hit, since either may rightly be returned.
    """
    if not truth:
        return 1.0
    cutoff = truth[-1][1] - TIE_EPS
    good = {pid for pid, s in zip(found, found_exact, strict=True) if s >= cutoff}
    return min(len(good), len(truth)) / len(truth)


@dataclass
class RecallReport:
    """Recall@k of Chroma's HNSW search against exact search over the same vectors."""

    model: str
    k: int
    ef_search: int | None  # the ef_search measured with
    settings: dict  # the index's HNSW settings as stored
    per_query: dict[str, float]
    hnsw_ms: float
    exact_ms: float

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.per_query.values()))) if self.per_query else float("nan")


def _probe_hnsw(
    corpus: index_mod.Corpus, model: str, vectors: np.ndarray, k: int, ef_search: int
) -> tuple[list[list[str]], float]:
    """HNSW search with another ef_search, in a child process (Chroma applies ef_search when it
    loads an index, once per process). The stored setting is restored afterwards."""
    if corpus.settings.uses_chroma_server:
        raise RankLensError(
            "trying another ef_search needs the embedded Chroma store; a Chroma server applies "
            "ef_search when it loads the index (change it there and restart the server)"
        )
    payload = {
        "path": str(corpus.settings.chroma_dir),
        "collection": corpus.indexes()[model]["collection"],
        "vectors": np.asarray(vectors, np.float32).tolist(),
        "k": k,
        "ef_search": int(ef_search),
    }
    with index_mod._corpus_lock(corpus.settings, corpus.name):
        proc = subprocess.run(
            [sys.executable, "-m", "ranklens.rankers", "--probe-hnsw"],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RankLensError(f"HNSW probe with ef_search={ef_search} failed: {tail[0]}")
    out = json.loads(proc.stdout)
    return out["ids"], out["ms"]


def _probe_main() -> None:  # runs in the child process
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    payload = json.loads(sys.stdin.read())
    client = chromadb.PersistentClient(
        path=payload["path"], settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_collection(payload["collection"])
    before = (collection.configuration_json.get("hnsw") or {}).get("ef_search")
    collection.modify(configuration={"hnsw": {"ef_search": payload["ef_search"]}})
    try:
        collection = client.get_collection(payload["collection"])
        t0 = time.perf_counter()
        res = collection.query(
            query_embeddings=np.asarray(payload["vectors"], np.float32),
            n_results=payload["k"],
            include=[],
        )
        ms = (time.perf_counter() - t0) * 1000
    finally:
        if before is not None:
            collection.modify(configuration={"hnsw": {"ef_search": before}})
    sys.stdout.write(json.dumps({"ids": res["ids"], "ms": ms}))


def hnsw_recall(
    corpus: index_mod.Corpus,
    model: str,
    queries: Sequence[Query],
    k: int = 10,
    ef_search: int | None = None,
    load_encoder: EncoderLoader | None = None,
) -> RecallReport:
    """Recall@k of the HNSW index against exact search, per query.

    ef_search None measures the index as this process searches it; a number measures a search
    with that ef_search (in a child process; the stored setting is left as it was).
    """
    k = check_k(k)
    if not queries:
        raise RankLensError("no queries to measure recall on")
    ranker = DenseRanker(corpus, model, load_encoder)
    vectors = ranker.encode(queries)
    settings = hnsw_settings(corpus, model)
    n = min(k, ranker.count)
    if ef_search is None:
        t0 = time.perf_counter()
        approx = ranker.rank_vectors(queries, vectors, n)
        hnsw_ms = (time.perf_counter() - t0) * 1000
        approx_ids = [ids_of(approx[q.query_id]) for q in queries]
    else:
        if not 1 <= int(ef_search) <= 10000:
            raise RankLensError(f"ef_search must be from 1 to 10000, got {ef_search}")
        ranker.rank_vectors(queries[:1], vectors[:1], 1)  # load the index here first
        approx_ids, hnsw_ms = _probe_hnsw(corpus, model, vectors, n, int(ef_search))
    t0 = time.perf_counter()
    exact = exact_search(corpus, model, vectors, n)
    exact_ms = (time.perf_counter() - t0) * 1000
    ids, matrix = stored_vectors(corpus, model)
    row = {pid: i for i, pid in enumerate(ids)}
    per_query = {}
    for q, got, truth, vector in zip(queries, approx_ids, exact, vectors, strict=True):
        got = [pid for pid in got if pid in row]
        found_exact = [float(matrix[row[pid]] @ vector) for pid in got]
        per_query[q.query_id] = recall_with_ties(got, found_exact, truth)
    return RecallReport(
        model,
        k,
        ef_search if ef_search is not None else settings.get("ef_search"),
        settings,
        per_query,
        hnsw_ms,
        exact_ms,
    )


if __name__ == "__main__" and sys.argv[1:] == ["--probe-hnsw"]:
    _probe_main()
