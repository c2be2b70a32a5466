"""Imported run files kept beside a corpus (runs/NAME/): import (all or nothing), list, show,
replace and delete, and the level (document or passage ids) and missing ids of each.

Layout: runs/NAME/current.json names the version in use; runs/NAME/versions/V/ holds its
manifest.json and run.sqlite3 (hits, and the query set's texts as they were). A version is
written whole under a temporary name first; --replace then swaps the pointer (os.replace), so
a reader sees the old version or the new one, never half of one. The ranker is ranklens.ranking.run_ranker.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from urllib.parse import quote

from ranklens.corpus import external_docs
from ranklens.corpus.index import Corpus, check_name
from ranklens.corpus.trec_files import read_queries
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.files import held_lock, write_json_atomic
from ranklens.ranking.runfiles import RUN_FORMATS, detect_run_format, read_run_lines
from ranklens.types import Query

RUNS = "runs"
CURRENT = "current.json"
MANIFEST = "manifest.json"
DATA = "run.sqlite3"
FORMAT_VERSION = 1
PREFIX = "run:"
MISSING_SAMPLE = 20

_SCHEMA = """
CREATE TABLE hits (         -- in file order; indexed (qid, doc) once loaded
    qid TEXT NOT NULL,
    doc TEXT NOT NULL,
    score REAL NOT NULL,
    line INTEGER NOT NULL       -- where in the file (1-based; 0 in JSON, which has no lines)
);
CREATE TABLE queries (qid TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID;
"""


def runs_dir(corpus: Corpus) -> Path:
    return corpus.dir / RUNS


def ranker_name(name: str) -> str:
    """The ranker an imported run is: run:NAME."""
    return f"{PREFIX}{name}"


def _run_dir(corpus: Corpus, name: str) -> Path:
    return runs_dir(corpus) / check_name(name, "run name")


def run_names(corpus: Corpus) -> list[str]:
    """The names of the corpus's imported runs (complete ones only), sorted."""
    folder = runs_dir(corpus)
    if not folder.is_dir():
        return []
    return sorted(
        d.name
        for d in folder.iterdir()
        if d.is_dir() and not d.name.startswith(".") and (d / CURRENT).exists()
    )


def ranker_names(corpus: Corpus) -> list[str]:
    """run:NAME for every imported run of the corpus (what the rankers' lists offer)."""
    return [ranker_name(n) for n in run_names(corpus)]


def version_dir(corpus: Corpus, name: str) -> Path:
    """The folder of the version of run NAME in use; NotFoundError naming the runs there are."""
    folder = _run_dir(corpus, name)
    try:
        current = json.loads((folder / CURRENT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        have = ", ".join(run_names(corpus)) or "none"
        raise NotFoundError(
            f"corpus {corpus.name!r} has no imported run {name!r}; imported: {have}"
        ) from None
    return folder / "versions" / str(current["version"])


def show_run(corpus: Corpus, name: str) -> dict:
    """The manifest of run NAME: format, query set, level, counts, ids the corpus lacks, when."""
    return json.loads((version_dir(corpus, name) / MANIFEST).read_text(encoding="utf-8"))


def list_runs(corpus: Corpus) -> list[dict]:
    """The manifest of every imported run of the corpus, by name."""
    out = []
    for name in run_names(corpus):
        try:
            out.append(show_run(corpus, name))
        except (OSError, ValueError, KeyError):  # deleted meanwhile
            continue
    return out


def file_uri(path: Path, mode: str) -> str:
    """An SQLite URI for a file (any character of the path quoted), opened in `mode`."""
    return f"file:{quote(str(Path(path).resolve()))}?mode={mode}"


@contextmanager
def open_data(corpus: Corpus, name: str) -> Iterator[tuple[sqlite3.Connection, dict]]:
    """A read-only connection to the version of run NAME in use, and its manifest."""
    for attempt in (1, 2):  # a --replace may swap versions between reading and opening
        folder = version_dir(corpus, name)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            con = sqlite3.connect(file_uri(folder / DATA, "ro"), uri=True, check_same_thread=False)
            con.execute("SELECT 1 FROM hits LIMIT 1")
            break
        except (FileNotFoundError, sqlite3.OperationalError):
            if attempt == 2:
                raise
    with closing(con):
        yield con, manifest


# ---------------------------------------------------------------- import


def _query_set(corpus: Corpus, name: str | None) -> tuple[str | None, list[Query] | None, bool]:
    """(set name, its queries, whether to add it to the corpus): a set of the corpus, or a
    queries file (JSONL or TSV) that becomes the set named after it (when no other set is)."""
    if name is None:
        return None, None, False
    sets = corpus.query_sets()
    if name in sets:
        return name, sets[name], False
    path = Path(name).expanduser()
    if not path.is_file():
        have = ", ".join(sets) or "none"
        raise NotFoundError(
            f"corpus {corpus.name!r} has no query set {name!r}, nor is it a queries file; "
            f"sets: {have}"
        )
    queries = read_queries(path)
    set_name = check_name(path.stem, "query set name (the file's name)")
    if set_name in sets and sets[set_name] != queries:
        raise InputError(
            path,
            f"corpus {corpus.name!r} has another query set named {set_name!r}: rename the file",
        )
    return set_name, queries, set_name not in sets


def _set_holding(corpus: Corpus, first_line: dict[str, int], origin: str) -> tuple[str, list]:
    """The query set holding every query id of the run (the only set, or the first that does)."""
    sets = corpus.query_sets()
    if not sets:
        raise InputError(
            origin,
            f"corpus {corpus.name!r} has no query set: add the run's queries first "
            "(--queries FILE.jsonl|FILE.tsv, or upload a set on the Search page)",
        )
    for set_name, queries in sets.items():
        if set(first_line) <= {q.query_id for q in queries}:
            return set_name, queries
    name, queries = next(iter(sets.items())) if len(sets) == 1 else (None, None)
    if name is None:
        raise InputError(
            origin,
            f"no query set of corpus {corpus.name!r} holds every query id of the run; name one "
            f"with --queries (sets: {', '.join(sets)})",
        )
    ids = {q.query_id for q in queries}
    qid, line = min(((q, n) for q, n in first_line.items() if q not in ids), key=lambda x: x[1])
    raise InputError(origin, f"query id {qid!r} is not in the query set {name!r}", line or None)


def _load(
    con: sqlite3.Connection, path: Path, fmt: str, allowed: set[str] | None, origin: str
) -> tuple[int, dict[str, int]]:
    """Stream the checked lines into the hits table (one transaction, no per-row index and no
    Python step between the reader and SQLite), then check what needs the whole file: query ids
    outside the set (the first in the file is named), and repeats, found by the unique index
    (both lines named). Returns (lines, query id -> its first line)."""
    try:
        with con:
            con.executemany("INSERT INTO hits VALUES (?, ?, ?, ?)", read_run_lines(path, fmt))
        count = con.execute("SELECT MAX(rowid) FROM hits").fetchone()[0] or 0
        first_line = dict(
            con.execute(
                "SELECT qid, line FROM hits WHERE rowid IN "
                "(SELECT MIN(rowid) FROM hits GROUP BY qid) ORDER BY rowid"
            )
        )
        if allowed is not None:
            for qid, line in first_line.items():  # in file order: the first is named
                if qid not in allowed:
                    raise InputError(
                        path, f"query id {qid!r} is not in the query set", line or None
                    )
        try:
            con.execute("CREATE UNIQUE INDEX hits_query ON hits (qid, doc)")
        except sqlite3.IntegrityError:
            qid, doc, line = con.execute(  # the repeat that comes first in the file
                "SELECT qid, doc, line FROM (SELECT qid, doc, line, rowid AS r, ROW_NUMBER() "
                "OVER (PARTITION BY qid, doc ORDER BY rowid) AS n FROM hits) WHERE n = 2 "
                "ORDER BY r LIMIT 1"
            ).fetchone()
            (first,) = con.execute(
                "SELECT line FROM hits WHERE qid = ? AND doc = ? ORDER BY rowid LIMIT 1",
                (qid, doc),
            ).fetchone()
            where = f"line {first}" if first else "an earlier entry"
            raise InputError(
                path,
                f"query {qid!r}, document {doc!r} appears twice (first at {where})",
                line or None,
            ) from None
    except InputError as exc:  # the reader names the saved path: name what the user gave
        if exc.path in (str(path), None) and origin != str(path):
            raise InputError(origin, exc.reason, exc.line) from None
        raise
    return count, first_line


def _level_and_missing(con: sqlite3.Connection, corpus: Corpus) -> dict:
    """Which ids the run holds (documents or passages of the corpus) and which the corpus lacks."""
    con.execute("ATTACH DATABASE ? AS c", (file_uri(corpus.dir / "passages.sqlite3", "ro"),))
    con.execute("CREATE TEMP TABLE ids AS SELECT DISTINCT doc FROM hits")
    distinct = con.execute("SELECT COUNT(*) FROM ids").fetchone()[0]
    as_doc = con.execute(
        "SELECT COUNT(*) FROM ids WHERE doc IN (SELECT doc_id FROM c.passages)"
    ).fetchone()[0]
    as_passage = con.execute(
        "SELECT COUNT(*) FROM ids WHERE doc IN (SELECT passage_id FROM c.passages)"
    ).fetchone()[0]
    level = "passage" if as_passage > as_doc else "doc"
    column = "passage_id" if level == "passage" else "doc_id"
    sample = [
        r[0]
        for r in con.execute(
            f"SELECT doc FROM ids WHERE doc NOT IN (SELECT {column} FROM c.passages) "
            f"ORDER BY doc LIMIT {MISSING_SAMPLE}"
        )
    ]
    con.execute("DROP TABLE ids")
    con.execute("DETACH DATABASE c")
    found = as_passage if level == "passage" else as_doc
    return {"level": level, "ids": distinct, "missing": distinct - found, "missing_sample": sample}


def import_run(
    corpus: Corpus,
    path: str | Path,
    name: str,
    fmt: str | None = None,
    query_set: str | None = None,
    *,
    replace: bool = False,
    origin: str | None = None,
) -> dict:
    """Import a run file as run NAME of the corpus, checked whole before anything is stored.

    Refused (InputError naming the file and line, nothing stored): a bad line, a non-numeric
    score, the same (query, document) twice, a query id outside the query set (the one named, or
    else the set that holds every id of the run). query_set may also be a queries file (JSONL or
    TSV): it is added as the set named after the file once the run is in. replace=True loads a
    new version of an existing run; the old one stays in use until the new one is complete.
    Returns the new manifest.
    """
    path = Path(path)
    origin = origin or str(path)
    check_name(name, "run name")
    fmt = fmt or detect_run_format(path)
    if fmt not in RUN_FORMATS:
        raise InputError(origin, f"unknown run format {fmt!r}; expected {', '.join(RUN_FORMATS)}")
    query_set, queries, add_set = _query_set(corpus, query_set)
    folder = runs_dir(corpus)
    folder.mkdir(exist_ok=True)
    with _name_lock(folder, name):  # two imports of one name: one after the other
        info = _import_locked(corpus, path, name, fmt, query_set, queries, replace, origin)
    if add_set:  # the queries file given becomes a set of the corpus, as the run needs
        corpus.add_query_set(query_set, queries)
    return info


def _name_lock(folder: Path, name: str) -> AbstractContextManager[None]:
    """One import or delete of run NAME at a time (across processes and threads)."""
    return held_lock(folder / f".{name}.lock")


def _import_locked(
    corpus: Corpus,
    path: Path,
    name: str,
    fmt: str,
    query_set: str | None,
    queries: list[Query] | None,
    replace: bool,
    origin: str,
) -> dict:
    folder = runs_dir(corpus)
    target = folder / name
    exists = (target / CURRENT).exists()
    if exists and not replace:
        raise RankLensError(
            f"corpus {corpus.name!r} already has a run named {name!r}: use --replace to load a "
            "new version of it, or choose another name"
        )
    previous = show_run(corpus, name) if exists else None
    version = int(previous["version"]) + 1 if previous else 1
    staging = folder / f".import-{name}-{uuid.uuid4().hex[:8]}"
    vdir = staging / "versions" / str(version)
    vdir.mkdir(parents=True)
    started = time.perf_counter()
    try:
        with closing(sqlite3.connect(file_uri(vdir / DATA, "rwc"), uri=True)) as con:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.executescript(_SCHEMA)
            allowed = {q.query_id for q in queries} if queries is not None else None
            lines, first_line = _load(con, path, fmt, allowed, origin)
            if not lines:
                raise InputError(origin, "the run file holds no results")
            if queries is None:
                query_set, queries = _set_holding(corpus, first_line, origin)
            with con:
                con.executemany(
                    "INSERT INTO queries VALUES (?, ?)",
                    [(q.query_id, q.text) for q in queries if q.query_id in first_line],
                )
            depth = con.execute(
                "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM hits GROUP BY qid)"
            ).fetchone()[0]
            ids = _level_and_missing(con, corpus)
            con.commit()
        with open(vdir / DATA, "rb") as fh:
            os.fsync(fh.fileno())
        manifest = {
            "name": name,
            "ranker": ranker_name(name),
            "corpus": corpus.name,
            "source": Path(origin).name,
            "format": fmt,
            "query_set": query_set,
            "queries": len(first_line),
            "queries_in_set": len(queries),
            "lines": lines,
            "max_depth": int(depth or 0),
            **ids,
            "version": version,
            "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "import_seconds": round(time.perf_counter() - started, 3),
            "format_version": FORMAT_VERSION,
        }
        write_json_atomic(vdir / MANIFEST, manifest, ensure_ascii=False)
        if exists:  # move the complete version in, then swap the pointer: one atomic step
            final = target / "versions" / str(version)
            if final.exists():
                shutil.rmtree(final)
            os.replace(vdir, final)
            write_json_atomic(target / CURRENT, {"version": version}, ensure_ascii=False)
            shutil.rmtree(target / "versions" / str(previous["version"]), ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
        else:
            write_json_atomic(staging / CURRENT, {"version": version}, ensure_ascii=False)
            if target.exists():  # a folder left by a delete that was interrupted
                shutil.rmtree(target)
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def delete_run(corpus: Corpus, name: str) -> None:
    """Remove run NAME (and any text kept for the documents it returned)."""
    target = _run_dir(corpus, name)
    if not (target / CURRENT).exists():
        version_dir(corpus, name)  # raises NotFoundError naming the runs there are
    with _name_lock(runs_dir(corpus), name):
        trash = runs_dir(corpus) / f".deleting-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    external_docs.delete_source(corpus.dir, ranker_name(name))


def empty_note(corpus: Corpus, ranker: str) -> str | None:
    """One line for a column where an imported run has no results for the query, else None."""
    if not ranker.startswith(PREFIX):
        return None
    try:
        info = show_run(corpus, ranker[len(PREFIX) :])
    except (RankLensError, OSError, ValueError):
        return None
    n = info["queries"]
    return (
        f"{ranker} has no results for this query: it answers {n:,} quer{'y' if n == 1 else 'ies'} "
        f"of query set {info['query_set']!r} (pick one of them)."
    )
