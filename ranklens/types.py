"""The small records that carry all data through RankLens.

Field names follow ir_measures (query_id, doc_id, relevance, score) so records pass straight through.
"""

from __future__ import annotations

from typing import NamedTuple

from ranklens.errors import InputError


class Doc(NamedTuple):
    """A source document as read from a corpus file."""

    doc_id: str
    text: str
    title: str = ""
    source: str = ""  # file (and line or page) the document came from


class Passage(NamedTuple):
    """A chunk of a document; the unit that is embedded, ranked and judged."""

    passage_id: str  # "doc_id#n", stable for the same document and chunking settings
    doc_id: str  # its own field: never parsed out of passage_id (a doc id may hold '#')
    text: str
    title: str = ""
    source: str = ""
    position: int = 0  # n: the passage's index within its document


class Query(NamedTuple):
    query_id: str
    text: str


class Qrel(NamedTuple):
    """A relevance label, as ir_measures.Qrel (doc_id may be a document or a passage id)."""

    query_id: str
    doc_id: str
    relevance: int
    iteration: str = "0"


class Hit(NamedTuple):
    """One ranked passage for one query."""

    query_id: str
    passage_id: str
    doc_id: str
    score: float
    rank: int  # 1-based


# query_id -> hits, best first (rank 1, 2, ...)
Run = dict[str, list[Hit]]


def passage_id(doc_id: str, position: int) -> str:
    """The stable id of a document's n-th passage."""
    return f"{doc_id}#{position}"


LEVELS = ("doc", "passage")  # a ranking's or a label's level: documents, or passages


def check_level(level: str) -> str:
    """ "doc" or "passage" ("document" is read as "doc"), or an InputError naming both."""
    level = "doc" if level == "document" else level
    if level not in LEVELS:
        raise InputError(None, f"level must be doc or passage, got {level!r}")
    return level


def doc_level(run: Run) -> Run:
    """A document ranking from a passage ranking: each document scores its best passage.

    The hit kept for a document is its best passage (so passage_id says which one); ties keep
    the earlier rank. Ranks are renumbered 1..n.
    """
    out: Run = {}
    for qid, hits in run.items():
        best: dict[str, Hit] = {}
        for h in hits:
            if h.doc_id not in best or h.score > best[h.doc_id].score:
                best[h.doc_id] = h
        ordered = sorted(best.values(), key=lambda h: (-h.score, h.rank))
        out[qid] = [h._replace(rank=i) for i, h in enumerate(ordered, 1)]
    return out
