"""Which relevance labels an evaluation uses: a qrels file or upload, the corpus's own, the store's.

The Evaluate page and `python -m ranklens evaluate` both resolve labels here, so they score against
the same qrels. Ids are looked up in the corpus (never parsed out of a passage id).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ranklens.config import Settings, get_settings
from ranklens.corpus.index import Corpus
from ranklens.corpus.trec_files import read_qrels
from ranklens.corpus.uploads import temporary_upload
from ranklens.errors import InputError, RankLensError
from ranklens.types import Qrel, Query

__all__ = [
    "LABEL_SOURCES",
    "Labels",
    "NoLabelsError",
    "store_qrels",
    "qrels_from_file",
    "qrels_from_upload",
    "passage_level_notes",
    "document_labels",
    "resolve_labels",
]

# "auto": the corpus's shipped labels when it has some for these queries, else the store's
LABEL_SOURCES = ("auto", "shipped", "store")


@dataclass
class Labels:
    """Qrels for a set of queries, where they came from, and what to tell the user about them.

    ``notes`` are informational (labels left out, unlabelled queries); ``warnings`` mean the
    numbers may mislead (labels that match nothing at this level).
    """

    qrels: list[Qrel]
    source: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class NoLabelsError(RankLensError):
    """The chosen source has no label for any query of the set (nothing to evaluate)."""


def store_qrels(
    corpus: str,
    query_ids: Collection[str],
    rule: str = "majority",
    level: str = "doc",
    *,
    store=None,
    settings: Settings | None = None,
    accepted: bool = True,
) -> list[Qrel]:
    """Final qrels from the judgment store (by ``rule``) for these queries; [] when it has none.

    ``store`` is an open JudgmentStore (the page's shared one); without it one is opened on
    ``settings.db_url`` for the call. accepted=False leaves out labels accepted from a model's
    suggestions.
    """
    how = dict(rule=rule, level=level, query_ids=set(query_ids), accepted=accepted)
    if store is not None:
        return store.final_qrels(corpus, **how)
    from ranklens.judging import JudgmentStore

    settings = settings or get_settings()
    with JudgmentStore(settings.db_url) as opened:
        return opened.final_qrels(corpus, **how)


def qrels_from_file(path: str | Path) -> list[Qrel]:
    """Every label of a qrels file (TREC, BEIR TSV, CSV or JSONL); InputError when it has none."""
    path = Path(path).expanduser()
    qrels = [q for _, q in read_qrels(path)]
    if not qrels:
        raise InputError(path, "no labels in this file")
    return qrels


def qrels_from_upload(name: str, data: bytes, settings: Settings) -> list[Qrel]:
    """Every label of an uploaded qrels file; errors name the uploaded file, not a temporary path."""
    with temporary_upload(name, data, settings) as path:
        try:
            return qrels_from_file(path)
        except InputError as exc:
            raise InputError(name, exc.reason, exc.line) from None


def _known(corpus: Corpus, ids: Collection[str]) -> tuple[set[str], set[str]]:
    """(the ids that are passage ids of the corpus, the ids that are its document ids)."""
    ids = list(dict.fromkeys(ids))
    passages = set(corpus.get_passages(ids))
    docs = set(ids) & corpus.doc_ids()
    return passages, docs


def passage_level_notes(qrels: Sequence[Qrel], corpus: Corpus) -> list[str]:
    """A warning when labels name whole documents: at passage level they match no passage.

    An id counts as a whole document when the corpus has a document of that id and no passage
    of that id (looked up, never parsed: a document may be called ``report#2``).
    """
    passages, docs = _known(corpus, [q.doc_id for q in qrels])
    whole = sum(1 for q in qrels if q.doc_id in docs and q.doc_id not in passages)
    if not whole:
        return []
    return [
        f"{whole} of {len(qrels)} labels name whole documents, not passages: at passage "
        "level they match nothing; evaluate at document level instead"
    ]


def document_labels(qrels: Sequence[Qrel], corpus: Corpus) -> tuple[list[Qrel], int]:
    """Labels for a document-level evaluation: a label on a passage becomes its document's.

    An id that is a passage id of the corpus and not a document id is replaced by the document
    the corpus stores for that passage; a document keeps the highest grade among its labels
    (the store's rule: a document's grade is its best passage's). Returns (qrels, how many labels
    were on passages). Order is first appearance.
    """
    ids = list(dict.fromkeys(q.doc_id for q in qrels))
    found = corpus.get_passages(ids)
    docs = set(ids) & corpus.doc_ids()
    owner = {pid: p.doc_id for pid, p in found.items() if pid not in docs}
    if not owner:
        return list(qrels), 0
    order: dict[tuple[str, str], None] = {}
    direct: dict[tuple[str, str], Qrel] = {}  # labels on the document itself: these win
    best: dict[tuple[str, str], Qrel] = {}  # the highest label on one of its passages
    for q in qrels:
        doc = owner.get(q.doc_id, q.doc_id)
        key = (q.query_id, doc)
        order.setdefault(key, None)
        if q.doc_id in owner:
            b = best.get(key)
            if b is None or q.relevance > b.relevance:
                best[key] = q._replace(doc_id=doc)
        else:
            direct[key] = q
    out = [direct[k] if k in direct else best[k] for k in order]
    return out, sum(1 for q in qrels if q.doc_id in owner)


def resolve_labels(
    corpus: Corpus,
    query_set: str,
    queries: Sequence[Query],
    *,
    qrels: Sequence[Qrel] | None = None,
    qrels_file: str | Path | None = None,
    origin: str | None = None,
    source: str = "auto",
    rule: str = "majority",
    level: str = "doc",
    store=None,
    accepted: bool = True,
) -> Labels:
    """The labels for these queries: given qrels or a qrels file, else the corpus's, else the store's.

    ``source`` (without qrels or a file): "auto" (the corpus's shipped labels when it has some
    for these queries, else the judgment store), "shipped" or "store". Labels of queries outside
    the query set are dropped (they would score 0 for every ranker); the notes say how many. At
    level "doc" labels on passages become labels of their documents (document_labels); at
    level "passage" a warning says when labels name whole documents. Raises NoLabelsError when
    the source has no label at all, RankLensError when none is for a query of the set.
    accepted=False: the store's labels without those accepted from a model's suggestions.
    """
    if source not in LABEL_SOURCES:
        raise RankLensError(f"labels must be one of {LABEL_SOURCES}, not {source!r}")
    ids = {q.query_id for q in queries}
    if qrels is not None:
        all_qrels = list(qrels)
        origin = origin or "given labels"
    elif qrels_file is not None:
        all_qrels = qrels_from_file(qrels_file)
        origin = origin or f"file {qrels_file}"
    else:
        all_qrels = []
        if source in ("auto", "shipped"):
            shipped = corpus.shipped_qrels()
            if query_set in shipped:
                all_qrels = shipped[query_set]
            else:
                all_qrels = [q for qs in shipped.values() for q in qs if q.query_id in ids]
            origin = f"labels shipped with corpus {corpus.name!r}"
        if not all_qrels and source in ("auto", "store"):
            all_qrels = store_qrels(
                corpus.name,
                ids,
                rule,
                level,
                store=store,
                settings=corpus.settings,
                accepted=accepted,
            )
            origin = f"judgment store (rule {rule}" + (
                ")" if accepted else ", without accepted suggestions)"
            )
    if not all_qrels:
        raise NoLabelsError(
            f"no labels for the {len(ids)} queries of {query_set!r} in corpus "
            f"{corpus.name!r}: give a qrels file, judge some results (Judge page), or import "
            f"qrels: python -m ranklens judgments import FILE --corpus {corpus.name}"
        )
    kept = [q for q in all_qrels if q.query_id in ids]
    notes: list[str] = []
    warnings: list[str] = []
    outside = {q.query_id for q in all_qrels} - ids
    if outside:
        notes.append(
            f"{len(outside)} labelled quer{'y is' if len(outside) == 1 else 'ies are'} not in "
            f"{query_set!r} and left out"
        )
    if not kept:
        raise RankLensError(
            f"none of the labels ({origin}) is for a query of {query_set!r}: check the query ids"
        )
    if level == "passage":
        warnings += passage_level_notes(kept, corpus)
    else:
        kept, moved = document_labels(kept, corpus)
        if moved:
            notes.append(
                f"{moved} label{'s name' if moved != 1 else ' names'} passages: each counts for "
                "its document (a document keeps its highest grade)"
            )
    labelled = {q.query_id for q in kept}
    unlabelled = len(ids - labelled)
    if unlabelled:
        notes.append(f"{unlabelled} of {len(ids)} queries have no label and are not evaluated")
    return Labels(kept, origin or "", notes, warnings)
