"""Search page: one query, up to six rankers side by side, with overlap, cut-offs and HNSW recall.

Every number comes from the core (ranklens.ranking.rankers.rank_all, compare, ann); the page's pieces
live beside it (inputs, query sets, result columns, panels).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import resources, safe, state
from pages.search import panels, query_sets, results
from pages.search.inputs import CUSTOM_ERROR, choose_rankers, make, query_of
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.ranking.rankers import RankedRuns
from ranklens.ranking.recipes import rank_corpus
from ranklens.types import Query


def run_search(
    corpus: Corpus, specs: Sequence[str], query: str, k: int, by_doc: bool = False
) -> RankedRuns | None:
    key = (corpus.name, tuple(specs), query, k, by_doc, corpus.version())
    last = st.session_state.get(state.SEARCH_RESULT)
    if last and last[0] == key:
        return last[1]
    try:
        chosen = make(specs, corpus)
        with st.spinner("Ranking…"):
            level = "doc" if by_doc else "passage"
            result = rank_corpus(corpus, chosen, [Query("q", query)], k, level)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return None
    st.session_state[state.SEARCH_RESULT] = (key, result)
    return result


def render() -> None:
    st.title("Search")
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    name = corpus.name
    if not corpus.models():
        st.warning(f"Corpus {name!r} has no finished index yet: finish it on the Corpus page.")
        return
    specs, k = choose_rankers(corpus)
    if CUSTOM_ERROR in st.session_state:
        st.error(safe.error(st.session_state[CUSTOM_ERROR]))
    query_sets.panel(corpus, specs, k)
    query = st.text_input(
        "Query", key=state.SEARCH_QUERY, placeholder="Type a query and press Enter"
    )
    text = (query or "").strip()
    if not specs:
        st.info("Choose at least one ranker.")
        return
    if not text:
        st.info("Type a query to compare the rankers side by side.")
        return
    by_doc = st.toggle(
        "One hit per document (its best passage)",
        key=state.SEARCH_DOC_LEVEL,
        help="Passages are ranked deeper so that k documents usually remain; overlap and rank "
        "changes then compare documents.",
    )
    result = run_search(corpus, specs, text, k, by_doc)
    if result is None:
        return
    query_id, query_set = query_of(corpus, text)
    results.columns(corpus, result, text, k, query_id, query_set, by_doc)
    with st.expander("Overlap between rankers", expanded=len(result.runs) > 1):
        panels.overlap(result, k, by_doc)
    with st.expander("Score distributions and cut-offs"):
        panels.scores(result)
    with st.expander("Approximate vs exact search (HNSW recall)"):
        panels.hnsw(corpus, text, query_id, k)


render()
