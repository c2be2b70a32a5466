"""What several CLI command groups share about their options: the settings a command runs under,
the corpus it names (opened lazily) and the query ids of a query set."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..config import Settings, get_settings
from ..errors import RankLensError

if TYPE_CHECKING:  # the index pulls in Chroma, which most commands never need
    from ..index import Corpus


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings a command runs under: those a test or caller put on args, else the process's."""
    return getattr(args, "settings", None) or get_settings()


def open_corpus(name: str, settings: Settings) -> Corpus:
    """The corpus (imported lazily: the index pulls in Chroma, which the other commands skip)."""
    from ..index import open_corpus as open_

    return open_(name, settings)


def query_ids(
    store: object, corpus: str, query_set: str | None, settings: Settings
) -> set[str] | None:
    """Query ids of a query set (the corpus owns query sets), or None for all."""
    if query_set is None:
        return None
    sets = open_corpus(corpus, settings).query_sets()
    if query_set not in sets:
        raise RankLensError(
            f"corpus {corpus!r} has no query set {query_set!r}; it has: {', '.join(sets) or 'none'}"
        )
    return {q.query_id for q in sets[query_set]}
