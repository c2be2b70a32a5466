"""The judgment store: labels (labels.py) plus stored pools and annotators' seeds, judging
sessions, model suggestions, agreement and adjudication, final qrels, qrels import and export.

Exported at document level, a document's grade is the best grade among its labels (its own and
its passages'); at passage level a document-level label is written with its document id. So
importing document-level qrels and exporting them at document level gives the same lines back.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa

from .. import agreement as agr
from ..access import Actor, require_admin
from ..agreement import AgreementReport, Disagreement, SuggestionAgreement, Unit
from ..config import Settings
from ..errors import InputError, NotFoundError
from ..formats import read_qrels, write_qrels
from ..types import Qrel, Query, Run
from .accepted import accepted_event_ids, without_accepted
from .labels import LabelStore
from .records import (
    DEFAULT_IMPORT_ANNOTATOR,
    DOC_LEVEL,
    EXPORT_FORMATS,
    CurrentLabel,
    ImportReport,
    PoolInfo,
    PoolItem,
)
from .rules import (
    build_pool,
    check_name,
    check_rule,
    final_qrels_from,
    grades_from_scores,
    natural_key,
    pool_provenance,
    resolve_doc_id,
)
from .schema import annotators, label_events, pool_items, pool_seeds, pools_table
from .session import JudgingSession


class JudgmentStore(LabelStore):
    """Relevance labels of every corpus, in one database (an SQLAlchemy URL selects the engine).

    Thread-safe (share one per process, e.g. with st.cache_resource); several processes may
    write to the same SQLite file at once. Every write method returns after its commit.
    """

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> JudgmentStore:
        """The store at Settings.db_url (RANKLENS_DB_URL, or SQLite under RANKLENS_HOME)."""
        from ..config import get_settings

        return cls((settings or get_settings()).db_url)

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
        with self.write() as conn:
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
        with self.read() as conn:
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
        with self.read() as conn:
            ids = conn.execute(
                sa.select(pools_table.c.id).where(*conds).order_by(pools_table.c.id)
            ).scalars()
            ids = list(ids)
        return [self.pool(i) for i in ids]

    def pool_provenance(self, pool_id: int) -> dict[tuple[str, str], tuple[str, ...]]:
        """(query_id, passage_id) -> rankers that found it. For analysis; never for judges."""
        with self.read() as conn:
            rows = conn.execute(
                sa.select(
                    pool_items.c.query_id, pool_items.c.passage_id, pool_items.c.found_by
                ).where(pool_items.c.pool_id == pool_id)
            ).all()
        return {(r.query_id, r.passage_id): tuple(json.loads(r.found_by)) for r in rows}

    def pool_seed(self, pool_id: int, annotator: str, seed: int | None = None) -> int:
        """The annotator's recorded shuffle seed for a pool; records `seed` (or a random one)
        the first time. A recorded seed always wins, so the order never changes under a judge."""
        annotator = check_name(annotator, "annotator")
        ps = pool_seeds.c
        with self.write() as conn:
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
        self,
        pool_id: int,
        annotator: str,
        seed: int | None = None,
        *,
        queries: Sequence[Query] = (),
    ) -> JudgingSession:
        """Start (or resume) judging a pool as an annotator: registers the name, records the
        seed, and returns a JudgingSession (next passage, label, skip, undo, progress).

        `queries` are the query set's queries as the corpus holds them now (the corpus owns
        query sets; see session.open_session, which reads them from the corpus)."""
        annotator = self.add_annotator(annotator)
        pool = self.pool(pool_id)
        seed = self.pool_seed(pool_id, annotator, seed)
        settings = self.judging_settings(pool.corpus, pool.query_set)
        return JudgingSession(
            self, pool, annotator, seed, settings, self.scale(pool.corpus), queries
        )

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
        model = check_name(model, "model")
        with self.write() as conn:
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
        with self.read() as conn:
            return self._labels(
                conn, corpus, role="suggestion", annotator=model, query_ids=query_ids
            )

    def suggestion_agreement(self, corpus: str, *, model: str | None = None) -> SuggestionAgreement:
        """How often suggestions agree with human (and imported) labels on the same units:
        one pair per (suggestion, human label); exact agreement rate and weighted kappa."""
        with self.read() as conn:
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

    def _graded(
        self,
        conn: sa.Connection,
        corpus: str,
        query_ids: Collection[str] | None,
        accepted: bool = True,
    ):
        labels = self._labels(conn, corpus, query_ids=query_ids, notes=False)
        if not accepted:
            labels = without_accepted(labels, accepted_event_ids(self, corpus, conn))
        return [(lab.unit, lab.annotator, lab.grade) for lab in labels if lab.grade is not None]

    def agreement(
        self, corpus: str, *, query_ids: Collection[str] | None = None, accepted: bool = True
    ) -> AgreementReport:
        """Cohen's kappa per annotator pair (quadratic-weighted on graded scales) and
        Krippendorff's alpha (ordinal), overall and per query, over current graded labels
        (accepted=False: without labels accepted from a model's suggestions)."""
        with self.read() as conn:
            triples = self._graded(conn, corpus, query_ids, accepted)
            scale = self._scale(conn, corpus)
        return agr.agreement_report(triples, scale.values)

    def adjudicated(
        self, corpus: str, *, query_ids: Collection[str] | None = None
    ) -> dict[Unit, CurrentLabel]:
        """The current adjudicated label of each adjudicated unit (latest adjudication wins)."""
        with self.read() as conn:
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
        with self.read() as conn:
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
        accepted: bool = True,
    ) -> list[Qrel]:
        """The final qrels: adjudicated, else `rule` (majority: the most frequent grade, a tie
        falls to the mean rounded half up; mean; max; min; annotator:NAME). Level "doc": a
        document's grade is its best passage's; "passage": one qrel per passage (a
        document-level label keeps its document id). Suggestions never count; labels accepted
        from suggestions count unless accepted=False."""
        check_rule(rule)
        with self.read() as conn:
            labels = self._labels(conn, corpus, query_ids=query_ids, notes=False)
            if not accepted:
                labels = without_accepted(labels, accepted_event_ids(self, corpus, conn))
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
        known_passages: Mapping[str, str] | None = None,
        known_query_ids: Collection[str] | None = None,
        keep_unknown: bool = False,
    ) -> ImportReport:
        """Import a qrels file (trec, beir, csv, jsonl; None detects) all or nothing.

        Any bad line (wrong columns, a grade that is not an integer or not on the corpus's
        scale, a document id not in known_doc_ids unless keep_unknown, the same label given two
        grades) raises InputError with its line number and stores nothing. Query ids not in
        known_query_ids are accepted and listed in the report. None for a known_* set skips
        that check. Ids are looked up, never taken apart (see rules.resolve_doc_id).
        """
        return self.import_records(
            corpus,
            read_qrels(Path(path), fmt),
            origin=str(path),
            annotator=annotator,
            query_set=query_set,
            known_doc_ids=known_doc_ids,
            known_passages=known_passages,
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
        known_passages: Mapping[str, str] | None = None,
        known_query_ids: Collection[str] | None = None,
        keep_unknown: bool = False,
    ) -> ImportReport:
        """import_qrels over (line, Qrel) records from anywhere (e.g. a BEIR corpus's shipped
        qrels, with line None); `origin` names them in errors and in the report."""
        annotator = check_name(annotator, "annotator")
        if known_doc_ids is not None and not isinstance(known_doc_ids, set | frozenset | dict):
            known_doc_ids = set(known_doc_ids)
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
            doc_id, passage_id, known = resolve_doc_id(q.doc_id, known_doc_ids, known_passages)
            if not known:
                if not keep_unknown:
                    raise InputError(
                        origin,
                        f"document id {q.doc_id!r} is not in corpus {corpus!r}; expected one of "
                        "its document ids or passage ids, or import with keep_unknown "
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
        with self.write() as conn:
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
        report.unknown_queries = sorted(unknown_queries, key=natural_key)
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
        accepted: bool = True,
    ) -> int:
        """Write the final qrels (final_qrels) as TREC ('qid 0 docid rel') or BEIR TSV; the
        file is replaced atomically. Returns the number of qrels written."""
        if fmt not in EXPORT_FORMATS:
            raise InputError(None, f"unknown export format {fmt!r}; expected trec or beir")
        qrels = self.final_qrels(
            corpus, rule=rule, level=level, query_ids=query_ids, accepted=accepted
        )
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
