"""The Search page's panels: overlap between rankers (Jaccard@k, RBO heat maps), score
distributions with a cut-off, and HNSW recall against exact search (ranklens.ranking.ann)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import resources, safe, state
from pages.search.results import LETTERS, hit_key
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.ranking import ann, compare
from ranklens.ranking.rankers import RankedRuns
from ranklens.types import Query


def overlap(result: RankedRuns, k: int, by_doc: bool = False) -> None:
    names = list(result.runs)
    if len(names) < 2:
        return
    hit_lists = {n: result.runs[n].get("q", []) for n in names}
    labels = [f"{LETTERS[i]} · {n}" for i, n in enumerate(names)]
    if by_doc:
        st.caption("By document: two rankers agree on a document whichever passage they found.")
    tabs = st.tabs(
        [
            f"Jaccard@{k} (1 = same set, 0 = nothing in common)",
            "Rank-biased overlap, RBO (p=0.9; 1 = same ranking, 0 = nothing in common)",
        ]
    )
    for tab, measure in zip(tabs, ("jaccard", "rbo"), strict=True):
        with tab:
            _, m = compare.overlap_matrix(hit_lists, k, measure, hit_key(by_doc))
            fig = go.Figure(
                go.Heatmap(
                    z=m,
                    x=labels,
                    y=labels,
                    zmin=0,
                    zmax=1,
                    colorscale="Blues",
                    text=np.round(m, 2),
                    texttemplate="%{text}",
                    hovertemplate="%{y}<br>%{x}<br>%{z:.3f}<extra></extra>",
                )
            )
            fig.update_layout(height=120 + 60 * len(names), margin=dict(l=10, r=10, t=10, b=10))
            fig.update_yaxes(autorange="reversed")
            st.plotly_chart(fig, width="stretch", key=f"rl_search_overlap_{measure}")


def _speed_note(report, passages: int, exact_max: int) -> str:
    """Why one search is faster than the other at this size."""
    if report.exact_ms <= report.hnsw_ms:
        text = (
            f"Exact search is the faster one here: with {passages:,} passages, one matrix "
            "product over every stored vector costs less than walking the HNSW graph"
        )
        if report.ef_search is not None:
            text += " (with ef_search set, the HNSW time also holds opening the index in a "
            text += "separate process)"
        return (
            f"{text}. HNSW pays off on large collections (hundreds of thousands of passages); "
            f"RankLens ranks exactly up to {exact_max:,} passages (RANKLENS_EXACT_MAX) and "
            "this panel shows what the index would miss beyond that."
        )
    return (
        f"HNSW is faster here ({passages:,} passages): it visits a small part of the graph "
        "instead of every vector, at the price of the recall shown."
    )


def scores(result: RankedRuns) -> None:
    names = [n for n in result.runs if result.runs[n].get("q")]
    if not names:
        return
    if st.session_state.get(state.SEARCH_SCORE_RANKER) not in names:
        st.session_state[state.SEARCH_SCORE_RANKER] = names[0]
    name = st.selectbox("Ranker", names, key=state.SEARCH_SCORE_RANKER)
    hits = result.runs[name]["q"]
    scores = [h.score for h in hits]
    lo, hi = float(min(scores)), float(max(scores))
    key = f"{state.SEARCH_THRESHOLD}:{name}"
    if lo == hi:
        threshold = lo
        st.caption(f"Every hit scores {lo:.4f}.")
    else:
        threshold = st.slider(
            "Score threshold", lo, hi, value=lo, step=(hi - lo) / 200, format="%.4f", key=key
        )
    kept = compare.count_at_or_above(hits, threshold)
    st.metric("Hits a cut-off here keeps", f"{kept} of {len(hits)}")
    fig = go.Figure(go.Histogram(x=scores, nbinsx=min(30, max(5, len(scores)))))
    fig.add_vline(x=threshold, line_color="red", line_dash="dash")
    fig.update_layout(
        height=220, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="score", yaxis_title="hits"
    )
    st.plotly_chart(fig, width="stretch", key="rl_search_scores")
    st.caption(
        "Raw cosine and BM25 scores have no natural cut-off: the same threshold keeps very "
        "different numbers of hits from query to query."
    )


def hnsw(corpus: Corpus, query: str, query_id: str | None, k: int) -> None:
    dense = corpus.dense_models()
    if not dense:
        st.caption("No dense model is indexed for this corpus.")
        return
    c1, c2, c3 = st.columns([3, 2, 2])
    model = c1.selectbox("Dense model", dense, key=state.SEARCH_HNSW_MODEL)
    try:
        settings = ann.hnsw_settings(corpus, model)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    stored_ef = int(settings.get("ef_search") or 100)
    ef = c2.number_input("ef_search", 1, 10000, value=stored_ef, key=state.SEARCH_HNSW_EF)
    sets = corpus.query_sets()
    scopes = ["this query"] + [f"query set {n}" for n in sets]
    scope = c3.selectbox("Measure on", scopes, key="rl_search_hnsw_scope")
    st.caption(
        "Index settings: "
        + ", ".join(f"{key} = {value}" for key, value in sorted(settings.items()))
        + ". A different ef_search is tried in a separate process; the stored setting is kept."
    )
    if st.button("Measure recall", key="rl_search_hnsw_go"):
        queries = (
            [Query(query_id or "q", query)]
            if scope == "this query"
            else sets[scope.removeprefix("query set ")]
        )
        with st.spinner("Searching HNSW and exact…"):
            try:
                report = ann.hnsw_recall(
                    corpus,
                    model,
                    queries,
                    k,
                    None if int(ef) == stored_ef else int(ef),
                    resources.encoder,
                )
            except RankLensError as exc:
                st.error(safe.error(exc))
                return
        st.session_state[state.SEARCH_HNSW_REPORT] = report
    report = st.session_state.get(state.SEARCH_HNSW_REPORT)
    if report is not None and report.model == model:
        a, b, c = st.columns(3)
        a.metric(f"Recall@{report.k} (ef_search={report.ef_search})", f"{report.mean:.3f}")
        b.metric("HNSW search", f"{report.hnsw_ms:.1f} ms")
        c.metric("Exact search", f"{report.exact_ms:.1f} ms")
        st.caption(_speed_note(report, corpus.passages, resources.settings().exact_max))
        if report.mean < 1:
            st.warning(
                "The index misses results that exact search over the same vectors finds: "
                "these losses are the index's, not the model's."
            )
        if len(report.per_query) > 1:
            table = pd.DataFrame(
                sorted(report.per_query.items(), key=lambda t: t[1]), columns=["query", "recall"]
            )
            st.dataframe(table, hide_index=True, width="stretch", height=200)
