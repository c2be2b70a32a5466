"""Exact (brute-force cosine) search over a dense model's stored vectors, the ordinary dense
path's ground truth; the stored vectors are read once per collection and kept in a small LRU cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ranklens.corpus import index as index_mod

VECTORS_CACHE_SIZE = 4  # collections whose vectors stay in memory (least recently used go)
_vectors_cache: OrderedDict[tuple, tuple[list[str], np.ndarray]] = OrderedDict()
_vectors_lock = threading.Lock()


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
        top = top[np.lexsort((top, -row[top]))]  # ties by stored position: the same everywhere
        out.append([(ids[i], float(row[i])) for i in top])
    return out
