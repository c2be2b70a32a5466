"""The browser's sign-in cookie (team mode): read on every run from the request that opened the
connection (st.context.cookies), written and cleared by a small script in the page.

Why a script: Streamlit's own st.login keeps its identity in an HttpOnly cookie that its HTTP
routes (/oauth2callback) set, signed with server.cookieSecret; a page cannot add such a route
under `streamlit run`, so this cookie is set by the page itself (SameSite=Strict, Secure behind
https, the server's base path) and cannot be HttpOnly. Only its hash is kept on the server
(ranklens.judging.sign_ins), and the app renders nothing that could run a script from data.
"""

from __future__ import annotations

import json

import streamlit as st

from ranklens.judging.sign_ins import SIGN_IN_TTL_S

COOKIE = "rl_sign_in"


def read() -> str | None:
    """The secret the browser sent when this connection opened, or None."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no connection (bare mode): no cookie
        return None
    return value if isinstance(value, str) and value else None


def _path() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + base if base else "/"


def _script(value: str, max_age: int) -> str:
    # json.dumps quotes the values for JavaScript; the secret is URL-safe base64 anyway
    return (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie={json.dumps(COOKIE)}+'='+{json.dumps(value)}+"
        f"'; Path='+{json.dumps(_path())}+'; Max-Age={int(max_age)}; SameSite=Strict'+s;"
        "location.reload();})();</script>"
    )


def give(token: str) -> None:
    """Hand the browser its secret, then reload the page so the next connection carries it."""
    st.html(_script(token, SIGN_IN_TTL_S), unsafe_allow_javascript=True)


def take_back() -> None:
    """Remove the cookie from the browser and reload (the server has ended the sign-in)."""
    st.html(_script("", 0), unsafe_allow_javascript=True)
