"""Team mode's sign-in gate for every page (app.py offers only a sign-in page until then), who
is signed in, and whether they may use admin-only actions. Rules live in ranklens.judging.annotators.

Outside team mode nothing changes: no sign-in, everyone may do everything, names are typed.
"""

from __future__ import annotations

import time

import streamlit as st

from components import resources, safe, sso, state
from ranklens.errors import RankLensError
from ranklens.judging import annotators as accounts

SIGNED_IN = "rl_signed_in"  # (name, key_set_at) of the signed-in annotator
SIGN_IN_NAME = "rl_sign_in_name"
SIGN_IN_KEY = "rl_sign_in_key"
SIGN_OUT = "rl_sign_out"
FAILED_WAIT_S = 1.0  # after a wrong key: guessing keys stays slow (scrypt is ~50 ms besides)


def team_mode() -> bool:
    """RANKLENS_TEAM=1, or the app listens beyond 127.0.0.1 (server.address)."""
    return accounts.team_mode(st.get_option("server.address"))


def current() -> accounts.Annotator | None:
    """The signed-in annotator (team mode), or None."""
    if team_mode() and (by_sso := sso.current()) is not None:
        return by_sso  # signed in with the OpenID Connect provider (components/sso.py)
    found = st.session_state.get(SIGNED_IN)
    if not found or not team_mode():
        return None
    try:
        who = accounts.get(resources.judgment_store(), found[0])
    except RankLensError:
        return None
    # removed, or given a new key since: the session ends
    return who if who is not None and who.key_set_at == found[1] else None


def is_admin() -> bool:
    """May this visitor use admin-only actions? Everyone outside team mode; admins inside."""
    if not team_mode():
        return True
    who = current()
    return bool(who and who.admin)


def admin_only(what: str) -> bool:
    """True when the visitor may do WHAT; otherwise says that only an admin may, and False."""
    if is_admin():
        return True
    st.caption(f"Only an admin can {what}.")
    return False


def annotator() -> str | None:
    """The name labels are saved under in team mode (the signed-in annotator), else None."""
    who = current()
    return who.name if who else None


def _sign_in_form() -> None:
    st.title("Sign in")
    st.caption(
        "This RankLens is shared by a team: sign in with the name and key your admin gave you "
        "(`python -m ranklens annotators add NAME` makes them)."
    )
    sso.offer()  # "Sign in with ..." when .streamlit/secrets.toml has an [auth] section
    with st.form("rl_sign_in", clear_on_submit=False):
        name = st.text_input("Name", key=SIGN_IN_NAME)
        key = st.text_input("Key", type="password", key=SIGN_IN_KEY)
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    try:
        store = resources.judgment_store()
        if not accounts.list_all(store):
            st.error(
                "Nobody can sign in yet: an admin runs "
                "`python -m ranklens annotators add NAME --admin` on the server first."
            )
            return
        who = accounts.authenticate(store, name, key)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    if who is None:
        time.sleep(FAILED_WAIT_S)
        st.error("Wrong name or key.")
        return
    st.session_state[SIGNED_IN] = (who.name, who.key_set_at)
    st.session_state[state.ANNOTATOR] = who.name
    st.session_state.pop(SIGN_IN_KEY, None)
    st.rerun()


def allowed() -> bool:
    """May pages run? Always outside team mode; in team mode once signed in."""
    return not team_mode() or current() is not None


def gate(pages: list) -> list:
    """The pages st.navigation may offer: in team mode only a sign-in page until the visitor
    signs in (so no page, nor a deep link to one, runs before); then all, with who is signed in
    and a sign-out button in the sidebar. Called by app.py before anything else runs."""
    if not team_mode():
        return pages
    who = current()
    if who is None:
        st.session_state.pop(SIGNED_IN, None)
        st.session_state.pop(state.ANNOTATOR, None)
        return [st.Page(_sign_in_form, title="Sign in", icon=":material/login:", url_path="signin")]
    st.session_state[state.ANNOTATOR] = who.name  # labels are saved under this name only
    with st.sidebar:
        st.caption(f"Signed in as **{_plain(who.name)}**{' (admin)' if who.admin else ''}")
        st.button("Sign out", key=SIGN_OUT, on_click=_sign_out)
    return pages


def _sign_out() -> None:
    sso.sign_out()
    st.session_state.pop(SIGNED_IN, None)
    st.session_state.pop(state.ANNOTATOR, None)


def _plain(text: str) -> str:
    """A name inside Markdown, with every Markdown character escaped."""
    return safe.md(text)
