"""Embedding maps: a 2-D PCA projection (scikit-learn) of a corpus's stored passage vectors,
with a query, its top k and its labelled passages placed on the same axes.

The map of a (corpus, model) does not depend on the query: past MAX_POINTS passages it is fitted
on a uniform random sample (SAMPLE_SEED), and the query's passages are drawn on top of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from ranklens.corpus import index as index_mod
from ranklens.errors import RankLensError
from ranklens.ranking import exact
from ranklens.ranking.retrievers import DenseRanker, EncoderLoader
from ranklens.types import Query

MAX_POINTS = 10_000
SAMPLE_SEED = 0
UNJUDGED = "unjudged"


def sample_rule(total: int, limit: int = MAX_POINTS) -> str:
    """The rule a map follows, in words, for a collection of `total` passages."""
    if total <= limit:
        return f"all {total:,} passages are drawn"
    return (
        f"{limit:,} of {total:,} passages are drawn: a uniform random sample (numpy seed "
        f"{SAMPLE_SEED}, the same every time), plus the query's top results and labelled "
        "passages, which are always drawn"
    )


def sample_rows(total: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Row numbers of the background sample, sorted: all rows, or `limit` of them at random."""
    if total <= limit:
        return np.arange(total)
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(total, size=limit, replace=False))


@dataclass
class Projection:
    """A fitted 2-D PCA of one model's passage vectors (the query-independent part of a map)."""

    model: str
    ids: list[str]  # every passage id of the collection, in stored order
    matrix: np.ndarray  # their unit vectors
    rows: np.ndarray  # rows drawn as the background
    pca: PCA
    limit: int

    @property
    def total(self) -> int:
        return len(self.ids)

    @property
    def sampled(self) -> bool:
        return len(self.rows) < self.total

    @property
    def explained(self) -> tuple[float, float]:
        """Share of the variance each axis keeps."""
        r = self.pca.explained_variance_ratio_
        return float(r[0]), float(r[1]) if len(r) > 1 else 0.0

    @property
    def rule(self) -> str:
        return sample_rule(self.total, self.limit)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(n, 2) coordinates of unit vectors on this map's axes."""
        v = np.asarray(vectors, dtype=np.float32).reshape(-1, self.matrix.shape[1])
        xy = self.pca.transform(v)
        return xy if xy.shape[1] == 2 else np.hstack([xy, np.zeros((len(xy), 1))])


def fit(corpus: index_mod.Corpus, model: str, limit: int = MAX_POINTS) -> Projection:
    """Fit the map of a model's stored vectors (PCA on all of them, or on the stated sample)."""
    ids, matrix = exact.stored_vectors(corpus, model)
    if len(ids) < 2:
        raise RankLensError(
            f"the {model} index of {corpus.name!r} holds {len(ids)} passage(s); a map needs two"
        )
    return fit_vectors(model, ids, matrix, limit)


def fit_vectors(
    model: str, ids: list[str], matrix: np.ndarray, limit: int = MAX_POINTS
) -> Projection:
    """Fit a map of unit vectors (rows of matrix, one per id): PCA on the stated sample."""
    rows = sample_rows(len(ids), limit)
    n_components = min(2, matrix.shape[1], len(rows))
    pca = PCA(n_components=n_components, svd_solver="full").fit(matrix[rows])
    # PCA's sign is arbitrary: fix it so that the largest loading of each axis is positive
    top = np.argmax(np.abs(pca.components_), axis=1)
    flip = np.sign(pca.components_[np.arange(n_components), top])
    pca.components_ *= flip[:, None]
    return Projection(model, list(ids), matrix, rows, pca, limit)


@dataclass
class Point:
    """One drawn passage: where it lies, its label, its rank for the query, text for hovering."""

    passage_id: str
    doc_id: str
    x: float
    y: float
    label: str  # a grade as text ("0".."3") or UNJUDGED
    rank: int | None  # its rank in the query's top k, None outside it
    title: str
    snippet: str  # the first SNIPPET characters of the passage text (untrusted text)


SNIPPET = 200


@dataclass
class EmbeddingMap:
    """A map for one query: the background, the query's point, its top k and labels marked."""

    model: str
    points: list[Point]
    query_xy: tuple[float, float] | None
    explained: tuple[float, float]
    total: int
    rule: str


def embedding_map(
    projection: Projection,
    corpus: index_mod.Corpus,
    query: Query | None = None,
    top: Sequence[str] = (),
    grades: Mapping[str, int] | None = None,
    level: str = "doc",
    load_encoder: EncoderLoader | None = None,
) -> EmbeddingMap:
    """Place a query on a fitted map.

    top: the passage ids of its top k, best first. grades: its labels, by document id (level
    "doc": every passage of a labelled document carries the grade) or by passage id (level
    "passage"). Top and labelled passages are drawn even when the background is a sample.
    """
    grades = dict(grades or {})
    row_of = {pid: i for i, pid in enumerate(projection.ids)}
    rank = {pid: i + 1 for i, pid in enumerate(top)}
    rows = set(projection.rows.tolist())
    rows.update(row_of[p] for p in top if p in row_of)
    if level == "passage":
        rows.update(row_of[p] for p in grades if p in row_of)
    else:
        for doc in sorted(grades):
            rows.update(
                row_of[p.passage_id] for p in corpus.passages_of_doc(doc) if p.passage_id in row_of
            )
    order = sorted(rows)
    meta = corpus.get_passages([projection.ids[r] for r in order])
    xy = projection.transform(projection.matrix[order])
    points = []
    for r, (x, y) in zip(order, xy, strict=True):
        pid = projection.ids[r]
        p = meta.get(pid)
        doc = p.doc_id if p is not None else pid
        g = grades.get(pid if level == "passage" else doc)
        points.append(
            Point(
                pid,
                doc,
                float(x),
                float(y),
                UNJUDGED if g is None else str(g),
                rank.get(pid),
                (p.title or p.doc_id) if p is not None else pid,
                (p.text[:SNIPPET] if p is not None else ""),
            )
        )
    query_xy = None
    if query is not None and query.text.strip():
        vector = DenseRanker(corpus, projection.model, load_encoder).encode([query])[0]
        qx, qy = projection.transform(vector / (np.linalg.norm(vector) or 1.0))[0]
        query_xy = (float(qx), float(qy))
    return EmbeddingMap(
        projection.model, points, query_xy, projection.explained, projection.total, projection.rule
    )
