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


class NotFoundError(RankLensError):
    """A corpus, model, ranker or query set that does not exist."""


class ModelLoadError(RankLensError):
    """A model that cannot be loaded (no network for a hub name, a broken local path)."""
