"""Single sign-on on the sign-in page: Streamlit's st.login with the OpenID Connect provider(s) of
the `[auth]` section of .streamlit/secrets.toml, and who a provider's user is in RankLens.

Without an `[auth]` section nothing here shows and annotators sign in with keys only. The rules
(name, admin role, allow-list) are ranklens.judging.identity's; components/auth.py asks current().
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAuthError

from components import resources, safe
from ranklens.errors import RankLensError
from ranklens.judging import annotators as accounts
from ranklens.judging import identity

PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SHARED_KEYS = ("redirect_uri", "cookie_secret")
LOGIN_ERROR = "rl_sso_login_error"  # why the last "Sign in with ..." could not start


def _auth_section() -> Mapping[str, Any]:
    """The [auth] section of Streamlit's secrets, or {} (no secrets file, or no section)."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, KeyError):
        return {}
    return section if isinstance(section, Mapping) else {}


def providers() -> list[str]:
    """The configured providers, as st.login names them: "default" for the [auth] section's own
    client, then each [auth.NAME] table with a client; [] when single sign-on is not set up."""
    section = _auth_section()
    if not all(section.get(k) for k in SHARED_KEYS):
        return []
    found = ["default"] if all(section.get(k) for k in PROVIDER_KEYS) else []
    found += [
        name
        for name, value in section.items()
        if isinstance(value, Mapping)
        and all(value.get(k) for k in PROVIDER_KEYS)
        and "_" not in name  # st.login refuses provider names with an underscore
    ]
    return found


def _claims() -> dict[str, Any] | None:
    """The signed-in provider user's ID-token claims, or None (Streamlit reads them from its
    signed identity cookie when the browser connects; a reconnect without it is not resumed)."""
    if not providers():
        return None
    user = st.user.to_dict()
    return dict(user) if user.get("is_logged_in") else None


def _decide() -> tuple[accounts.Annotator | None, str | None]:
    """(annotator, None) for an allowed provider user; (None, why) for a refused one;
    (None, None) when nobody is signed in with the provider."""
    claims = _claims()
    if claims is None:
        return None, None
    try:
        return identity.sign_in(resources.judgment_store(), claims, identity.sso_settings()), None
    except identity.SignInRefused as exc:
        return None, str(exc)
    except RankLensError as exc:  # a bad RANKLENS_SSO_* setting, an unreachable store
        return None, str(exc)


def claims() -> dict[str, Any] | None:
    """The signed-in provider user's ID-token claims (a copy), or None."""
    return _claims()


def annotator_for_claims(found: Mapping[str, Any]) -> accounts.Annotator | None:
    """The annotator these claims sign in as by the rules now (None: refused), outside a run."""
    try:
        return identity.sign_in(resources.judgment_store(), dict(found), identity.sso_settings())
    except RankLensError:
        return None


def current() -> accounts.Annotator | None:
    """The annotator a provider's user signs in as, checked again on every rerun (so a changed
    rule or a key given to the same name since applies at once); None when there is none."""
    return _decide()[0]


def offer() -> None:
    """On the sign-in page: a button per provider; for a provider user who may not sign in,
    why, and a way to sign out of the provider's account."""
    names = providers()
    if not names:
        return
    who, refused = _decide()
    if refused:
        st.error(safe.error(refused))  # it quotes the provider's name for the user
        st.button("Sign out of single sign-on", key="rl_sso_sign_out", on_click=st.logout)
        return
    if who is not None:
        return
    st.subheader("Single sign-on")
    failed = st.session_state.pop(LOGIN_ERROR, None)
    if failed:
        st.error(safe.error(failed))
    for name in names:
        label = "single sign-on" if name == "default" else name[:1].upper() + name[1:]
        st.button(
            f"Sign in with {label}",
            key=f"rl_sso_{name}",
            type="primary",
            on_click=_login,
            args=(name,),
        )
    st.caption("Or sign in with the name and key your admin gave you:")


def _login(provider: str) -> None:
    """st.login (the browser goes to the provider), or why it cannot (Authlib missing, an
    [auth] section Streamlit refuses), shown on the sign-in page instead of a crash."""
    try:
        st.login(None if provider == "default" else provider)
    except StreamlitAuthError as exc:
        st.session_state[LOGIN_ERROR] = f"Single sign-on could not start: {exc}"


def sign_out() -> None:
    """Sign the provider's user out too (Streamlit drops its identity cookie; the provider's
    own session ends when it offers an end-session endpoint)."""
    if _claims() is not None:
        st.logout()
