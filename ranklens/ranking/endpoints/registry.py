"""The endpoints of a corpus and their cached answers, in one SQLite file beside the corpus.

An endpoint is stored as the TOML text it was added with (environment variable names, never
their values). Answers are cached per (configuration hash, query text, request size): a pool,
an evaluation and a snapshot made from the cache see the same hits, and the engine is asked
once. A larger cached answer serves a smaller request (its top k), as does a smaller one the
engine could not fill.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from ranklens.corpus import external_docs
from ranklens.corpus.index import check_name
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.ranking.endpoints.client import RawHit
from ranklens.ranking.endpoints.spec import PREFIX, EndpointSpec, parse_spec

FILE = "endpoints.sqlite3"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS endpoints (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,      -- the TOML text as given (no secret values)
        hash TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS results (
        hash TEXT NOT NULL,
        query TEXT NOT NULL,
        k INTEGER NOT NULL,        -- hits asked for
        hits BLOB NOT NULL,        -- zlib JSON [[id, score, title, text], ...]
        fetched REAL NOT NULL,
        PRIMARY KEY (hash, query, k)
    )""",
)


def ranker_name(name: str) -> str:
    return PREFIX + name


class EndpointStore:
    """The endpoints of one corpus (folder `corpus_dir`) and their cached answers."""

    def __init__(self, corpus_dir: str | Path, corpus_name: str = "") -> None:
        self.dir = Path(corpus_dir)
        self.corpus_name = corpus_name or self.dir.name
        self.path = self.dir / FILE
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        """A new connection for changing endpoints: every commit reaches the disk (FULL)."""
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            con.execute(statement)
        return con

    def _cache(self) -> sqlite3.Connection:
        """This thread's connection for cached answers, kept open. synchronous=NORMAL: in WAL
        mode a commit survives a crash of the process; a power cut may lose the last answers,
        which are then asked again (a cache, not a record)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    # -- endpoints

    def add(self, name: str, spec: EndpointSpec, replace: bool = False) -> None:
        """Store an endpoint (its TOML text); an existing name is refused unless `replace`."""
        check_name(name, "endpoint name")
        now = time.time()
        with closing(self._connect()) as con, con:
            old = con.execute("SELECT 1 FROM endpoints WHERE name = ?", (name,)).fetchone()
            if old and not replace:
                raise InputError(
                    None,
                    f"corpus {self.corpus_name!r} already has an endpoint named {name!r}: "
                    "choose another name, or replace it (--replace)",
                )
            con.execute(
                "INSERT INTO endpoints (name, config, hash, created, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "config = excluded.config, hash = excluded.hash, updated = excluded.updated",
                (name, spec.source, spec.hash, now, now),
            )

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT name FROM endpoints ORDER BY name")]

    def get(self, name: str) -> EndpointSpec:
        """The endpoint's configuration (NotFoundError naming the ones there are)."""
        row = None
        if self.path.exists():
            with closing(self._connect()) as con:
                row = con.execute("SELECT config FROM endpoints WHERE name = ?", (name,)).fetchone()
        if row is None:
            have = ", ".join(self.names()) or "none"
            raise NotFoundError(
                f"corpus {self.corpus_name!r} has no endpoint named {name!r}; its endpoints: "
                f"{have} (add one with: python -m ranklens endpoints add NAME --corpus "
                f"{self.corpus_name} --config FILE.toml)"
            )
        return parse_spec(row[0], f"endpoint {name!r}")

    def updated(self, name: str) -> float:
        """When the endpoint was last added or replaced (0.0 when it is not there)."""
        if not self.path.exists():
            return 0.0
        row = (
            self._cache()
            .execute("SELECT updated FROM endpoints WHERE name = ?", (name,))
            .fetchone()
        )
        return float(row[0]) if row else 0.0

    def summaries(self) -> list[dict]:
        """name, preset, url, hash, cached answers and when it was added / changed, per endpoint."""
        if not self.path.exists():
            return []
        out = []
        with closing(self._connect()) as con:
            rows = con.execute(
                "SELECT name, config, hash, created, updated FROM endpoints ORDER BY name"
            ).fetchall()
            for name, config, digest, created, updated in rows:
                try:
                    spec = parse_spec(config, f"endpoint {name!r}")
                    preset, url, env = spec.preset, spec.url, spec.env_names()
                except RankLensError as exc:  # stored by another version: listed, with why
                    preset, url, env = "?", f"(cannot be read: {exc})", []
                cached = con.execute(
                    "SELECT COUNT(DISTINCT query) FROM results WHERE hash = ?", (digest,)
                ).fetchone()[0]
                out.append(
                    {
                        "name": name,
                        "ranker": ranker_name(name),
                        "preset": preset,
                        "url": url,
                        "hash": digest,
                        "env": env,
                        "cached_queries": int(cached),
                        "created": created,
                        "updated": updated,
                    }
                )
        return out

    def delete(self, name: str) -> int:
        """Forget an endpoint, its cached answers (unless another endpoint has the same
        configuration) and the texts it returned; returns the cached answers removed."""
        spec = self.get(name)
        with closing(self._connect()) as con, con:
            con.execute("DELETE FROM endpoints WHERE name = ?", (name,))
            shared = con.execute("SELECT 1 FROM endpoints WHERE hash = ?", (spec.hash,)).fetchone()
            removed = 0
            if not shared:
                removed = con.execute("DELETE FROM results WHERE hash = ?", (spec.hash,)).rowcount
        external_docs.delete_source(self.dir, ranker_name(name))
        return removed

    # -- cached answers

    def cached(self, digest: str, query: str, size: int) -> list[RawHit] | None:
        """The cached answer for a request of `size` hits: the exact one, else the top `size` of
        a larger one, else a smaller one the engine could not fill (it had no more)."""
        if not self.path.exists():
            return None
        rows = (
            self._cache()
            .execute(
                "SELECT k, hits FROM results WHERE hash = ? AND query = ? ORDER BY k",
                (digest, query),
            )
            .fetchall()
        )
        for k, blob in rows:
            hits = _unpack(blob)
            if k >= size or len(hits) < k:
                return hits[:size]
        return None

    def put(self, digest: str, query: str, size: int, hits: Sequence[RawHit]) -> None:
        con = self._cache()
        with con:
            con.execute(
                "INSERT OR REPLACE INTO results (hash, query, k, hits, fetched) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest, query, int(size), _pack(hits), time.time()),
            )

    def forget(self, digest: str, queries: Sequence[str] | None = None) -> int:
        """Drop cached answers (all of one configuration, or of some queries)."""
        if not self.path.exists():
            return 0
        with closing(self._connect()) as con, con:
            if queries is None:
                return con.execute("DELETE FROM results WHERE hash = ?", (digest,)).rowcount
            removed = 0
            for q in queries:
                removed += con.execute(
                    "DELETE FROM results WHERE hash = ? AND query = ?", (digest, q)
                ).rowcount
            return removed


def _pack(hits: Sequence[RawHit]) -> bytes:
    data = [[h.id, h.score, h.title, h.text] for h in hits]
    return zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), 6)


def _unpack(blob: bytes) -> list[RawHit]:
    return [RawHit(str(i), float(s), t, x) for i, s, t, x in json.loads(zlib.decompress(blob))]


def store_of(corpus) -> EndpointStore:
    """The endpoint store of a corpus (it lives in the corpus's folder)."""
    return EndpointStore(corpus.dir, corpus.name)
