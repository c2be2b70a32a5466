"""Qrels import (all or nothing, every bad line named) and export (the final qrels, replaced
atomically) of a corpus's labels; a part of JudgmentStore.

Exported at document level, a document's grade is the best grade among its labels (its own and
its passages'); at passage level a document-level label is written with its document id. So
importing document-level qrels and exporting them at document level gives the same lines back.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

import sqlalchemy as sa

from ranklens.corpus.trec_files import read_qrels, write_qrels
from ranklens.errors import InputError
from ranklens.judging.adjudication import AdjudicationStore
from ranklens.judging.agreement import Unit
from ranklens.judging.labels import LabelStore
from ranklens.judging.records import (
    DEFAULT_IMPORT_ANNOTATOR,
    DOC_LEVEL,
    EXPORT_FORMATS,
    ImportReport,
)
from ranklens.judging.rules import (
    check_name,
    natural_key,
    resolve_doc_id,
)
from ranklens.schema import Database, annotators, label_events
from ranklens.types import Qrel


class ImportOptions(TypedDict, total=False):
    """Whose labels an import makes and what it checks (QrelsIO.import_records's defaults)."""

    annotator: str  # who the labels are attributed to (DEFAULT_IMPORT_ANNOTATOR)
    query_set: str | None  # the query set they are recorded under
    known_doc_ids: Collection[str] | None  # the corpus's documents (None: not checked)
    known_passages: Mapping[str, str] | None  # passage id -> document id, for passage-level ids
    known_query_ids: Collection[str] | None  # others are listed in the report
    keep_unknown: bool  # keep labels of documents the corpus lacks (and list them)


class QrelsIO:
    """Qrels files in and out of the labels of one Database."""

    def __init__(self, db: Database, labels: LabelStore, adjudication: AdjudicationStore) -> None:
        self.db, self.labels, self.adjudication = db, labels, adjudication

    def import_qrels(
        self, corpus: str, path: str | Path, fmt: str | None = None, **how: Unpack[ImportOptions]
    ) -> ImportReport:
        """Import a qrels file (trec, beir, csv, jsonl; None detects) all or nothing.

        Any bad line (wrong columns, a grade that is not an integer or not on the corpus's
        scale, a document id not in known_doc_ids unless keep_unknown, the same label given two
        grades) raises InputError with its line number and stores nothing. Query ids not in
        known_query_ids are accepted and listed in the report. None for a known_* set skips
        that check. Ids are looked up, never taken apart (see rules.resolve_doc_id).
        """
        return self.import_records(corpus, read_qrels(Path(path), fmt), origin=str(path), **how)

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
        scale = self.labels.scale(corpus)
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
        with self.db.write() as conn:
            scale_now = self.labels._scale(conn, corpus)  # the scale may have changed meanwhile
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
        file is replaced atomically. Returns the number of qrels written (accepted=False:
        without labels accepted from a model's suggestions)."""
        if fmt not in EXPORT_FORMATS:
            raise InputError(None, f"unknown export format {fmt!r}; expected trec or beir")
        qrels = self.adjudication.final_qrels(
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
