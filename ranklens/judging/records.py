"""The records judging passes around: stored label events, current labels, pool items and pools,
judging settings of a query set, an annotator's progress, an import's report. Values only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from ranklens.judging.agreement import Unit

SOURCES = ("human", "import", "suggestion", "adjudication")
EVENT_KINDS = ("label", "cant_judge", "skip", "note", "undo")  # what a label event records
LABEL_KINDS = ("label", "cant_judge")
UNDOABLE = ("label", "cant_judge", "skip", "note")
RULES = ("majority", "mean", "max", "min")  # or "annotator:NAME"
EXPORT_FORMATS = ("trec", "beir")
DOC_LEVEL = ""  # the passage_id of a label on a whole document
DEFAULT_IMPORT_ANNOTATOR = "imported"
DEFAULT_POOL_DEPTH = 10  # top passages per ranker in a pool
MAX_POOL_DEPTH = 100


class LabelEvent(NamedTuple):
    """One stored event, as written (events are never changed)."""

    id: int
    corpus: str
    annotator: str
    query_set: str | None
    query_id: str
    passage_id: str  # DOC_LEVEL ("") for a label on the whole document
    doc_id: str
    grade: int | None
    note: str | None
    created_at: float  # seconds since the epoch (UTC)
    source: str  # human | import | suggestion | adjudication
    kind: str  # label | cant_judge | skip | note | undo
    target_id: int | None  # for undo: the event it retracts


class CurrentLabel(NamedTuple):
    """The label an annotator (or adjudicator, or model) currently gives a unit."""

    annotator: str
    query_id: str
    doc_id: str
    passage_id: str
    grade: int | None  # None: "can't judge"
    note: str | None  # the latest note on this unit by this annotator
    source: str
    event_id: int
    created_at: float
    query_set: str | None

    @property
    def unit(self) -> Unit:
        return (self.query_id, self.doc_id, self.passage_id)


class PoolItem(NamedTuple):
    """A passage to judge for a query. Which ranker found it is deliberately not here."""

    query_id: str
    passage_id: str
    doc_id: str

    @property
    def unit(self) -> Unit:
        return (self.query_id, self.doc_id, self.passage_id)


@dataclass
class PoolInfo:
    """A stored pool: which rankers to which depth for which query set, and its items."""

    id: int
    corpus: str
    query_set: str
    rankers: list[str]
    depth: int
    created_at: float
    items: list[PoolItem]  # canonical order (by query, then best rank); judges see pool_order()
    left_out: int = 0  # (query, id) pairs left out when built: the corpus lacks them, no text


@dataclass
class JudgingSettings:
    """What judging keeps about a query set (the corpus owns its queries): keyed by its name."""

    corpus: str
    query_set: str
    guidelines: str = ""  # Markdown shown beside the passage
    annotators_per_passage: int = 1


class JudgingProgress(NamedTuple):
    """One annotator's progress through a pool (or one query's share of it)."""

    total: int  # passages in the pool (or in one query's share of it)
    judged: int  # of those, labelled or marked "can't judge" by this annotator
    complete: int  # of those, with as many graded labels as the query set asks for
    remaining: int  # of those, still waiting for this annotator (the queue)

    @property
    def fraction(self) -> float:
        """Share of the passages that no longer wait for this annotator."""
        return 1.0 if self.total == 0 else (self.total - self.remaining) / self.total

    @property
    def pool_fraction(self) -> float:
        """Share of the passages with every graded label they need, whoever gave them."""
        return 1.0 if self.total == 0 else self.complete / self.total


class SessionProgress(NamedTuple):
    overall: JudgingProgress
    per_query: dict[str, JudgingProgress]


@dataclass
class ImportReport:
    """What an import stored and what it noticed."""

    path: str
    corpus: str
    annotator: str
    labels: int = 0  # events stored
    document_level: int = 0  # of those, labels on whole documents (passage_id "")
    passage_level: int = 0
    duplicates: int = 0  # lines repeating an earlier line's label, stored once
    unknown_queries: list[str] = field(default_factory=list)  # accepted, listed here
    unknown_docs: list[tuple[int | None, str]] = field(default_factory=list)  # kept by option

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [
            f"imported {self.labels} labels into corpus {self.corpus!r} as {self.annotator!r} "
            f"({self.document_level} document-level, {self.passage_level} passage-level)"
        ]
        if self.duplicates:
            lines.append(f"{self.duplicates} duplicate lines stored once")
        if self.unknown_queries:
            shown = ", ".join(self.unknown_queries[:20])
            more = (
                f" and {len(self.unknown_queries) - 20} more"
                if len(self.unknown_queries) > 20
                else ""
            )
            lines.append(
                f"{len(self.unknown_queries)} query ids the corpus does not know yet: {shown}{more}"
            )
        if self.unknown_docs:
            shown = ", ".join(f"{d} (line {n})" for n, d in self.unknown_docs[:20])
            lines.append(f"{len(self.unknown_docs)} unknown document ids kept: {shown}")
        return "\n".join(lines)
