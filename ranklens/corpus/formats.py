"""Readers and writers: corpora (JSONL, CSV/TSV, text folders, PDF, BEIR), queries, qrels, runs.

Readers stream; every error names the file, the line where there is one, and what was expected.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ranklens.config import Settings
from ranklens.corpus import archives
from ranklens.corpus.archives import ZipLimits
from ranklens.errors import InputError
from ranklens.types import Doc, Hit, Qrel, Query, Run, check_level, doc_level

DEFAULT_ZIP_LIMITS = Settings().zip_limits  # when no settings are given

CORPUS_FORMATS = ("jsonl", "csv", "tsv", "text", "pdf", "beir")
QRELS_FORMATS = ("trec", "beir", "csv", "jsonl")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")
ID_FIELDS = ("_id", "id", "doc_id", "docid")
QUERY_ID_FIELDS = ("_id", "id", "query_id", "qid")


@dataclass
class Fields:
    """Which fields of a JSONL/CSV record hold the id, the title and the text."""

    id: str | None = None  # None: the first of _id, id, doc_id, docid present
    title: str = "title"
    text: str = "text"


@dataclass
class CorpusSource:
    """What a path holds: documents (lazy), and for BEIR its query sets and labels."""

    path: Path
    format: str
    docs: Callable[[], Iterator[Doc]]
    query_sets: dict[str, list[Query]] = field(default_factory=dict)
    qrels: dict[str, list[Qrel]] = field(default_factory=dict)
    cleanup: Callable[[], None] = lambda: None


# ---------------------------------------------------------------- text decoding


def _check_text_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, "the file is empty; expected at least one record")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if b"\x00" in head:
        raise InputError(path, "this is a binary file, not text (it holds NUL bytes)")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, with a clear error on undecodable bytes."""
    _check_text_file(path)
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    path,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "expected UTF-8 encoded text",
                    number,
                ) from None


def _read_text(path: Path) -> str:
    return "".join(text for _, text in _lines(path))


# ---------------------------------------------------------------- records -> documents


def _pick_id(record: dict, fields: Fields, candidates: tuple[str, ...]) -> str | None:
    if fields.id:
        return record.get(fields.id)
    for name in candidates:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def _record_to_doc(record: dict, fields: Fields, path: Path, line: int) -> Doc:
    doc_id = _pick_id(record, fields, ID_FIELDS)
    if doc_id is None or str(doc_id).strip() == "":
        wanted = fields.id or " or ".join(ID_FIELDS)
        raise InputError(path, f"no document id: expected a field {wanted}", line)
    if any(c.isspace() for c in str(doc_id).strip()):
        raise InputError(
            path,
            f"document id {str(doc_id).strip()!r} holds white space; expected an id "
            "without spaces (TREC qrels and run files split columns on them)",
            line,
        )
    text = record.get(fields.text)
    if text is None:
        raise InputError(
            path, f"no '{fields.text}' field; expected the document text in '{fields.text}'", line
        )
    if not isinstance(text, str):
        raise InputError(path, f"'{fields.text}' must be a string, got {type(text).__name__}", line)
    title = record.get(fields.title) or ""
    return Doc(str(doc_id).strip(), text, str(title), f"{path.name}:{line}")


def read_jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, object) for each non-blank line of a JSON Lines file."""
    seen = False
    for number, text in _lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                path, f"invalid JSON ({exc.msg}); expected one JSON object per line", number
            ) from None
        except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
            raise InputError(path, f"unreadable JSON value ({exc})", number) from None
        if not isinstance(record, dict):
            raise InputError(
                path, f"expected a JSON object per line, got {type(record).__name__}", number
            )
        seen = True
        yield number, record
    if not seen:
        raise InputError(path, "the file holds no records; expected one JSON object per line")


def read_jsonl(path: Path, fields: Fields | None = None) -> Iterator[Doc]:
    fields = fields or Fields()
    for number, record in read_jsonl_records(path):
        yield _record_to_doc(record, fields, path, number)


def _csv_rows(reader, path: Path) -> Iterator[list[str]]:
    """The reader's rows; csv's own errors (an unclosed quote, a field past its size limit, a
    bare carriage return) become InputError naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                path,
                f"unreadable CSV ({exc}); expected quoted fields closed on the same row",
                reader.line_num,
            ) from None
        yield row


def _delimited_records(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    lines = _lines(path)
    reader = csv.reader((text for _, text in lines), delimiter=delimiter)
    rows = _csv_rows(reader, path)
    try:
        header = next(rows)
    except StopIteration:
        raise InputError(path, "the file is empty; expected a header row") from None
    header = [h.strip() for h in header]
    seen = False
    for row in rows:
        number = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(
                path,
                f"{len(row)} columns, expected {len(header)} as in the header ({', '.join(header)})",
                number,
            )
        seen = True
        yield number, dict(zip(header, row, strict=True))
    if not seen:
        raise InputError(path, "no rows after the header; expected at least one document")


def read_delimited(path: Path, delimiter: str, fields: Fields | None = None) -> Iterator[Doc]:
    fields = fields or Fields()
    for number, record in _delimited_records(path, delimiter):
        yield _record_to_doc(record, fields, path, number)


def read_text_folder(path: Path) -> Iterator[Doc]:
    """One document per .txt/.md file (recursively); id = relative path, title = first heading."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    pdfs = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
    if not files and not pdfs:
        raise InputError(
            path, f"the folder holds no {', '.join(TEXT_SUFFIXES)} or .pdf files to read"
        )
    for file in files:
        text = _read_text(file)
        rel = file.relative_to(path).as_posix()
        title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.strip()), rel)
        yield Doc(_id_from_path(rel), text, title[:200], rel)
    for file in pdfs:
        yield from read_pdf(file, doc_prefix=_id_from_path(file.relative_to(path).as_posix()))


def _id_from_path(rel: str) -> str:
    """A document id from a file's relative path: white space becomes '_' (TREC columns)."""
    return re.sub(r"\s+", "_", rel)


def read_pdf(path: Path, doc_prefix: str | None = None) -> Iterator[Doc]:
    """One document per page with text: id 'name#p3' style ('name/p3'), title = file name."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not path.exists():
        raise InputError(path, "no such file or folder")
    try:
        reader = PdfReader(str(path))
        pages = list(reader.pages)
    except (PdfReadError, ValueError, OSError) as exc:
        raise InputError(path, f"not a readable PDF ({exc}); expected a PDF file") from None
    prefix = doc_prefix or _id_from_path(path.name)
    found = False
    for number, page in enumerate(pages, 1):
        text = (page.extract_text() or "").strip()
        if text:
            found = True
            yield Doc(
                f"{prefix}/p{number}", text, f"{path.name}, page {number}", f"{path.name}:p{number}"
            )
    if not found:
        raise InputError(path, "no extractable text in this PDF (scanned images need OCR first)")


# ---------------------------------------------------------------- queries, qrels


def read_queries(path: Path) -> list[Query]:
    """Queries from JSONL (_id/id, text) or TSV/TXT (query id <tab> text, no header)."""
    path = Path(path)
    out: list[Query] = []
    seen: dict[str, int] = {}
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, record in read_jsonl_records(path):
            qid = _pick_id(record, Fields(), QUERY_ID_FIELDS)
            text = record.get("text", record.get("query"))
            if qid is None or not isinstance(text, str):
                raise InputError(path, "expected a query with '_id' (or 'id') and 'text'", number)
            _unique(seen, str(qid), path, number, "query")
            out.append(Query(str(qid), text))
    else:
        for number, text in _lines(path):
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
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    for _, text in _lines(path):
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
        for number, text in _lines(path):
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
        for number, text in _lines(path):
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
    records = read_jsonl_records(path) if fmt == "jsonl" else _delimited_records(path, ",")
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
    """A TREC run file; hits keep the file's order by rank."""
    run: Run = {}
    for number, text in _lines(path):
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


# ---------------------------------------------------------------- BEIR


def _beir_root(folder: Path, origin: Path) -> Path:
    if (folder / "corpus.jsonl").exists():
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir() and (p / "corpus.jsonl").exists()]
    if len(subs) == 1:
        return subs[0]
    raise InputError(
        origin,
        "unexpected layout: expected corpus.jsonl (with queries.jsonl and qrels/*.tsv) at the top "
        "or inside one folder",
    )


def _read_beir(root: Path, origin: Path, cleanup: Callable[[], None]) -> CorpusSource:
    queries: list[Query] = (
        read_queries(root / "queries.jsonl") if (root / "queries.jsonl").exists() else []
    )
    by_id = {q.query_id: q for q in queries}
    qrels: dict[str, list[Qrel]] = {}
    query_sets: dict[str, list[Query]] = {}
    qrels_dir = root / "qrels"
    for split_file in sorted(qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []:
        labels = [q for _, q in read_qrels(split_file, "beir")]
        qrels[split_file.stem] = labels
        ids = dict.fromkeys(q.query_id for q in labels)
        query_sets[split_file.stem] = [by_id[i] for i in ids if i in by_id]
    if queries and not query_sets:
        query_sets["queries"] = queries
    corpus = root / "corpus.jsonl"
    return CorpusSource(origin, "beir", lambda: read_jsonl(corpus), query_sets, qrels, cleanup)


def _open_zip(path: Path, scratch: Path | None, limits: ZipLimits | None) -> CorpusSource:
    """A BEIR zip, extracted into a new folder under `scratch` (RANKLENS_HOME/tmp), within
    `limits` (archives.extract); the folder goes when the source is cleaned up."""
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ranklens-zip-", dir=scratch))

    def cleanup() -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    try:
        archives.extract(path, tmp, limits or DEFAULT_ZIP_LIMITS)
        return _read_beir(_beir_root(tmp, path), path, cleanup)
    except BaseException:
        cleanup()
        raise


def download_beir(name: str, base_url: str, cache_dir: Path) -> Path:
    """Download a BEIR dataset zip by name (once) into cache_dir and return its path."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise InputError(None, f"{name!r} is not a BEIR dataset name (e.g. scifact, nfcorpus)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{name}.zip"
    if target.exists():
        return target
    url = f"{base_url}/{name}.zip"
    part = target.with_suffix(".zip.part")
    try:
        with urllib.request.urlopen(url, timeout=30) as resp, open(part, "wb") as fh:
            shutil.copyfileobj(resp, fh, length=1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise InputError(
            url,
            f"cannot download BEIR dataset {name!r} ({exc}); with no network, download the "
            "zip elsewhere and give its path",
        ) from None
    part.replace(target)
    return target


# ---------------------------------------------------------------- detection


def detect_format(path: Path) -> str:
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir():
        try:
            _beir_root(path, path)
            return "beir"
        except InputError:
            return "text"
    suffix = path.suffix.lower()
    known = {
        ".jsonl": "jsonl",
        ".json": "jsonl",
        ".csv": "csv",
        ".tsv": "tsv",
        ".pdf": "pdf",
        ".zip": "beir",
        **{s: "text" for s in TEXT_SUFFIXES},
    }
    if suffix not in known:
        raise InputError(
            path,
            f"unknown format '{suffix or path.name}'; expected .jsonl, .csv, .tsv, .txt, .md, .pdf, "
            "a BEIR folder or zip, or a folder of text files",
        )
    return known[suffix]


def open_source(
    path: str | Path,
    fmt: str | None = None,
    fields: Fields | None = None,
    *,
    scratch: Path | None = None,
    zip_limits: ZipLimits | None = None,
) -> CorpusSource:
    """What a path holds, read lazily; raises InputError for what cannot be read at all. A zip
    is extracted under `scratch` (RANKLENS_HOME/tmp) within `zip_limits`."""
    path = Path(path).expanduser()
    fmt = fmt or detect_format(path)
    if fmt not in CORPUS_FORMATS:
        raise InputError(
            path, f"unknown format {fmt!r}; expected one of {', '.join(CORPUS_FORMATS)}"
        )
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if fmt == "beir":
        if path.is_dir():
            return _read_beir(_beir_root(path, path), path, lambda: None)
        return _open_zip(path, scratch, zip_limits)
    if fmt == "text":
        if path.is_dir():
            return CorpusSource(path, fmt, lambda: read_text_folder(path))
        return CorpusSource(
            path,
            fmt,
            lambda: iter([Doc(_id_from_path(path.name), _read_text(path), path.stem, path.name)]),
        )
    if path.is_dir():
        raise InputError(path, f"this is a folder; the format {fmt} expects a file")
    if fmt == "pdf":
        return CorpusSource(path, fmt, lambda: read_pdf(path))
    if fmt == "jsonl":
        return CorpusSource(path, fmt, lambda: read_jsonl(path, fields))
    delimiter = "," if fmt == "csv" else "\t"
    return CorpusSource(path, fmt, lambda: read_delimited(path, delimiter, fields))


def unique_docs(docs: Iterable[Doc], path: Path) -> Iterator[Doc]:
    """The documents, raising InputError on the first duplicate id (naming both places)."""
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.doc_id in seen:
            line = None
            if ":" in doc.source and doc.source.rsplit(":", 1)[1].isdigit():
                line = int(doc.source.rsplit(":", 1)[1])
            raise InputError(
                path, f"duplicate document id '{doc.doc_id}' (first at {seen[doc.doc_id]})", line
            )
        seen[doc.doc_id] = doc.source or "?"
        yield doc
