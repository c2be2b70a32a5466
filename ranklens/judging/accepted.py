"""Accepted suggestions: a model's suggestion made a person's own label, with its provenance
(which judge, which prompt version, which suggestion event), and which labels were accepted.

Decisions (read before changing anything here):

- An accepted suggestion is a human label of the accepting annotator (source "human"), with the
  note `accepted from llm:<model> prompt <hash>` (a cross-encoder: `accepted from <model>`).
  The table `accepted_labels` records the same provenance per label event, written in the same
  transaction as the label, so a later note or a human reason never hides where a label came
  from. Labels accepted before the table existed (note exactly `accepted <judge>`, a judge that
  has suggestions in the corpus) count as accepted too.
- Agreement, final qrels and evaluation include accepted labels by default; `accepted=False`
  leaves them out (the store's final_qrels and agreement take that flag).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from ranklens.errors import InputError
from ranklens.judging.records import CurrentLabel
from ranklens.judging.rules import check_name
from ranklens.schema import accepted_labels, label_events

if TYPE_CHECKING:
    from ranklens.judging.labels import LabelStore


_LLM_NOTE = re.compile(r"^prompt=([0-9a-f]{16}) score=(\d+)$")
_EV = label_events.c


class Provenance(NamedTuple):
    """Where an accepted label came from."""

    judge: str
    prompt_hash: str | None
    suggestion_event_id: int

    @property
    def note(self) -> str:
        text = f"accepted from {self.judge}"
        return f"{text} prompt {self.prompt_hash}" if self.prompt_hash else text


def provenance_of(suggestion: CurrentLabel) -> Provenance:
    """The provenance an accepted suggestion keeps: its judge and, for an LLM, its prompt hash."""
    if suggestion.source != "suggestion" or suggestion.grade is None:
        raise InputError(None, f"event {suggestion.event_id} is not a graded suggestion")
    m = _LLM_NOTE.match(suggestion.note or "")
    return Provenance(suggestion.annotator, m.group(1) if m else None, suggestion.event_id)


def accept(
    store: LabelStore,
    corpus: str,
    annotator: str,
    suggestions: Sequence[CurrentLabel],
    *,
    query_set: str | None = None,
) -> list[int]:
    """Make suggestions labels of `annotator`, all in one transaction (all or none): each a human
    label with its provenance note and row. Returns the new label event ids, in order."""
    annotator = check_name(annotator, "annotator")
    provs = [provenance_of(s) for s in suggestions]
    if not suggestions:
        return []
    store.add_annotator(annotator)
    now = time.time()
    out: list[int] = []
    with store.write() as conn:
        scale = store._scale(conn, corpus)
        for s, prov in zip(suggestions, provs, strict=True):
            values = store._event_values(
                corpus, annotator, s.query_id, s.passage_id, s.doc_id, query_set or s.query_set
            )
            values.update(
                grade=scale.check(s.grade),
                note=prov.note,
                source="human",
                kind="label",
                created_at=now,
            )
            event_id = store._append(conn, values)
            conn.execute(
                sa.insert(accepted_labels).values(
                    event_id=event_id,
                    corpus=corpus,
                    judge=prov.judge,
                    prompt_hash=prov.prompt_hash,
                    suggestion_event_id=prov.suggestion_event_id,
                    created_at=now,
                )
            )
            out.append(event_id)
    return out


def accepted_event_ids(
    store: LabelStore, corpus: str, conn: sa.Connection | None = None
) -> set[int]:
    """Ids of the corpus's label events that are accepted suggestions (see the module's notes).
    With `conn`, read inside that transaction (the table exists: every store creates it)."""

    def read(c: sa.Connection) -> set[int]:
        ids = set(
            c.execute(
                sa.select(accepted_labels.c.event_id).where(accepted_labels.c.corpus == corpus)
            ).scalars()
        )
        judges = set(
            c.execute(
                sa.select(_EV.annotator)
                .where(_EV.corpus == corpus, _EV.source == "suggestion")
                .distinct()
            ).scalars()
        )
        if judges:
            legacy = c.execute(
                sa.select(_EV.id).where(
                    _EV.corpus == corpus,
                    _EV.source == "human",
                    _EV.kind == "label",
                    _EV.note.in_(sorted(f"accepted {j}" for j in judges)),
                )
            ).scalars()
            ids.update(legacy)
        return ids

    if conn is not None:
        return read(conn)
    with store.read() as c:
        return read(c)


def without_accepted(labels: Iterable[CurrentLabel], accepted_ids: set[int]) -> list[CurrentLabel]:
    """The labels that are not accepted suggestions."""
    return [lab for lab in labels if lab.event_id not in accepted_ids]


def provenance(store: LabelStore, corpus: str) -> dict[int, Provenance]:
    """Label event id -> its provenance, for every accepted label recorded in the table."""
    a = accepted_labels.c
    with store.read() as conn:
        rows = conn.execute(
            sa.select(a.event_id, a.judge, a.prompt_hash, a.suggestion_event_id).where(
                a.corpus == corpus
            )
        ).all()
    return {r.event_id: Provenance(r.judge, r.prompt_hash, r.suggestion_event_id) for r in rows}
