"""Embedding maps: PCA of the stored vectors, the sampling rule, the query and its top k placed."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from ranklens.corpus import ingest
from ranklens.ranking import exact
from ranklens.ranking.recipes import make_ranker
from ranklens.teaching import projection
from ranklens.types import Query


def test_small_corpus_map_marks_the_query_its_top_and_labels(home, small_jsonl, fake_encoder):
    corpus = ingest.ingest(small_jsonl, "mapped", ["bm25", fake_encoder.name], home)
    pr = projection.fit(corpus, fake_encoder.name)
    assert pr.total == corpus.passages and not pr.sampled
    assert pr.rule == f"all {corpus.passages:,} passages are drawn"
    query = Query("q", "green tea temperature")
    top = make_ranker(fake_encoder.name, corpus).rank([query], 2)["q"]
    m = projection.embedding_map(
        pr, corpus, query, [h.passage_id for h in top], {"tea": 3, "moon": 0}
    )
    assert len(m.points) == corpus.passages and m.query_xy is not None
    by_id = {p.passage_id: p for p in m.points}
    assert [by_id[h.passage_id].rank for h in top] == [1, 2]
    assert by_id["tea#0"].label == "3" and by_id["moon#0"].label == "0"
    assert by_id["rust#0"].label == projection.UNJUDGED and by_id["rust#0"].title == "Rust"
    assert by_id["tea#0"].snippet.startswith("Green tea")
    # the query lands where PCA (fitted on the same vectors) puts its vector
    ids, matrix = exact.stored_vectors(corpus, fake_encoder.name)
    ref = PCA(n_components=2, svd_solver="full").fit(matrix)
    qv = fake_encoder.encode_queries([query.text])[0]
    assert np.allclose(np.abs(ref.transform(qv[None])[0]), np.abs(m.query_xy), atol=1e-5)
    row = ids.index("tea#0")
    assert np.allclose(
        np.abs(ref.transform(matrix[row : row + 1])[0]),
        np.abs([by_id["tea#0"].x, by_id["tea#0"].y]),
        atol=1e-5,
    )


def test_past_the_limit_a_fixed_sample_is_drawn_with_the_query_passages_on_top(
    home, small_jsonl, fake_encoder
):
    corpus = ingest.ingest(small_jsonl, "mapped", ["bm25", fake_encoder.name], home)
    pr = projection.fit(corpus, fake_encoder.name, limit=3)
    assert pr.sampled and len(pr.rows) == 3 and "3 of 6 passages" in pr.rule
    again = projection.fit(corpus, fake_encoder.name, limit=3)
    assert pr.rows.tolist() == again.rows.tolist()  # the same sample every time
    not_sampled = [pid for i, pid in enumerate(pr.ids) if i not in set(pr.rows.tolist())]
    m = projection.embedding_map(pr, corpus, None, [not_sampled[0]], {"bread": 2})
    drawn = {p.passage_id for p in m.points}
    assert not_sampled[0] in drawn and "bread#0" in drawn and m.query_xy is None
    assert len(drawn) <= 5


def test_ten_thousand_vectors_are_mapped_whole_and_more_are_sampled():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(12_000, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"p{i}" for i in range(len(matrix))]
    whole = projection.fit_vectors("m", ids[:10_000], matrix[:10_000])
    assert not whole.sampled and len(whole.rows) == 10_000
    big = projection.fit_vectors("m", ids, matrix)
    assert big.sampled and len(big.rows) == projection.MAX_POINTS
    assert big.transform(matrix[:5]).shape == (5, 2)
    assert abs(sum(big.explained)) <= 1.0
