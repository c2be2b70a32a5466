"""Label events and the labels derived from them: a corpus's scale, annotators, a query set's
judging settings, appending events (label, can't judge, skip, note, undo), current labels.

- Events are never updated or deleted. kinds: label (grade), cant_judge (no grade), skip, note,
  undo (target_id = the event it retracts). The current label of an (annotator, query, passage)
  is its latest label/cant_judge event that no undo retracts; so undo brings the previous label
  back and the whole history stays readable. Adjudications and suggestions are kept apart from
  labels (their own "role"), so one person may both judge and adjudicate a passage.
- Document-level labels (an imported qrels line whose id is a document id, not a passage id)
  are stored with passage_id "" (DOC_LEVEL) and doc_id = that id. Every label keeps its doc_id
  as its own field.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa

from ranklens.access import Actor, require_admin
from ranklens.errors import InputError, NotFoundError
from ranklens.judging.records import (
    DOC_LEVEL,
    LABEL_KINDS,
    UNDOABLE,
    CurrentLabel,
    JudgingSettings,
    LabelEvent,
)
from ranklens.judging.rules import check_name
from ranklens.scale import Scale
from ranklens.schema import Database, annotators, insert_row, label_events, projects, query_sets

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


class LabelStore:
    """Label events of every corpus and the current labels derived from them, over one Database
    (JudgmentStore composes it with pools, suggestions, agreement, import and export)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self) -> AbstractContextManager[sa.Connection]:
        """One write transaction of the Database (its fair write queue, then its lock)."""
        return self.db.write()

    def read(self) -> AbstractContextManager[sa.Connection]:
        """One read transaction of the Database (one snapshot)."""
        return self.db.read()

    def corpora(self) -> list[str]:
        """Corpora that have labels or a scale in this store."""
        with self.read() as conn:
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
        with self.read() as conn:
            return self._scale(conn, corpus)

    def set_scale(self, corpus: str, scale: Scale) -> None:
        """Set the corpus's scale; refused if a stored grade would fall outside it."""
        with self.write() as conn:
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
        name = check_name(name, "annotator")
        with self.write() as conn:
            if not conn.execute(
                sa.select(annotators.c.name).where(annotators.c.name == name)
            ).first():
                conn.execute(sa.insert(annotators).values(name=name, created_at=time.time()))
        return name

    def annotators(self, corpus: str | None = None) -> list[str]:
        """Registered annotators, or (with a corpus) those with labels in it."""
        with self.read() as conn:
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

    # -- judging settings of a query set (the corpus owns its queries)

    def set_judging_settings(
        self,
        corpus: str,
        query_set: str,
        *,
        guidelines: str | None = None,
        annotators_per_passage: int | None = None,
        actor: Actor | None = None,
    ) -> JudgingSettings:
        """Create or update a query set's judging settings: guidelines (Markdown) and how many
        annotators grade each passage. Arguments left as None keep what is stored. Admin-only
        when an actor (team mode's signed-in annotator) is given."""
        require_admin(actor, "change the guidelines or annotators per passage")
        query_set = check_name(query_set, "query set")
        if annotators_per_passage is not None and not 1 <= annotators_per_passage <= 50:
            raise InputError(None, "annotators per passage must be between 1 and 50")
        values: dict[str, object] = {}
        if guidelines is not None:
            values["guidelines"] = guidelines
        if annotators_per_passage is not None:
            values["annotators_per_passage"] = int(annotators_per_passage)
        qs = query_sets.c
        where = (qs.corpus == corpus, qs.name == query_set)
        with self.write() as conn:
            if conn.execute(sa.select(qs.name).where(*where)).first() is None:
                conn.execute(
                    sa.insert(query_sets).values(
                        corpus=corpus,
                        name=query_set,
                        guidelines=values.get("guidelines", ""),
                        annotators_per_passage=values.get("annotators_per_passage", 1),
                        created_at=time.time(),
                    )
                )
            elif values:
                conn.execute(sa.update(query_sets).where(*where).values(values))
            return self._judging_settings(conn, corpus, query_set)

    def _judging_settings(self, conn: sa.Connection, corpus: str, name: str) -> JudgingSettings:
        qs = query_sets.c
        row = conn.execute(
            sa.select(qs.guidelines, qs.annotators_per_passage).where(
                qs.corpus == corpus, qs.name == name
            )
        ).first()
        if row is None:
            return JudgingSettings(corpus, name)
        return JudgingSettings(corpus, name, row.guidelines, row.annotators_per_passage)

    def judging_settings(self, corpus: str, query_set: str) -> JudgingSettings:
        """A query set's judging settings (defaults, no guidelines and 1 per passage, if unset)."""
        with self.read() as conn:
            return self._judging_settings(conn, corpus, query_set)

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
        if not doc_id:  # never parsed out of the passage id: a document id may hold '#'
            what = (
                "a document-level label" if passage_id == DOC_LEVEL else f"passage {passage_id!r}"
            )
            raise InputError(None, f"{what} has no doc_id; expected the id of its document")
        return dict(
            corpus=corpus,
            annotator=check_name(annotator, "annotator"),
            query_set=query_set,
            query_id=str(query_id),
            passage_id=str(passage_id),
            doc_id=str(doc_id),
        )

    @staticmethod
    def _append(conn: sa.Connection, values: dict) -> int:
        values.setdefault("created_at", time.time())
        values.setdefault("grade", None)
        values.setdefault("note", None)
        values.setdefault("target_id", None)
        return insert_row(conn, label_events, **values)

    def record(
        self,
        kind: str,
        corpus: str,
        annotator: str,
        query_id: str,
        passage_id: str,
        *,
        grade: int | None = None,
        doc_id: str | None = None,
        query_set: str | None = None,
        note: str | None = None,
        source: str = "human",
    ) -> int:
        """Append one event of `kind` (label, cant_judge, skip or note; undo() retracts) for an
        annotator's unit; returns its id once committed (durable, see module docstring).

        passage_id "" with a doc_id is a whole document. A label's grade must be on the corpus's
        scale; a note must say something. source: human (default), import, or adjudication
        (prefer adjudicate()); suggestions are written by add_suggestions.
        """
        if kind not in UNDOABLE:
            raise InputError(None, f"unknown label event {kind!r}; expected {', '.join(UNDOABLE)}")
        if source not in ("human", "import", "adjudication"):
            raise InputError(None, f"source {source!r} cannot add labels; use add_suggestions")
        if kind == "note" and (not note or not note.strip()):
            raise InputError(None, "the note is empty")
        values = self._event_values(corpus, annotator, query_id, passage_id, doc_id, query_set)
        values.update(note=note or None, source=source, kind=kind)
        with self.write() as conn:
            if kind == "label":
                values["grade"] = self._scale(conn, corpus).check(grade)
            return self._append(conn, values)

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
        """Record a grade (record("label", ...)); returns the event id once committed."""
        where = dict(doc_id=doc_id, query_set=query_set, note=note, source=source)
        return self.record("label", corpus, annotator, query_id, passage_id, grade=grade, **where)

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
        annotator = check_name(annotator, "annotator")
        with self.write() as conn:
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
        with self.write() as conn:
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
        with self.read() as conn:
            rows = conn.execute(sa.select(label_events).where(*conds).order_by(_EV.id)).all()
        return [LabelEvent(*r) for r in rows]

    def event(self, event_id: int) -> LabelEvent:
        """One event by id; NotFoundError if there is none."""
        with self.read() as conn:
            row = conn.execute(sa.select(label_events).where(_EV.id == event_id)).first()
        if row is None:
            raise NotFoundError(f"no label event {event_id}")
        return LabelEvent(*row)

    def count_events(self, corpus: str | None = None) -> int:
        """How many events are stored (in one corpus, or in all)."""
        stmt = sa.select(sa.func.count()).select_from(label_events)
        if corpus is not None:
            stmt = stmt.where(_EV.corpus == corpus)
        with self.read() as conn:
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
        with self.read() as conn:
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
        """This annotator's current label of one passage (or, with passage_id "" and the
        doc_id, of a whole document), or None. A passage id alone is enough for a passage."""
        if passage_id == DOC_LEVEL and not doc_id:
            raise InputError(None, "a document-level label needs its doc_id")
        for lab in self.current_labels(corpus, annotator=annotator, query_ids=[query_id]):
            if lab.passage_id == passage_id and (doc_id is None or lab.doc_id == doc_id):
                return lab
        return None
