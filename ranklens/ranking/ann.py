"""HNSW against exact search: recall@k of Chroma's approximate search over the same stored
vectors, with ties at the k-th score counted, and a different ef_search tried in a child process.

The stored vectors and exact search come from ranklens.ranking.exact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ranklens.corpus import index as index_mod
from ranklens.errors import RankLensError
from ranklens.ranking.exact import exact_search, stored_vectors
from ranklens.ranking.rankers import check_k
from ranklens.ranking.retrievers import DenseRanker, EncoderLoader, check_dense
from ranklens.types import Query


def hnsw_settings(corpus: index_mod.Corpus, model: str) -> dict:
    """The HNSW settings of a model's Chroma collection (space, ef_search, max_neighbors, ...)."""
    check_dense(corpus, model)
    config = corpus.collection(model).configuration_json or {}
    return dict(config.get("hnsw") or {})


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
            [sys.executable, "-m", "ranklens.ranking.ann", "--probe-hnsw"],
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
        approx_ids = [[h.passage_id for h in approx[q.query_id]] for q in queries]
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
