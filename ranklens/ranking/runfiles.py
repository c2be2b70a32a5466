"""Run files made by other systems: TREC six-column, ranx/ir_measures JSON, CSV with a header.

Readers stream and check every line (errors name the file, the line and what was expected);
hits are ordered exactly as trec_eval orders them: score descending, then document id descending.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from ranklens.errors import InputError
from ranklens.types import Hit, Run

RUN_FORMATS = ("trec", "json", "csv")
CSV_QUERY = ("query_id", "qid", "query", "topic")
CSV_DOC = ("doc_id", "docno", "docid", "doc", "passage_id", "pid", "id")
CSV_SCORE = ("score", "sim", "similarity")

# query id -> document id -> score, as ir_measures / pytrec_eval take a run
Scores = dict[str, dict[str, float]]


class RunLine(NamedTuple):
    """One (query, document, score) of a run file, with the line it came from (1-based)."""

    query_id: str
    doc_id: str
    score: float
    line: int


def detect_run_format(path: Path) -> str:
    """trec, json or csv, from the file's suffix, else from its first non-blank character."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    with _open(path) as fh:
        for text in fh:
            if text.strip():
                return "json" if text.lstrip().startswith("{") else "trec"
    return "trec"


def _open(path: Path):
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder; expected a run file")
    return open(path, encoding="utf-8", errors="strict", newline="")


def _score(value: str, path: Path, line: int) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise InputError(
            path, f"the score must be a number, got {str(value)[:40]!r}", line
        ) from None
    if not math.isfinite(score):
        raise InputError(path, f"the score must be a finite number, got {value!r}", line)
    return score


def _trec_lines(path: Path) -> Iterator[RunLine]:
    with _open(path) as fh:
        number = 0
        try:
            for number, text in enumerate(fh, 1):  # noqa: B007 - number is read in the except
                parts = text.split()
                if not parts:
                    continue
                if len(parts) != 6:
                    raise InputError(
                        path,
                        f"expected 6 columns 'qid Q0 docno rank score tag', found {len(parts)}",
                        number,
                    )
                try:
                    score = float(parts[4])
                except ValueError:
                    score = _score(parts[4], path, number)  # raises, saying what was expected
                if score - score != 0:  # inf or nan
                    score = _score(parts[4], path, number)
                yield RunLine(parts[0], parts[2], score, number)
        except UnicodeDecodeError:
            raise InputError(path, "is not UTF-8 text", number + 1) from None


def _json_lines(path: Path) -> Iterator[RunLine]:
    with _open(path) as fh:
        try:
            data = json.load(fh)
        except UnicodeDecodeError:
            raise InputError(path, "is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise InputError(path, f"is not valid JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, 'expected a JSON object {"query id": {"doc id": score}}')
    for qid, docs in data.items():
        if not isinstance(docs, dict):
            raise InputError(path, f'query {qid!r}: expected an object {{"doc id": score}}')
        for did, score in docs.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise InputError(
                    path, f"query {qid!r}, document {did!r}: the score must be a number"
                )
            if not math.isfinite(score):
                raise InputError(path, f"query {qid!r}, document {did!r}: the score is not finite")
            yield RunLine(str(qid), str(did), float(score), 0)


def _column(header: list[str], names: tuple[str, ...], path: Path, what: str) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise InputError(path, f"the header has no {what} column (one of {', '.join(names)})", 1)


def _csv_lines(path: Path) -> Iterator[RunLine]:
    with _open(path) as fh:
        try:
            sample = fh.read(4096)
            fh.seek(0)
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return
            q = _column(header, CSV_QUERY, path, "query id")
            d = _column(header, CSV_DOC, path, "document id")
            s = _column(header, CSV_SCORE, path, "score")
            need = max(q, d, s) + 1
            for row in reader:
                number = reader.line_num
                if not row or not any(c.strip() for c in row):
                    continue
                if len(row) < need:
                    raise InputError(
                        path,
                        f"expected {len(header)} columns as the header, found {len(row)}",
                        number,
                    )
                qid, did = row[q].strip(), row[d].strip()
                if not qid or not did:
                    raise InputError(path, "empty query id or document id", number)
                yield RunLine(qid, did, _score(row[s].strip(), path, number), number)
        except UnicodeDecodeError:
            raise InputError(path, "is not UTF-8 text") from None
        except csv.Error as exc:
            raise InputError(path, f"is not valid CSV ({exc})") from None


def read_run_lines(path: Path, fmt: str | None = None) -> Iterator[RunLine]:
    """Every (query, document, score) of a run file, checked, in file order (streams)."""
    path = Path(path)
    fmt = fmt or detect_run_format(path)
    if fmt == "trec":
        return _trec_lines(path)
    if fmt == "json":
        return _json_lines(path)
    if fmt == "csv":
        return _csv_lines(path)
    raise InputError(path, f"unknown run format {fmt!r}; expected one of {', '.join(RUN_FORMATS)}")


def _where(line: int) -> str:
    return f"line {line}" if line else "an earlier entry"


def _first_line_of(path: Path, fmt: str | None, query_id: str, doc_id: str) -> int:
    """The line where (query, document) first appears (read again only to name a duplicate)."""
    for rec in read_run_lines(path, fmt):
        if rec.query_id == query_id and rec.doc_id == doc_id:
            return rec.line
    return 0


def _duplicate(path: Path, fmt: str | None, qid: str, did: str, line: int) -> InputError:
    earlier = _first_line_of(path, fmt, qid, did)
    return InputError(
        path,
        f"query {qid!r}, document {did!r} appears twice (first at {_where(earlier)})",
        line or None,
    )


def _trec_scores(path: Path, allowed: set[str] | None) -> Scores:
    """read_run_scores for TREC files: the same checks, in one tight loop (1M lines a few s)."""
    scores: Scores = {}
    number = 0
    with _open(path) as fh:
        try:
            for number, text in enumerate(fh, 1):  # noqa: B007 - number is read in the except
                parts = text.split()
                if len(parts) != 6:
                    if not parts:
                        continue
                    raise InputError(
                        path,
                        f"expected 6 columns 'qid Q0 docno rank score tag', found {len(parts)}",
                        number,
                    )
                qid, did = parts[0], parts[2]
                try:
                    score = float(parts[4])
                except ValueError:
                    score = _score(parts[4], path, number)  # raises, naming the value
                if score - score != 0.0:  # inf or nan
                    _score(parts[4], path, number)
                docs = scores.get(qid)
                if docs is None:
                    if allowed is not None and qid not in allowed:
                        raise InputError(path, f"query id {qid!r} is not in the query set", number)
                    docs = scores[qid] = {}
                if did in docs:
                    raise _duplicate(path, "trec", qid, did, number)
                docs[did] = score
        except UnicodeDecodeError:
            raise InputError(path, "is not UTF-8 text", number + 1) from None
    return scores


def read_run_scores(
    path: Path, fmt: str | None = None, query_ids: Collection[str] | None = None
) -> Scores:
    """A run file as {query id: {document id: score}}, checked whole before anything is returned.

    Refused: the same (query, document) twice (both lines named), and, when query_ids is given,
    a query id that is not among them.
    """
    path = Path(path)
    fmt = fmt or detect_run_format(path)
    allowed = set(query_ids) if query_ids is not None else None
    if fmt == "trec":
        return _trec_scores(path, allowed)
    scores: Scores = {}
    for rec in read_run_lines(path, fmt):
        if allowed is not None and rec.query_id not in allowed:
            raise InputError(
                path, f"query id {rec.query_id!r} is not in the query set", rec.line or None
            )
        docs = scores.setdefault(rec.query_id, {})
        if rec.doc_id in docs:
            raise _duplicate(path, fmt, rec.query_id, rec.doc_id, rec.line)
        docs[rec.doc_id] = rec.score
    return scores


def trec_order(docs: Mapping[str, float]) -> list[tuple[str, float]]:
    """(document id, score) as trec_eval ranks them: score descending, then document id descending."""
    return sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)


def scores_to_run(scores: Mapping[str, Mapping[str, float]], k: int | None = None) -> Run:
    """A Run (hits ranked 1..n in trec_eval's order, at most k per query); passage id = doc id."""
    run: Run = {}
    for qid, docs in scores.items():
        ordered = trec_order(docs)
        if k is not None:
            ordered = ordered[:k]
        run[qid] = [Hit(qid, did, did, score, i) for i, (did, score) in enumerate(ordered, 1)]
    return run
