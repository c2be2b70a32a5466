"""Browser sign-ins (ranklens.judging.sign_ins) on both stores: only a hash of the cookie's secret
is stored; a sign-in ends at sign-out, at expiry, and when the annotator is removed or given a new
key; failed sign-ins are limited per name and per client, with a wait that doubles, and logged."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ranklens.judging import annotators as accounts
from ranklens.judging import sign_ins


def test_a_sign_in_is_a_secret_of_which_only_a_hash_is_kept(store):
    alice, _ = accounts.add(store, "alice")
    token = sign_ins.start(store, alice)
    assert len(token) >= 40
    with store.read() as conn:
        rows = conn.execute(sa.select(sign_ins.browser_sign_ins)).all()
    assert len(rows) == 1 and token not in repr(rows) and rows[0].name == "alice"
    assert sign_ins.resolve(store, token).name == "alice"
    for wrong in (None, "", token[:-1], token + "x", "x" * 5000, "\x00"):
        assert sign_ins.resolve(store, wrong) is None
    sign_ins.end(store, token)
    assert sign_ins.resolve(store, token) is None


def test_a_sign_in_ends_with_the_key_the_annotator_or_time(store):
    bob, _ = accounts.add(store, "bob", admin=True)
    token = sign_ins.start(store, bob)
    assert sign_ins.resolve(store, token).admin is True
    accounts.reset_key(store, "bob")  # a new key: every browser of bob's is signed out
    assert sign_ins.resolve(store, token) is None
    bob = accounts.get(store, "bob")
    token = sign_ins.start(store, bob)
    accounts.remove(store, "bob")
    assert sign_ins.resolve(store, token) is None
    carol, _ = accounts.add(store, "carol")
    expired = sign_ins.start(store, carol, ttl_s=-1)
    assert sign_ins.resolve(store, expired) is None


def test_failed_sign_ins_wait_longer_each_time_per_name_and_client(caplog):
    now = [1000.0]
    t = sign_ins.Throttle(free_per_name=2, free_per_client=4, first_wait_s=2, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="ranklens.sign_in"):
        for _ in range(2):
            assert t.wait("alice", "10.0.0.1") == 0
            t.failed("alice", "10.0.0.1")
    assert "failed sign-in for name 'alice' from client 10.0.0.1" in caplog.text
    assert t.wait("alice", "10.0.0.1") == 2  # past the free allowance: 2 s
    assert t.wait("Alice ", "10.0.0.9") == 2  # the name is limited from any client
    assert t.wait("bob", "10.0.0.9") == 0
    now[0] += 2
    t.failed("alice", "10.0.0.1")
    assert t.wait("alice", "10.0.0.2") == 4  # then 4, 8, ... up to max_wait_s
    # one client guessing many names is limited too
    for name in ("n1", "n2"):
        t.failed(name, "10.0.0.1")
    assert t.wait("someone-new", "10.0.0.1") > 0
    assert t.wait("someone-new", "10.0.0.3") == 0
    t.succeeded("alice")
    assert t.wait("alice", "10.0.0.3") == 0
