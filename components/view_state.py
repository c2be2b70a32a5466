"""The view a user built, kept across pages for the session and as a link (the URL's query
parameters): the corpus, the query set, each page's rankers and the Search query.

Streamlit forgets a widget's value when a page without that widget runs; app.py calls keep() at
the start of every run, which assigns each kept value to itself (so it belongs to the session),
keeps a copy aside and puts it back where it was dropped. The first run of a session takes the
values from the URL (?corpus=...&set=...); the sidebar's "Link to this view" holds the current ones.
"""

from __future__ import annotations

import urllib.parse

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
    and write the view into the URL (when it changed)."""
    if not st.session_state.get(SEEDED):
        st.session_state[SEEDED] = True
        _from_url()
        for key in KEPT:  # the link wins over nothing, never over a value already chosen
            if key not in st.session_state and ASIDE + key in st.session_state:
                st.session_state[key] = st.session_state[ASIDE + key]
    for key in KEPT:
        if key in st.session_state:
            # assigned to itself, the value belongs to the session, not to the widget of one
            # page, so Streamlit keeps it (and shows it) when another page runs
            st.session_state[key] = st.session_state[key]
            st.session_state[ASIDE + key] = st.session_state[key]
        elif ASIDE + key in st.session_state:
            st.session_state[key] = st.session_state[ASIDE + key]
    _link_in_sidebar()


def _link_in_sidebar() -> None:
    """A link that opens this view in a new session (the URL's query parameters). It is not
    written into the address bar as the view changes: with query parameters there, Streamlit's
    page links kept the previous page's address."""
    params: list[tuple[str, str]] = []
    for key, param in KEPT.items():
        value = st.session_state.get(ASIDE + key)
        if param is None or value in (None, "", []):
            continue
        params += [(param, str(v)) for v in (value if isinstance(value, list) else [value])]
    if params:
        query = urllib.parse.urlencode(params)  # every character a link could misuse is encoded
        st.sidebar.markdown(
            f"[:material/link: Link to this view](?{query})",
            help="Opens the app with this corpus, query set, rankers and query.",
        )
