"""Seven lessons computed live on a labelled query set (the demo's `faq` by default).

Each lesson picks its query from the data by a stated rule (the largest per-query difference,
the most typical query, ...), shows a step table (an explain.Explanation whose total must equal
the library's number) and names the Search or Evaluate view that shows the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ranklens import models
from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.corpus.lookups import document_passage
from ranklens.errors import RankLensError
from ranklens.evaluation import stats
from ranklens.evaluation.measures import evaluate_runs, per_query_table
from ranklens.ranking import ann
from ranklens.ranking.exact import exact_search
from ranklens.ranking.recipes import make_rankers, rank_corpus
from ranklens.ranking.retrievers import DenseRanker, EncoderLoader
from ranklens.teaching import explain
from ranklens.types import Hit, Qrel, Query, Run

K = 100  # depth of every ranking (R@100 needs it)
CUT = 10  # nDCG@10, Judged@10
MEASURES = ("nDCG@10", "RR", "R@100", "Judged@10", "AP", "P@10")
SAMPLE_QUERIES = 20  # lesson 5: how many queries a small test collection has
SAMPLE_DRAWS = 200  # lesson 5: how many such samples are drawn
SAMPLE_SEED = 0
ALPHA = 0.05


@dataclass(frozen=True)
class Target:
    """The view a lesson opens: a page and what to set on it (the pages map this to widgets)."""

    page: str  # "search" or "evaluate"
    query_set: str
    query_id: str | None = None
    query_text: str | None = None
    rankers: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    condensed: bool = False
    tab: str | None = None  # an Evaluate tab, e.g. "significance"
    hnsw_model: str | None = None
    ranker: str | None = None  # the ranker a per-query explanation opens on


@dataclass
class Lesson:
    """One lesson: what it shows (plain text), its query, the step table, the view it opens."""

    number: int
    key: str
    title: str
    text: str  # plain text with the live numbers; ranker names and ids, never query text
    query: Query | None
    steps: explain.Explanation | None
    target: Target
    table: pd.DataFrame | None = None  # a summary beside the steps (one row per ranker, ...)
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What every lesson reads: the set, its labels, three rankings and their per-query values."""

    corpus: index_mod.Corpus
    query_set: str
    queries: list[Query]  # the labelled queries of the set, in set order
    qrels: list[Qrel]
    sparse: str
    dense: str
    fused: str
    runs: dict[str, Run]  # document level, K deep
    per_query: pd.DataFrame  # evaluate_runs(runs, qrels, MEASURES)
    load_encoder: EncoderLoader | None = None

    @property
    def names(self) -> list[str]:
        return [self.sparse, self.dense, self.fused]

    def table(self, measure: str = "nDCG@10") -> pd.DataFrame:
        return per_query_table(self.per_query, measure)

    def query(self, query_id: str) -> Query:
        return next(q for q in self.queries if q.query_id == query_id)

    def grades(self, query_id: str) -> dict[str, int]:
        return {q.doc_id: q.relevance for q in self.qrels if q.query_id == query_id}


def prepare(
    corpus: index_mod.Corpus,
    query_set: str,
    qrels: Sequence[Qrel],
    sparse: str = models.BM25,
    dense: str | None = None,
    load_encoder: EncoderLoader | None = None,
) -> Context:
    """Rank the set's labelled queries with sparse, dense and rrf(sparse,dense) at document
    level (rankers.rank_all) and evaluate them (evaluate.evaluate_runs)."""
    sets = corpus.query_sets()
    if query_set not in sets:
        raise RankLensError(f"corpus {corpus.name!r} has no query set {query_set!r}")
    dense = dense or next(iter(corpus.dense_models()), None)
    if dense is None or sparse not in corpus.models():
        raise RankLensError(
            f"the lessons compare {sparse} with a dense model; corpus {corpus.name!r} has "
            f"{', '.join(corpus.models()) or 'no index'}"
        )
    labelled = {q.query_id for q in qrels}
    queries = [q for q in sets[query_set] if q.query_id in labelled]
    if len(queries) < 2:
        raise RankLensError(
            f"query set {query_set!r} has {len(queries)} labelled queries; the lessons need two"
        )
    qrels = [q for q in qrels if q.query_id in {x.query_id for x in queries}]
    fused = f"rrf({sparse},{dense})"
    rankers = make_rankers([sparse, dense, fused], corpus, load_encoder)
    ranked = rank_corpus(corpus, rankers, queries, K, "doc")
    per_query = evaluate_runs(ranked.runs, qrels, list(MEASURES), level="doc")
    return Context(
        corpus,
        query_set,
        queries,
        list(qrels),
        sparse,
        dense,
        fused,
        ranked.runs,
        per_query,
        load_encoder,
    )


# ------------------------------------------------------------------ helpers


def _answer(ctx: Context, query_id: str, ranker: str) -> tuple[str, Hit | None]:
    """The query's best-graded document (the best ranked of those) and its hit in the ranking."""
    grades = ctx.grades(query_id)
    top = max(grades.values())
    best = [d for d, g in grades.items() if g == top]
    hits = {h.doc_id: h for h in ctx.runs[ranker].get(query_id, [])}
    found = sorted((hits[d].rank, d) for d in best if d in hits)
    doc = found[0][1] if found else sorted(best)[0]
    return doc, hits.get(doc)


def _rank_text(hit: Hit | None) -> str:
    return f"rank {hit.rank}" if hit is not None else f"not in the top {K}"


def shared_terms(ctx: Context, query: Query, doc_id: str) -> list[str]:
    """Query terms (after the BM25 index's tokenising, stopwords and stemming) in the document."""
    params = ctx.corpus.bm25_settings()
    q_terms = index_mod.bm25_query_tokens([query.text], params)[0]
    doc = document_passage(ctx.corpus, doc_id)
    text = index_text(doc) if doc is not None else ""
    d_terms = set(index_mod.bm25_query_tokens([text], params)[0])
    return sorted({t for t in q_terms if t in d_terms})


def tokenizer_text(ctx: Context, query: Query) -> str:
    """What BM25's tokenizer kept of the query and what it dropped, in a sentence or two."""
    report = index_mod.bm25_token_report(query.text, ctx.corpus.bm25_settings())
    kept = ", ".join(w if [w.lower()] == ts else f"{w} → {' '.join(ts)}" for w, ts in report.kept)
    text = f"BM25's tokenizer kept of the query: {kept or 'nothing'}."
    if report.dropped:
        text += " It dropped " + "; ".join(f"“{w}” ({why})" for w, why in report.dropped) + "."
    return text


def _search_target(ctx: Context, query: Query | None, **extra) -> Target:
    return Target(
        "search",
        ctx.query_set,
        query.query_id if query else None,
        query.text if query else None,
        tuple(ctx.names),
        **extra,
    )


def _largest(diff: pd.Series, tiebreak: dict[str, float] | None = None) -> str:
    """The query id with the largest value (ties: larger tiebreak, then set order)."""
    order = {qid: i for i, qid in enumerate(diff.index)}
    tb = tiebreak or {}
    return max(diff.index, key=lambda q: (diff[q], tb.get(q, 0.0), -order[q]))


# ------------------------------------------------------------------ the lessons


def exact_terms(ctx: Context) -> Lesson:
    """1. A query BM25 wins, and why: the rare words it shares with the answer."""
    nd = ctx.table()
    diff = nd[ctx.sparse] - nd[ctx.dense]
    qid = _largest(diff)
    query = ctx.query(qid)
    doc, hit = _answer(ctx, qid, ctx.sparse)
    _, dense_hit = _answer(ctx, qid, ctx.dense)
    passage = hit.passage_id if hit else ctx.corpus.passages_of_doc(doc)[0].passage_id
    steps = explain.explain_bm25(ctx.corpus, query.text, passage)
    matched = sorted((r for r in steps.rows if r["tf"]), key=lambda r: -r["contribution"])
    words = ", ".join(f"{r['term']} (idf {r['idf']:.2f})" for r in matched[:4]) or "none"
    wins = int((diff > 0).sum())
    text = (
        f"Rule: the query where {ctx.sparse}'s nDCG@{CUT} beats {ctx.dense}'s by the most "
        f"({wins} of {len(diff)} queries are won by {ctx.sparse}). Here nDCG@{CUT} is "
        f"{nd.at[qid, ctx.sparse]:.3f} against {nd.at[qid, ctx.dense]:.3f}: {ctx.sparse} puts "
        f"the labelled answer {doc} at {_rank_text(hit)}, {ctx.dense} at "
        f"{_rank_text(dense_hit)}. The query's words that the answer holds, by contribution: "
        f"{words}. Exact, rare terms are what BM25 rewards; the dense model only sees "
        "an overall meaning, in which those words weigh little."
    )
    if diff[qid] <= 0:
        text = f"{ctx.sparse} wins no query of this set. " + text
    return Lesson(
        1,
        "exact-terms",
        f"Where {ctx.sparse} wins: exact terms",
        text,
        query,
        steps,
        _search_target(ctx, query),
    )


def no_shared_words(ctx: Context) -> Lesson:
    """2. A query the dense model wins although the answer shares (almost) no word with it."""
    nd = ctx.table()
    diff = nd[ctx.dense] - nd[ctx.sparse]
    wins = [q for q in diff.index if diff[q] > 0] or list(diff.index)
    shared = {q: shared_terms(ctx, ctx.query(q), _answer(ctx, q, ctx.dense)[0]) for q in wins}
    order = {qid: i for i, qid in enumerate(diff.index)}
    qid = min(wins, key=lambda q: (len(shared[q]), -diff[q], order[q]))
    query = ctx.query(qid)
    doc, hit = _answer(ctx, qid, ctx.dense)
    _, sparse_hit = _answer(ctx, qid, ctx.sparse)
    passage = (
        ctx.corpus.get_passages([hit.passage_id])[hit.passage_id]
        if hit
        else ctx.corpus.passages_of_doc(doc)[0]
    )
    load = ctx.load_encoder or models.load_encoder
    steps = explain.explain_cosine(load(ctx.dense), query.text, index_text(passage))
    if hit is not None:
        steps.notes.append(f"Chroma returned cosine {hit.score:.4f} for this passage.")
    words = ", ".join(shared[qid]) if shared[qid] else "none"
    tokens = tokenizer_text(ctx, query)
    ending = (
        "With no token in common BM25 has nothing to score"
        if not shared[qid]
        else "With so few tokens in common BM25 has little to score"
    )
    text = (
        f"Rule: of the {len(wins)} queries {ctx.dense} wins on nDCG@{CUT}, the one whose answer "
        f"shares the fewest query tokens (then the largest difference). {tokens} The answer "
        f"{doc} shares these tokens with the query: {words}. {ctx.dense} puts it at "
        f"{_rank_text(hit)} (nDCG@{CUT} {nd.at[qid, ctx.dense]:.3f}), {ctx.sparse} at "
        f"{_rank_text(sparse_hit)} ({nd.at[qid, ctx.sparse]:.3f}). {ending}; a dense model "
        "compares meanings, so paraphrases still meet."
    )
    return Lesson(
        2,
        "no-shared-words",
        f"Where {ctx.dense} wins: no shared words",
        text,
        query,
        steps,
        _search_target(ctx, query),
    )


def fusion_beats_both(ctx: Context) -> Lesson:
    """3. A query where rrf(sparse, dense) beats both of its inputs."""
    nd = ctx.table()
    diff = nd[ctx.fused] - nd[[ctx.sparse, ctx.dense]].max(axis=1)
    qid = _largest(diff)
    query = ctx.query(qid)
    doc, hit = _answer(ctx, qid, ctx.fused)
    inputs = {
        name: [h._replace(passage_id=h.doc_id) for h in ctx.runs[name].get(qid, [])]
        for name in (ctx.sparse, ctx.dense)
    }  # document rankings, as the fusion at document level fused them
    steps = explain.explain_rrf(inputs, doc, hit.score if hit else 0.0)
    both = int((diff > 0).sum())
    ranks = ", ".join(
        f"{r['ranker']} {'rank ' + str(r['rank']) if isinstance(r['rank'], int) else r['rank']}"
        for r in steps.rows
    )
    text = (
        f"Rule: the query where {ctx.fused} beats the better of its two inputs by the most "
        f"({both} of {len(diff)} queries gain from fusing). nDCG@{CUT}: {ctx.fused} "
        f"{nd.at[qid, ctx.fused]:.3f}, {ctx.sparse} {nd.at[qid, ctx.sparse]:.3f}, {ctx.dense} "
        f"{nd.at[qid, ctx.dense]:.3f}. The answer {doc}: {ranks}; fused, {_rank_text(hit)}. "
        "Fusion adds 1/(60 + rank) from each input and ignores raw scores, so a document both "
        "rankers place fairly high overtakes documents that only one of them likes."
    )
    if diff[qid] <= 0:
        text = "Fusion beats both inputs on no query of this set. " + text
    return Lesson(
        3, "fusion", "Where fusion beats both", text, query, steps, _search_target(ctx, query)
    )


def labels_to_ndcg(ctx: Context) -> Lesson:
    """4. How the labels of one typical query become its nDCG@10."""
    means = ctx.table().mean()
    best = str(means.idxmax())
    col = ctx.table()[best]
    distance = (col - means[best]).abs()
    qid = _largest(-distance)  # the query closest to the mean: a typical one
    query = ctx.query(qid)
    steps = explain.explain_ndcg(ctx.runs[best].get(qid, []), ctx.qrels, query, k=CUT)
    text = (
        f"Rule: the query whose nDCG@{CUT} under the best ranker here ({best}, mean "
        f"{means[best]:.3f}) is closest to that mean: a typical query ({col[qid]:.3f}). Each "
        "labelled document in the top 10 adds its grade, discounted by log2(rank + 1); "
        "dividing by the best possible sum (IDCG) gives a number from 0 to 1. The mean over "
        "the set's queries is the nDCG@10 the Evaluate page reports."
    )
    target = Target(
        "evaluate",
        ctx.query_set,
        qid,
        None,
        tuple(ctx.names),
        ("nDCG@10", "RR", "R@100", "Judged@10"),
        tab="per-query",
        ranker=best,
    )
    return Lesson(4, "labels-to-ndcg", "How labels become nDCG@10", text, query, steps, target)


def significance(ctx: Context) -> Lesson:
    """5. Why a test matters with 20 queries: samples of 20 disagree with the whole set."""
    nd = ctx.table()
    a, b = ctx.sparse, ctx.dense
    full_diff = float(nd[a].mean() - nd[b].mean())
    full_p = stats.randomization_test(nd[a], nd[b], seed=SAMPLE_SEED)
    n = min(SAMPLE_QUERIES, len(nd) - 1)
    rng = np.random.default_rng(SAMPLE_SEED)
    samples = [np.sort(rng.choice(len(nd), size=n, replace=False)) for _ in range(SAMPLE_DRAWS)]
    flips = signif = 0
    for rows in samples:
        sub = nd.iloc[rows]
        d = float(sub[a].mean() - sub[b].mean())
        flips += (d > 0) != (full_diff > 0) and d != 0
        signif += stats.paired_t_test(sub[a], sub[b]) < ALPHA
    first = nd.iloc[samples[0]]
    ids = list(first.index)
    rows_ = [
        {
            "query": q,
            a: first.at[q, a],
            b: first.at[q, b],
            "difference": first.at[q, a] - first.at[q, b],
        }
        for q in ids
    ]
    total = float(np.mean([r["difference"] for r in rows_]))
    sample_qrels = [q for q in ctx.qrels if q.query_id in set(ids)]
    again = per_query_table(
        evaluate_runs({a: ctx.runs[a], b: ctx.runs[b]}, sample_qrels, [f"nDCG@{CUT}"]),
        f"nDCG@{CUT}",
    )
    reported = float(again[a].mean() - again[b].mean())
    p_first = stats.paired_t_test(first[a], first[b])
    steps = explain.Explanation(
        f"Mean difference of nDCG@{CUT} on the first sample of {n} queries",
        f"mean over the {n} queries of nDCG@{CUT}({a}) − nDCG@{CUT}({b}); the library's number "
        "is the difference of the two means ir_measures gives on those queries",
        rows_,
        total,
        reported,
        [f"Paired t-test on this sample: raw p = {p_first:.3f} (one pair, no correction)."],
    )
    text = (
        f"Rule: {a} against {b}, on all {len(nd)} labelled queries and on {SAMPLE_DRAWS} random "
        f"samples of {n} (numpy seed {SAMPLE_SEED}). On all queries the difference of mean "
        f"nDCG@{CUT} is {full_diff:+.3f} (randomization test, raw p = {full_p:.4f}: this one pair, "
        "not Holm-adjusted; Evaluate adjusts for every pair it tests, so its p is larger). "
        "Of the samples "
        f"of {n}, {flips} ({flips / SAMPLE_DRAWS:.0%}) point the other way, and only {signif} "
        f"({signif / SAMPLE_DRAWS:.0%}) are significant at {ALPHA} with a paired t-test. With "
        "few queries a difference can be luck: the test says how likely that is."
    )
    target = Target("evaluate", ctx.query_set, None, None, (a, b), ("nDCG@10",), tab="significance")
    table = pd.DataFrame(
        [
            {"queries": len(nd), "difference of means": full_diff, "raw p (randomization)": full_p},
            {
                "queries": n,
                "difference of means": total,
                "raw p (randomization)": stats.randomization_test(
                    first[a], first[b], seed=SAMPLE_SEED
                ),
            },
        ]
    )
    return Lesson(
        5, "significance", f"Why a test matters with {n} queries", text, None, steps, target, table
    )


def incomplete_labels(ctx: Context) -> Lesson:
    """6. What unjudged documents do: Judged@10, and condensed lists that drop them."""
    judged = f"Judged@{CUT}"
    condensed = evaluate_runs(ctx.runs, ctx.qrels, [f"nDCG@{CUT}"], level="doc", condensed=True)
    std = ctx.table()
    cond = per_query_table(condensed, f"nDCG@{CUT}")
    jt = ctx.table(judged)
    table = pd.DataFrame(
        {
            "ranker": ctx.names,
            judged: [float(jt[r].mean()) for r in ctx.names],
            f"nDCG@{CUT}": [float(std[r].mean()) for r in ctx.names],
            f"nDCG@{CUT} condensed": [float(cond[r].mean()) for r in ctx.names],
        }
    )
    worst = str(table.sort_values(judged, kind="stable")["ranker"].iloc[0])
    gap = cond[worst] - std[worst]
    qid = _largest(gap)
    query = ctx.query(qid)
    grades = ctx.grades(qid)
    hits = ctx.runs[worst].get(qid, [])[:CUT]
    rows = [
        {
            "rank": h.rank,
            "document": h.doc_id,
            "judged": h.doc_id in grades,
            "grade": grades.get(h.doc_id, "unjudged"),
        }
        for h in hits
    ]
    n_judged = sum(r["judged"] for r in rows)
    full = ctx.runs[worst].get(qid, [])
    judged_hits = [h for h in full if h.doc_id in grades]
    moved = ", ".join(
        f"{h.doc_id} from rank {h.rank} to {i}" for i, h in enumerate(judged_hits, 1) if h.rank != i
    )
    steps = explain.Explanation(
        f"{judged} of {worst} for one query",
        f"{judged} = labelled documents in the top {CUT} / min({CUT}, documents returned)",
        rows,
        n_judged / max(1, min(CUT, len(hits))),
        float(jt.at[qid, worst]),
        [
            f"Condensed, the unjudged documents are dropped and the judged ones move up"
            f"{' (' + moved + ')' if moved else ''}: nDCG@{CUT} {std.at[qid, worst]:.3f} "
            f"becomes {cond.at[qid, worst]:.3f}."
        ],
    )
    order_std = list(table.sort_values(f"nDCG@{CUT}", ascending=False, kind="stable")["ranker"])
    order_cond = list(
        table.sort_values(f"nDCG@{CUT} condensed", ascending=False, kind="stable")["ranker"]
    )
    text = (
        f"Rule: the ranker with the fewest judged top-{CUT} documents ({worst}, {judged} "
        f"{table.set_index('ranker').at[worst, judged]:.3f}) and the query that condensing "
        f"changes most for it. Unjudged documents count as not relevant, so a ranker that finds "
        f"documents nobody judged looks worse than it may be. Ordered by nDCG@{CUT}: "
        f"{', '.join(order_std)}; by condensed nDCG@{CUT}: {', '.join(order_cond)}"
        f"{' (the same order)' if order_std == order_cond else ' (the order changes)'}. "
        "Judging more documents (the Judge page pools the rankers' top results) is the real cure."
    )
    target = Target(
        "evaluate",
        ctx.query_set,
        None,
        None,
        tuple(ctx.names),
        (f"nDCG@{CUT}", judged),
        condensed=True,
    )
    return Lesson(
        6,
        "incomplete-labels",
        "Incomplete labels: Judged@10 and condensed lists",
        text,
        query,
        steps,
        target,
        table,
    )


def hnsw_vs_exact(ctx: Context, ef_search: int | None = None) -> Lesson:
    """7. HNSW (Chroma's approximate search) against exact cosine search."""
    report = ann.hnsw_recall(
        ctx.corpus,
        ctx.dense,
        ctx.queries,
        k=CUT,
        ef_search=ef_search,
        load_encoder=ctx.load_encoder,
    )
    per = pd.Series(report.per_query)
    qid = _largest(-per)  # the query with the lowest recall
    query = ctx.query(qid)
    ranker = DenseRanker(ctx.corpus, ctx.dense, ctx.load_encoder)
    vector = ranker.encode([query])
    exact = exact_search(ctx.corpus, ctx.dense, vector, CUT)[0]
    approx = {h.passage_id for h in ranker.rank_vectors([query], vector, CUT)[qid]}
    cutoff = exact[-1][1] - ann.TIE_EPS if exact else math.inf
    rows = [
        {"exact rank": i, "passage": pid, "cosine": s, "found by HNSW": pid in approx}
        for i, (pid, s) in enumerate(exact, 1)
    ]
    steps = explain.Explanation(
        f"Recall@{CUT} of HNSW for one query",
        f"recall@{CUT} = passages of the exact top {CUT} that HNSW also returns / {CUT}",
        rows,
        sum(r["found by HNSW"] for r in rows) / max(1, len(rows)),
        float(per[qid]),
        [
            f"A passage HNSW returns that ties the {CUT}th exact cosine (within {ann.TIE_EPS}, "
            f"here ≥ {cutoff:.4f}) counts as found: either may rightly be returned."
        ],
    )
    perfect = int((per >= 1.0).sum())
    text = (
        f"Rule: HNSW recall@{CUT} of {ctx.dense} against exact search over the same stored "
        f"vectors, for every labelled query; the step table shows the query with the lowest "
        f"recall. Mean recall@{CUT} {report.mean:.3f}; {perfect} of {len(per)} queries get the "
        f"exact top {CUT} ({ctx.corpus.passages:,} passages, ef_search "
        f"{report.ef_search or report.settings.get('ef_search', 'default')}). HNSW walks a graph "
        "instead of comparing the query with every vector: far faster on large corpora, at the "
        "price of sometimes missing a neighbour. The Search page lets you lower ef_search and "
        "watch recall drop."
    )
    return Lesson(
        7,
        "hnsw",
        "HNSW against exact search",
        text,
        query,
        steps,
        _search_target(ctx, query, hnsw_model=ctx.dense),
    )


LESSONS = (
    exact_terms,
    no_shared_words,
    fusion_beats_both,
    labels_to_ndcg,
    significance,
    incomplete_labels,
    hnsw_vs_exact,
)


NAMES = (
    "BM25 wins: exact terms",
    "Dense wins: no shared words",
    "Fusion beats both",
    "Labels become nDCG@10",
    "Significance with 20 queries",
    "Incomplete labels",
    "HNSW vs exact search",
)  # short names of LESSONS, in order


def all_lessons(ctx: Context) -> list[Lesson]:
    """The seven lessons, in order."""
    return [fn(ctx) for fn in LESSONS]
