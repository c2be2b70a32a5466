"""Queries, qrels and run files, read and written: queries (JSONL, TSV), qrels (TREC, BEIR TSV, CSV,
JSONL) and TREC run files in trec_eval's order; readers name the file and line of every error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ranklens.corpus.text_records import (
    delimited_records,
    first_field,
    read_jsonl_records,
    text_lines,
)
from ranklens.errors import InputError
from ranklens.types import Hit, Qrel, Query, Run, check_level, doc_level

QRELS_FORMATS = ("trec", "beir", "csv", "jsonl")
QUERY_ID_FIELDS = ("_id", "id", "query_id", "qid")


def read_queries(path: Path) -> list[Query]:
    """Queries from JSONL (_id/id, text) or TSV/TXT (query id <tab> text, no header)."""
    path = Path(path)
    out: list[Query] = []
    seen: dict[str, int] = {}
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, record in read_jsonl_records(path):
            qid = first_field(record, QUERY_ID_FIELDS)
            text = record.get("text", record.get("query"))
            if qid is None or not isinstance(text, str):
                raise InputError(path, "expected a query with '_id' (or 'id') and 'text'", number)
            _unique(seen, str(qid), path, number, "query")
            out.append(Query(str(qid), text))
    else:
        for number, text in text_lines(path):
            if not text.strip():
                continue
            parts = text.rstrip("\r\n").split("\t")
            if len(parts) != 2:
                raise InputError(path, "expected two tab-separated columns: query id, text", number)
            if number == 1 and parts[0].lower() in QUERY_ID_FIELDS + ("query-id",):
                continue
            _unique(seen, parts[0].strip(), path, number, "query")
            out.append(Query(parts[0].strip(), parts[1].strip()))
    if not out:
        raise InputError(path, "no queries found")
    return out


def write_queries(queries: Iterable[Query], path: Path) -> None:
    """Queries as JSON Lines ({"_id", "text"} a line), the form read_queries reads back."""
    with open(path, "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps({"_id": q.query_id, "text": q.text}, ensure_ascii=False) + "\n")


def _unique(seen: dict[str, int], key: str, path: Path, line: int, what: str) -> None:
    if key in seen:
        raise InputError(path, f"duplicate {what} id '{key}' (first on line {seen[key]})", line)
    seen[key] = line


def _grade(value: str, path: Path, line: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise InputError(path, f"grade {value!r} is not an integer", line) from None


def detect_qrels_format(path: Path) -> str:
    """jsonl or csv by suffix; else beir when the first line is a BEIR header, trec otherwise."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    for _, text in text_lines(path):
        if text.strip():
            first = text.strip().lower()
            return "beir" if first.startswith(("query-id", "query_id", "qid\t")) else "trec"
    raise InputError(path, "the file is empty; expected qrels")


def read_qrels(path: Path, fmt: str | None = None) -> Iterator[tuple[int, Qrel]]:
    """(line, Qrel) from TREC ('qid 0 docid rel'), BEIR TSV (header), CSV or JSONL.

    CSV and JSONL use the fields query_id, doc_id, relevance (query-id, corpus-id, score too).
    """
    path = Path(path)
    fmt = fmt or detect_qrels_format(path)
    if fmt not in QRELS_FORMATS:
        raise InputError(path, f"unknown qrels format {fmt!r}; expected one of {QRELS_FORMATS}")
    if fmt == "trec":
        for number, text in text_lines(path):
            if not text.strip():
                continue
            parts = text.split()
            if len(parts) != 4:
                raise InputError(
                    path,
                    f"{len(parts)} columns, expected 4: query_id iteration doc_id relevance",
                    number,
                )
            yield number, Qrel(parts[0], parts[2], _grade(parts[3], path, number), parts[1])
        return
    if fmt == "beir":
        first = True
        for number, text in text_lines(path):
            if not text.strip():
                continue
            parts = text.rstrip("\r\n").split("\t")
            if first:
                first = False
                if parts[0].strip().lower() in ("query-id", "query_id", "qid"):
                    continue
            if len(parts) != 3:
                raise InputError(
                    path,
                    f"{len(parts)} columns, expected 3 (tab-separated): query-id corpus-id score",
                    number,
                )
            yield number, Qrel(parts[0].strip(), parts[1].strip(), _grade(parts[2], path, number))
        return
    records = read_jsonl_records(path) if fmt == "jsonl" else delimited_records(path, ",")
    for number, rec in records:
        qid = rec.get("query_id", rec.get("query-id", rec.get("qid")))
        did = rec.get("doc_id", rec.get("corpus-id", rec.get("docid", rec.get("passage_id"))))
        rel = rec.get("relevance", rec.get("score", rec.get("grade")))
        if qid in (None, "") or did in (None, "") or rel in (None, ""):
            raise InputError(path, "expected fields query_id, doc_id, relevance", number)
        yield number, Qrel(str(qid), str(did), _grade(rel, path, number))


def trec_id(value: str, what: str = "document id") -> str:
    """An id as a TREC file column: it must hold no white space (columns are split on it)."""
    if not value or any(c.isspace() for c in value):
        raise InputError(
            None, f"{what} {value!r} is empty or holds white space, which TREC files cannot hold"
        )
    return value


def write_qrels(qrels: Iterable[Qrel], path: Path, fmt: str = "trec") -> None:
    """Write TREC ('qid 0 docid rel') or BEIR TSV (with header) qrels."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        if fmt == "trec":
            for q in qrels:
                qid, did = trec_id(q.query_id, "query id"), trec_id(q.doc_id)
                fh.write(f"{qid} {q.iteration or 0} {did} {q.relevance}\n")
        elif fmt == "beir":
            fh.write("query-id\tcorpus-id\tscore\n")
            for q in qrels:
                qid, did = trec_id(q.query_id, "query id"), trec_id(q.doc_id)
                fh.write(f"{qid}\t{did}\t{q.relevance}\n")
        else:
            raise ValueError(f"unknown qrels format {fmt!r}; expected trec or beir")


def strictly_decreasing(scores: Iterable[float]) -> list[float]:
    """Scores as written to a run file: 9 decimals, each below the one before.

    trec_eval ignores the rank column and orders by score (ties by document id), so a tied score
    is nudged down by a millionth (relative) to keep the order RankLens ranked and scored.
    """
    out: list[float] = []
    for s in scores:
        v = round(float(s), 9)
        if out and v >= out[-1]:
            prev = out[-1]
            v = round(prev - 1e-6 * max(1.0, abs(prev)), 9)
        out.append(v)
    return out


def trec_run_lines(run: Run, tag: str) -> Iterator[str]:
    """TREC run lines 'qid Q0 docid rank score tag' (doc_id as in the hits given, in rank order)."""
    tag = "".join(c if c.isalnum() or c in "._-()," else "_" for c in tag) or "ranklens"
    for qid, hits in run.items():
        ordered = sorted(hits, key=lambda h: h.rank)
        scores = strictly_decreasing(h.score for h in ordered)
        for h, score in zip(ordered, scores, strict=True):
            yield f"{trec_id(qid, 'query id')} Q0 {trec_id(h.doc_id)} {h.rank} {score:.9f} {tag}\n"


RUN_NAME_MAX = 120  # characters of the recipe kept in a run file's name


def run_file_name(ranker: str) -> str:
    """A file name for a ranker's run, unique per recipe whatever its length.

    A recipe that is already a safe name (letters, digits, '.', '_', '-', up to RUN_NAME_MAX
    characters) is used as it is; any other is made safe, cut to RUN_NAME_MAX characters, and
    followed by a hash of the whole recipe, so two recipes never share a file (the hash is added
    after the cut, never cut off).
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ranker).strip("_.") or "ranker"
    if safe != ranker or len(safe) > RUN_NAME_MAX:
        digest = hashlib.sha1(ranker.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe[:RUN_NAME_MAX]}-{digest}"
    return f"{safe}.run"


def run_file_text(run: Run, tag: str, level: str = "doc") -> str:
    """A TREC run file ('qid Q0 docid rank score tag') for one ranker.

    level "doc": one line per document (its best passage, types.doc_level); "passage": the
    docid column holds the passage id.
    """
    if check_level(level) == "doc":
        run = doc_level(run)
    else:
        run = {q: [h._replace(doc_id=h.passage_id) for h in hits] for q, hits in run.items()}
    return "".join(trec_run_lines(run, tag))


def write_run_files(runs: dict[str, Run], out_dir: Path, level: str = "doc") -> list[Path]:
    """One TREC run file per ranker in out_dir (each written whole, then renamed into place)."""
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, run in runs.items():
        target = out_dir / run_file_name(name)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(run_file_text(run, name, level), encoding="utf-8")
        os.replace(tmp, target)
        written.append(target)
    return written


def read_run(path: Path) -> Run:
    """A TREC run file RankLens wrote (`run --out`); hits keep the file's order by rank. Run files
    made by other systems go through ranklens.ranking.runfiles (checked, in trec_eval's order)."""
    run: Run = {}
    for number, text in text_lines(path):
        if not text.strip():
            continue
        parts = text.split()
        if len(parts) != 6:
            raise InputError(path, "expected 6 columns: qid Q0 docid rank score tag", number)
        try:
            rank, score = int(parts[3]), float(parts[4])
        except ValueError:
            raise InputError(path, "rank must be an integer and score a number", number) from None
        run.setdefault(parts[0], []).append(Hit(parts[0], parts[2], parts[2], score, rank))
    for hits in run.values():
        hits.sort(key=lambda h: h.rank)
    return run
