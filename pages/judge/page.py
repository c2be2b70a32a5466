"""Judge page: pooled, blind relevance judging by keyboard, agreement, adjudication, qrels files.

One module per tab in pages/judge/ (`<what>_tab.py`, each with one render()); every rule and all
storage is ranklens.judging.
"""

import streamlit as st

from components import resources, state
from pages.judge import (
    agreement_tab,
    final_tab,
    judge_tab,
    preferences_tab,
    review_tab,
    setup_tab,
)
from pages.judge.header import (
    AGREEMENT,
    FINAL,
    JUDGE,
    PREFERENCES,
    REVIEW,
    SET_UP,
    TABS,
    PageContext,
    choose_query_set,
    identity,
    open_tab,
    release_tab_focus,
)

RENDER = {
    SET_UP: setup_tab.render,
    JUDGE: judge_tab.render,
    AGREEMENT: agreement_tab.render,
    FINAL: final_tab.render,
    PREFERENCES: preferences_tab.render,
    REVIEW: review_tab.render,
}

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
open_tab(store, corpus, query_set)
release_tab_focus()
page = PageContext(store, corpus, query_set, queries, annotator)
tabs = st.tabs(list(TABS), key=state.JUDGE_TAB, on_change="rerun")
for name, tab in zip(TABS, tabs, strict=True):
    if tab.open:  # only the open tab runs
        with tab:
            RENDER[name](page)
