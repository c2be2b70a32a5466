"""Annotator accounts for team mode: who may sign in, with which key, and who is an admin.

Keys are random, shown once by the CLI; the store keeps only a salted scrypt hash of each (table
`annotator_keys`, in the judgment database beside the labels). Also: when team mode is on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from typing import NamedTuple

import sqlalchemy as sa

from ranklens.errors import InputError, NotFoundError
from ranklens.judging.rules import check_name
from ranklens.schema import Database, annotator_keys, annotators

# scrypt cost: 2**14 x 8 x 1 takes ~16 MiB and ~50 ms per check, which makes guessing slow and
# a sign-in still instant. Stored beside each hash, so raising it later keeps old keys valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
KEY_BYTES = 24  # 192 random bits; 32 URL-safe characters
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class Annotator(NamedTuple):
    name: str
    admin: bool
    created_at: float
    key_set_at: float


def team_mode(
    listen_address: str | None = "127.0.0.1", env: Mapping[str, str] | None = None
) -> bool:
    """Team mode is on when RANKLENS_TEAM says so, and always when the app listens on an
    address other than the loopback (an empty address means every interface)."""
    env = os.environ if env is None else env
    if (env.get("RANKLENS_TEAM") or "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    return (listen_address or "").strip().lower() not in LOOPBACK


def _hash(key: str, salt: bytes, params: str) -> str:
    n, r, p, dklen = (int(x) for x in params.split(","))
    return hashlib.scrypt(
        key.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=64 * 1024 * 1024
    ).hex()


def _new_secret() -> dict[str, str]:
    key = secrets.token_urlsafe(KEY_BYTES)
    salt = secrets.token_bytes(16)
    params = f"{SCRYPT_N},{SCRYPT_R},{SCRYPT_P},{SCRYPT_LEN}"
    return {"key": key, "salt": salt.hex(), "key_hash": _hash(key, salt, params), "params": params}


def _row(r) -> Annotator:
    return Annotator(r.name, bool(r.admin), float(r.created_at), float(r.key_set_at))


def add(store: Database, name: str, *, admin: bool = False) -> tuple[Annotator, str]:
    """Create a sign-in for NAME; returns it and its key (shown once, never stored)."""
    name = check_name(name, "annotator")
    secret = _new_secret()
    now = time.time()
    k = annotator_keys.c
    with store.write() as conn:
        if conn.execute(sa.select(k.name).where(k.name == name)).first():
            raise InputError(
                None, f"annotator {name!r} already has a key; use reset-key to give a new one"
            )
        conn.execute(
            sa.insert(annotator_keys).values(
                name=name,
                admin=admin,
                salt=secret["salt"],
                key_hash=secret["key_hash"],
                params=secret["params"],
                created_at=now,
                key_set_at=now,
            )
        )
        a = annotators.c
        if not conn.execute(sa.select(a.name).where(a.name == name)).first():
            conn.execute(sa.insert(annotators).values(name=name, created_at=now))
    return Annotator(name, admin, now, now), secret["key"]


def list_all(store: Database) -> list[Annotator]:
    """Every annotator who can sign in, by name."""
    with store.read() as conn:
        rows = conn.execute(sa.select(annotator_keys).order_by(annotator_keys.c.name)).all()
    return [_row(r) for r in rows]


def get(store: Database, name: str) -> Annotator | None:
    """The annotator called NAME, or None."""
    with store.read() as conn:
        r = conn.execute(
            sa.select(annotator_keys).where(annotator_keys.c.name == name.strip())
        ).first()
    return _row(r) if r else None


def remove(store: Database, name: str) -> None:
    """Take away NAME's sign-in; the labels NAME made stay, under the same name."""
    name = check_name(name, "annotator")
    with store.write() as conn:
        done = conn.execute(sa.delete(annotator_keys).where(annotator_keys.c.name == name))
    if not done.rowcount:
        raise NotFoundError(f"no annotator named {name!r} can sign in")


def reset_key(store: Database, name: str) -> str:
    """A new key for NAME (the old one stops working at once); returns it, shown once."""
    name = check_name(name, "annotator")
    secret = _new_secret()
    k = annotator_keys.c
    with store.write() as conn:
        done = conn.execute(
            sa.update(annotator_keys)
            .where(k.name == name)
            .values(
                salt=secret["salt"],
                key_hash=secret["key_hash"],
                params=secret["params"],
                key_set_at=time.time(),
            )
        )
    if not done.rowcount:
        raise NotFoundError(f"no annotator named {name!r}; add one with 'annotators add'")
    return secret["key"]


def authenticate(store: Database, name: str, key: str) -> Annotator | None:
    """The annotator when NAME's key is KEY, otherwise None (same work either way)."""
    name = (name or "").strip()
    with store.read() as conn:
        r = conn.execute(sa.select(annotator_keys).where(annotator_keys.c.name == name)).first()
    if r is None:  # hash anyway, so a wrong name takes as long as a wrong key
        _hash(key or "", b"\0" * 16, f"{SCRYPT_N},{SCRYPT_R},{SCRYPT_P},{SCRYPT_LEN}")
        return None
    given = _hash(key or "", bytes.fromhex(r.salt), r.params)
    return _row(r) if hmac.compare_digest(given, r.key_hash) else None


def any_admin(store: Database) -> bool:
    """Whether at least one admin can sign in."""
    with store.read() as conn:
        return bool(
            conn.execute(
                sa.select(annotator_keys.c.name).where(annotator_keys.c.admin.is_(True)).limit(1)
            ).first()
        )
