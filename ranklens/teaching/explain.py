"""How a number was computed, for teaching: BM25, cosine, RRF, a rerank, nDCG@k and each measure.

Each explanation also carries the number the real library produced, and says whether the steps
agree with it: the steps teach, the library's number is the one RankLens reports.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ranklens import models
from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.errors import NotFoundError
from ranklens.types import Hit, Qrel, Query


@dataclass
class Explanation:
    """Rows of a step-by-step table, the total the steps give, the library's own number."""

    title: str
    formula: str  # Markdown / LaTeX-free text
    rows: list[dict]
    total: float
    reported: float
    notes: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return math.isclose(self.total, self.reported, rel_tol=1e-4, abs_tol=1e-6)


def explain_bm25(corpus: index_mod.Corpus, query: str, passage_id: str) -> Explanation:
    """Per-term BM25 contributions for one passage, against the score bm25s stores."""
    from ranklens.ranking.retrievers import load_bm25

    params = corpus.bm25_settings()
    info = corpus.indexes()[models.BM25]
    avg_len = float(info.get("stats", {}).get("avg_doc_len", 0.0))
    retriever = load_bm25(corpus)
    passage = corpus.get_passages([passage_id]).get(passage_id)
    if passage is None:
        raise NotFoundError(f"no passage {passage_id!r} in corpus {corpus.name!r}")
    ord_ = corpus.ord_of(passage_id)
    n_docs = int(retriever.scores["num_docs"])
    indptr = retriever.scores["indptr"]
    indices = retriever.scores["indices"]
    data = retriever.scores["data"]
    q_tokens = index_mod.bm25_query_tokens([query], params)[0]
    d_tokens = index_mod.bm25_query_tokens([index_text(passage)], params)[0]
    tf = Counter(d_tokens)
    doc_len = len(d_tokens)
    rows = []
    total = 0.0
    reported = 0.0
    for term, count in Counter(q_tokens).items():
        tid = retriever.vocab_dict.get(term)
        df = 0 if tid is None else int(indptr[tid + 1] - indptr[tid])
        idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        norm = params.k1 * ((1 - params.b) + params.b * doc_len / avg_len) if avg_len else 0.0
        f = tf.get(term, 0)
        tf_part = f / (norm + f) if f else 0.0
        contribution = idf * tf_part * count
        stored = 0.0
        if tid is not None:
            col = slice(indptr[tid], indptr[tid + 1])
            hit = np.nonzero(indices[col] == ord_)[0]
            stored = float(data[col][hit[0]]) * count if len(hit) else 0.0
        total += contribution
        reported += stored
        rows.append(
            {
                "term": term,
                "in query": count,
                "df": df,
                "idf": idf,
                "tf": f,
                "tf part": tf_part,
                "contribution": contribution,
                "bm25s stored": stored,
            }
        )
    notes = [
        f"N = {n_docs} passages, passage length |d| = {doc_len} tokens, average "
        f"{avg_len:.1f}; k1 = {params.k1}, b = {params.b}; stopwords {params.stopwords or 'none'}, "
        f"stemmer {params.stemmer or 'none'}.",
        "Terms are the query after the same tokenising, stopword removal and stemming as the index.",
    ]
    if not q_tokens:
        notes.append("Every query word is a stopword: BM25 has nothing to match.")
    return Explanation(
        "BM25 (Lucene variant)",
        "score = Σ over query terms of idf(t) × tf / (tf + k1 × (1 − b + b × |d| / avg|d|)), "
        "idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))",
        rows,
        total,
        reported,
        notes,
    )


def explain_cosine(
    encoder: models.Encoder, query: str, passage_text: str, top: int = 10
) -> Explanation:
    """Cosine similarity as the sum of products of two unit vectors; the largest terms shown."""
    q = encoder.encode_queries([query])[0].astype(np.float64)
    d = encoder.encode_documents([passage_text])[0].astype(np.float64)
    products = q * d
    order = np.argsort(-np.abs(products))[:top]
    rows = [
        {"dimension": int(i), "query": q[i], "passage": d[i], "product": products[i]} for i in order
    ]
    return Explanation(
        f"Cosine similarity ({encoder.name})",
        "cos(q, d) = Σᵢ qᵢ × dᵢ for unit vectors (both have length 1); Chroma reports the "
        "distance 1 − cos",
        rows,
        float(products.sum()),
        float(np.dot(q, d) / (np.linalg.norm(q) * np.linalg.norm(d))),
        [
            f"{encoder.dim} dimensions; the {len(rows)} largest products are listed, "
            "the total sums all of them.",
            "Query and passage go through encode_queries / encode_documents: some models add a "
            "prefix to one side.",
        ],
    )


def explain_rrf(
    runs: Mapping[str, Sequence[Hit]], passage_id: str, fused_score: float, k: int = 60
) -> Explanation:
    """Each input ranking's share 1 / (k + rank) of a passage's reciprocal-rank-fusion score."""
    rows, total = [], 0.0
    for name, hits in runs.items():
        rank = next((h.rank for h in hits if h.passage_id == passage_id), None)
        share = 1.0 / (k + rank) if rank else 0.0
        total += share
        rows.append({"ranker": name, "rank": rank or "not retrieved", "1/(k+rank)": share})
    return Explanation(
        "Reciprocal rank fusion",
        f"RRF(d) = Σ over rankers of 1 / (k + rank(d)), k = {k}; a ranker that did not retrieve "
        "d adds nothing. Raw scores are ignored: only ranks count.",
        rows,
        total,
        fused_score,
    )


def explain_ndcg(
    hits: Sequence[Hit], qrels: Sequence[Qrel], query: Query, k: int = 10
) -> Explanation:
    """nDCG@k of one document ranking, term by term, against ir_measures' value.

    hits are document-level (types.doc_level), as the qrels grade documents.
    """
    import ir_measures

    from ranklens.evaluation.measures import evaluate_runs

    grades = {q.doc_id: q.relevance for q in qrels if q.query_id == query.query_id}
    rows, dcg = [], 0.0
    for h in list(hits)[:k]:
        grade = grades.get(h.doc_id)
        gain = max(grade or 0, 0)
        discount = 1.0 / math.log2(h.rank + 1)
        dcg += gain * discount
        rows.append(
            {
                "rank": h.rank,
                "document": h.doc_id,
                "grade": "unjudged" if grade is None else grade,
                "gain": gain,
                "1/log2(rank+1)": discount,
                "gain × discount": gain * discount,
            }
        )
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    total = dcg / idcg if idcg else 0.0
    measure = f"nDCG@{k}"
    df = evaluate_runs(
        {"ranking": {query.query_id: list(hits)}},
        [q for q in qrels if q.query_id == query.query_id],
        [measure],
        level="doc",
    )
    reported = float(df["value"].iloc[0]) if len(df) else 0.0
    return Explanation(
        measure,
        "DCG@k = Σ gain(rank) / log2(rank + 1) over the top k; gain = the grade itself "
        "(trec_eval); nDCG@k = DCG@k / IDCG@k, IDCG from the best possible order of the judged "
        f"grades ({', '.join(map(str, ideal)) or 'none'})",
        rows,
        total,
        reported,
        [
            f"DCG@{k} = {dcg:.4f}, IDCG@{k} = {idcg:.4f}.",
            "Unjudged documents count as grade 0.",
            f"The reported value comes from ir_measures {ir_measures.__version__}.",
        ],
    )


def explain_rerank(
    corpus: index_mod.Corpus,
    query: str,
    first: Sequence[Hit],
    reranked: Sequence[Hit],
    passage_id: str,
    scorer: models.Scorer,
) -> Explanation:
    """What a cross-encoder's rerank did: each passage's score and rank before and after.

    first: the first stage's hits (the passages the reranker rescored); reranked: the rerank's
    hits. The total is the chosen passage's score from the cross-encoder called directly on
    (query, passage); the reported number is the score in the reranked ranking.
    """
    before = {h.passage_id: h for h in first}
    rows = []
    for h in reranked:
        old = before.get(h.passage_id)
        rows.append(
            {
                "passage": h.passage_id,
                "rank before": old.rank if old else None,
                "score before": old.score if old else None,
                "cross-encoder score": h.score,
                "rank after": h.rank,
                "moved": (old.rank - h.rank) if old else None,
            }
        )
    hit = next((h for h in reranked if h.passage_id == passage_id), None)
    if hit is None:
        raise NotFoundError(f"passage {passage_id!r} is not among the reranked passages")
    passage = corpus.get_passages([passage_id])[passage_id]
    direct = float(scorer.score(query, [index_text(passage)])[0])
    old = before.get(passage_id)
    if old is None:
        change = f"came in at rank {hit.rank}"
    elif old.rank == hit.rank:
        change = f"stayed at rank {hit.rank}"
    else:
        change = f"moved from rank {old.rank} to {hit.rank}"
    return Explanation(
        f"Cross-encoder rerank ({scorer.name})",
        "The first stage ranks by its own score; the cross-encoder reads query and passage "
        "together and gives each of the top passages a new score; the new order is by that "
        "score (ties keep the first stage's order). Scores of the two stages are not comparable.",
        rows,
        direct,
        hit.score,
        [
            f"{passage_id} {change}"
            + (
                f" (first-stage score {old.score:.4f}, cross-encoder {hit.score:.4f})."
                if old
                else "."
            ),
            "The sum of the steps is the cross-encoder called again on this one pair; the "
            "reported number is the score in the reranked list. Each pair is scored alone, so "
            "the two are the same number; where they differ, the model's score depends on "
            "what else it scored with the pair.",
        ],
    )


# --------------------------------------------------------------------------------------------
# What each measure computes
