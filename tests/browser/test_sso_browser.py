"""Single sign-on in a real browser against a real OpenID Connect provider (oidc-provider-mock) on
127.0.0.1: the sign-in page offers the provider beside the keys; the provider's form; back in the
app as the mapped annotator with the configured role; sign-out; a user outside the allow-list is
refused with a clear message."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from ranklens.corpus import ingest

from ..conftest import free_port, write_jsonl

pytestmark = pytest.mark.browser

USERS = [
    {"sub": "u-alice", "email": "alice@example.org", "email_verified": True, "groups": ["admins"]},
    {"sub": "u-bob", "email": "bob@example.org", "email_verified": True, "groups": ["judges"]},
    {"sub": "u-eve", "email": "eve@example.org", "email_verified": True, "groups": ["visitors"]},
]


@pytest.fixture
def provider(tmp_path):
    """A real OpenID Connect provider on 127.0.0.1 (its own process); yields its URL."""
    port = free_port()
    log = tmp_path / "oidc-provider.log"
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for user in USERS:
        args += ["--user-claims", json.dumps(user)]
    proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/.well-known/openid-configuration", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the OIDC provider did not start:\n{log.read_text()}") from None
            time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _sso_app(start_app, tmp_path, provider_url: str):
    """The app in team mode with an [auth] section for the provider (a secrets file of its own)."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its port
        'cookie_secret = "a-long-random-cookie-secret-for-tests-only"\n'
        'client_id = "ranklens"\n'
        'client_secret = "ranklens-secret"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n'
    )
    return start_app(
        {
            "RANKLENS_DEMO": "0",
            "RANKLENS_TEAM": "1",
            "STREAMLIT_SECRETS_FILES": str(secrets),
            "RANKLENS_SSO_ADMIN_GROUPS": "admins",
            "RANKLENS_SSO_ALLOW_GROUPS": "judges",
        }
    )


def _signed_in_as(user: str, role: str = "") -> re.Pattern:
    """The sidebar's line (safe.md puts an invisible joiner after "@" so no link is made)."""
    return re.compile(rf"^Signed in as {user}@\u2060?example\.org{re.escape(role)}$")


def _sso_sign_in(page, url: str, sub: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("Key", exact=True).wait_for()  # the keys stay offered beside the provider
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.get_by_role("heading", name="Authorize Client").wait_for()  # the provider's own form
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize", exact=True).click()


def test_single_sign_on_maps_provider_users_to_annotators_and_roles(
    home, tmp_path, start_app, browser_page, provider
):
    path = write_jsonl(home.home.parent / "kb.jsonl", [{"_id": "t1", "text": "Green tea."}])
    ingest.ingest(path, "kb", ["bm25"], home)
    app = _sso_app(start_app, tmp_path, provider)
    page = browser_page

    # bob (group judges: allowed, not an admin) signs in through the provider
    _sso_sign_in(page, app.url, "u-bob")
    page.get_by_text(_signed_in_as("bob")).wait_for()
    assert page.get_by_text("(admin)").count() == 0
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("heading", name="Corpora").wait_for()
    page.get_by_role("tab", name="Delete").click()
    page.get_by_text("Only an admin can delete a corpus.").wait_for()
    assert page.get_by_role("button", name="Delete corpus").count() == 0

    # sign-out ends the app's sign-in and the provider's session, and lands on the sign-in page
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's end-session form
    page.get_by_role("button", name="Sign in with single sign-on").wait_for()
    assert page.get_by_role("link", name="Judge", exact=True).count() == 0
    page.goto(app.url + "/judge")  # a fresh session finds no identity cookie either
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_role("heading", name="Judge").count() == 0

    # alice (group admins) is an admin
    _sso_sign_in(page, app.url, "u-alice")
    page.get_by_text(_signed_in_as("alice", " (admin)")).wait_for()
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("tab", name="Delete").click()
    page.get_by_role("button", name="Delete corpus").wait_for()

    # eve, in a browser of her own, is known to the provider but not allowed here
    context = page.context.browser.new_context(viewport={"width": 1500, "height": 2200})
    other = context.new_page()
    other.set_default_timeout(60_000)
    _sso_sign_in(other, app.url, "u-eve")
    other.get_by_text(
        re.compile(
            r"eve@\u2060?example\.org is signed in with the identity provider but is not allowed"
        )
    ).wait_for()
    assert other.get_by_role("link", name="Corpus", exact=True).count() == 0
    assert other.get_by_text("Signed in as").count() == 0
    other.get_by_role("button", name="Sign out of single sign-on").click()
    other.get_by_role("button", name="End session").click()
    other.get_by_role("button", name="Sign in with single sign-on").wait_for()
    context.close()


STEAL_SESSION = """
(() => {
  const Original = window.WebSocket;
  window.__rlProtocols = [];
  window.WebSocket = class extends Original {
    constructor(url, protocols) {
      const p = [].concat(protocols || ["streamlit"]);
      if (p.length < 2) p.push("no-xsrf");
      p[2] = "%s";  // another browser's session id, as a reconnect presents it
      window.__rlProtocols.push(p);
      super(url, p);
    }
  };
})();
"""


def _session_ids(page) -> list[str]:
    """The Streamlit session ids the server gives this page (read from its WebSocket frames)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ids: list[str] = []

    def on_frame(payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - another kind of frame
            return
        if msg.HasField("new_session") and msg.new_session.initialize.session_id:
            ids.append(msg.new_session.initialize.session_id)

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return ids


def _thief(browser, app_url: str, session_id: str):
    """A second browser (no cookies) that presents SESSION_ID on connecting; lands on a page."""
    context = browser.new_context(viewport={"width": 1500, "height": 2200})
    context.add_init_script(STEAL_SESSION % session_id)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_role("button", name="Sign in with single sign-on").wait_for()  # the page ran on
    assert page.get_by_text("Signed in as").count() == 0
    assert page.get_by_role("link", name="Judge", exact=True).count() == 0
    presented = page.evaluate("window.__rlProtocols")
    assert presented and all(p[2] == session_id for p in presented)
    return context


def test_a_single_sign_on_session_id_does_not_sign_in_another_browser(
    tmp_path, start_app, browser_page, provider
):
    app = _sso_app(start_app, tmp_path, provider)
    page = browser_page
    ids = _session_ids(page)
    _sso_sign_in(page, app.url, "u-bob")
    page.get_by_text(_signed_in_as("bob")).wait_for()
    stolen = ids[-1]

    # while bob's tab is open: Streamlit refuses the id (team-mode sessions are never resumed, and
    # an identity mismatch is refused besides); the thief gets a fresh session
    _thief(page.context.browser, app.url, stolen).close()
    log = app.log.read_text()
    assert f"reconnect to logged-out session id {stolen}" in log or "identity mismatch" in log
    page.get_by_text(_signed_in_as("bob")).wait_for()  # bob's own session is left alone

    # after bob's tab closed (his session kept for a reconnect): still refused
    page.goto("about:blank")
    time.sleep(1.0)
    _thief(page.context.browser, app.url, stolen).close()
