"""A sign-in belongs to the browser that made it (team mode, a real `streamlit run` server).

The attack: a second client that learnt a signed-in session's id (it is in every upload URL and
in the server log) reconnects with it as the third entry of Sec-WebSocket-Protocol. Streamlit
used to resume the session for it; now the app marks its sessions not resumable, so the client
gets a fresh session and the sign-in page, while the first tab is open (which keeps working) and
after it has closed. The first browser stays signed in across a reload. (The second layer, a
session that says who is signed in but a browser without the cookie, is in
tests/test_annotators_app.py.)
"""

from __future__ import annotations

import pytest

from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts

from .stream_client import run_as, session_id_of

pytestmark = pytest.mark.browser


def _sign_in(page, url: str, name: str, key: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_a_replayed_session_id_lands_on_the_sign_in_page(home, start_app, browser_page):
    with JudgmentStore(home.db_url) as store:
        _, key = accounts.add(store, "alice", admin=True)
    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    ws_url = app.url.replace("http://", "ws://") + "/_stcore/stream"
    page = browser_page
    ids: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: (
                ids.append(sid)
                if isinstance(payload, bytes) and (sid := session_id_of(payload))
                else None
            ),
        ),
    )
    _sign_in(page, app.url, "alice", key)
    page.get_by_text("Signed in as alice (admin)").wait_for()
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("heading", name="Corpora").wait_for()
    cookie = next(c for c in page.context.cookies() if c["name"] == "rl_sign_in")
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    stolen = ids[-1]  # the signed-in session's id

    # the first tab is open: the replayed id resumes the session, but not the sign-in
    other = run_as(ws_url, stolen)
    assert "Signed in as" not in other.all_text and "Corpora" not in other.all_text
    assert "No corpus yet" not in other.all_text  # (what the replay got before: the page)
    assert "Sign in" in other.all_text
    assert other.session_id and other.session_id != stolen  # a fresh session, not alice's
    page.get_by_role("link", name="Judge", exact=True).click()  # her tab was not taken over
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_text("Signed in as alice (admin)").wait_for()

    # a guessed or old cookie does not help either
    other = run_as(ws_url, stolen, cookie="rl_sign_in=not-the-secret")
    assert "Sign in" in other.all_text and "Corpora" not in other.all_text

    # the browser that signed in is still signed in, across a reload
    page.reload()
    page.get_by_text("Signed in as alice (admin)").wait_for()
    latest = ids[-1]

    # the tab closes: its session waits in storage for a reconnect; a replay still gets nothing
    page.context.close()
    other = run_as(ws_url, latest)
    assert other.session_id and other.session_id != latest
    assert "Sign in" in other.all_text and "Corpora" not in other.all_text
    assert "Signed in as" not in other.all_text
