"""Learn page: seven lessons computed live on a labelled query set, how each number came about,
embedding maps, and what one changed label would do. One module per tab in pages/learn/.
"""

import streamlit as st

from components import resources, safe, state
from pages.learn import explain_tab, labelled_set, lessons_tab, map_tab, whatif_tab
from ranklens.evaluation import qrels_sources as lb
from ranklens.types import Qrel

LESSONS, EXPLAIN, MAP, WHAT_IF = "Lessons", "Explain a number", "Embedding map", "What if"
TABS = (LESSONS, EXPLAIN, MAP, WHAT_IF)
KEEP = (  # widgets of one tab keep their value while another tab is open
    state.LEARN_LESSON,
    state.LEARN_QUERY,
    state.LEARN_RANKER,
    state.LEARN_MAP_MODELS,
    state.LEARN_MAP_K,
    state.LEARN_WHATIF_QUERY,
    state.LEARN_WHATIF_DOC,
    state.LEARN_WHATIF_K,
)


def main() -> None:
    for key in KEEP:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.title("Learn")
    top = st.columns(2)
    with top[0]:
        corpus = resources.choose_corpus()
    if corpus is None:
        return
    with top[1]:
        query_set = labelled_set.choose_set(corpus)
    if query_set is None:
        return
    _, labels = labelled_set.set_labels(corpus, query_set)
    qrels = labels.qrels if labels is not None else None
    if labels is not None:
        st.caption(f"Labels: {safe.inline(labels.source)} ({len(qrels)} for {query_set}).")
    by_query: dict[str, list[Qrel]] = {}
    for q in qrels or []:
        by_query.setdefault(q.query_id, []).append(q)

    def qrels_of(query_id: str) -> list[Qrel]:
        """The query's labels: the set's, else the store's (a query of another set)."""
        if query_id in by_query:
            return by_query[query_id]
        return lb.store_qrels(corpus.name, [query_id], store=resources.judgment_store())

    scale = resources.judgment_store().scale(corpus.name)
    if st.session_state.get(state.LEARN_TAB) not in TABS:
        st.session_state[state.LEARN_TAB] = LESSONS
    tabs = dict(zip(TABS, st.tabs(list(TABS), key=state.LEARN_TAB, on_change="rerun"), strict=True))
    if tabs[LESSONS].open:
        with tabs[LESSONS]:
            lessons_tab.render(corpus, query_set, qrels)
    if tabs[EXPLAIN].open:
        with tabs[EXPLAIN]:
            explain_tab.render(corpus, qrels_of)
    if tabs[MAP].open:
        with tabs[MAP]:
            map_tab.render(corpus, qrels_of, scale)
    if tabs[WHAT_IF].open:
        with tabs[WHAT_IF]:
            whatif_tab.render(corpus, query_set, qrels, scale)


main()
