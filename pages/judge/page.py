"""Judge page: pooled, blind relevance judging by keyboard, agreement, adjudication, qrels files.

One module per tab in pages/judge/; every rule and all storage is ranklens.judging.
"""

import streamlit as st

from components import resources, state
from pages.judge import agreement, arena, final, judging, review, setup
from pages.judge.common import (
    AGREEMENT,
    FINAL,
    JUDGE,
    PREFERENCES,
    REVIEW,
    SET_UP,
    TABS,
    choose_query_set,
    identity,
)

st.title("Judge")
store = resources.judgment_store()
top = st.columns([1, 1, 1])
with top[0]:
    annotator = identity()
with top[1]:
    corpus = resources.choose_corpus()
if corpus is None:
    st.stop()
with top[2]:
    query_set, queries = choose_query_set(corpus)
nxt = st.session_state.pop(state.JUDGE_TAB_NEXT, None)
if nxt in TABS:
    st.session_state[state.JUDGE_TAB] = nxt
elif st.session_state.get(state.JUDGE_TAB) not in TABS:
    has_pool = query_set is not None and bool(store.pools(corpus.name, query_set))
    st.session_state[state.JUDGE_TAB] = JUDGE if has_pool else SET_UP
tabs = dict(zip(TABS, st.tabs(list(TABS), key=state.JUDGE_TAB, on_change="rerun"), strict=True))
if tabs[SET_UP].open:
    with tabs[SET_UP]:
        setup.setup_tab(store, corpus, query_set, queries)
if tabs[JUDGE].open:
    with tabs[JUDGE]:
        judging.judge_tab(store, corpus, query_set, annotator)
if tabs[AGREEMENT].open:
    with tabs[AGREEMENT]:
        agreement.agreement_tab(store, corpus, query_set, queries, annotator)
if tabs[FINAL].open:
    with tabs[FINAL]:
        final.final_tab(store, corpus, query_set, queries)
if tabs[PREFERENCES].open:
    with tabs[PREFERENCES]:
        arena.preferences_tab(store, corpus, query_set, queries, annotator)
if tabs[REVIEW].open:
    with tabs[REVIEW]:
        review.review_tab(store, corpus, query_set, queries, annotator)
