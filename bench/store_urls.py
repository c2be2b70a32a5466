"""Databases for the benches that compare the label stores: a SQLite file in a temporary folder,
the PostgreSQL database given (--pg-url), or a new database of a throwaway cluster started once.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class StoreUrls:
    """Database URLs for bench runs; leaving the `with` block removes the folder and the cluster."""

    def __init__(self, pg_url: str | None = None) -> None:
        self.pg_url = pg_url
        self._tmp = tempfile.TemporaryDirectory(prefix="ranklens-bench-")
        self.dir = Path(self._tmp.name)  # the runs may keep their logs here too
        self._cluster = None

    def url(self, store: str, name: str) -> str:
        """`sqlite`: a file `name`.sqlite3 in the folder; any other store: PostgreSQL."""
        if store == "sqlite":
            return f"sqlite:///{self.dir / f'{name}.sqlite3'}"
        if self.pg_url:
            return self.pg_url
        if self._cluster is None:
            from tests.pg import PgCluster

            self._cluster = PgCluster().start()
        return self._cluster.create_database("bench")

    def __enter__(self) -> StoreUrls:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._cluster is not None:
                self._cluster.cleanup()
        finally:
            self._tmp.cleanup()
