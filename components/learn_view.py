"""Widgets of the Learn page: one query, one passage, and how each model's number came about.

The steps come from ranklens.explain; this module only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import resources, safe
from ranklens import explain, models, rankers
from ranklens.errors import RankLensError
from ranklens.highlight import highlight
from ranklens.index import Corpus
from ranklens.types import Query, doc_level

MEASURES = ["nDCG@10", "P@10", "R@100", "AP", "RR", "Judged@10", "P(rel=2)@10"]


def show(ex: explain.Explanation) -> None:
    """An explanation: formula, step table, total, and whether it equals the library's number."""
    st.markdown(f"**{ex.title}**")
    st.caption(ex.formula)
    if ex.rows:
        st.dataframe(pd.DataFrame(ex.rows), hide_index=True, use_container_width=True)
    c1, c2 = st.columns(2)
    c1.metric("Sum of the steps", f"{ex.total:.4f}")
    c2.metric("What the library reports", f"{ex.reported:.4f}")
    if ex.agrees:
        st.success("The steps give the reported number.")
    else:
        st.warning("The steps and the reported number differ; see the notes.")
    for note in ex.notes:
        st.caption(note)


def _labels_for(corpus: Corpus, query_id: str):
    """The query's labels: from the judgment store, else those shipped with the corpus."""
    qrels = resources.judgment_store().final_qrels(corpus.name, query_ids=[query_id])
    if not qrels:
        qrels = [q for labels in corpus.shipped_qrels().values() for q in labels]
    return [q for q in qrels if q.query_id == query_id]


def _pick_query(corpus: Corpus) -> Query | None:
    sets = corpus.query_sets()
    options = [q for qs in sets.values() for q in qs]
    labels = {f"{q.query_id}: {q.text}": q for q in options}
    choice = st.selectbox("A query of the corpus", ["(type my own)", *labels])
    if choice != "(type my own)":
        return labels[choice]
    text = st.text_input("Query", placeholder="how do I sort a dictionary by value")
    return Query("typed", text.strip()) if text.strip() else None


def render() -> None:
    st.title("Learn")
    st.write(
        "Pick a query and one of the passages it retrieves, and see how each model's score "
        "and each measure was computed, step by step."
    )
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    query = _pick_query(corpus)
    available = rankers.available_rankers(corpus)
    if query is None or not available:
        st.info("Choose or type a query.")
        return
    first = st.selectbox("Ranker that finds the passages", available)
    try:
        run = rankers.make_ranker(first, corpus).rank([query], 10)
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
        format_func=lambda pid: f"{pid} — {passages[pid].title or passages[pid].doc_id}",
        horizontal=False,
    )
    passage = passages[choice]
    st.markdown(
        f"<div class='rl-passage'>{highlight(passage.text, query.text)}</div>",
        unsafe_allow_html=True,  # highlight() escapes the passage first
    )
    tabs = st.tabs(["BM25", "Cosine", "Fusion", "Measures"])
    with tabs[0]:
        if models.BM25 in corpus.models():
            show(explain.explain_bm25(corpus, query.text, choice))
        else:
            st.info("This corpus has no BM25 index.")
    with tabs[1]:
        dense = corpus.dense_models()
        if dense:
            model = st.selectbox("Dense model", dense)
            show(explain.explain_cosine(resources.encoder(model), query.text, _text(passage)))
        else:
            st.info("This corpus has no dense model.")
    with tabs[2]:
        _fusion(corpus, query, choice)
    with tabs[3]:
        _measures(corpus, query, run)


def _text(passage) -> str:
    from ranklens.chunking import index_text

    return index_text(passage)


def _fusion(corpus: Corpus, query: Query, passage_id: str) -> None:
    models_ = corpus.models()
    if len(models_) < 2:
        st.info("Fusion needs two indexed models.")
        return
    pair = st.multiselect("Fuse", models_, default=models_[:2], max_selections=4)
    if len(pair) < 2:
        return
    spec = f"rrf({','.join(pair)})"
    fused = rankers.make_ranker(spec, corpus).rank([query], 100)[query.query_id]
    inputs = {p: rankers.make_ranker(p, corpus).rank([query], 100)[query.query_id] for p in pair}
    score = next((h.score for h in fused if h.passage_id == passage_id), 0.0)
    show(explain.explain_rrf(inputs, passage_id, score, rankers.RRF_K))


def _measures(corpus: Corpus, query: Query, run) -> None:
    labels = _labels_for(corpus, query.query_id)
    for m in MEASURES[:3]:
        with st.expander(f"What {m} means"):
            st.markdown(explain.explain_measure(m))
    if not labels:
        st.info(
            "No labels for this query yet: judge its passages on the Judge page (or import "
            "qrels) to see nDCG@10 computed step by step."
        )
        return
    show(explain.explain_ndcg(doc_level(run)[query.query_id], labels, query, k=10))
