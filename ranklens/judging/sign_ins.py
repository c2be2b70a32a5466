"""Browser sign-ins of team mode: a random secret per sign-in, kept by the browser in a cookie, of
which the store keeps only a hash (table `browser_sign_ins`); and the limit on failed sign-ins.

A sign-in belongs to the browser holding the secret, not to a Streamlit session id: whoever
presents a session id without the secret is not signed in. It ends at sign-out, when it
expires, and as soon as the annotator is removed or given a new key.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from ranklens.judging.annotators import Annotator, annotator_keys
from ranklens.judging.annotators import _row as _annotator
from ranklens.schema import Database, browser_sign_ins

TOKEN_BYTES = 32  # 256 random bits in the cookie
SIGN_IN_TTL_S = 12 * 3600  # a sign-in lasts a working day; the cookie's Max-Age is the same
log = logging.getLogger("ranklens.sign_in")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(store: Database, who: Annotator, ttl_s: float = SIGN_IN_TTL_S) -> str:
    """A new sign-in for WHO; returns the secret for the browser's cookie (never stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = time.time()
    s = browser_sign_ins.c
    with store.write() as conn:
        conn.execute(sa.delete(browser_sign_ins).where(s.expires_at < now))  # tidy as we go
        conn.execute(
            sa.insert(browser_sign_ins).values(
                token_hash=_digest(token),
                name=who.name,
                key_set_at=who.key_set_at,
                created_at=now,
                expires_at=now + ttl_s,
            )
        )
    return token


def resolve(store: Database, token: str | None) -> Annotator | None:
    """The annotator a browser's secret signs in, or None: unknown, expired, or the annotator
    was removed or given a new key since."""
    if not token or len(token) > 200:
        return None
    s, k = browser_sign_ins.c, annotator_keys.c
    with store.read() as conn:
        row = conn.execute(
            sa.select(annotator_keys, s.expires_at)
            .join(browser_sign_ins, s.name == k.name)
            .where(s.token_hash == _digest(token), s.key_set_at == k.key_set_at)
        ).first()
    if row is None or row.expires_at < time.time():
        return None
    return _annotator(row)


def end(store: Database, token: str | None) -> None:
    """Sign out the browser holding this secret (nothing when it is unknown)."""
    if token:
        with store.write() as conn:
            conn.execute(
                sa.delete(browser_sign_ins).where(browser_sign_ins.c.token_hash == _digest(token))
            )


class Throttle:
    """Failed sign-ins per name and per client, with a wait that doubles after each failure
    past a free allowance (in one server process, shared by its browser sessions).

    wait(name, client) says how many seconds are left before another try is accepted;
    failed() records a failure (and logs it); succeeded() clears the name's count.
    """

    def __init__(
        self,
        free_per_name: int = 3,
        free_per_client: int = 10,
        first_wait_s: float = 2.0,
        max_wait_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"name": free_per_name, "client": free_per_client}
        self.first_wait_s, self.max_wait_s, self.clock = first_wait_s, max_wait_s, clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}  # -> (count, last at)
        self._lock = threading.Lock()

    def _left(self, kind: str, value: str, now: float) -> float:
        count, last = self._failures.get((kind, value), (0, 0.0))
        over = count - self.free[kind]
        if over < 0:
            return 0.0
        wait = min(self.max_wait_s, self.first_wait_s * 2**over)
        return max(0.0, last + wait - now)

    def wait(self, name: str, client: str | None) -> float:
        """Seconds before NAME may try again from CLIENT (0: now)."""
        now = self.clock()
        with self._lock:
            return max(
                self._left("name", name.strip().lower(), now),
                self._left("client", client or "?", now),
            )

    def failed(self, name: str, client: str | None) -> None:
        now = self.clock()
        with self._lock:
            for key in (("name", name.strip().lower()), ("client", client or "?")):
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, now)
        log.warning("failed sign-in for name %r from client %s", name[:100], client or "?")

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name.strip().lower()), None)
