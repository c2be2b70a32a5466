"""Pairwise preferences as stored: append-only events (a passage pair or two rankers' blind top
lists for one query, the better one picked or a tie), undo, and the standing preferences.

The statistics over them (Bradley-Terry fits, agreement with graded labels) and the choice of
what to show next live in ranklens.evaluation.preferences; this module holds no statistics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import sqlalchemy as sa

from ranklens.errors import InputError
from ranklens.judging.rules import check_name
from ranklens.schema import Database, insert_row, preference_events
from ranklens.types import Hit

CHOICES = ("left", "right", "tie")
KEYS = {"ArrowLeft": "left", "ArrowRight": "right", "=": "tie"}  # what the Judge page binds
PREFERENCE_KINDS = ("passage", "ranker")  # what a preference compares


class Preference(NamedTuple):
    """One standing preference (not undone)."""

    id: int
    corpus: str
    annotator: str
    query_set: str | None
    query_id: str
    kind: str
    left: str
    right: str
    left_doc: str | None
    right_doc: str | None
    choice: str
    shown: dict | None
    created_at: float

    @property
    def winner(self) -> str | None:
        return {"left": self.left, "right": self.right}.get(self.choice)


def check_choice(choice: str) -> str:
    """'left', 'right' or 'tie'; a key (ArrowLeft, ArrowRight, '=', '←', '→') maps onto one."""
    value = KEYS.get(choice, {"←": "left", "→": "right"}.get(choice, choice))
    if value not in CHOICES:
        raise InputError(None, f"a preference is left, right or tie (keys ←, →, =), not {choice!r}")
    return value


def record(
    store: Database,
    corpus: str,
    annotator: str,
    query_id: str,
    left: str,
    right: str,
    choice: str,
    *,
    kind: str = "passage",
    query_set: str | None = None,
    left_doc: str | None = None,
    right_doc: str | None = None,
    shown: Mapping | None = None,
) -> int:
    """Store one preference event; returns its id. `left`/`right` are passage ids (kind
    "passage") or ranker recipes (kind "ranker", with `shown` the two lists as displayed)."""
    if kind not in PREFERENCE_KINDS:
        raise InputError(None, f"kind must be one of {', '.join(PREFERENCE_KINDS)}, not {kind!r}")
    annotator = check_name(annotator, "annotator")
    if not query_id or not left or not right:
        raise InputError(None, "a preference needs a query and two items")
    if left == right:
        raise InputError(None, f"a preference compares two different items, got {left!r} twice")
    values = dict(
        corpus=corpus,
        annotator=annotator,
        query_set=query_set,
        query_id=str(query_id),
        kind=kind,
        left=left,
        right=right,
        left_doc=left_doc,
        right_doc=right_doc,
        choice=check_choice(choice),
        shown=json.dumps(shown, ensure_ascii=False) if shown is not None else None,
        created_at=time.time(),
    )
    with store.write() as conn:
        return insert_row(conn, preference_events, **values)


def undo(
    store: Database, corpus: str, annotator: str, kind: str | None = None
) -> Preference | None:
    """Take back the annotator's latest standing preference (of a kind); None when none is left."""
    t = preference_events.c
    with store.write() as conn:
        undone = sa.select(t.target_id).where(t.kind == "undo", t.target_id.is_not(None))
        query = (
            sa.select(preference_events)
            .where(t.corpus == corpus, t.annotator == annotator, t.kind != "undo")
            .where(t.id.not_in(undone))
            .order_by(t.id.desc())
            .limit(1)
        )
        if kind is not None:
            query = query.where(t.kind == kind)
        row = conn.execute(query).first()
        if row is None:
            return None
        conn.execute(
            sa.insert(preference_events).values(
                corpus=corpus,
                annotator=annotator,
                query_set=row.query_set,
                query_id=row.query_id,
                kind="undo",
                target_id=row.id,
                created_at=time.time(),
            )
        )
    return _pref(row)


def _pref(row) -> Preference:
    return Preference(
        int(row.id),
        row.corpus,
        row.annotator,
        row.query_set,
        row.query_id,
        row.kind,
        row.left,
        row.right,
        row.left_doc,
        row.right_doc,
        row.choice,
        json.loads(row.shown) if row.shown else None,
        float(row.created_at),
    )


def preferences(
    store: Database,
    corpus: str,
    *,
    kind: str = "passage",
    query_ids: Iterable[str] | None = None,
    annotator: str | None = None,
) -> list[Preference]:
    """Standing preferences (undone ones left out), oldest first. Each event counts: two
    annotators, or one annotator twice, give two comparisons."""
    t = preference_events.c
    undone = sa.select(t.target_id).where(t.kind == "undo", t.target_id.is_not(None))
    query = (
        sa.select(preference_events)
        .where(t.corpus == corpus, t.kind == kind, t.id.not_in(undone))
        .order_by(t.id)
    )
    if annotator is not None:
        query = query.where(t.annotator == annotator)
    with store.read() as conn:
        rows = conn.execute(query).all()
    wanted = None if query_ids is None else {str(q) for q in query_ids}
    return [_pref(r) for r in rows if wanted is None or r.query_id in wanted]


class ArenaRound(NamedTuple):
    """One blind arena comparison: which ranker is on which side, and the lists shown."""

    query_id: str
    left: str  # ranker recipe (never shown to the annotator)
    right: str
    left_hits: list[Hit]
    right_hits: list[Hit]

    def shown(self) -> dict:
        """What was displayed, for the event (passage and document ids per side)."""
        return {
            "left": [[h.passage_id, h.doc_id] for h in self.left_hits],
            "right": [[h.passage_id, h.doc_id] for h in self.right_hits],
        }


def record_arena(
    store: Database,
    corpus: str,
    annotator: str,
    rnd: ArenaRound,
    choice: str,
    query_set: str | None = None,
) -> int:
    """Store the annotator's pick for an arena round (the lists shown go with it)."""
    return record(
        store,
        corpus,
        annotator,
        rnd.query_id,
        rnd.left,
        rnd.right,
        choice,
        kind="ranker",
        query_set=query_set,
        shown=rnd.shown(),
    )
