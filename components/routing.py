"""Deep links: a page URL opened before the app's first run still goes through app.py.

Streamlit treats a `pages/` folder as a legacy multipage app until st.navigation has run once in
the server, so the first request for /judge would run pages/3_judge.py alone (no routing, no
demo bootstrap, the wrong layout). Pages call require_app(); app.py calls follow_intent().
"""

from __future__ import annotations

import streamlit as st

from components import state


def _legacy_mode() -> bool:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a Streamlit without the legacy mode
        return False
    return bool(getattr(PagesManager, "uses_pages_directory", False))


def require_app(page_file: str) -> None:
    """Called at the top of a page: when run outside app.py, go through app.py to this page."""
    if _legacy_mode():
        st.session_state[state.INTENDED_PAGE] = page_file
        st.switch_page("app.py")


def follow_intent(pages: dict) -> None:
    """Called by app.py after st.navigation with {page file: st.Page}: open a deep link, once."""
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
