"""Single sign-on rules: a provider's ID-token claims become an annotator with the configured role,
or a refusal that says why (not allowed, no usable name, too old, a key holder's name)."""

from __future__ import annotations

import json

import pytest

from ranklens.cli import main as cli_main
from ranklens.errors import RankLensError
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts
from ranklens.judging.identity import SignInRefused, annotator_for, sign_in, sso_settings

NOW = 1_800_000_000.0
ALICE = {"sub": "u-1", "email": "Alice@Example.org", "email_verified": True, "iat": NOW - 60}


def test_settings_default_to_email_names_and_no_limits():
    s = sso_settings({})
    assert (s.name_claims, s.groups_claim, s.max_age_s) == (("email",), "groups", 12 * 3600)
    assert not (s.admins or s.admin_groups or s.allowed or s.allowed_groups)
    s = sso_settings(
        {
            "RANKLENS_SSO_NAME_CLAIM": "preferred_username, email",
            "RANKLENS_SSO_ADMINS": "Boss@Example.org  u-9,@Lab.example.org",
            "RANKLENS_SSO_ADMIN_GROUPS": "/ranklens-admins",
            "RANKLENS_SSO_GROUPS_CLAIM": "roles",
            "RANKLENS_SSO_ALLOW_GROUPS": "annotators staff",
            "RANKLENS_SSO_MAX_AGE_H": "0",
        }
    )
    assert s.name_claims == ("preferred_username", "email")
    assert s.admins == {"boss@example.org", "u-9", "@lab.example.org"}
    assert (s.admin_groups, s.groups_claim) == ({"/ranklens-admins"}, "roles")
    assert s.allowed_groups == {"annotators", "staff"} and s.max_age_s == 0


@pytest.mark.parametrize(
    "env, named",
    [
        ({"RANKLENS_SSO_NAME_CLAIM": "upn"}, "RANKLENS_SSO_NAME_CLAIM='upn'"),
        ({"RANKLENS_SSO_MAX_AGE_H": "-1"}, "RANKLENS_SSO_MAX_AGE_H='-1'"),
        ({"RANKLENS_SSO_MAX_AGE_H": "soon"}, "RANKLENS_SSO_MAX_AGE_H='soon'"),
    ],
)
def test_bad_settings_name_the_variable_and_what_was_expected(env, named):
    with pytest.raises(RankLensError, match="expected") as err:
        sso_settings(env)
    assert named in str(err.value)


def test_the_configured_claim_names_the_annotator():
    claims = {**ALICE, "preferred_username": "alice"}
    assert annotator_for(claims, sso_settings({}), NOW).name == "Alice@Example.org"
    by_user = sso_settings({"RANKLENS_SSO_NAME_CLAIM": "preferred_username email"})
    assert annotator_for(claims, by_user, NOW).name == "alice"
    # first present claim wins: no preferred_username, so the email
    assert annotator_for(ALICE, by_user, NOW).name == "Alice@Example.org"
    by_sub = sso_settings({"RANKLENS_SSO_NAME_CLAIM": "sub"})
    assert annotator_for(claims, by_sub, NOW) == accounts.Annotator(
        "u-1", False, NOW - 60, NOW - 60
    )


def test_an_unverified_email_proves_nothing():
    unverified = {**ALICE, "email_verified": False}
    with pytest.raises(SignInRefused, match="not verified"):
        annotator_for(unverified, sso_settings({}), NOW)
    admins = sso_settings(
        {"RANKLENS_SSO_ADMINS": "alice@example.org", "RANKLENS_SSO_NAME_CLAIM": "sub"}
    )
    assert annotator_for(ALICE, admins, NOW).admin is True
    assert annotator_for(unverified, admins, NOW).admin is False


def test_admin_role_from_a_list_of_users_or_a_group_claim():
    plain = annotator_for(ALICE, sso_settings({}), NOW)
    assert plain.admin is False
    for admins in ("alice@example.org", "ALICE@example.ORG", "u-1", "@example.org"):
        assert annotator_for(ALICE, sso_settings({"RANKLENS_SSO_ADMINS": admins}), NOW).admin
    assert not annotator_for(
        ALICE, sso_settings({"RANKLENS_SSO_ADMINS": "@example.com"}), NOW
    ).admin
    groups = sso_settings({"RANKLENS_SSO_ADMIN_GROUPS": "/ranklens-admins"})
    assert annotator_for({**ALICE, "groups": ["/staff", "/ranklens-admins"]}, groups, NOW).admin
    assert not annotator_for({**ALICE, "groups": ["/staff"]}, groups, NOW).admin
    assert not annotator_for({**ALICE, "groups": "/ranklens-admins-x"}, groups, NOW).admin
    roles = sso_settings(
        {"RANKLENS_SSO_ADMIN_GROUPS": "admin", "RANKLENS_SSO_GROUPS_CLAIM": "roles"}
    )
    assert annotator_for({**ALICE, "roles": "admin"}, roles, NOW).admin
    assert not annotator_for({**ALICE, "groups": ["admin"]}, roles, NOW).admin


def test_an_allow_list_refuses_everyone_else_with_a_clear_message():
    allow = sso_settings(
        {
            "RANKLENS_SSO_ALLOW": "carol@example.org",
            "RANKLENS_SSO_ALLOW_GROUPS": "annotators",
            "RANKLENS_SSO_ADMINS": "boss@example.org",
        }
    )
    with pytest.raises(SignInRefused, match="not allowed to use this RankLens") as err:
        annotator_for(ALICE, allow, NOW)
    assert "Alice@Example.org" in str(err.value) and "RANKLENS_SSO_ALLOW" in str(err.value)
    assert (
        annotator_for({**ALICE, "groups": ["annotators"]}, allow, NOW).name == "Alice@Example.org"
    )
    carol = {"sub": "u-3", "email": "carol@example.org", "iat": NOW}
    assert annotator_for(carol, allow, NOW).admin is False
    boss = {"sub": "u-4", "email": "boss@example.org", "iat": NOW}
    assert annotator_for(boss, allow, NOW).admin is True  # admins need no second listing


def test_no_user_id_or_name_or_a_stale_sign_in_is_refused():
    with pytest.raises(SignInRefused, match="no user id"):
        annotator_for({"email": "a@b.org"}, sso_settings({}), NOW)
    with pytest.raises(SignInRefused, match="no email for this user"):
        annotator_for({"sub": "u-1"}, sso_settings({}), NOW)
    with pytest.raises(SignInRefused, match="cannot name an annotator"):
        annotator_for({"sub": "u-1", "email": "x" * 200 + "@b.org"}, sso_settings({}), NOW)
    old = {**ALICE, "iat": NOW - 13 * 3600}
    with pytest.raises(SignInRefused, match="older than 12 h"):
        annotator_for(old, sso_settings({}), NOW)
    assert annotator_for(old, sso_settings({"RANKLENS_SSO_MAX_AGE_H": "24"}), NOW)
    assert annotator_for(old, sso_settings({"RANKLENS_SSO_MAX_AGE_H": "0"}), NOW)
    undated = {k: v for k, v in ALICE.items() if k != "iat"}
    with pytest.raises(SignInRefused, match="iat claim"):
        annotator_for(undated, sso_settings({}), NOW)
    assert annotator_for(undated, sso_settings({"RANKLENS_SSO_MAX_AGE_H": "0"}), NOW)


def test_a_key_holders_name_is_not_taken_over_until_the_key_is_removed(tmp_path):
    with JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}") as store:
        accounts.add(store, "alice", admin=True)
        claims = {"sub": "u-1", "preferred_username": "alice", "iat": NOW}
        settings = sso_settings({"RANKLENS_SSO_NAME_CLAIM": "preferred_username"})
        with pytest.raises(SignInRefused, match="annotators remove alice"):
            sign_in(store, claims, settings, NOW)
        accounts.remove(store, "alice")
        who = sign_in(store, claims, settings, NOW)
        assert (who.name, who.admin) == ("alice", False)  # the role is single sign-on's


def test_cli_sso_check_gives_the_sign_in_pages_answer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RANKLENS_SSO_ADMIN_GROUPS", "admins")
    monkeypatch.setenv("RANKLENS_SSO_ALLOW_GROUPS", "judges")
    lead = {"sub": "u-1", "email": "lead@example.org", "groups": ["admins"]}  # no iat: no age
    assert cli_main(["annotators", "sso-check", json.dumps(lead)]) == 0
    assert capsys.readouterr().out == "lead@example.org: admin\n"
    eve = tmp_path / "eve.json"
    eve.write_text(json.dumps({**lead, "email": "eve@example.org", "groups": ["visitors"]}))
    assert cli_main(["annotators", "sso-check", str(eve), "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["allowed"] is False and "not allowed to use this RankLens" in answer["reason"]
    eve.write_text('{"sub": "u-3",\n "email": }')
    assert cli_main(["annotators", "sso-check", str(eve)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {eve}, line 2: not JSON")
    assert cli_main(["annotators", "sso-check", "[1, 2]"]) == 2
    assert "expected a JSON object" in capsys.readouterr().err
