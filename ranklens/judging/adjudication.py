"""Agreement between annotators, disagreements, adjudication and the final qrels derived from
current labels (a rule, unless adjudicated); a part of JudgmentStore."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from ranklens.access import Actor, require_admin
from ranklens.judging import agreement as agr
from ranklens.judging.accepted import accepted_event_ids, without_accepted
from ranklens.judging.agreement import AgreementReport, Disagreement, Unit
from ranklens.judging.labels import LabelStore
from ranklens.judging.records import (
    CurrentLabel,
)
from ranklens.judging.rules import (
    check_rule,
    final_qrels_from,
)
from ranklens.schema import Database
from ranklens.types import Qrel


class AdjudicationStore:
    """Agreement, adjudication and final qrels over the labels of one Database."""

    def __init__(self, db: Database, labels: LabelStore) -> None:
        self.db, self.labels = db, labels

    def _graded(
        self,
        conn: sa.Connection,
        corpus: str,
        query_ids: Collection[str] | None,
        accepted: bool = True,
    ):
        labels = self.labels._labels(conn, corpus, query_ids=query_ids, notes=False)
        if not accepted:
            labels = without_accepted(labels, accepted_event_ids(self.labels, corpus, conn))
        return [(lab.unit, lab.annotator, lab.grade) for lab in labels if lab.grade is not None]

    def agreement(
        self, corpus: str, *, query_ids: Collection[str] | None = None, accepted: bool = True
    ) -> AgreementReport:
        """Cohen's kappa per annotator pair (quadratic-weighted on graded scales) and
        Krippendorff's alpha (ordinal), overall and per query, over current graded labels
        (accepted=False: without labels accepted from a model's suggestions)."""
        with self.db.read() as conn:
            triples = self._graded(conn, corpus, query_ids, accepted)
            scale = self.labels._scale(conn, corpus)
        return agr.agreement_report(triples, scale.values)

    def adjudicated(
        self, corpus: str, *, query_ids: Collection[str] | None = None
    ) -> dict[Unit, CurrentLabel]:
        """The current adjudicated label of each adjudicated unit (latest adjudication wins)."""
        with self.db.read() as conn:
            labels = self.labels._labels(conn, corpus, role="adjudication", query_ids=query_ids)
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
        with self.db.read() as conn:
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
        actor: Actor | None = None,
    ) -> int:
        """Record an adjudicated grade for a unit; it decides the unit's final label (admin-only
        when an actor, team mode's signed-in annotator, is given)."""
        require_admin(actor, "adjudicate")
        return self.labels.add_label(
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

    def final_qrels(
        self,
        corpus: str,
        *,
        rule: str = "majority",
        level: str = "doc",
        query_ids: Collection[str] | None = None,
        accepted: bool = True,
    ) -> list[Qrel]:
        """The final qrels: adjudicated, else `rule` (majority: the most frequent grade, a tie
        falls to the mean rounded half up; mean; max; min; annotator:NAME). Level "doc": a
        document's grade is its best passage's; "passage": one qrel per passage (a
        document-level label keeps its document id). Suggestions never count; labels accepted
        from suggestions count unless accepted=False."""
        check_rule(rule)
        with self.db.read() as conn:
            labels = self.labels._labels(conn, corpus, query_ids=query_ids, notes=False)
            if not accepted:
                labels = without_accepted(labels, accepted_event_ids(self.labels, corpus, conn))
            adj = self.labels._labels(conn, corpus, role="adjudication", query_ids=query_ids)
        adjudicated = {lab.unit: (lab.grade, lab.event_id) for lab in adj if lab.grade is not None}
        return final_qrels_from(labels, adjudicated, rule, level)
