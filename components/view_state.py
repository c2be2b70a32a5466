"""The view a user built, kept across pages for the session and in the URL's query parameters:
the corpus, the query set, each page's rankers and the Search query (a link reproduces the view).

Streamlit forgets a widget's value when a page without that widget runs; app.py calls keep() at
the start of every run, which copies each kept widget's value aside and puts it back when the
widget returns. The first run of a session takes the values from the URL (?corpus=...&set=...).
"""

from __future__ import annotations

import streamlit as st

from components import state

# widget key -> URL parameter; a list value is a repeated parameter (recipes hold commas)
KEPT = {
    state.CORPUS: "corpus",
    state.QUERY_SET: "set",
    state.SEARCH_RANKERS: "ranker",
    state.SEARCH_QUERY: "q",
    state.EVAL_RANKERS: "eval_ranker",
}
LISTS = {state.SEARCH_RANKERS, state.EVAL_RANKERS}
ASIDE = "rl_kept:"  # + widget key: the value kept aside
SEEDED = "rl_kept_seeded"  # the URL was read for this session


def _from_url() -> None:
    params = st.query_params
    for key, param in KEPT.items():
        if param is None or param not in params:
            continue
        value = params.get_all(param) if key in LISTS else params.get(param)
        if value:
            st.session_state[ASIDE + key] = list(value) if key in LISTS else str(value)


def keep() -> None:
    """At the start of a run: keep each widget's value aside, restore it where it was dropped,
    and write the view into the URL."""
    if not st.session_state.get(SEEDED):
        st.session_state[SEEDED] = True
        _from_url()
        for key in KEPT:  # the link wins over nothing, never over a value already chosen
            if key not in st.session_state and ASIDE + key in st.session_state:
                st.session_state[key] = st.session_state[ASIDE + key]
    for key in KEPT:
        if key in st.session_state:
            st.session_state[ASIDE + key] = st.session_state[key]
        elif ASIDE + key in st.session_state:
            st.session_state[key] = st.session_state[ASIDE + key]
    _to_url()


def _to_url() -> None:
    wanted: dict[str, object] = {}
    for key, param in KEPT.items():
        value = st.session_state.get(ASIDE + key)
        if param is None or value in (None, "", []):
            continue
        wanted[param] = [str(v) for v in value] if isinstance(value, list) else str(value)
    current = {p: st.query_params.get_all(p) for p in st.query_params}
    as_lists = {p: v if isinstance(v, list) else [v] for p, v in wanted.items()}
    kept_params = {p: v for p, v in current.items() if p not in set(filter(None, KEPT.values()))}
    if {**kept_params, **as_lists} != current:
        st.query_params.from_dict({**kept_params, **wanted})
