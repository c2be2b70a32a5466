"""Bulk review of suggestions: one row per (pair, judge) with the judges' disagreement on that
pair, the cross-encoder's score and the reviewer's own label; filters, sorting, accepting in bulk.

Decisions (read before changing anything here):

- A row shows only the reviewer's own label of the pair, never another annotator's (team mode:
  one annotator does not see the others' labels here).
- Disagreement of a pair: the highest minus the lowest grade the judges gave it (0 with one
  judge). The cross-encoder score is the raw score a cross-encoder's suggestion keeps in its
  note (`score=...`), of the first cross-encoder (by name) that scored the pair.
- Accepting rows in bulk skips pairs the reviewer already labelled, unless overwrite=True (a
  single row accepted on purpose overwrites). Accepted labels keep their provenance
  (ranklens.judging.accepted): one transaction for all the rows.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ranklens.errors import InputError
from ranklens.judges.judges import judge_labels
from ranklens.judging.accepted import accept, accepted_event_ids
from ranklens.judging.records import CurrentLabel
from ranklens.llm.prompt import JUDGE_PREFIX

if TYPE_CHECKING:
    from ranklens.judging.store import JudgmentStore

SORTS = ("disagreement", "grade", "cross-encoder")
_SCORE = re.compile(r"^score=(-?[0-9.eE+-]+)$")


class ReviewRow(NamedTuple):
    """One judge's suggestion for one pair, with what the reviewer needs to decide on it."""

    query_id: str
    passage_id: str
    doc_id: str
    judge: str  # as judge_labels names it
    grade: int
    disagreement: int
    judges: int  # how many judges graded the pair
    cross_encoder: float | None
    mine: int | None  # the reviewer's own current grade (None: not labelled, or can't judge)
    mine_accepted: bool  # the reviewer's label is an accepted suggestion
    suggestion: CurrentLabel

    @property
    def unit(self) -> tuple[str, str, str]:
        return (self.query_id, self.doc_id, self.passage_id)


def _ce_score(lab: CurrentLabel) -> float | None:
    m = _SCORE.match(lab.note or "")
    try:
        return float(m.group(1)) if m else None
    except ValueError:
        return None


def review_rows(
    store: JudgmentStore,
    corpus: str,
    *,
    annotator: str | None = None,
    query_ids: Collection[str] | None = None,
) -> list[ReviewRow]:
    """Every judge's current suggestion per pair, with disagreement, cross-encoder score and
    the reviewer's own label (only theirs)."""
    found = judge_labels(store, corpus, query_ids=query_ids)
    by_unit: dict[tuple, dict[str, CurrentLabel]] = {}
    for name, labels in found.items():
        for lab in labels:
            by_unit.setdefault(lab.unit, {})[name] = lab
    mine: dict[tuple, CurrentLabel] = {}
    accepted_ids: set[int] = set()
    if annotator:
        for lab in store.current_labels(corpus, annotator=annotator, query_ids=query_ids):
            mine[lab.unit] = lab
        accepted_ids = accepted_event_ids(store, corpus)
    ce_names = sorted(n for n in found if not n.startswith(JUDGE_PREFIX))
    rows = []
    for unit, judged in by_unit.items():
        grades = [lab.grade for lab in judged.values() if lab.grade is not None]
        spread = max(grades) - min(grades) if grades else 0
        ce = next((_ce_score(judged[n]) for n in ce_names if n in judged), None)
        own = mine.get(unit)
        for name, lab in judged.items():
            if lab.grade is None:
                continue
            rows.append(
                ReviewRow(
                    unit[0],
                    unit[2],
                    unit[1],
                    name,
                    lab.grade,
                    spread,
                    len(grades),
                    ce,
                    own.grade if own else None,
                    bool(own and own.event_id in accepted_ids),
                    lab,
                )
            )
    rows.sort(key=lambda r: r.suggestion.event_id)
    return rows


def filter_rows(
    rows: Sequence[ReviewRow],
    *,
    judges: Collection[str] | None = None,
    grades: Collection[int] | None = None,
    min_disagreement: int = 0,
    unlabelled_only: bool = False,
    query_ids: Collection[str] | None = None,
) -> list[ReviewRow]:
    """The rows of these judges, grades and queries, disagreeing at least this much, and (with
    unlabelled_only) only pairs the reviewer has not labelled."""
    return [
        r
        for r in rows
        if (judges is None or r.judge in judges)
        and (grades is None or r.grade in grades)
        and r.disagreement >= min_disagreement
        and (not unlabelled_only or r.mine is None)
        and (query_ids is None or r.query_id in query_ids)
    ]


def sort_rows(rows: Sequence[ReviewRow], by: str = "disagreement", *, descending: bool = True):
    """Rows sorted by disagreement, grade or cross-encoder score (rows without a score last);
    ties keep the order given."""
    if by not in SORTS:
        raise InputError(None, f"unknown sort {by!r}; expected one of {', '.join(SORTS)}")
    sign = -1 if descending else 1
    if by == "cross-encoder":
        return sorted(
            rows, key=lambda r: (r.cross_encoder is None, sign * (r.cross_encoder or 0.0))
        )
    return sorted(rows, key=lambda r: sign * (r.disagreement if by == "disagreement" else r.grade))


class AcceptResult(NamedTuple):
    accepted: list[int]  # the new label event ids
    skipped: int  # pairs the reviewer had labelled already (bulk accept keeps those)


def accept_rows(
    store: JudgmentStore,
    corpus: str,
    annotator: str,
    rows: Sequence[ReviewRow],
    *,
    query_set: str | None = None,
    overwrite: bool = False,
) -> AcceptResult:
    """Make the rows' suggestions the annotator's labels (one per pair: the first row of a pair
    wins), with provenance; pairs the annotator already labelled are skipped unless overwrite.
    The annotator's labels are read afresh, so a stale table never overwrites a new label."""
    own = {lab.unit for lab in store.current_labels(corpus, annotator=annotator)}
    seen: set[tuple] = set()
    todo: list[CurrentLabel] = []
    skipped = 0
    for r in rows:
        if r.unit in seen:
            continue
        seen.add(r.unit)
        if r.unit in own and not overwrite:
            skipped += 1
            continue
        todo.append(r.suggestion)
    ids = accept(store, corpus, annotator, todo, query_set=query_set)
    return AcceptResult(ids, skipped)
