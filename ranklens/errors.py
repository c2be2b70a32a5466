"""Errors RankLens raises on purpose: each says where (file, line) and what was expected.

The CLI turns them into a message and a non-zero exit; the app into st.error.
"""

from __future__ import annotations

from pathlib import Path


class RankLensError(Exception):
    """Base of every error meant for the user, not the developer."""


class InputError(RankLensError):
    """Bad input data: names the file, the line where there is one, and what was expected."""

    def __init__(self, path: str | Path | None, message: str, line: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.reason = message
        where = ""
        if self.path:
            where = self.path + (f", line {line}" if line is not None else "")
            where += ": "
        super().__init__(where + message)


class StoreUnavailable(RankLensError):
    """The judgment database cannot be reached (a PostgreSQL server stopped or unreachable)."""

    def __init__(self, url: str, cause: object) -> None:
        try:
            from sqlalchemy import make_url

            shown = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a URL we cannot parse is shown without its details
            shown = "the judgment database"
        reason = " ".join(str(cause).split())[:300]
        super().__init__(
            f"the judgment database {shown} is not reachable ({reason}); nothing was saved by "
            "this action, and labels saved before are kept. Start the database again and retry."
        )


class VectorStoreUnavailable(RankLensError):
    """The Chroma server cannot be reached (stopped, or not started yet)."""

    def __init__(self, where: str, cause: object) -> None:
        reason = " ".join(str(cause).split())[:200] or type(cause).__name__
        super().__init__(
            f"the Chroma server at {where} is not reachable ({reason}): dense models cannot "
            "search or index until it is back (BM25 still works). Start it again "
            "(chroma run --path DIR --port N) and retry; nothing stored is lost."
        )


class NotFoundError(RankLensError):
    """A corpus, model, ranker or query set that does not exist."""


class ModelLoadError(RankLensError):
    """A model that cannot be loaded (no network for a hub name, a broken local path)."""
