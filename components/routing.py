"""Hand-overs between pages: a page asks for another with a request (send), app.py opens it on
the next run (follow_intent), and the page it opened takes the request once (take).
"""

from __future__ import annotations

import streamlit as st

from components import state


def follow_intent(pages: dict) -> None:
    """Called by app.py after st.navigation with {page file: st.Page}: open the page a request
    asked for (send), once."""
    wanted = st.session_state.pop(state.INTENDED_PAGE, None)
    if wanted in pages:
        st.switch_page(pages[wanted])


def send(page_file: str, intent: str, value: object) -> None:
    """Ask for another page with a request for it (an intent, e.g. a recipe to add to Search).

    Safe in a widget callback (where st.switch_page cannot run yet): the page opens on the next
    run, when app.py's follow_intent switches to it; the page takes the request with take().
    """
    intents = dict(st.session_state.get(state.INTENTS) or {})
    intents[intent] = value
    st.session_state[state.INTENTS] = intents
    st.session_state[state.INTENDED_PAGE] = page_file


def take(intent: str) -> object | None:
    """The request another page left for this one under `intent`, once (None when there is none)."""
    intents = dict(st.session_state.get(state.INTENTS) or {})
    value = intents.pop(intent, None)
    if state.INTENTS in st.session_state:
        st.session_state[state.INTENTS] = intents
    return value
