"""The Search page's inputs: which rankers (recipes) and k, and which query-set query the
typed text is (labels are stored per query id)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import resources, routing, state
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.ranking import rankers, recipes
from ranklens.ranking.recipes import available_rankers, make_rankers

MAX_RANKERS = 6
MAX_K_PAGE = 100
CUSTOM_ERROR = "rl_search_custom_error"


def query_of(corpus: Corpus, text: str) -> tuple[str | None, str | None]:
    """(query id, query set) of a query-set query with exactly this text, else (None, None).

    Labels are stored per query id: a query typed freely has none, and cannot be labelled.
    """
    sets = corpus.query_sets()
    chosen = st.session_state.get(state.SEARCH_QID)
    if chosen and chosen[1] == text:
        picked = st.session_state.get(state.QUERY_SET)
        names = [picked, *sets] if picked in sets else list(sets)
        for name in names:
            if any(q.query_id == chosen[0] for q in sets[name]):
                return chosen[0], name
        return chosen[0], None
    for name, queries in sets.items():
        for q in queries:
            if q.text.strip() == text:
                return q.query_id, name
    return None, None


def make(specs: Sequence[str], corpus: Corpus) -> list[rankers.Ranker]:
    return make_rankers(specs, corpus, resources.encoder, resources.reranker)


def choose_rankers(corpus: Corpus) -> tuple[list[str], int]:
    options = available_rankers(corpus)
    custom = st.session_state.get(state.SEARCH_CUSTOM, "").strip()
    chosen = [s for s in st.session_state.get(state.SEARCH_RANKERS, []) if s]
    added = routing.take(state.INTENT_ADD_RANKER)  # e.g. the Evaluate page's tuned recipe
    if isinstance(added, str) and added:
        chosen = [s for s in chosen if s != added][: MAX_RANKERS - 1] + [added]
        st.session_state[state.SEARCH_RANKERS] = chosen
    for spec in [*chosen, custom]:
        if spec and spec not in options:
            options.append(spec)
    if state.SEARCH_RANKERS not in st.session_state or not set(chosen) <= set(options):
        default = recipes.default_rankers(corpus)
        st.session_state[state.SEARCH_RANKERS] = [o for o in default if o in options]
    left, right = st.columns([3, 1])
    with left:
        specs = st.multiselect(
            "Rankers (up to six)",
            options,
            key=state.SEARCH_RANKERS,
            max_selections=MAX_RANKERS,
            help="Each is a recipe: bm25, a dense model, rrf(A,B), wsum(A:0.3,B:0.7), "
            "rerank(A,CROSS_ENCODER,DEPTH). The same names work in the CLI and run files.",
        )
    with right:
        k = st.number_input("k", 1, MAX_K_PAGE, value=10, key=state.SEARCH_K)
    with st.expander("Add a ranker by recipe"):
        st.text_input(
            "Recipe",
            key=state.SEARCH_CUSTOM,
            placeholder="wsum(bm25:0.3,all-MiniLM-L6-v2:0.7)",
            on_change=_add_custom,
            args=(corpus.name,),
        )
        st.caption(
            "Press Enter to add it to the rankers. Fusion ranks its inputs to depth 100 "
            "(rrf(A,B,k=60,depth=100)); rerank(A,ms-marco-MiniLM-L-12-v2,50) rescores A's top 50."
        )
    return specs, int(k)


def _add_custom(corpus_name: str) -> None:
    spec = st.session_state.get(state.SEARCH_CUSTOM, "").strip()
    if not spec:
        return
    try:
        name = make([spec], resources.open_corpus(corpus_name))[0].name
    except RankLensError as exc:
        st.session_state[CUSTOM_ERROR] = str(exc)
        return
    st.session_state.pop(CUSTOM_ERROR, None)
    chosen = list(st.session_state.get(state.SEARCH_RANKERS, []))
    if name not in chosen and len(chosen) < MAX_RANKERS:
        chosen.append(name)
    st.session_state[state.SEARCH_RANKERS] = chosen
    st.session_state[state.SEARCH_CUSTOM] = name
