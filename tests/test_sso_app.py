"""Single sign-on in the app (AppTest of app.py, st.user seeded as Streamlit's identity cookie would
set it): keys only without an [auth] section; a provider button beside the keys with one; a
provider user signed in as the mapped annotator and role; a refused one told why."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts

from .conftest import ROOT

APP = str(ROOT / "app.py")
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-tests-only",
    "client_id": "ranklens",
    "client_secret": "ranklens-secret",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}


@pytest.fixture
def team(home, monkeypatch):
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    monkeypatch.setenv("RANKLENS_SSO_ADMIN_GROUPS", "admins")
    monkeypatch.setenv("RANKLENS_SSO_ALLOW_GROUPS", "judges")
    return home


def _app(auth: dict | None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if auth is not None:
        at.secrets["auth"] = auth
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def _user(sub: str, email: str, groups: list[str]) -> dict:
    return {"is_logged_in": True, "sub": sub, "email": email, "groups": groups, "iat": time.time()}


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_without_an_auth_section_only_keys_are_offered(team):
    at = _app(None, {"is_logged_in": True, **_user("u-1", "bob@example.org", ["judges"])})
    assert [t.value for t in at.title] == ["Sign in"]
    assert not any(label.startswith("Sign in with") for label in _buttons(at))
    assert at.text_input(key="rl_sign_in_key")  # the key form is there


def test_the_sign_in_page_offers_each_provider_beside_the_keys(team):
    keycloak = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at = _app({**AUTH, "keycloak": keycloak}, {"is_logged_in": False})
    assert [t.value for t in at.title] == ["Sign in"]
    labels = _buttons(at)
    assert labels[:2] == ["Sign in with single sign-on", "Sign in with Keycloak"]
    assert "Sign in" in labels  # the key form's own button
    incomplete = {k: v for k, v in AUTH.items() if k != "cookie_secret"}
    assert not any(b.startswith("Sign in with") for b in _buttons(_app(incomplete)))


def test_a_provider_user_signs_in_as_the_mapped_annotator_with_the_configured_role(team):
    at = _app(AUTH, _user("u-2", "bob@example.org", ["judges"]))
    assert "Sign in" not in [t.value for t in at.title]
    captions = [c.value for c in at.sidebar.caption]
    assert any(c.startswith("Signed in as **bob@") and "(admin)" not in c for c in captions)
    assert at.session_state["rl_annotator"] == "bob@example.org"
    at = _app(AUTH, _user("u-1", "alice@example.org", ["admins"]))
    assert any(
        c.startswith("Signed in as **alice@") and c.endswith("(admin)")
        for c in (c.value for c in at.sidebar.caption)
    )


def test_a_user_outside_the_allow_list_is_refused_and_can_sign_out(team):
    at = _app(AUTH, _user("u-3", "eve@example.org", ["visitors"]))
    assert [t.value for t in at.title] == ["Sign in"]
    [error] = [e.value for e in at.error]
    assert "is signed in with the identity provider but is not allowed" in error
    assert "eve@" in error and "RANKLENS_SSO_ALLOW" in error
    assert "Sign out of single sign-on" in _buttons(at)
    assert "rl_annotator" not in at.session_state


def test_a_key_holders_name_stays_theirs(team, monkeypatch):
    monkeypatch.setenv("RANKLENS_SSO_NAME_CLAIM", "preferred_username")
    with JudgmentStore(team.db_url) as store:
        accounts.add(store, "bob", admin=True)
    at = _app(AUTH, {**_user("u-2", "bob@example.org", ["judges"]), "preferred_username": "bob"})
    assert [t.value for t in at.title] == ["Sign in"]
    [error] = [e.value for e in at.error]
    assert "belongs to an annotator who signs in with a key" in error


def test_a_sign_in_that_cannot_start_says_why_instead_of_crashing(team):
    # the secrets AppTest is given do not reach st.login's own check, which then refuses
    at = _app(AUTH, {"is_logged_in": False})
    at.button(key="rl_sso_default").click()
    at.run()
    assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("Single sign-on could not start:") and "secrets.toml" in error
    assert [t.value for t in at.title] == ["Sign in"]


def test_a_bad_setting_is_named_on_the_sign_in_page(team, monkeypatch):
    monkeypatch.setenv("RANKLENS_SSO_NAME_CLAIM", "upn")
    at = _app(AUTH, _user("u-2", "bob@example.org", ["judges"]))
    assert [t.value for t in at.title] == ["Sign in"]
    [error] = [e.value for e in at.error]
    assert "RANKLENS_SSO_NAME_CLAIM='upn': expected one or more of" in error
