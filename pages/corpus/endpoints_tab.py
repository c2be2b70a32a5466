"""The Corpus page's "Search endpoints" tab: a corpus's live endpoints listed; added, tested,
asked again and deleted by an admin (everyone outside team mode).

Every rule (TOML, presets, URL scheme, templates, secrets, cache) is ranklens.ranking.endpoints'; the
engine's texts are shown in dataframes only, never as Markdown or HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, safe
from pages.corpus import corpus_actions
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.ranking.endpoints import EndpointRanker, EndpointStore, fetch, parse_spec
from ranklens.ranking.endpoints.ranker import test_rows
from ranklens.ranking.endpoints.registry import store_of

EXAMPLE = """preset = "elasticsearch"   # or opensearch, solr, vespa, json
url = "https://search.example.com:9200/docs/_search"
title_field = "title"
text_field = "body"
[headers]
Authorization = "ApiKey ${SEARCH_KEY}"   # read from the environment per request"""
CORPUS_KEY = "rl_ep_corpus"
ADD_NAME, ADD_TOML = "rl_ep_add_name", "rl_ep_add_toml"
TEST_HITS = "rl_ep_test_hits"  # (endpoint, query, rows) of the last test in this session


def _table(store: EndpointStore) -> list[str]:
    rows = store.summaries()
    if not rows:
        st.info("No endpoint yet: add one below (an admin, in team mode).")
        return []
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "ranker": r["ranker"],
                    "preset": r["preset"],
                    "url": r["url"],
                    "configuration": r["hash"],
                    "environment": ", ".join(r["env"]),
                    "cached queries": r["cached_queries"],
                }
                for r in rows
            ]
        ),
        hide_index=True,
        use_container_width=True,
    )
    return [r["name"] for r in rows]


def _add_form(store: EndpointStore) -> None:
    with st.form("rl_ep_add"):
        name = st.text_input("Name (ranked as endpoint:NAME)", placeholder="prod", key=ADD_NAME)
        text = st.text_area("Configuration (TOML)", placeholder=EXAMPLE, height=190, key=ADD_TOML)
        replace = st.checkbox("Replace an endpoint of that name", key="rl_ep_add_replace")
        submitted = st.form_submit_button("Save endpoint")
    if not submitted:
        return
    try:
        spec = parse_spec(text, "the configuration")
        store.add(name.strip(), spec, replace=replace)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.success(f"Saved endpoint:{name.strip()}: it is a ranker on Search, Judge and Evaluate.")


def _test(corpus: Corpus, store: EndpointStore, names: list[str]) -> None:
    with st.form("rl_ep_test"):
        name = st.selectbox("Endpoint", names, key="rl_ep_test_name")
        query = st.text_input("Query", key="rl_ep_test_query")
        submitted = st.form_submit_button("Test")
    if submitted and name and query.strip():
        try:
            hits = fetch(store.get(name), f"endpoint:{name}", query.strip(), 10)
        except RankLensError as exc:
            st.session_state.pop(TEST_HITS, None)
            st.error(safe.error(exc))
            return
        rows = [{**r, "text": r["text"][:300]} for r in test_rows(corpus, hits)]
        st.session_state[TEST_HITS] = (name, query.strip(), rows)
    shown = st.session_state.get(TEST_HITS)
    if shown and shown[0] in names:
        st.caption(
            f"endpoint:{safe.md(shown[0])} answered {len(shown[2])} hits for "
            f"{safe.code(shown[1], limit=80)} (asked now, not from the cache)"
        )
        table = pd.DataFrame(shown[2]).rename(columns={"in_corpus": "in the corpus"})
        st.dataframe(table, hide_index=True, use_container_width=True)


def _refresh(corpus: Corpus, names: list[str]) -> None:
    sets = corpus.query_sets()
    if not sets:
        st.caption("Add a query set (Search page) to ask the endpoint for all of its queries.")
        return
    left, right = st.columns(2)
    name = left.selectbox("Endpoint", names, key="rl_ep_refresh_name")
    chosen = right.selectbox("Query set", list(sets), key="rl_ep_refresh_set")
    st.caption(
        "Answers are cached, so that pools, evaluations and snapshots see the same hits. "
        "Ask again to replace the cached answers with what the engine says now."
    )
    if st.button("Ask again for every query of the set", key="rl_ep_refresh"):
        try:
            ranker = EndpointRanker(corpus, name, refresh=True)
            with st.spinner("Asking the endpoint…"):
                ranker.answers([q.text for q in sets[chosen]], ranker.spec.request_size(100))
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        st.success(f"{ranker.fetched} queries asked again; the new answers are cached.")


def _delete(store: EndpointStore, names: list[str]) -> None:
    name = st.selectbox("Endpoint to delete", names, key="rl_ep_delete_name")
    st.caption("Removes the endpoint, its cached answers and the texts it returned.")
    if st.button("Delete endpoint", key="rl_ep_delete"):
        try:
            store.delete(name)
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        st.session_state.pop(TEST_HITS, None)
        st.rerun()


def render() -> None:
    corpus = corpus_actions.pick_corpus(CORPUS_KEY)
    if corpus is None:
        return
    st.caption(
        "A production engine (Elasticsearch, OpenSearch, Solr, Vespa or any JSON API) ranked "
        "as endpoint:NAME beside the corpus's models. Hits the corpus lacks are shown and "
        "judged from the text the engine returned, never indexed."
    )
    store = store_of(corpus)
    if auth.is_admin():  # team mode: admins only (said below, under the table)
        with st.expander("Add or replace an endpoint", expanded=not store.names()):
            _add_form(store)
    present = _table(store)
    if not auth.admin_only("add, test or delete an endpoint") or not present:
        return
    st.subheader("Test")
    _test(corpus, store, present)
    st.subheader("Ask again")
    _refresh(corpus, present)
    st.subheader("Delete")
    _delete(store, present)
