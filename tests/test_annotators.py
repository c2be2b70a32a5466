"""Team-mode sign-ins: keys made once and stored only as salted hashes, checks, the CLI.

Runs against SQLite and PostgreSQL (the store_url fixture).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ranklens.cli import main as cli_main
from ranklens.errors import InputError, NotFoundError
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts


def test_a_key_signs_in_only_its_own_annotator_and_is_never_stored(store):
    alice, key = accounts.add(store, "  alice ", admin=True)
    bob, bob_key = accounts.add(store, "bob")
    assert (alice.name, alice.admin, bob.admin) == ("alice", True, False)
    assert len(key) >= 32 and key != bob_key
    assert accounts.authenticate(store, "alice", key).name == "alice"
    assert accounts.authenticate(store, " alice", key).admin is True
    assert accounts.authenticate(store, "alice", bob_key) is None  # B's key is not A's
    assert accounts.authenticate(store, "bob", key) is None
    assert accounts.authenticate(store, "alice", key[:-1]) is None
    assert accounts.authenticate(store, "alice", "") is None
    assert accounts.authenticate(store, "nobody", key) is None
    with store.read() as conn:
        rows = conn.execute(sa.select(accounts.annotator_keys)).all()
    stored = " ".join(str(v) for r in rows for v in r)
    assert key not in stored and bob_key not in stored
    assert len({r.salt for r in rows}) == 2  # one salt each
    assert "alice" in store.annotators() and "bob" in store.annotators()


def test_same_key_text_hashes_differently_per_salt():
    params = f"{accounts.SCRYPT_N},{accounts.SCRYPT_R},{accounts.SCRYPT_P},{accounts.SCRYPT_LEN}"
    assert accounts._hash("k", b"a" * 16, params) != accounts._hash("k", b"b" * 16, params)
    assert accounts._hash("k", b"a" * 16, params) == accounts._hash("k", b"a" * 16, params)


def test_reset_key_replaces_the_old_key_and_remove_keeps_labels(store):
    _, old = accounts.add(store, "carol")
    new = accounts.reset_key(store, "carol")
    assert accounts.authenticate(store, "carol", old) is None
    assert accounts.authenticate(store, "carol", new).name == "carol"
    store.add_label("c", "carol", "q1", "d1#0", 2, doc_id="d1")
    accounts.remove(store, "carol")
    assert accounts.authenticate(store, "carol", new) is None
    assert accounts.list_all(store) == []
    assert [lab.annotator for lab in store.current_labels("c")] == ["carol"]
    with pytest.raises(NotFoundError, match="carol"):
        accounts.remove(store, "carol")
    with pytest.raises(NotFoundError, match="dave"):
        accounts.reset_key(store, "dave")


def test_names_are_checked_and_unique(store):
    accounts.add(store, "erin")
    with pytest.raises(InputError, match="already has a key"):
        accounts.add(store, "erin", admin=True)
    with pytest.raises(InputError, match="empty"):
        accounts.add(store, "   ")
    with pytest.raises(InputError, match="200"):
        accounts.add(store, "x" * 201)
    assert [a.name for a in accounts.list_all(store)] == ["erin"]
    assert not accounts.any_admin(store)
    accounts.add(store, "frank", admin=True)
    assert accounts.any_admin(store)


@pytest.mark.parametrize(
    ("env", "address", "expected"),
    [
        ({}, "127.0.0.1", False),
        ({}, "localhost", False),
        ({"RANKLENS_TEAM": "1"}, "127.0.0.1", True),
        ({"RANKLENS_TEAM": "0"}, "127.0.0.1", False),
        ({}, "0.0.0.0", True),
        ({}, "10.1.2.3", True),
        ({}, "", True),  # streamlit's default: every interface
        ({}, None, True),
    ],
)
def test_team_mode_when_asked_or_listening_beyond_the_loopback(env, address, expected):
    assert accounts.team_mode(address, env) is expected


def test_cli_add_list_reset_remove(store_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RANKLENS_DB_URL", store_url)
    assert cli_main(["annotators", "list"]) == 0
    assert "nobody can sign in yet" in capsys.readouterr().out
    assert cli_main(["annotators", "add", "lead", "--admin", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["name"] == "lead" and made["admin"] is True
    assert cli_main(["annotators", "add", "ann"]) == 0
    out = capsys.readouterr().out
    key = out.split("key ", 1)[1].split()[0]
    assert "shown only once" in out
    with JudgmentStore(store_url) as s:
        assert accounts.authenticate(s, "ann", key).name == "ann"
        assert accounts.authenticate(s, "lead", made["key"]).admin
    assert cli_main(["annotators", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["admin"]) for r in rows] == [("ann", False), ("lead", True)]
    assert "key" not in rows[0] and key not in json.dumps(rows)
    assert cli_main(["annotators", "reset-key", "ann"]) == 0
    assert "old key no longer works" in capsys.readouterr().out
    with JudgmentStore(store_url) as s:
        assert accounts.authenticate(s, "ann", key) is None
    assert cli_main(["annotators", "remove", "ann"]) == 0
    assert cli_main(["annotators", "remove", "ann"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "ann" in err and len(err.strip().splitlines()) == 1
    assert cli_main(["annotators", "add", "lead"]) == 2
    assert "already has a key" in capsys.readouterr().err
