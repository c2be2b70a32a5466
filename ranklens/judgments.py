"""The judgment store: append-only label events and the current labels derived from them, scales,
annotators, query sets, pools and judging queues, suggestions, adjudication, qrels import/export.

Storage decisions (read before changing anything here):

- Engine by URL (SQLAlchemy Core): SQLite under RANKLENS_HOME by default; a PostgreSQL URL works
  as is. SQLite-only statements (the PRAGMAs, BEGIN IMMEDIATE) run only under a dialect check.
- Durability: SQLite runs in WAL mode with synchronous=FULL, so a commit returns after the WAL is
  fsynced. Every write method returns only after its commit, so a label the app shows as saved
  survives a killed process (WAL alone already does) and also a power cut or OS crash (FULL).
  A commit costs about 0.3 ms here, nothing next to a person reading a passage.
- Concurrency: every write is one transaction that SQLite starts with BEGIN IMMEDIATE (it takes
  the write lock at once and waits up to BUSY_TIMEOUT_MS for it, instead of failing half way);
  readers never block writers in WAL mode.
- Events are never updated or deleted. kinds: label (grade), cant_judge (no grade), skip, note,
  undo (target_id = the event it retracts). The current label of an (annotator, query, passage)
  is its latest label/cant_judge event that no undo retracts; so undo brings the previous label
  back and the whole history stays readable. Adjudications and suggestions are kept apart from
  labels (their own "role"), so one person may both judge and adjudicate a passage.
- Document-level labels (an imported qrels line whose id is a document id, not a passage id
  "doc#n") are stored with passage_id "" (DOC_LEVEL) and doc_id = that id. Exported at document
  level, a document's grade is the best grade among its labels (its own and its passages');
  at passage level a document-level label is written with its document id. So importing
  document-level qrels and exporting them at document level gives the same lines back.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import random
import re
import secrets
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from . import agreement as agr
from .agreement import AgreementReport, Disagreement, SuggestionAgreement, Unit
from .config import Settings
from .errors import InputError, NotFoundError, RankLensError
from .formats import read_qrels, write_qrels
from .types import Qrel, Query, Run, doc_of

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
SOURCES = ("human", "import", "suggestion", "adjudication")
KINDS = ("label", "cant_judge", "skip", "note", "undo")
LABEL_KINDS = ("label", "cant_judge")
UNDOABLE = ("label", "cant_judge", "skip", "note")
RULES = ("majority", "mean", "max", "min")  # or "annotator:NAME"
LEVELS = ("doc", "passage")
EXPORT_FORMATS = ("trec", "beir")
DOC_LEVEL = ""  # the passage_id of a label on a whole document
DEFAULT_IMPORT_ANNOTATOR = "imported"


# ---------------------------------------------------------------- scale


@dataclass(frozen=True)
class Grade:
    """One grade of a scale: its value (the key to press), name, colour and one-line guideline."""

    value: int
    label: str
    colour: str  # "#rrggbb"
    guideline: str


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_GREY, _GREEN = (0xBD, 0xBD, 0xBD), (0x2E, 0x7D, 0x32)

DEFAULT_GRADES = (
    Grade(0, "Not relevant", "#bdbdbd", "Nothing in the passage helps answer the query."),
    Grade(1, "Related", "#ffd54f", "On the query's topic, but it does not answer it."),
    Grade(2, "Relevant", "#81c784", "Answers the query in part, or among other things."),
    Grade(3, "Highly relevant", "#2e7d32", "Answers the query fully; a searcher could stop here."),
)
BINARY_GRADES = (
    Grade(0, "Not relevant", "#bdbdbd", "The passage does not help answer the query."),
    Grade(1, "Relevant", "#2e7d32", "The passage helps answer the query."),
)


@dataclass(frozen=True)
class Scale:
    """A project's grading scale: 2 to 10 grades with values 0..n-1 (keys 0-9 on the Judge page)."""

    grades: tuple[Grade, ...] = DEFAULT_GRADES

    def __post_init__(self) -> None:
        n = len(self.grades)
        if not 2 <= n <= 10:
            raise InputError(None, f"a scale has 2 to 10 grades, got {n}")
        if [g.value for g in self.grades] != list(range(n)):
            raise InputError(None, f"a scale's grades must be 0..{n - 1} in order")
        for g in self.grades:
            if not _COLOUR.fullmatch(g.colour):
                raise InputError(None, f"grade {g.value}: colour {g.colour!r} is not #rrggbb")
            if not g.label.strip():
                raise InputError(None, f"grade {g.value} has no name")

    @classmethod
    def default(cls) -> Scale:
        """0-3: not relevant, related, relevant, highly relevant."""
        return cls(DEFAULT_GRADES)

    @classmethod
    def binary(cls) -> Scale:
        return cls(BINARY_GRADES)

    @classmethod
    def of(cls, n: int) -> Scale:
        """A scale of n grades (2 binary, 4 the default, others named and coloured generically)."""
        if n == 2:
            return cls.binary()
        if n == 4:
            return cls.default()
        if not 2 <= n <= 10:
            raise InputError(None, f"a scale has 2 to 10 grades, got {n}")
        grades = []
        for i in range(n):
            t = i / (n - 1)
            rgb = (round(a + (b - a) * t) for a, b in zip(_GREY, _GREEN, strict=True))
            colour = "#" + "".join(f"{c:02x}" for c in rgb)
            label = "Not relevant" if i == 0 else "Highly relevant" if i == n - 1 else f"Grade {i}"
            guideline = (
                "Nothing in the passage helps answer the query."
                if i == 0
                else f"Relevance {i} of {n - 1}: higher means it answers the query better."
            )
            grades.append(Grade(i, label, colour, guideline))
        return cls(tuple(grades))

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(g.value for g in self.grades)

    @property
    def max(self) -> int:
        return len(self.grades) - 1

    def __len__(self) -> int:
        return len(self.grades)

    def __contains__(self, grade: object) -> bool:
        return isinstance(grade, int) and not isinstance(grade, bool) and 0 <= grade <= self.max

    def describe(self) -> str:
        return f"{len(self)} grades, 0-{self.max}"

    def check(self, grade: object, where: str | None = None, line: int | None = None) -> int:
        """The grade, or InputError naming where it came from when it is not on this scale."""
        if grade not in self:
            raise InputError(
                where, f"grade {grade!r} is outside the scale ({self.describe()})", line
            )
        return int(grade)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps([asdict(g) for g in self.grades])

    @classmethod
    def from_json(cls, text: str) -> Scale:
        return cls(tuple(Grade(**g) for g in json.loads(text)))


# ---------------------------------------------------------------- records


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
    id: int
    corpus: str
    query_set: str
    rankers: list[str]
    depth: int
    created_at: float
    items: list[PoolItem]  # canonical order (by query, then best rank); judges see pool_order()


@dataclass
class QuerySetInfo:
    corpus: str
    name: str
    guidelines: str = ""  # Markdown shown beside the passage
    annotators_per_passage: int = 1
    queries: list[Query] = field(default_factory=list)


class Progress(NamedTuple):
    total: int  # passages in the pool (or in one query's share of it)
    judged: int  # of those, labelled or marked "can't judge" by this annotator
    complete: int  # of those, with as many graded labels as the query set asks for
    remaining: int  # of those, still waiting for this annotator (the queue)

    @property
    def fraction(self) -> float:
        """Share of the passages that no longer wait for this annotator."""
        return 1.0 if self.total == 0 else (self.total - self.remaining) / self.total


class SessionProgress(NamedTuple):
    overall: Progress
    per_query: dict[str, Progress]


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


# ---------------------------------------------------------------- pure helpers


def build_pool(
    runs: Mapping[str, Run], depth: int, query_ids: Sequence[str] | None = None
) -> list[PoolItem]:
    """The pool: per query, the union of each ranker's top-`depth` passages, deduplicated.

    Queries come in `query_ids` order (default: first seen across the runs); within a query,
    by best rank over the rankers, then by ranker order. The list carries no provenance.
    """
    if depth < 1:
        raise InputError(None, f"pool depth must be at least 1, got {depth}")
    best: dict[str, dict[str, tuple[int, int, str]]] = defaultdict(dict)
    order: list[str] = []
    for r_index, run in enumerate(runs.values()):
        for qid, hits in run.items():
            if qid not in best:
                order.append(qid)
            seen = best[qid]
            for h in sorted(hits, key=lambda h: h.rank)[:depth]:
                key = (h.rank, r_index, h.doc_id)
                if h.passage_id not in seen or key < seen[h.passage_id]:
                    seen[h.passage_id] = key
    if query_ids is not None:
        order = [q for q in query_ids if q in best]
    out: list[PoolItem] = []
    for qid in order:
        for pid, (_, _, did) in sorted(best[qid].items(), key=lambda kv: (kv[1][:2], kv[0])):
            out.append(PoolItem(qid, pid, did))
    return out


def pool_provenance(runs: Mapping[str, Run], depth: int) -> dict[tuple[str, str], tuple[str, ...]]:
    """(query_id, passage_id) -> the rankers that put it in their top `depth` (for analysis only)."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, run in runs.items():
        for qid, hits in run.items():
            for h in sorted(hits, key=lambda h: h.rank)[:depth]:
                if name not in found[(qid, h.passage_id)]:
                    found[(qid, h.passage_id)].append(name)
    return {k: tuple(v) for k, v in found.items()}


def pool_order(pool: Sequence[PoolItem], annotator: str, seed: int) -> list[PoolItem]:
    """The order one annotator sees: queries in pool order, each query's passages shuffled.

    Deterministic for (annotator, seed, query): reloading the page gives the same order, and
    two annotators with the same seed still see different orders.
    """
    by_query: dict[str, list[PoolItem]] = {}
    for item in pool:
        by_query.setdefault(item.query_id, []).append(item)
    out: list[PoolItem] = []
    for qid, items in by_query.items():
        rng = random.Random(f"{seed}\x1f{annotator}\x1f{qid}")
        items = list(items)
        rng.shuffle(items)
        out.extend(items)
    return out


def grades_from_scores(scores: Sequence[float], thresholds: Sequence[float]) -> list[int]:
    """Grades from model scores: a score's grade is how many thresholds it reaches (score >= t).

    thresholds must be strictly increasing: with (0.2, 0.5, 0.8), a score of 0.5 is grade 2.
    """
    ts = [float(t) for t in thresholds]
    if not ts or any(math.isnan(t) for t in ts) or any(b <= a for a, b in itertools.pairwise(ts)):
        raise InputError(None, f"thresholds must be strictly increasing numbers, got {ts}")
    out = []
    for s in scores:
        if math.isnan(float(s)):
            raise InputError(None, "a score is NaN; expected numbers")
        out.append(bisect.bisect_right(ts, float(s)))
    return out


def round_half_up(value: Fraction | float) -> int:
    """Round to the nearest integer, halves up (1.5 -> 2, 2.5 -> 3), exactly for fractions."""
    return math.floor(Fraction(value) + Fraction(1, 2))


def combine_grades(grades: Sequence[int], rule: str = "majority") -> int:
    """One grade from several annotators' grades by a rule.

    majority: the grade given most often, if one grade is; otherwise the rounded mean.
    mean: the mean, rounded half up. max / min: the highest / lowest grade.
    """
    if not grades:
        raise ValueError("no grades to combine")
    if len(grades) == 1 and rule in RULES:
        return grades[0]
    if rule == "majority":
        counts = Counter(grades).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            return counts[0][0]
        return round_half_up(Fraction(sum(grades), len(grades)))
    if rule == "mean":
        return round_half_up(Fraction(sum(grades), len(grades)))
    if rule == "max":
        return max(grades)
    if rule == "min":
        return min(grades)
    raise InputError(None, f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")


def check_rule(rule: str) -> str:
    """The rule, or InputError: majority, mean, max, min, or annotator:NAME."""
    if rule in RULES or (rule.startswith("annotator:") and rule[len("annotator:") :].strip()):
        return rule
    raise InputError(
        None, f"unknown rule {rule!r}; expected one of {', '.join(RULES)} or annotator:NAME"
    )


def final_qrels_from(
    labels: Iterable[CurrentLabel],
    adjudicated: Mapping[Unit, tuple[int, int]] | None = None,
    rule: str = "majority",
    level: str = "doc",
) -> list[Qrel]:
    """Final qrels from current graded labels and adjudications (unit -> (grade, event id)).

    A unit's grade: its adjudicated grade if any, else `rule` over its annotators' grades
    ("annotator:NAME": exactly that annotator's labels, no adjudication). At level "doc" a
    document's grade is the best grade among its units. Qrels come in the order their first
    label was stored (so an imported file comes back in its own order).
    """
    check_rule(rule)
    if level not in LEVELS:
        raise InputError(None, f"unknown level {level!r}; expected doc or passage")
    adjudicated = dict(adjudicated or {})
    only = rule[len("annotator:") :] if rule.startswith("annotator:") else None
    grades: dict[Unit, list[int]] = defaultdict(list)
    first: dict[Unit, int] = {}
    for lab in labels:
        if lab.grade is None or (only is not None and lab.annotator != only):
            continue
        unit = (lab.query_id, lab.doc_id, lab.passage_id)
        grades[unit].append(lab.grade)
        if unit not in first or lab.event_id < first[unit]:
            first[unit] = lab.event_id
    final: dict[Unit, int] = {}
    if only is None:
        for unit, (grade, event_id) in adjudicated.items():
            final[unit] = grade
            first[unit] = min(first.get(unit, event_id), event_id)
    for unit, gs in grades.items():
        if unit not in final:
            final[unit] = combine_grades(gs, "majority" if only else rule)
    if level == "passage":
        units = sorted(final, key=lambda u: first[u])
        return [Qrel(q, p or d, final[(q, d, p)]) for q, d, p in units]
    docs: dict[tuple[str, str], int] = {}
    doc_first: dict[tuple[str, str], int] = {}
    for (q, d, _p), grade in final.items():
        docs[(q, d)] = max(docs.get((q, d), grade), grade)
        doc_first[(q, d)] = min(doc_first.get((q, d), first[(q, d, _p)]), first[(q, d, _p)])
    return [Qrel(q, d, docs[(q, d)]) for q, d in sorted(docs, key=lambda k: doc_first[k])]


def resolve_doc_id(
    raw: str,
    known_doc_ids: Collection[str] | None,
    known_passage_ids: Collection[str] | None = None,
) -> tuple[str, str, bool]:
    """(doc_id, passage_id, known) for an id from a qrels file.

    A corpus document id gives a document-level label (passage_id ""); a passage id "doc#n"
    of a corpus document a passage-level one. Without known ids, "x#n" is read as a passage.
    """
    if known_doc_ids is None:
        doc = doc_of(raw)
        return (raw, DOC_LEVEL, True) if doc == raw else (doc, raw, True)
    if raw in known_doc_ids:
        return raw, DOC_LEVEL, True
    doc = doc_of(raw)
    if doc != raw and doc in known_doc_ids:
        ok = known_passage_ids is None or raw in known_passage_ids
        return doc, raw, ok
    return (raw, DOC_LEVEL, False) if doc == raw else (doc, raw, False)


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InputError(None, f"the {what} name is empty; say who you are")
    name = name.strip()
    if len(name) > 200:
        raise InputError(None, f"the {what} name is longer than 200 characters")
    return name


def _natural(text: str) -> tuple:
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


# ---------------------------------------------------------------- schema

metadata = sa.MetaData()

meta_table = sa.Table(
    "ranklens_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("corpus", sa.String(200), primary_key=True),
    sa.Column("scale", sa.Text, nullable=False),  # Scale.to_json()
    sa.Column("created_at", sa.Float, nullable=False),
)

annotators = sa.Table(
    "annotators",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

query_sets = sa.Table(
    "query_sets",
    metadata,
    sa.Column("corpus", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("guidelines", sa.Text, nullable=False, default=""),
    sa.Column("annotators_per_passage", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.Float, nullable=False),
)

queries_table = sa.Table(
    "queries",
    metadata,
    sa.Column("corpus", sa.String(200), primary_key=True),
    sa.Column("query_set", sa.String(200), primary_key=True),
    sa.Column("query_id", sa.String(500), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
)

label_events = sa.Table(
    "label_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("corpus", sa.String(200), nullable=False),
    sa.Column("annotator", sa.String(200), nullable=False),
    sa.Column("query_set", sa.String(200), nullable=True),
    sa.Column("query_id", sa.String(500), nullable=False),
    sa.Column("passage_id", sa.String(500), nullable=False),
    sa.Column("doc_id", sa.String(500), nullable=False),
    sa.Column("grade", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("target_id", sa.Integer, nullable=True),
    sa.CheckConstraint(
        "source IN ('human', 'import', 'suggestion', 'adjudication')", name="ck_event_source"
    ),
    sa.CheckConstraint(
        "kind IN ('label', 'cant_judge', 'skip', 'note', 'undo')", name="ck_event_kind"
    ),
    sa.CheckConstraint("kind != 'label' OR grade IS NOT NULL", name="ck_label_has_grade"),
    sa.Index("ix_events_unit", "corpus", "query_id", "doc_id", "passage_id"),
    sa.Index("ix_events_annotator", "corpus", "annotator", "id"),
    sa.Index("ix_events_kind", "corpus", "kind", "target_id"),
    sqlite_autoincrement=True,  # ids never reused: "latest" is the highest id
)

pools_table = sa.Table(
    "pools",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("corpus", sa.String(200), nullable=False),
    sa.Column("query_set", sa.String(200), nullable=False),
    sa.Column("rankers", sa.Text, nullable=False),  # JSON list
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sqlite_autoincrement=True,
)

pool_items = sa.Table(
    "pool_items",
    metadata,
    sa.Column("pool_id", sa.Integer, sa.ForeignKey("pools.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("query_id", sa.String(500), nullable=False),
    sa.Column("passage_id", sa.String(500), nullable=False),
    sa.Column("doc_id", sa.String(500), nullable=False),
    sa.Column("found_by", sa.Text, nullable=False, default="[]"),  # JSON; never shown to judges
)

pool_seeds = sa.Table(
    "pool_seeds",
    metadata,
    sa.Column("pool_id", sa.Integer, sa.ForeignKey("pools.id"), primary_key=True),
    sa.Column("annotator", sa.String(200), primary_key=True),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

_EV = label_events.c
_ROLE = sa.case(
    (_EV.source == "adjudication", "adjudication"),
    (_EV.source == "suggestion", "suggestion"),
    else_="label",
)
_ROLE_SOURCES = {
    "label": ("human", "import"),
    "adjudication": ("adjudication",),
    "suggestion": ("suggestion",),
}
_CURRENT_COLUMNS = (  # CurrentLabel's fields, in order
    _EV.annotator,
    _EV.query_id,
    _EV.doc_id,
    _EV.passage_id,
    _EV.grade,
    _EV.note,
    _EV.source,
    _EV.id.label("event_id"),
    _EV.created_at,
    _EV.query_set,
)
_MAX_IN = 500  # longer id lists are filtered in Python, not in an IN (...)


def _make_engine(url: str) -> sa.Engine:
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True)
    database = u.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        u, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - trivial
        write = conn.get_execution_options().get("ranklens_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# ---------------------------------------------------------------- the store


class JudgmentStore:
    """Relevance labels of every corpus, in one database (an SQLAlchemy URL selects the engine).

    Thread-safe (share one per process, e.g. with st.cache_resource); several processes may
    write to the same SQLite file at once. Every write method returns after its commit.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine = _make_engine(url)
        except sa.exc.ArgumentError as exc:
            raise InputError(None, f"bad database URL {url!r}: {exc}") from None
        self.dialect = self._engine.dialect.name
        with self._write() as conn:
            metadata.create_all(conn, checkfirst=True)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif int(row.value) > SCHEMA_VERSION:
                raise RankLensError(
                    f"the judgments database {url} has schema version {row.value}, newer than "
                    f"this RankLens ({SCHEMA_VERSION}); upgrade RankLens"
                )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> JudgmentStore:
        """The store at Settings.db_url (RANKLENS_DB_URL, or SQLite under RANKLENS_HOME)."""
        from .config import get_settings

        return cls((settings or get_settings()).db_url)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> JudgmentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); committed when the block ends."""
        with self._engine.connect() as conn:
            conn.execution_options(ranklens_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """One read transaction: a consistent snapshot."""
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def integrity_check(self) -> str:
        """SQLite's PRAGMA integrity_check ("ok" when sound); "ok" for other engines."""
        if self.dialect != "sqlite":
            return "ok"
        with self._read() as conn:
            rows = conn.exec_driver_sql("PRAGMA integrity_check").all()
        return "\n".join(str(r[0]) for r in rows)

    def corpora(self) -> list[str]:
        """Corpora that have labels or a scale in this store."""
        with self._read() as conn:
            a = conn.execute(sa.select(_EV.corpus).distinct()).scalars().all()
            b = conn.execute(sa.select(projects.c.corpus)).scalars().all()
        return sorted(set(a) | set(b))

    # -- scale

    def _scale(self, conn: sa.Connection, corpus: str) -> Scale:
        text = conn.execute(
            sa.select(projects.c.scale).where(projects.c.corpus == corpus)
        ).scalar_one_or_none()
        return Scale.default() if text is None else Scale.from_json(text)

    def scale(self, corpus: str) -> Scale:
        """The corpus's grading scale (0-3 until one is set)."""
        with self._read() as conn:
            return self._scale(conn, corpus)

    def set_scale(self, corpus: str, scale: Scale) -> None:
        """Set the corpus's scale; refused if a stored grade would fall outside it."""
        with self._write() as conn:
            top = conn.execute(
                sa.select(sa.func.max(_EV.grade)).where(_EV.corpus == corpus)
            ).scalar_one_or_none()
            if top is not None and top > scale.max:
                raise InputError(
                    None,
                    f"corpus {corpus!r} already holds grade {top}; a scale of "
                    f"{scale.describe()} cannot hold it",
                )
            exists = conn.execute(
                sa.select(projects.c.corpus).where(projects.c.corpus == corpus)
            ).first()
            if exists:
                conn.execute(
                    sa.update(projects)
                    .where(projects.c.corpus == corpus)
                    .values(scale=scale.to_json())
                )
            else:
                conn.execute(
                    sa.insert(projects).values(
                        corpus=corpus, scale=scale.to_json(), created_at=time.time()
                    )
                )

    # -- annotators

    def add_annotator(self, name: str) -> str:
        """Register an annotator (idempotent); returns the cleaned name."""
        name = _check_name(name, "annotator")
        with self._write() as conn:
            if not conn.execute(
                sa.select(annotators.c.name).where(annotators.c.name == name)
            ).first():
                conn.execute(sa.insert(annotators).values(name=name, created_at=time.time()))
        return name

    def annotators(self, corpus: str | None = None) -> list[str]:
        """Registered annotators, or (with a corpus) those with labels in it."""
        with self._read() as conn:
            if corpus is None:
                names = conn.execute(sa.select(annotators.c.name)).scalars().all()
            else:
                names = (
                    conn.execute(
                        sa.select(_EV.annotator)
                        .where(_EV.corpus == corpus, _EV.source.in_(("human", "import")))
                        .distinct()
                    )
                    .scalars()
                    .all()
                )
        return sorted(names)

    # -- query sets

    def set_query_set(
        self,
        corpus: str,
        name: str,
        queries: Sequence[Query] | None = None,
        *,
        guidelines: str | None = None,
        annotators_per_passage: int | None = None,
    ) -> QuerySetInfo:
        """Create or update a query set: its queries, guidelines (Markdown), N per passage.

        Arguments left as None keep what is stored. Queries replace the stored list.
        """
        name = _check_name(name, "query set")
        if annotators_per_passage is not None and not 1 <= annotators_per_passage <= 50:
            raise InputError(None, "annotators per passage must be between 1 and 50")
        with self._write() as conn:
            qs = query_sets.c
            row = conn.execute(
                sa.select(query_sets).where(qs.corpus == corpus, qs.name == name)
            ).first()
            values: dict[str, object] = {}
            if guidelines is not None:
                values["guidelines"] = guidelines
            if annotators_per_passage is not None:
                values["annotators_per_passage"] = int(annotators_per_passage)
            if row is None:
                conn.execute(
                    sa.insert(query_sets).values(
                        corpus=corpus,
                        name=name,
                        guidelines=values.get("guidelines", ""),
                        annotators_per_passage=values.get("annotators_per_passage", 1),
                        created_at=time.time(),
                    )
                )
            elif values:
                conn.execute(
                    sa.update(query_sets).where(qs.corpus == corpus, qs.name == name).values(values)
                )
            if queries is not None:
                qt = queries_table.c
                conn.execute(
                    sa.delete(queries_table).where(qt.corpus == corpus, qt.query_set == name)
                )
                seen: set[str] = set()
                rows = []
                for i, q in enumerate(queries):
                    if q.query_id in seen:
                        raise InputError(None, f"query id {q.query_id!r} appears twice")
                    seen.add(q.query_id)
                    rows.append(
                        dict(
                            corpus=corpus,
                            query_set=name,
                            query_id=q.query_id,
                            text=q.text,
                            position=i,
                        )
                    )
                if rows:
                    conn.execute(sa.insert(queries_table), rows)
            return self._query_set(conn, corpus, name)

    def _query_set(self, conn: sa.Connection, corpus: str, name: str) -> QuerySetInfo:
        qs, qt = query_sets.c, queries_table.c
        row = conn.execute(
            sa.select(query_sets).where(qs.corpus == corpus, qs.name == name)
        ).first()
        found = conn.execute(
            sa.select(qt.query_id, qt.text)
            .where(qt.corpus == corpus, qt.query_set == name)
            .order_by(qt.position)
        ).all()
        queries = [Query(r.query_id, r.text) for r in found]
        if row is None:
            return QuerySetInfo(corpus, name, queries=queries)
        return QuerySetInfo(corpus, name, row.guidelines, row.annotators_per_passage, queries)

    def query_set(self, corpus: str, name: str) -> QuerySetInfo:
        """A query set's settings (defaults — no guidelines, 1 per passage — if never set)."""
        with self._read() as conn:
            return self._query_set(conn, corpus, name)

    def query_sets(self, corpus: str) -> list[str]:
        """Names of the query sets this store has settings for."""
        with self._read() as conn:
            return sorted(
                conn.execute(sa.select(query_sets.c.name).where(query_sets.c.corpus == corpus))
                .scalars()
                .all()
            )

    # -- events

    @staticmethod
    def _event_values(
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        doc_id: str | None,
        query_set: str | None,
    ) -> dict:
        if not query_id:
            raise InputError(None, "no query id")
        if passage_id == DOC_LEVEL and not doc_id:
            raise InputError(None, "a document-level label needs a doc_id")
        return dict(
            corpus=corpus,
            annotator=_check_name(annotator, "annotator"),
            query_set=query_set,
            query_id=str(query_id),
            passage_id=str(passage_id),
            doc_id=str(doc_id) if doc_id else doc_of(passage_id),
        )

    @staticmethod
    def _append(conn: sa.Connection, values: dict) -> int:
        values.setdefault("created_at", time.time())
        values.setdefault("grade", None)
        values.setdefault("note", None)
        values.setdefault("target_id", None)
        return int(conn.execute(sa.insert(label_events).values(**values)).inserted_primary_key[0])

    def add_label(
        self,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        grade: int,
        *,
        doc_id: str | None = None,
        query_set: str | None = None,
        note: str | None = None,
        source: str = "human",
    ) -> int:
        """Record a grade; returns the event id once committed (durable, see module docstring).

        passage_id "" with a doc_id labels a whole document. source: human (default), import,
        or adjudication (prefer adjudicate()). The grade must be on the corpus's scale.
        """
        if source not in ("human", "import", "adjudication"):
            raise InputError(None, f"source {source!r} cannot add labels; use add_suggestions")
        values = self._event_values(corpus, annotator, query_id, passage_id, doc_id, query_set)
        with self._write() as conn:
            grade = self._scale(conn, corpus).check(grade)
            values.update(grade=grade, note=note or None, source=source, kind="label")
            return self._append(conn, values)

    def _simple_event(
        self,
        kind: str,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        *,
        doc_id: str | None,
        query_set: str | None,
        note: str | None,
    ) -> int:
        values = self._event_values(corpus, annotator, query_id, passage_id, doc_id, query_set)
        values.update(note=note or None, source="human", kind=kind)
        with self._write() as conn:
            return self._append(conn, values)

    def cant_judge(
        self,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        *,
        doc_id: str | None = None,
        query_set: str | None = None,
        note: str | None = None,
    ) -> int:
        """Record "can't judge" (a current label with no grade); returns the event id."""
        return self._simple_event(
            "cant_judge",
            corpus,
            annotator,
            query_id,
            passage_id,
            doc_id=doc_id,
            query_set=query_set,
            note=note,
        )

    def skip(
        self,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        *,
        doc_id: str | None = None,
        query_set: str | None = None,
    ) -> int:
        """Record a skip: the passage moves to the end of this annotator's queue."""
        return self._simple_event(
            "skip",
            corpus,
            annotator,
            query_id,
            passage_id,
            doc_id=doc_id,
            query_set=query_set,
            note=None,
        )

    def add_note(
        self,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        note: str,
        *,
        doc_id: str | None = None,
        query_set: str | None = None,
    ) -> int:
        """Record a note (rationale) on a passage without changing its grade."""
        if not note or not note.strip():
            raise InputError(None, "the note is empty")
        return self._simple_event(
            "note",
            corpus,
            annotator,
            query_id,
            passage_id,
            doc_id=doc_id,
            query_set=query_set,
            note=note,
        )

    def _undone(self, corpus: str) -> sa.Select:
        return sa.select(_EV.target_id).where(
            _EV.corpus == corpus, _EV.kind == "undo", _EV.target_id.is_not(None)
        )

    def undo(
        self,
        corpus: str,
        annotator: str,
        *,
        query_set: str | None = None,
        source: str = "human",
    ) -> LabelEvent | None:
        """Retract the annotator's latest label, can't-judge, skip or note (in the query set,
        if given) that is not yet retracted; returns it (None if there is nothing to undo).

        Undoing again retracts the one before; the previous label of that passage, if any,
        becomes current again.
        """
        annotator = _check_name(annotator, "annotator")
        with self._write() as conn:
            conds = [
                _EV.corpus == corpus,
                _EV.annotator == annotator,
                _EV.source == source,
                _EV.kind.in_(UNDOABLE),
                _EV.id.not_in(self._undone(corpus)),
            ]
            if query_set is not None:
                conds.append(_EV.query_set == query_set)
            row = conn.execute(
                sa.select(label_events).where(*conds).order_by(_EV.id.desc()).limit(1)
            ).first()
            if row is None:
                return None
            self._retract(conn, LabelEvent(*row))
            return LabelEvent(*row)

    def undo_event(self, event_id: int) -> LabelEvent:
        """Retract one event by id (idempotent); NotFoundError if there is no such event."""
        with self._write() as conn:
            row = conn.execute(sa.select(label_events).where(_EV.id == event_id)).first()
            if row is None or row.kind == "undo":
                raise NotFoundError(f"no label event {event_id} to undo")
            done = conn.execute(
                sa.select(_EV.id).where(_EV.kind == "undo", _EV.target_id == event_id)
            ).first()
            if not done:
                self._retract(conn, LabelEvent(*row))
            return LabelEvent(*row)

    def _retract(self, conn: sa.Connection, ev: LabelEvent) -> int:
        return self._append(
            conn,
            dict(
                corpus=ev.corpus,
                annotator=ev.annotator,
                query_set=ev.query_set,
                query_id=ev.query_id,
                passage_id=ev.passage_id,
                doc_id=ev.doc_id,
                source=ev.source,
                kind="undo",
                target_id=ev.id,
            ),
        )

    def history(
        self,
        corpus: str,
        *,
        annotator: str | None = None,
        query_id: str | None = None,
        passage_id: str | None = None,
    ) -> list[LabelEvent]:
        """Every event (undos included), oldest first, optionally narrowed."""
        conds = [_EV.corpus == corpus]
        if annotator is not None:
            conds.append(_EV.annotator == annotator)
        if query_id is not None:
            conds.append(_EV.query_id == query_id)
        if passage_id is not None:
            conds.append(_EV.passage_id == passage_id)
        with self._read() as conn:
            rows = conn.execute(sa.select(label_events).where(*conds).order_by(_EV.id)).all()
        return [LabelEvent(*r) for r in rows]

    def event(self, event_id: int) -> LabelEvent:
        """One event by id; NotFoundError if there is none."""
        with self._read() as conn:
            row = conn.execute(sa.select(label_events).where(_EV.id == event_id)).first()
        if row is None:
            raise NotFoundError(f"no label event {event_id}")
        return LabelEvent(*row)

    def count_events(self, corpus: str | None = None) -> int:
        """How many events are stored (in one corpus, or in all)."""
        stmt = sa.select(sa.func.count()).select_from(label_events)
        if corpus is not None:
            stmt = stmt.where(_EV.corpus == corpus)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- current labels

    def _current(
        self,
        conn: sa.Connection,
        corpus: str,
        *,
        role: str = "label",
        kinds: Sequence[str] = LABEL_KINDS,
        annotator: str | None = None,
        query_ids: Collection[str] | None = None,
        with_note: bool = False,
    ) -> list:
        """The latest non-retracted event per (role, annotator, unit), as CurrentLabel rows."""
        conds = [
            _EV.corpus == corpus,
            _EV.kind.in_(kinds),
            _EV.source.in_(_ROLE_SOURCES[role]),
            _EV.id.not_in(self._undone(corpus)),
        ]
        if annotator is not None:
            conds.append(_EV.annotator == annotator)
        in_sql = query_ids is not None and len(query_ids) <= _MAX_IN
        if in_sql:
            conds.append(_EV.query_id.in_(sorted(query_ids)))  # type: ignore[arg-type]
        if with_note:
            conds.append(_EV.note.is_not(None))
        latest = (
            sa.select(sa.func.max(_EV.id).label("mid"))
            .where(*conds)
            .group_by(_ROLE, _EV.annotator, _EV.query_id, _EV.doc_id, _EV.passage_id)
            .subquery()
        )
        rows = conn.execute(
            sa.select(*_CURRENT_COLUMNS).join(latest, _EV.id == latest.c.mid).order_by(_EV.id)
        ).all()
        if query_ids is not None and not in_sql:
            wanted = set(query_ids)
            rows = [r for r in rows if r.query_id in wanted]
        return rows

    def _labels(
        self,
        conn: sa.Connection,
        corpus: str,
        *,
        role: str = "label",
        annotator: str | None = None,
        query_ids: Collection[str] | None = None,
        notes: bool = True,
    ) -> list[CurrentLabel]:
        rows = self._current(conn, corpus, role=role, annotator=annotator, query_ids=query_ids)
        if not notes or role != "label":
            return [CurrentLabel._make(r) for r in rows]
        noted = self._current(
            conn, corpus, kinds=UNDOABLE, annotator=annotator, query_ids=query_ids, with_note=True
        )
        found = {(r.annotator, r.query_id, r.doc_id, r.passage_id): r.note for r in noted}
        out = []
        for r in rows:
            lab = CurrentLabel._make(r)
            note = found.get((r.annotator, r.query_id, r.doc_id, r.passage_id))
            out.append(lab if note is None else lab._replace(note=note))
        return out

    def current_labels(
        self,
        corpus: str,
        *,
        annotator: str | None = None,
        query_ids: Collection[str] | None = None,
        include_cant_judge: bool = True,
    ) -> list[CurrentLabel]:
        """Current human and imported labels (not suggestions, not adjudications), oldest first.

        A label with grade None is "can't judge" (left out with include_cant_judge=False).
        """
        with self._read() as conn:
            labels = self._labels(conn, corpus, annotator=annotator, query_ids=query_ids)
        return [lab for lab in labels if include_cant_judge or lab.grade is not None]

    def label_of(
        self,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        doc_id: str | None = None,
    ) -> CurrentLabel | None:
        """This annotator's current label of one passage (or document), or None."""
        doc_id = doc_id or doc_of(passage_id)
        for lab in self.current_labels(corpus, annotator=annotator, query_ids=[query_id]):
            if lab.passage_id == passage_id and lab.doc_id == doc_id:
                return lab
        return None

    # -- pools and judging sessions

    def create_pool(
        self,
        corpus: str,
        query_set: str,
        runs: Mapping[str, Run],
        depth: int,
        query_ids: Sequence[str] | None = None,
    ) -> PoolInfo:
        """Build (build_pool) and store the pool of these rankers' runs; returns it."""
        items = build_pool(runs, depth, query_ids)
        return self.save_pool(
            corpus, query_set, items, list(runs), depth, pool_provenance(runs, depth)
        )

    def save_pool(
        self,
        corpus: str,
        query_set: str,
        items: Sequence[PoolItem],
        rankers: Sequence[str],
        depth: int,
        provenance: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> PoolInfo:
        """Store a pool (a new id each time; labels belong to passages, not to pools)."""
        if not items:
            raise InputError(None, "the pool is empty: the rankers returned no passages")
        provenance = provenance or {}
        now = time.time()
        with self._write() as conn:
            pool_id = int(
                conn.execute(
                    sa.insert(pools_table).values(
                        corpus=corpus,
                        query_set=query_set,
                        rankers=json.dumps(list(rankers)),
                        depth=depth,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            )
            conn.execute(
                sa.insert(pool_items),
                [
                    dict(
                        pool_id=pool_id,
                        position=i,
                        query_id=it.query_id,
                        passage_id=it.passage_id,
                        doc_id=it.doc_id,
                        found_by=json.dumps(list(provenance.get((it.query_id, it.passage_id), ()))),
                    )
                    for i, it in enumerate(items)
                ],
            )
        return PoolInfo(pool_id, corpus, query_set, list(rankers), depth, now, list(items))

    def pool(self, pool_id: int) -> PoolInfo:
        """A stored pool; NotFoundError if there is none."""
        with self._read() as conn:
            row = conn.execute(sa.select(pools_table).where(pools_table.c.id == pool_id)).first()
            if row is None:
                raise NotFoundError(f"no pool {pool_id}")
            items = conn.execute(
                sa.select(pool_items.c.query_id, pool_items.c.passage_id, pool_items.c.doc_id)
                .where(pool_items.c.pool_id == pool_id)
                .order_by(pool_items.c.position)
            ).all()
        return PoolInfo(
            row.id,
            row.corpus,
            row.query_set,
            json.loads(row.rankers),
            row.depth,
            row.created_at,
            [PoolItem(*r) for r in items],
        )

    def pools(self, corpus: str, query_set: str | None = None) -> list[PoolInfo]:
        """Stored pools of a corpus (newest last)."""
        conds = [pools_table.c.corpus == corpus]
        if query_set is not None:
            conds.append(pools_table.c.query_set == query_set)
        with self._read() as conn:
            ids = conn.execute(
                sa.select(pools_table.c.id).where(*conds).order_by(pools_table.c.id)
            ).scalars()
            ids = list(ids)
        return [self.pool(i) for i in ids]

    def pool_provenance(self, pool_id: int) -> dict[tuple[str, str], tuple[str, ...]]:
        """(query_id, passage_id) -> rankers that found it. For analysis; never for judges."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(
                    pool_items.c.query_id, pool_items.c.passage_id, pool_items.c.found_by
                ).where(pool_items.c.pool_id == pool_id)
            ).all()
        return {(r.query_id, r.passage_id): tuple(json.loads(r.found_by)) for r in rows}

    def pool_seed(self, pool_id: int, annotator: str, seed: int | None = None) -> int:
        """The annotator's recorded shuffle seed for a pool; records `seed` (or a random one)
        the first time. A recorded seed always wins, so the order never changes under a judge."""
        annotator = _check_name(annotator, "annotator")
        ps = pool_seeds.c
        with self._write() as conn:
            found = conn.execute(
                sa.select(ps.seed).where(ps.pool_id == pool_id, ps.annotator == annotator)
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
            value = int(seed) if seed is not None else secrets.randbits(31)
            conn.execute(
                sa.insert(pool_seeds).values(
                    pool_id=pool_id, annotator=annotator, seed=value, created_at=time.time()
                )
            )
            return value

    def start_session(
        self, pool_id: int, annotator: str, seed: int | None = None
    ) -> JudgingSession:
        """Start (or resume) judging a pool as an annotator: registers the name, records the
        seed, and returns a JudgingSession (next passage, label, skip, undo, progress)."""
        annotator = self.add_annotator(annotator)
        pool = self.pool(pool_id)
        seed = self.pool_seed(pool_id, annotator, seed)
        info = self.query_set(pool.corpus, pool.query_set)
        return JudgingSession(self, pool, annotator, seed, info, self.scale(pool.corpus))

    # -- suggestions

    def add_suggestions(
        self,
        corpus: str,
        model: str,
        items: Sequence[PoolItem],
        scores: Sequence[float],
        thresholds: Sequence[float],
        *,
        query_set: str | None = None,
    ) -> list[int]:
        """Store model suggestions (source "suggestion", annotator = model name) graded from
        scores by thresholds (grades_from_scores); the score is kept in the note. Suggestions
        are never counted as human labels. Returns the grades."""
        if len(items) != len(scores):
            raise InputError(None, f"{len(items)} items but {len(scores)} scores")
        grades = grades_from_scores(scores, thresholds)
        model = _check_name(model, "model")
        with self._write() as conn:
            scale = self._scale(conn, corpus)
            if len(thresholds) > scale.max:
                raise InputError(
                    None,
                    f"{len(thresholds)} thresholds make grades up to {len(thresholds)}; the "
                    f"scale ({scale.describe()}) needs at most {scale.max}",
                )
            now = time.time()
            rows = [
                dict(
                    self._event_values(
                        corpus, model, it.query_id, it.passage_id, it.doc_id, query_set
                    ),
                    grade=g,
                    note=f"score={float(s):.6g}",
                    created_at=now,
                    source="suggestion",
                    kind="label",
                    target_id=None,
                )
                for it, s, g in zip(items, scores, grades, strict=True)
            ]
            if rows:
                conn.execute(sa.insert(label_events), rows)
        return grades

    def suggestions(
        self,
        corpus: str,
        *,
        model: str | None = None,
        query_ids: Collection[str] | None = None,
    ) -> list[CurrentLabel]:
        """Current suggestions (annotator = model name)."""
        with self._read() as conn:
            return self._labels(
                conn, corpus, role="suggestion", annotator=model, query_ids=query_ids
            )

    def suggestion_agreement(self, corpus: str, *, model: str | None = None) -> SuggestionAgreement:
        """How often suggestions agree with human (and imported) labels on the same units:
        one pair per (suggestion, human label); exact agreement rate and weighted kappa."""
        with self._read() as conn:
            suggested = self._labels(conn, corpus, role="suggestion", annotator=model)
            humans = self._labels(conn, corpus, notes=False)
            scale = self._scale(conn, corpus)
        by_unit: dict[Unit, list[int]] = defaultdict(list)
        for s in suggested:
            if s.grade is not None:
                by_unit[s.unit].append(s.grade)
        pairs = [
            (s, h.grade) for h in humans if h.grade is not None for s in by_unit.get(h.unit, ())
        ]
        return agr.suggestion_agreement(pairs, scale.values)

    # -- agreement and adjudication

    def _graded(self, conn: sa.Connection, corpus: str, query_ids: Collection[str] | None):
        return [
            (lab.unit, lab.annotator, lab.grade)
            for lab in self._labels(conn, corpus, query_ids=query_ids, notes=False)
            if lab.grade is not None
        ]

    def agreement(
        self, corpus: str, *, query_ids: Collection[str] | None = None
    ) -> AgreementReport:
        """Cohen's kappa per annotator pair (quadratic-weighted on graded scales) and
        Krippendorff's alpha (ordinal), overall and per query, over current graded labels."""
        with self._read() as conn:
            triples = self._graded(conn, corpus, query_ids)
            scale = self._scale(conn, corpus)
        return agr.agreement_report(triples, scale.values)

    def adjudicated(
        self, corpus: str, *, query_ids: Collection[str] | None = None
    ) -> dict[Unit, CurrentLabel]:
        """The current adjudicated label of each adjudicated unit (latest adjudication wins)."""
        with self._read() as conn:
            labels = self._labels(conn, corpus, role="adjudication", query_ids=query_ids)
        out: dict[Unit, CurrentLabel] = {}
        for lab in labels:  # oldest first: later adjudications overwrite
            out[lab.unit] = lab
        return out

    def disagreements(
        self,
        corpus: str,
        *,
        query_ids: Collection[str] | None = None,
        include_adjudicated: bool = False,
    ) -> list[Disagreement]:
        """Units whose annotators disagree, widest spread first (adjudicated ones only with
        include_adjudicated=True; each then says its adjudicated grade)."""
        with self._read() as conn:
            triples = self._graded(conn, corpus, query_ids)
        adjudicated = {
            u: lab.grade
            for u, lab in self.adjudicated(corpus, query_ids=query_ids).items()
            if lab.grade is not None
        }
        return agr.disagreements(triples, adjudicated, include_adjudicated)

    def adjudicate(
        self,
        corpus: str,
        query_id: str,
        passage_id: str,
        grade: int,
        adjudicator: str,
        *,
        doc_id: str | None = None,
        note: str | None = None,
        query_set: str | None = None,
    ) -> int:
        """Record an adjudicated grade for a unit; it decides the unit's final label."""
        return self.add_label(
            corpus,
            adjudicator,
            query_id,
            passage_id,
            grade,
            doc_id=doc_id,
            query_set=query_set,
            note=note,
            source="adjudication",
        )

    # -- final labels, import, export

    def final_qrels(
        self,
        corpus: str,
        *,
        rule: str = "majority",
        level: str = "doc",
        query_ids: Collection[str] | None = None,
    ) -> list[Qrel]:
        """The final qrels: adjudicated, else `rule` (majority: the most frequent grade, a tie
        falls to the mean rounded half up; mean; max; min; annotator:NAME). Level "doc": a
        document's grade is its best passage's; "passage": one qrel per passage (a
        document-level label keeps its document id). Suggestions never count."""
        check_rule(rule)
        with self._read() as conn:
            labels = self._labels(conn, corpus, query_ids=query_ids, notes=False)
            adj = self._labels(conn, corpus, role="adjudication", query_ids=query_ids)
        adjudicated = {lab.unit: (lab.grade, lab.event_id) for lab in adj if lab.grade is not None}
        return final_qrels_from(labels, adjudicated, rule, level)

    def import_qrels(
        self,
        corpus: str,
        path: str | Path,
        fmt: str | None = None,
        *,
        annotator: str = DEFAULT_IMPORT_ANNOTATOR,
        query_set: str | None = None,
        known_doc_ids: Collection[str] | None = None,
        known_passage_ids: Collection[str] | None = None,
        known_query_ids: Collection[str] | None = None,
        keep_unknown: bool = False,
    ) -> ImportReport:
        """Import a qrels file (trec, beir, csv, jsonl; None detects) all or nothing.

        Any bad line (wrong columns, a grade that is not an integer or not on the corpus's
        scale, a document id not in known_doc_ids unless keep_unknown, the same label given two
        grades) raises InputError with its line number and stores nothing. Query ids not in
        known_query_ids are accepted and listed in the report. None for a known_* set skips
        that check. See the module docstring for how document ids and passage ids are stored.
        """
        return self.import_records(
            corpus,
            read_qrels(Path(path), fmt),
            origin=str(path),
            annotator=annotator,
            query_set=query_set,
            known_doc_ids=known_doc_ids,
            known_passage_ids=known_passage_ids,
            known_query_ids=known_query_ids,
            keep_unknown=keep_unknown,
        )

    def import_records(
        self,
        corpus: str,
        records: Iterable[tuple[int | None, Qrel]],
        *,
        origin: str,
        annotator: str = DEFAULT_IMPORT_ANNOTATOR,
        query_set: str | None = None,
        known_doc_ids: Collection[str] | None = None,
        known_passage_ids: Collection[str] | None = None,
        known_query_ids: Collection[str] | None = None,
        keep_unknown: bool = False,
    ) -> ImportReport:
        """import_qrels over (line, Qrel) records from anywhere (e.g. a BEIR corpus's shipped
        qrels, with line None); `origin` names them in errors and in the report."""
        annotator = _check_name(annotator, "annotator")
        if known_doc_ids is not None and not isinstance(known_doc_ids, set | frozenset | dict):
            known_doc_ids = set(known_doc_ids)
        if known_passage_ids is not None and not isinstance(known_passage_ids, set | frozenset):
            known_passage_ids = set(known_passage_ids)
        report = ImportReport(origin, corpus, annotator)
        scale = self.scale(corpus)
        seen: dict[Unit, tuple[int, int | None]] = {}
        unknown_queries: dict[str, None] = {}
        rows = []
        now = time.time()
        for line, q in records:
            grade = q.relevance
            if grade not in scale:
                raise InputError(
                    origin,
                    f"grade {grade} is outside the scale of corpus {corpus!r} "
                    f"({scale.describe()}); set a scale that holds it first "
                    f"(ranklens judgments scale --corpus {corpus} --grades N)",
                    line,
                )
            doc_id, passage_id, known = resolve_doc_id(q.doc_id, known_doc_ids, known_passage_ids)
            if not known:
                if not keep_unknown:
                    raise InputError(
                        origin,
                        f"document id {q.doc_id!r} is not in corpus {corpus!r}; expected one of "
                        "its document ids or passage ids (doc#n), or import with keep_unknown "
                        "(--keep-unknown) to keep and list such labels",
                        line,
                    )
                report.unknown_docs.append((line, q.doc_id))
            unit = (q.query_id, doc_id, passage_id)
            if unit in seen:
                first_grade, first_line = seen[unit]
                if first_grade != grade:
                    raise InputError(
                        origin,
                        f"query {q.query_id!r}, document {q.doc_id!r} has grade {grade} here "
                        f"but {first_grade} on line {first_line}; expected one grade per pair",
                        line,
                    )
                report.duplicates += 1
                continue
            seen[unit] = (grade, line)
            if known_query_ids is not None and q.query_id not in known_query_ids:
                unknown_queries.setdefault(q.query_id)
            rows.append(
                dict(
                    corpus=corpus,
                    annotator=annotator,
                    query_set=query_set,
                    query_id=q.query_id,
                    passage_id=passage_id,
                    doc_id=doc_id,
                    grade=grade,
                    note=None,
                    created_at=now,
                    source="import",
                    kind="label",
                    target_id=None,
                )
            )
            if passage_id == DOC_LEVEL:
                report.document_level += 1
            else:
                report.passage_level += 1
        if not rows:
            raise InputError(origin, "no labels found; expected at least one qrels line")
        with self._write() as conn:
            scale_now = self._scale(conn, corpus)  # the scale may have changed meanwhile
            if scale_now.max < scale.max and any(r["grade"] > scale_now.max for r in rows):
                raise InputError(origin, "the corpus's scale changed during the import; run again")
            for i in range(0, len(rows), 5000):
                conn.execute(sa.insert(label_events), rows[i : i + 5000])
            if not conn.execute(
                sa.select(annotators.c.name).where(annotators.c.name == annotator)
            ).first():
                conn.execute(sa.insert(annotators).values(name=annotator, created_at=now))
        report.labels = len(rows)
        report.unknown_queries = sorted(unknown_queries, key=_natural)
        return report

    def export_qrels(
        self,
        corpus: str,
        path: str | Path,
        fmt: str = "trec",
        *,
        level: str = "doc",
        rule: str = "majority",
        query_ids: Collection[str] | None = None,
    ) -> int:
        """Write the final qrels (final_qrels) as TREC ('qid 0 docid rel') or BEIR TSV; the
        file is replaced atomically. Returns the number of qrels written."""
        if fmt not in EXPORT_FORMATS:
            raise InputError(None, f"unknown export format {fmt!r}; expected trec or beir")
        qrels = self.final_qrels(corpus, rule=rule, level=level, query_ids=query_ids)
        path = Path(path)
        if not path.parent.is_dir():
            raise InputError(path, f"cannot write here: the folder {path.parent} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        os.close(fd)
        try:
            write_qrels(qrels, Path(tmp), fmt)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(qrels)


# ---------------------------------------------------------------- a judging session


class JudgingSession:
    """One annotator judging one pool: what a Judge page needs, nothing about rankers.

    Items come in this annotator's shuffled order (pool_order with the recorded seed). The
    queue holds the items this annotator has not labelled (or marked "can't judge") that still
    have fewer graded labels than the query set asks for; skipped items go to its end.
    """

    def __init__(
        self,
        store: JudgmentStore,
        pool: PoolInfo,
        annotator: str,
        seed: int,
        query_set: QuerySetInfo,
        scale: Scale,
    ) -> None:
        self.store = store
        self.pool_id = pool.id
        self.corpus = pool.corpus
        self.query_set = pool.query_set
        self.annotator = annotator
        self.seed = seed
        self.scale = scale
        self.guidelines = query_set.guidelines
        self.annotators_per_passage = query_set.annotators_per_passage
        self.queries = {q.query_id: q.text for q in query_set.queries}
        self.items: list[PoolItem] = pool_order(pool.items, annotator, seed)
        self.query_ids = list(dict.fromkeys(it.query_id for it in self.items))

    def _state(self) -> tuple[list[CurrentLabel], dict[Unit, int]]:
        store = self.store
        with store._read() as conn:
            labels = store._labels(conn, self.corpus, query_ids=self.query_ids, notes=False)
            skips = store._current(
                conn,
                self.corpus,
                kinds=("skip",),
                annotator=self.annotator,
                query_ids=self.query_ids,
            )
        return labels, {(r.query_id, r.doc_id, r.passage_id): r.event_id for r in skips}

    def _split(self) -> tuple[list[PoolItem], set[Unit], Counter]:
        labels, skips = self._state()
        mine = {lab.unit for lab in labels if lab.annotator == self.annotator}
        graded = Counter(lab.unit for lab in labels if lab.grade is not None)
        waiting = [
            it
            for it in self.items
            if it.unit not in mine and graded[it.unit] < self.annotators_per_passage
        ]
        fresh = [it for it in waiting if it.unit not in skips]
        skipped = sorted((it for it in waiting if it.unit in skips), key=lambda it: skips[it.unit])
        return fresh + skipped, mine, graded

    def queue(self) -> list[PoolItem]:
        """Items still waiting for this annotator, in the order to judge them."""
        return self._split()[0]

    def next_item(self) -> PoolItem | None:
        """The next passage to judge, or None when nothing waits for this annotator."""
        q = self.queue()
        return q[0] if q else None

    def progress(self) -> SessionProgress:
        """Progress of this annotator overall and per query (see Progress)."""
        queue, mine, graded = self._split()
        waiting = {it.unit for it in queue}
        per: dict[str, list[int]] = {qid: [0, 0, 0, 0] for qid in self.query_ids}
        for it in self.items:
            p = per[it.query_id]
            p[0] += 1
            p[1] += it.unit in mine
            p[2] += graded[it.unit] >= self.annotators_per_passage
            p[3] += it.unit in waiting
        per_query = {qid: Progress(*v) for qid, v in per.items()}
        overall = Progress(*(sum(p[i] for p in per_query.values()) for i in range(4)))
        return SessionProgress(overall, per_query)

    def labels(self) -> dict[Unit, CurrentLabel]:
        """This annotator's current labels on the pool's queries, by unit."""
        with self.store._read() as conn:
            found = self.store._labels(
                conn, self.corpus, annotator=self.annotator, query_ids=self.query_ids
            )
        return {lab.unit: lab for lab in found}

    def label_of(self, item: PoolItem) -> CurrentLabel | None:
        """This annotator's current label of an item (grade None: can't judge)."""
        return self.labels().get(item.unit)

    def label(self, item: PoolItem, grade: int, note: str | None = None) -> int:
        """Grade an item; returns the event id after the commit."""
        return self.store.add_label(
            self.corpus,
            self.annotator,
            item.query_id,
            item.passage_id,
            grade,
            doc_id=item.doc_id,
            query_set=self.query_set,
            note=note,
        )

    def cant_judge(self, item: PoolItem, note: str | None = None) -> int:
        """Mark an item "can't judge" (it leaves this annotator's queue, not others')."""
        return self.store.cant_judge(
            self.corpus,
            self.annotator,
            item.query_id,
            item.passage_id,
            doc_id=item.doc_id,
            query_set=self.query_set,
            note=note,
        )

    def skip(self, item: PoolItem) -> int:
        """Put an item at the end of this annotator's queue."""
        return self.store.skip(
            self.corpus,
            self.annotator,
            item.query_id,
            item.passage_id,
            doc_id=item.doc_id,
            query_set=self.query_set,
        )

    def note(self, item: PoolItem, text: str) -> int:
        """Attach a note (rationale) to an item without changing its grade."""
        return self.store.add_note(
            self.corpus,
            self.annotator,
            item.query_id,
            item.passage_id,
            text,
            doc_id=item.doc_id,
            query_set=self.query_set,
        )

    def undo(self) -> LabelEvent | None:
        """Retract this annotator's latest action in this query set; returns it (the page can
        go back to that passage) or None."""
        return self.store.undo(self.corpus, self.annotator, query_set=self.query_set)
