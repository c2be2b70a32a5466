"""A judging session: one annotator working through one pool in their own shuffled order
(queue, next passage, label, can't judge, skip, note, undo, progress). Nothing about rankers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ranklens.judging.agreement import Unit
from ranklens.judging.records import (
    CurrentLabel,
    JudgingProgress,
    JudgingSettings,
    LabelEvent,
    PoolInfo,
    PoolItem,
    SessionProgress,
)
from ranklens.judging.rules import pool_order
from ranklens.scale import Scale
from ranklens.types import Query


class SessionStore(Protocol):
    """What a judging session needs of its store (ranklens.judging.store.JudgmentStore is one);
    declared here so that the session never imports the store that builds it."""

    def read(self) -> AbstractContextManager[Any]: ...
    def _labels(self, conn: Any, corpus: str, **filters: Any) -> list[CurrentLabel]: ...
    def _current(self, conn: Any, corpus: str, **filters: Any) -> list[Any]: ...
    def record(self, *args: Any, **kwargs: Any) -> Any: ...
    def undo(self, *args: Any, **kwargs: Any) -> Any: ...


class JudgingSession:
    """One annotator judging one pool: what a Judge page needs, nothing about rankers.

    Items come in this annotator's shuffled order (pool_order with the recorded seed). The
    queue holds the items this annotator has not labelled (or marked "can't judge") that still
    have fewer graded labels than the query set asks for; skipped items go to its end.
    """

    def __init__(
        self,
        store: SessionStore,
        pool: PoolInfo,
        annotator: str,
        seed: int,
        settings: JudgingSettings,
        scale: Scale,
        queries: Sequence[Query] = (),
    ) -> None:
        self.store = store
        self.pool_id = pool.id
        self.corpus = pool.corpus
        self.query_set = pool.query_set
        self.annotator = annotator
        self.seed = seed
        self.scale = scale
        self.guidelines = settings.guidelines
        self.annotators_per_passage = settings.annotators_per_passage
        self.queries = {q.query_id: q.text for q in queries}
        self.items: list[PoolItem] = pool_order(pool.items, annotator, seed)
        self.query_ids = list(dict.fromkeys(it.query_id for it in self.items))

    def _state(self) -> tuple[list[CurrentLabel], dict[Unit, int]]:
        store = self.store
        with store.read() as conn:
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
        """Progress of this annotator overall and per query (see JudgingProgress)."""
        queue, mine, graded = self._split()
        waiting = {it.unit for it in queue}
        per: dict[str, list[int]] = {qid: [0, 0, 0, 0] for qid in self.query_ids}
        for it in self.items:
            p = per[it.query_id]
            p[0] += 1
            p[1] += it.unit in mine
            p[2] += graded[it.unit] >= self.annotators_per_passage
            p[3] += it.unit in waiting
        per_query = {qid: JudgingProgress(*v) for qid, v in per.items()}
        overall = JudgingProgress(*(sum(p[i] for p in per_query.values()) for i in range(4)))
        return SessionProgress(overall, per_query)

    def labels(self) -> dict[Unit, CurrentLabel]:
        """This annotator's current labels on the pool's queries, by unit."""
        with self.store.read() as conn:
            found = self.store._labels(
                conn, self.corpus, annotator=self.annotator, query_ids=self.query_ids
            )
        return {lab.unit: lab for lab in found}

    def label_of(self, item: PoolItem) -> CurrentLabel | None:
        """This annotator's current label of an item (grade None: can't judge)."""
        return self.labels().get(item.unit)

    def _record(
        self, kind: str, item: PoolItem, grade: int | None = None, note: str | None = None
    ) -> int:
        """One event of this annotator on an item, in this query set (LabelStore.record)."""
        return self.store.record(
            kind,
            self.corpus,
            self.annotator,
            item.query_id,
            item.passage_id,
            grade=grade,
            doc_id=item.doc_id,
            query_set=self.query_set,
            note=note,
        )

    def label(self, item: PoolItem, grade: int, note: str | None = None) -> int:
        """Grade an item; returns the event id after the commit."""
        return self._record("label", item, grade, note)

    def cant_judge(self, item: PoolItem, note: str | None = None) -> int:
        """Mark an item "can't judge" (it leaves this annotator's queue, not others')."""
        return self._record("cant_judge", item, note=note)

    def skip(self, item: PoolItem) -> int:
        """Put an item at the end of this annotator's queue."""
        return self._record("skip", item)

    def note(self, item: PoolItem, text: str) -> int:
        """Attach a note (rationale) to an item without changing its grade."""
        return self._record("note", item, note=text)

    def undo(self) -> LabelEvent | None:
        """Retract this annotator's latest action in this query set; returns it (the page can
        go back to that passage) or None."""
        return self.store.undo(self.corpus, self.annotator, query_set=self.query_set)
