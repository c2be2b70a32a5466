"""The corpus's own first-stage rankers: BM25 over its bm25s index, and a dense model's vectors
in Chroma (exact cosine up to RANKLENS_EXACT_MAX passages, HNSW past it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ranklens import models
from ranklens.corpus import index as index_mod
from ranklens.errors import NotFoundError
from ranklens.ranking.exact import exact_search
from ranklens.ranking.rankers import RankerSpecError, check_k
from ranklens.types import Hit, Query, Run

if TYPE_CHECKING:
    import bm25s

EncoderLoader = Callable[[str], models.Encoder]


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


def load_bm25(corpus: index_mod.Corpus) -> bm25s.BM25:
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
