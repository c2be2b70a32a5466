"""Team mode's sign-in gate for every page (app.py offers only a sign-in page until then), who
is signed in, and whether they may use admin-only actions. Rules live in ranklens.judging.annotators,
ranklens.judging.sign_ins and ranklens.access.

Outside team mode nothing changes: no sign-in, everyone may do everything, names are typed.

A sign-in belongs to the browser that made it: its identity is read on every run, fragment
refresh and callback from the browser's sign-in cookie (components.sign_in_cookie), never from
the Streamlit session, whose id can be replayed by another client. The sign-in page is a list of
sign-in methods (SIGN_IN_METHODS), one function each; IDENTITY_SOURCES says who a browser is.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from components import resources, safe, sign_in_cookie, sso, state
from ranklens import access
from ranklens.errors import RankLensError
from ranklens.judging import annotators as accounts
from ranklens.judging import sign_ins

SIGNED_IN = "rl_signed_in"  # the name of the annotator this session belongs to
SIGN_IN_NAME = "rl_sign_in_name"
SIGN_IN_KEY = "rl_sign_in_key"
SIGN_OUT = "rl_sign_out"
SIGNED_OUT = "rl_signed_out"  # set by the sign-out button: the next run clears the cookie
NOT_RESUMABLE = "rl_not_resumable"  # this session told Streamlit never to hand it to a reconnect
FAILED_WAIT_S = 1.0  # after a wrong key: guessing keys stays slow (scrypt is ~50 ms besides)
F = TypeVar("F", bound=Callable)


def team_mode() -> bool:
    """RANKLENS_TEAM=1, or the app listens beyond 127.0.0.1 (server.address)."""
    return accounts.team_mode(st.get_option("server.address"))


def _from_key_cookie() -> accounts.Annotator | None:
    """The annotator whose key sign-in this browser's cookie holds."""
    return sign_ins.resolve(resources.judgment_store(), sign_in_cookie.read())


# Who a browser is, asked in order; another sign-in method adds its own source here.
# The OpenID Connect provider's user (Streamlit's own HttpOnly identity cookie, components/sso.py)
# comes first; then a key sign-in's cookie.
IDENTITY_SOURCES: list[Callable[[], accounts.Annotator | None]] = [sso.current, _from_key_cookie]


def current() -> accounts.Annotator | None:
    """The signed-in annotator (team mode), or None: asked of the browser on every call."""
    if not team_mode():
        return None
    for source in IDENTITY_SOURCES:
        try:
            who = source()
        except RankLensError:
            return None
        if who is not None:
            return who
    return None


def actor() -> access.Actor | None:
    """Who asks, for the core's admin-only rules: None outside team mode (the local operator),
    else the signed-in annotator (a nameless non-admin when nobody is)."""
    if not team_mode():
        return None
    who = current()
    return access.Actor(who.name, who.admin) if who else access.Actor(None, False)


def is_admin() -> bool:
    """May this visitor use admin-only actions? Everyone outside team mode; admins inside."""
    if not team_mode():
        return True
    who = current()
    return bool(who and who.admin)


safe.set_admin_check(is_admin)  # error messages ask it whether to cut server paths


def admin_recheck() -> Callable[[], bool]:
    """A check to run later, outside any script run (a download made when clicked, where no
    cookie can be read): is this browser's sign-in still an admin's then? Outside team mode,
    always. (Another sign-in method extends this with its own re-check.)"""
    if not team_mode():
        return lambda: True
    token = sign_in_cookie.read()
    claims = sso.claims()  # a provider user's ID-token claims: the rules are applied again

    def check() -> bool:
        try:
            if claims is not None:
                who = sso.annotator_for_claims(claims)
            else:
                who = sign_ins.resolve(resources.judgment_store(), token)
        except RankLensError:
            return False
        return bool(who and who.admin)

    return check


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


def _owner_ok() -> bool:
    """Outside team mode, always; inside, when this browser is signed in as the annotator this
    session belongs to (a replayed session id brings neither)."""
    if not team_mode():
        return True
    who = current()
    return who is not None and st.session_state.get(SIGNED_IN) == who.name


def guarded(callback: F) -> F:
    """A widget callback that runs only for the signed-in owner of the session (team mode).

    Callbacks run before app.py's gate; without this, a client replaying a session id, or an
    annotator removed since the page was drawn, could still save through one."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        if not _owner_ok():
            return None
        return callback(*args, **kwargs)

    return run  # type: ignore[return-value]


def check_fragment() -> None:
    """First line of a fragment that refreshes on its own (it skips app.py): when the sign-in
    has ended, rerun the whole app, which shows the sign-in page."""
    if not _owner_ok():
        st.rerun(scope="app")


@st.cache_resource(show_spinner=False)
def _throttle() -> sign_ins.Throttle:
    return sign_ins.Throttle()


def _client() -> str | None:
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no connection (bare mode)
        return None
    return ip if isinstance(ip, str) else None


def key_sign_in() -> None:
    """Sign in with the name and key an admin made with the CLI."""
    st.caption(
        "Sign in with the name and key your admin gave you "
        "(`python -m ranklens annotators add NAME` makes them)."
    )
    sso.offer()  # "Sign in with ..." when .streamlit/secrets.toml has an [auth] section
    with st.form("rl_sign_in", clear_on_submit=False):
        name = st.text_input("Name", key=SIGN_IN_NAME)
        key = st.text_input("Key", type="password", key=SIGN_IN_KEY)
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    throttle, client = _throttle(), _client()
    wait = throttle.wait(name or "", client)
    if wait > 0:
        st.error(f"Too many failed sign-ins: try again in {math.ceil(wait)} s.")
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
        if who is None:
            throttle.failed(name or "", client)
            time.sleep(FAILED_WAIT_S)
            st.error("Wrong name or key.")
            return
        throttle.succeeded(name or "")
        token = sign_ins.start(store, who)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.caption("Signing in…")
    sign_in_cookie.give(token)  # the page reloads; the new connection carries the cookie


# The sign-in page offers each of these in turn (one function per way to sign in).
SIGN_IN_METHODS: list[Callable[[], None]] = [key_sign_in]


def _sign_in_page() -> None:
    st.title("Sign in")
    st.caption("This RankLens is shared by a team.")
    for method in SIGN_IN_METHODS:
        method()


def _not_resumable() -> None:
    """Tell Streamlit that no later connection may resume this session (as st.logout does):
    a client that names its id in a reconnect gets a fresh session, before any of this one's
    output can reach it. A tab whose connection dropped reconnects to a fresh session too, and
    its cookie signs it in again."""
    if st.session_state.get(NOT_RESUMABLE):
        return
    try:
        from streamlit import runtime
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not runtime.exists():
            return
        runtime.get_instance().mark_session_nonresumable(ctx.session_id)
    except Exception:  # noqa: BLE001 - a Streamlit without it: the cookie check still holds
        return
    st.session_state[NOT_RESUMABLE] = True


def _wrong_host() -> None:
    st.title("Unknown host name")
    st.error(
        "This RankLens answers only to the host names its admin configured "
        f"({access.ALLOWED_HOSTS_ENV}); open it at one of those."
    )


def _host_ok() -> bool:
    try:
        host = st.context.headers.get("Host")
    except Exception:  # noqa: BLE001 - no connection (bare mode): nothing to check
        return True
    if not isinstance(host, str):
        return True  # AppTest: no request
    names = access.allowed_hosts() + [
        h.lower() for h in (st.get_option("server.allowedHosts") or []) if h != "*"
    ]
    return access.host_allowed(host, names)


def awaits_sign_in() -> bool:
    """Team mode at a good host name, and nobody signed in yet (the sign-in page shows)."""
    return team_mode() and _host_ok() and current() is None


def allowed() -> bool:
    """May pages run? Always outside team mode; in team mode once signed in, at a good host."""
    return not team_mode() or (_host_ok() and _owner_ok())


def gate(pages: list) -> list:
    """The pages st.navigation may offer: in team mode only a sign-in page until the visitor
    signs in (so no page, nor a deep link to one, runs before); then all, with who is signed in
    and a sign-out button in the sidebar. Called by app.py before anything else runs."""
    if not team_mode():
        return pages
    _not_resumable()
    if not _host_ok():
        return [st.Page(_wrong_host, title="Unknown host", url_path="host")]
    signed_out = st.session_state.pop(SIGNED_OUT, False)
    if signed_out:
        sign_in_cookie.take_back()  # the browser forgets the ended sign-in (and reloads)
    who = current()
    owner = st.session_state.get(SIGNED_IN)
    if owner is not None and (who is None or who.name != owner):
        # signed out, or this session was another annotator's: nothing of it is kept
        for k in list(st.session_state):
            del st.session_state[k]
        st.session_state[NOT_RESUMABLE] = True  # (marked above; the mark outlives the state)
    if who is None:
        sign_in = st.Page(
            _sign_in_page, title="Sign in", icon=":material/login:", url_path="signin", default=True
        )
        # a link to a page keeps its address: the sign-in form opens there (no "page not
        # found"), and the page itself once signed in; these stay out of the navigation
        held = [
            st.Page(_sign_in_page, title="Sign in", url_path=p.url_path, visibility="hidden")
            for p in pages
            if p.url_path and p.url_path != "signin"
        ]
        return [sign_in, *held]
    st.session_state[SIGNED_IN] = who.name
    st.session_state[state.ANNOTATOR] = who.name  # labels are saved under this name only
    with st.sidebar:
        st.caption(f"Signed in as **{_plain(who.name)}**{' (admin)' if who.admin else ''}")
        st.button("Sign out", key=SIGN_OUT, on_click=_sign_out)
    return pages


def _sign_out() -> None:
    """End this browser's sign-in: a provider's user through st.logout (Streamlit drops its
    identity cookie and sends the browser to the provider's end-session page); a key sign-in
    on the server, the next run clearing the browser's cookie."""
    if sso.claims() is not None:
        sso.sign_out()  # a reload of our own would cut the provider's sign-out short
        return
    try:
        sign_ins.end(resources.judgment_store(), sign_in_cookie.read())
    except RankLensError:
        pass  # the store is down: the sign-in expires on its own, the cookie goes below
    st.session_state[SIGNED_OUT] = True


def _plain(text: str) -> str:
    """A name inside Markdown, with every Markdown character escaped."""
    return safe.md(text)
