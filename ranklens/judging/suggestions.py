"""Model suggestions: grades a model proposes (never counted as human labels), kept as label
events of their own role, and how often they agree with people; a part of JudgmentStore."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Protocol

import sqlalchemy as sa

from ranklens.errors import InputError
from ranklens.judging import agreement as agr
from ranklens.judging.agreement import SuggestionAgreement, Unit
from ranklens.judging.labels import LabelStore
from ranklens.judging.records import (
    CurrentLabel,
    PoolItem,
)
from ranklens.judging.rules import (
    check_name,
    grades_from_scores,
)
from ranklens.schema import Database, label_events


class Judged(Protocol):
    """A unit a judge graded (a PoolItem, an LLM's JudgePair)."""

    @property
    def query_id(self) -> str: ...
    @property
    def passage_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...


class SuggestionStore:
    """Model suggestions over the label events of one Database."""

    def __init__(self, db: Database, labels: LabelStore) -> None:
        self.db, self.labels = db, labels

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
        model = check_name(model, "model")
        scale = self.labels.scale(corpus)
        if len(thresholds) > scale.max:
            raise InputError(
                None,
                f"{len(thresholds)} thresholds make grades up to {len(thresholds)}; the "
                f"scale ({scale.describe()}) needs at most {scale.max}",
            )
        graded = [
            (it, g, f"score={float(s):.6g}") for it, s, g in zip(items, scores, grades, strict=True)
        ]
        self.add_graded(corpus, model, graded, query_set=query_set)
        return grades

    def add_graded(
        self,
        corpus: str,
        judge: str,
        graded: Sequence[tuple[Judged, int, str]],
        *,
        query_set: str | None = None,
    ) -> int:
        """Store a judge's (unit, grade, note) as suggestions, all in one transaction: source
        "suggestion", annotator = the judge's name, the note saying how (score, prompt). Grades
        must be on the corpus's scale; suggestions never count as human labels. Returns how
        many were stored."""
        if not graded:
            return 0
        judge = check_name(judge, "judge")
        with self.db.write() as conn:
            scale = self.labels._scale(conn, corpus)
            now = time.time()
            rows = [
                dict(
                    self.labels._event_values(
                        corpus, judge, u.query_id, u.passage_id, u.doc_id, query_set
                    ),
                    grade=scale.check(grade),
                    note=note,
                    created_at=now,
                    source="suggestion",
                    kind="label",
                    target_id=None,
                )
                for u, grade, note in graded
            ]
            conn.execute(sa.insert(label_events), rows)
        return len(rows)

    def suggestions(
        self,
        corpus: str,
        *,
        model: str | None = None,
        query_ids: Collection[str] | None = None,
    ) -> list[CurrentLabel]:
        """Current suggestions (annotator = model name)."""
        with self.db.read() as conn:
            return self.labels._labels(
                conn, corpus, role="suggestion", annotator=model, query_ids=query_ids
            )

    def suggestion_agreement(self, corpus: str, *, model: str | None = None) -> SuggestionAgreement:
        """How often suggestions agree with human (and imported) labels on the same units:
        one pair per (suggestion, human label); exact agreement rate and weighted kappa."""
        with self.db.read() as conn:
            suggested = self.labels._labels(conn, corpus, role="suggestion", annotator=model)
            humans = self.labels._labels(conn, corpus, notes=False)
            scale = self.labels._scale(conn, corpus)
        by_unit: dict[Unit, list[int]] = defaultdict(list)
        for s in suggested:
            if s.grade is not None:
                by_unit[s.unit].append(s.grade)
        pairs = [
            (s, h.grade) for h in humans if h.grade is not None for s in by_unit.get(h.unit, ())
        ]
        return agr.suggestion_agreement(pairs, scale.values)
