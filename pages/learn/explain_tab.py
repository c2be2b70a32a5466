"""Learn page, tab "Explain a number": one query, one passage, and how each model's score and
each measure came about (BM25 terms, cosine, RRF, the cross-encoder's rerank, nDCG@10).

The steps come from ranklens.teaching.explain; this module only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import resources, safe, state
from ranklens import models
from ranklens.corpus.chunking import index_text
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.evaluation.measure_texts import explain_measure
from ranklens.ranking import composites, rankers
from ranklens.ranking.recipes import available_rankers, make_ranker, make_rankers, rank_corpus
from ranklens.teaching import explain
from ranklens.types import Qrel, Query

MEASURES = ["nDCG@10", "P@10", "R@100", "AP", "RR", "Judged@10", "P(rel=2)@10"]
TYPED = "(type my own)"
RERANK_DEPTH = 20


def table(rows: list[dict]) -> pd.DataFrame:
    """Step rows as a table; a column mixing numbers and words ("unjudged") is shown as text."""
    df = pd.DataFrame(rows)
    for col in df.columns:
        if df[col].dtype == object and df[col].map(type).nunique() > 1:
            df[col] = df[col].map(lambda v: "" if v is None else str(v))
    return df


def show(ex: explain.Explanation) -> None:
    """An explanation: formula, step table, total, and whether it equals the library's number."""
    st.markdown(f"**{ex.title}**")
    st.caption(ex.formula)
    if ex.rows:
        st.dataframe(table(ex.rows), hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    c1.metric("Sum of the steps", f"{ex.total:.4f}")
    c2.metric("What the library reports", f"{ex.reported:.4f}")
    if ex.agrees:
        st.success("The steps give the reported number.")
    else:
        st.warning("The steps and the reported number differ; see the notes.")
    for note in ex.notes:
        st.text(note)


def pick_query(corpus: Corpus) -> Query | None:
    """A query of one of the corpus's sets, or one typed in."""
    options = {f"{q.query_id}: {q.text}": q for qs in corpus.query_sets().values() for q in qs}
    if st.session_state.get(state.LEARN_QUERY) not in [TYPED, *options]:
        st.session_state[state.LEARN_QUERY] = TYPED
    choice = st.selectbox("A query of the corpus", [TYPED, *options], key=state.LEARN_QUERY)
    if choice != TYPED:
        return options[choice]
    text = st.text_input("Query", placeholder="how do I sort a dictionary by value")
    return Query("typed", text.strip()) if text.strip() else None


def render(corpus: Corpus, qrels_of) -> None:
    """qrels_of(query_id) -> the query's labels (document level) for the Measures part."""
    st.write(
        "Pick a query and one of the passages it retrieves, and see how each model's score "
        "and each measure was computed, step by step."
    )
    query = pick_query(corpus)
    available = available_rankers(corpus)
    if query is None or not available:
        st.info("Choose or type a query.")
        return
    first = st.selectbox("Ranker that finds the passages", available, key=state.LEARN_RANKER)
    try:
        ranked = rank_corpus(
            corpus, [first], [query], 10, "passage", resources.encoder, resources.reranker
        )
        run = next(iter(ranked.runs.values()))
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    hits = run.get(query.query_id, [])
    if not hits:
        st.info("This ranker finds nothing for the query.")
        return
    passages = corpus.get_passages([h.passage_id for h in hits])
    choice = st.radio(
        "Passage",
        [h.passage_id for h in hits],
        format_func=lambda pid: safe.md(  # radio options read Markdown
            f"{pid} — {passages[pid].title or passages[pid].doc_id}", limit=200
        ),
    )
    passage = passages[choice]
    shown, cut = safe.excerpt(passage.text, query.text)
    st.markdown(  # highlight() escapes the passage first; one line, so one raw HTML block
        safe.marked_block(shown, query.text, "rl-passage"),
        unsafe_allow_html=True,
    )
    if cut:
        with st.expander(f"Full passage ({len(passage.text):,} characters)"):
            st.markdown(
                safe.marked_block(passage.text, query.text, "rl-passage"),
                unsafe_allow_html=True,
            )
    tabs = st.tabs(["BM25", "Cosine", "Fusion", "Cross-encoder", "Measures"])
    with tabs[0]:
        if models.BM25 in corpus.models():
            show(explain.explain_bm25(corpus, query.text, choice))
        else:
            st.info("This corpus has no BM25 index.")
    with tabs[1]:
        dense = corpus.dense_models()
        if dense:
            model = st.selectbox("Dense model", dense)
            show(explain.explain_cosine(resources.encoder(model), query.text, index_text(passage)))
        else:
            st.info("This corpus has no dense model.")
    with tabs[2]:
        _fusion(corpus, query, choice)
    with tabs[3]:
        _rerank(corpus, query, first, choice)
    with tabs[4]:
        _measures(corpus, query, first, qrels_of(query.query_id))


def _fusion(corpus: Corpus, query: Query, passage_id: str) -> None:
    models_ = corpus.models()
    if len(models_) < 2:
        st.info("Fusion needs two indexed models.")
        return
    pair = st.multiselect("Fuse", models_, default=models_[:2], max_selections=4)
    if len(pair) < 2:
        return
    fused = make_ranker(f"rrf({','.join(pair)})", corpus, resources.encoder)
    inputs = make_rankers(pair, corpus, resources.encoder)
    ranked = rankers.rank_all([fused, *inputs], [query], composites.FUSION_DEPTH).runs
    hits = ranked[fused.name][query.query_id]
    score = next((h.score for h in hits if h.passage_id == passage_id), 0.0)
    lists = {r.name: ranked[r.name][query.query_id] for r in inputs}
    show(explain.explain_rrf(lists, passage_id, score, composites.RRF_K))


def _rerank(corpus: Corpus, query: Query, first: str, passage_id: str) -> None:
    names = models.reranker_names()
    if not names:
        st.info("No cross-encoder is available.")
        return
    c1, c2 = st.columns(2)
    ce = c1.selectbox("Cross-encoder", names)
    stages = available_rankers(corpus)
    default = first if not first.startswith("rerank(") else corpus.models()[0]
    stage = c2.selectbox(
        "First stage", stages, index=stages.index(default) if default in stages else 0
    )
    spec = f"rerank({stage},{ce},{RERANK_DEPTH})"
    st.caption(
        f"{spec}: the cross-encoder reads the query and each of the first stage's top "
        f"{RERANK_DEPTH} passages together and scores them again; the new order replaces the old."
    )
    if not st.toggle("Rerank now (runs the cross-encoder on 20 passages)", key=state.LEARN_RERANK):
        return
    try:
        r = make_ranker(spec, corpus, resources.encoder, resources.reranker)
        stage_r = make_ranker(stage, corpus, resources.encoder, resources.reranker)
        ranked = rankers.rank_all([stage_r, r], [query], RERANK_DEPTH).runs
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    before, after = ranked[stage_r.name][query.query_id], ranked[r.name][query.query_id]
    pid = passage_id if any(h.passage_id == passage_id for h in after) else after[0].passage_id
    if pid != passage_id:
        st.caption(
            f"The chosen passage is not in {stage}'s top {RERANK_DEPTH}; showing {safe.md(pid)}."
        )
    show(explain.explain_rerank(corpus, query.text, before, after, pid, resources.reranker(ce)))


def _measures(corpus: Corpus, query: Query, first: str, labels: list[Qrel]) -> None:
    for m in MEASURES[:3]:
        with st.expander(f"What {m} means"):
            st.markdown(explain_measure(m))
    if not labels:
        st.info(
            "No labels for this query yet: judge its passages on the Judge page (or import "
            "qrels) to see nDCG@10 computed step by step."
        )
        return
    docs = rank_corpus(corpus, [first], [query], 10, "doc", resources.encoder, resources.reranker)
    st.caption(f"{first}'s top 10 documents (each at its best passage), against the labels.")
    run = next(iter(docs.runs.values()))
    show(explain.explain_ndcg(run[query.query_id], labels, query, k=10))
