"""Corpus sources: what a path holds (JSONL, CSV/TSV, text folders, PDF, a BEIR folder or zip),
its documents streamed lazily, with BEIR's query sets and qrels; format detection.

Readers stream; every error names the file, the line where there is one, and what was expected.
Queries, qrels and run files are read and written by ranklens.corpus.trec_files.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ranklens.config import Settings, ZipLimits
from ranklens.corpus import archives
from ranklens.corpus.text_records import (
    delimited_records,
    first_field,
    read_jsonl_records,
    read_text,
)
from ranklens.corpus.trec_files import read_qrels, read_queries
from ranklens.errors import InputError
from ranklens.types import Doc, Qrel, Query

DEFAULT_ZIP_LIMITS = Settings().zip_limits  # when no settings are given

CORPUS_FORMATS = ("jsonl", "csv", "tsv", "text", "pdf", "beir")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")
ID_FIELDS = ("_id", "id", "doc_id", "docid")


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


# ---------------------------------------------------------------- records -> documents


def _pick_id(record: dict, fields: Fields) -> object | None:
    return record.get(fields.id) if fields.id else first_field(record, ID_FIELDS)


def _record_to_doc(record: dict, fields: Fields, path: Path, line: int) -> Doc:
    doc_id = _pick_id(record, fields)
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


def read_jsonl(path: Path, fields: Fields | None = None) -> Iterator[Doc]:
    """One document per JSON Lines object (id, title and text from `fields`)."""
    fields = fields or Fields()
    for number, record in read_jsonl_records(path):
        yield _record_to_doc(record, fields, path, number)


def read_delimited(path: Path, delimiter: str, fields: Fields | None = None) -> Iterator[Doc]:
    """One document per CSV/TSV row under a header (id, title and text from `fields`)."""
    fields = fields or Fields()
    for number, record in delimited_records(path, delimiter):
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
        text = read_text(file)
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
            lambda: iter([Doc(_id_from_path(path.name), read_text(path), path.stem, path.name)]),
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
