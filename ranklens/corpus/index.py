"""Corpora on disk: the name rule, passages, query sets, the BM25 index and Chroma collections.

A corpus is ready only when every index it names is complete. Building and growing corpora is
ranklens.corpus.ingest's job; callers call it there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ranklens import models as model_registry
from ranklens.access import Actor, require_admin
from ranklens.config import Settings, get_settings
from ranklens.corpus.trec_files import read_queries, write_queries
from ranklens.errors import InputError, NotFoundError, RankLensError, VectorStoreUnavailable
from ranklens.files import write_json_atomic
from ranklens.types import Passage, Qrel, Query

# One rule for corpus and query-set names that every store accepts: a folder and file name on any
# file system, a part of a Chroma collection name (which refuses "..", and must start and end with
# a letter or digit), a value in SQL. ASCII only, so no look-alike or invisible characters.
NAME_MAX = 63
NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.))*", re.ASCII)
MANIFEST = "manifest.json"
COMPLETE, INDEXING = "complete", "indexing"
ADD_BATCH = 256
_IN_CHUNK = 900  # ids per "IN (...)": under SQLite's default limit of 999 parameters


@dataclass(frozen=True)
class BM25Settings:
    k1: float = 0.9
    b: float = 0.4
    method: str = "lucene"
    stopwords: str | None = "en"
    stemmer: str | None = "english"  # a PyStemmer language, or None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """Where an ingestion stands, for a progress bar."""

    stage: str  # "read", "bm25" or a model name
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressFn = Callable[[Progress], None]


# ---------------------------------------------------------------- helpers


def is_valid_name(name: object) -> bool:
    """Whether check_name accepts the name."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= NAME_MAX
        and NAME_RE.fullmatch(name) is not None
        and name[-1].isalnum()
    )


def check_name(name: str, what: str = "corpus name") -> str:
    """The name if every store accepts it, else a RankLensError saying the rule; nothing is written.

    1-63 ASCII letters, digits, '.', '_' or '-', starting and ending with a letter or digit,
    never two dots in a row (so never '..', never a path, never hidden).
    """
    if not is_valid_name(name):
        raise RankLensError(
            f"invalid {what} {name!r}: use 1-{NAME_MAX} ASCII letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit, with no '..'"
        )
    return name


def _atomic_write_json(path: Path, data: dict) -> None:
    """A manifest, written whole (keys sorted)."""
    write_json_atomic(path, data, sort_keys=True)


def home_id(settings: Settings) -> str:
    """A random id of this RANKLENS_HOME, made once: homes sharing a Chroma server never mix."""
    path = settings.home / "home-id"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".home-id.{os.getpid()}.tmp")
        tmp.write_text(uuid.uuid4().hex[:12])
        try:
            os.link(tmp, path)  # first writer wins; a concurrent second keeps the first's id
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def collection_name(corpus: str, model: str, home: str = "") -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-._") or "model"
    digest = hashlib.sha1(model.encode()).hexdigest()[:8]
    prefix = f"rl-{home}-" if home else "rl-"
    return f"{prefix}{corpus}--{slug[:80]}-{digest}"


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


@contextlib.contextmanager
def chroma_errors(settings: Settings) -> Iterator[None]:
    """A Chroma server that cannot be reached raises VectorStoreUnavailable, saying so."""
    if not settings.uses_chroma_server:
        yield
        return
    import httpx

    where = f"{settings.chroma_host}:{settings.chroma_port}"
    try:
        yield
    except (httpx.TransportError, ConnectionError) as exc:
        raise VectorStoreUnavailable(where, exc) from None
    except ValueError as exc:  # chromadb.HttpClient(): "Could not connect to a Chroma server"
        if "connect" not in str(exc).lower():
            raise
        raise VectorStoreUnavailable(where, exc) from None


def chroma_client(settings: Settings):
    """Chroma: an embedded PersistentClient under home, or an HttpClient for a server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    key = (settings.chroma_host, settings.chroma_port, str(settings.chroma_dir))
    with _clients_lock:
        if key not in _clients:
            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            if settings.uses_chroma_server:
                with chroma_errors(settings):
                    _clients[key] = chromadb.HttpClient(
                        host=settings.chroma_host,
                        port=settings.chroma_port,
                        settings=chroma_settings,
                    )
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                _clients[key] = chromadb.PersistentClient(
                    path=str(settings.chroma_dir), settings=chroma_settings
                )
        return _clients[key]


_seen: dict[tuple[str, str], object] = {}  # (chroma dir, collection) -> its manifest entry, as seen


def _refresh_if_changed(settings: Settings, info: dict, fingerprint: object = None) -> None:
    """Make the embedded client anew when another process changed a collection it has seen.

    A PersistentClient keeps a collection's index in memory: vectors a worker process (a job)
    added afterwards are counted but not found until the client is made anew. The corpus
    manifest records each collection's count, so a change there means the client is stale.
    """
    if settings.uses_chroma_server:  # a server sees every writer
        return
    key = (str(settings.chroma_dir), str(info.get("collection")))
    state = (info.get("count"), info.get("status"), fingerprint)
    with _clients_lock:
        last = _seen.get(key)
        _seen[key] = state
        if last is None or last == state:
            return
        client_key = (settings.chroma_host, settings.chroma_port, str(settings.chroma_dir))
        if _clients.pop(client_key, None) is not None:
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()


@contextlib.contextmanager
def _corpus_lock(settings: Settings, name: str) -> Iterator[None]:
    settings.corpora_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.corpora_dir / f".{name}.lock"
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RankLensError(
                f"corpus {name!r} is being indexed or deleted by another process; try again later"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- passages store


_SCHEMA = """
CREATE TABLE passages (
    ord INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX passages_doc ON passages(doc_id);
"""


def _row_to_passage(row: tuple) -> Passage:
    return Passage(row[0], row[1], row[3], row[2], row[4], row[5])


# ---------------------------------------------------------------- the corpus


class Corpus:
    """A stored corpus: its manifest, passages, query sets, labels that came with it, indexes."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = check_name(name)
        self.settings = settings
        self.dir = settings.corpora_dir / name
        if not (self.dir / MANIFEST).exists():
            raise NotFoundError(f"no corpus named {name!r}")
        self._local = threading.local()

    # -- manifest
    @property
    def manifest(self) -> dict:
        return json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))

    def _update_manifest(self, fn: Callable[[dict], None]) -> None:
        data = self.manifest
        fn(data)
        _atomic_write_json(self.dir / MANIFEST, data)

    @property
    def documents(self) -> int:
        return int(self.manifest["documents"])

    @property
    def passages(self) -> int:
        return int(self.manifest["passages"])

    def indexes(self) -> dict[str, dict]:
        """Every index the corpus names: model -> {status, count, ...}."""
        return self.manifest.get("indexes", {})

    def models(self) -> list[str]:
        """The models whose index is complete (bm25 first)."""
        done = [m for m, info in self.indexes().items() if info.get("status") == COMPLETE]
        return sorted(done, key=lambda m: (m != model_registry.BM25, m))

    def dense_models(self) -> list[str]:
        return [m for m in self.models() if m != model_registry.BM25]

    @property
    def status(self) -> str:
        idx = self.indexes()
        return (
            "ready" if idx and all(i.get("status") == COMPLETE for i in idx.values()) else INDEXING
        )

    def summary(self) -> dict:
        m = self.manifest
        return {
            "name": self.name,
            "documents": m["documents"],
            "passages": m["passages"],
            "models": self.models(),
            "indexes": {k: v.get("status") for k, v in m.get("indexes", {}).items()},
            "query_sets": {k: len(v) for k, v in self.query_sets().items()},
            "status": self.status,
            "source": m.get("source", ""),
            "chunking": m.get("chunking", {}),
        }

    def version(self) -> str:
        """A fingerprint of everything that can change this corpus's results: the corpus itself
        (made again: another uid), its passages, its indexes and their status, its query sets
        and shipped labels, and its imported runs. Cheap (the manifest and a few stats); every
        cache that asks "has the corpus changed" keys on it."""
        m = self.manifest
        files = []
        for pattern in ("queries/*.jsonl", "qrels/*.tsv", "runs/*/current.json"):
            for path in sorted(self.dir.glob(pattern)):
                with contextlib.suppress(OSError):  # removed meanwhile: not part of it
                    st = path.stat()
                    files.append(
                        [path.relative_to(self.dir).as_posix(), st.st_mtime_ns, st.st_size]
                    )
        raw = json.dumps(
            [str(self.settings.home), self.name, m, files], sort_keys=True, default=str
        )
        return hashlib.sha1(raw.encode()).hexdigest()[:16]

    # -- passages
    def _db(self) -> sqlite3.Connection:
        path = self.dir / "passages.sqlite3"
        inode = os.stat(path).st_ino  # a corpus that grew has a new passage store
        con, seen = getattr(self._local, "con", None), getattr(self._local, "inode", None)
        if con is None or seen != inode:
            if con is not None:
                con.close()
            uri = f"file:{path}?mode=ro"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.con, self._local.inode = con, inode
        return con

    _COLS = "passage_id, doc_id, title, text, source, position"

    def iter_passages(self) -> Iterator[Passage]:
        for row in self._db().execute(f"SELECT {self._COLS} FROM passages ORDER BY ord"):
            yield _row_to_passage(row)

    def passage_keys(self) -> list[tuple[str, str, int]]:
        """(passage_id, doc_id, position) of every passage in corpus order, without the texts."""
        sql = "SELECT passage_id, doc_id, position FROM passages ORDER BY ord"
        return [(r[0], r[1], int(r[2])) for r in self._db().execute(sql)]

    def passage_ids(self) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT passage_id FROM passages ORDER BY ord")]

    def doc_ids(self) -> set[str]:
        return {r[0] for r in self._db().execute("SELECT DISTINCT doc_id FROM passages")}

    def _rows_in(
        self, columns: str, key: str, values: Sequence[object], order_by: str = ""
    ) -> Iterator[tuple]:
        """The rows `SELECT columns FROM passages WHERE key IN (values)`, asked in chunks of
        _IN_CHUNK values (SQLite's limit on parameters); `order_by` orders each chunk."""
        for i in range(0, len(values), _IN_CHUNK):
            chunk = values[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            order = f" ORDER BY {order_by}" if order_by else ""
            sql = f"SELECT {columns} FROM passages WHERE {key} IN ({marks}){order}"
            yield from self._db().execute(sql, chunk)

    def get_passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        rows = self._rows_in(self._COLS, "passage_id", list(passage_ids))
        return {row[0]: _row_to_passage(row) for row in rows}

    def doc_id_of(self, passage_ids: Sequence[str]) -> dict[str, str]:
        """passage id -> its document id, as stored with the passage (never parsed from the id)."""
        return dict(self._rows_in("passage_id, doc_id", "passage_id", list(passage_ids)))

    def passages_at(self, ords: Sequence[int]) -> list[Passage]:
        """Passages by their position in the corpus (as the BM25 index numbers them)."""
        ords = [int(o) for o in ords]
        rows = self._rows_in(f"ord, {self._COLS}", "ord", ords)
        found = {row[0]: _row_to_passage(row[1:]) for row in rows}
        return [found[o] for o in ords]

    def ord_of(self, passage_id: str) -> int:
        """A passage's position in the corpus (as the BM25 index numbers it)."""
        row = self._db().execute("SELECT ord FROM passages WHERE passage_id = ?", (passage_id,))
        found = row.fetchone()
        if found is None:
            raise NotFoundError(f"no passage {passage_id!r} in corpus {self.name!r}")
        return int(found[0])

    def first_passage_ids(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """document id -> the id of its first passage, for the documents the corpus holds."""
        ids = list(dict.fromkeys(doc_ids))  # a document's rows all fall in one chunk
        rows = self._rows_in("doc_id, passage_id", "doc_id", ids, "doc_id, position DESC")
        return dict(rows)  # the last row per doc wins: position 0

    def passages_of_doc(self, doc_id: str) -> list[Passage]:
        sql = f"SELECT {self._COLS} FROM passages WHERE doc_id = ? ORDER BY position"
        return [_row_to_passage(r) for r in self._db().execute(sql, (doc_id,))]

    # -- queries and shipped labels
    def query_sets(self) -> dict[str, list[Query]]:
        qdir = self.dir / "queries"
        if not qdir.is_dir():
            return {}
        return {p.stem: read_queries(p) for p in sorted(qdir.glob("*.jsonl"))}

    def add_query_set(
        self,
        name: str,
        queries: Sequence[Query],
        actor: Actor | None = None,
        replace: bool = False,
    ) -> None:
        """Store a query set of this corpus. An existing set is replaced only with replace=True
        (admin-only when an actor, team mode's signed-in annotator, is given), and never one
        that came with the corpus with its relevance labels: those qrels are keyed by its ids."""
        check_name(name, "query set name")
        if (self.dir / "queries" / f"{name}.jsonl").exists():
            if name in self.shipped_qrels():
                raise InputError(
                    None,
                    f"query set {name!r} came with corpus {self.name!r} with its relevance "
                    "labels (qrels): it is not replaced; choose another name",
                )
            if not replace:
                raise InputError(
                    None,
                    f"corpus {self.name!r} has a query set named {name!r}: replace it "
                    "explicitly, or choose another name",
                )
            require_admin(actor, f"replace the query set {name!r}")
        if not queries:
            raise InputError(None, f"query set {name!r} is empty")
        qdir = self.dir / "queries"
        qdir.mkdir(exist_ok=True)
        tmp = qdir / f".{name}.jsonl.tmp"
        write_queries(queries, tmp)
        os.replace(tmp, qdir / f"{name}.jsonl")

    def shipped_qrels(self) -> dict[str, list[Qrel]]:
        """Labels that came with the corpus (a BEIR folder's qrels), by query set."""
        from ranklens.corpus.trec_files import read_qrels

        qdir = self.dir / "qrels"
        if not qdir.is_dir():
            return {}
        return {p.stem: [q for _, q in read_qrels(p, "beir")] for p in sorted(qdir.glob("*.tsv"))}

    # -- indexes
    def collection(self, model: str):
        info = self.indexes().get(model)
        if info is None or model == model_registry.BM25:
            raise NotFoundError(f"model {model!r} is not indexed for corpus {self.name!r}")
        from chromadb.errors import NotFoundError as ChromaNotFound

        _refresh_if_changed(self.settings, info, self.manifest.get("fingerprint"))
        try:
            with chroma_errors(self.settings):
                return chroma_client(self.settings).get_collection(info["collection"])
        except ChromaNotFound:
            raise NotFoundError(
                f"the {model} index of corpus {self.name!r} is missing from Chroma; rebuild it "
                f"with: python -m ranklens ingest --corpus {self.name} --models {model}"
            ) from None

    def bm25_settings(self) -> BM25Settings:
        info = self.indexes().get(model_registry.BM25)
        if info is None:
            raise NotFoundError(f"corpus {self.name!r} has no BM25 index")
        return BM25Settings(**info["params"])

    def bm25_dir(self) -> Path:
        return self.dir / "bm25"


def open_corpus(name: str, settings: Settings | None = None) -> Corpus:
    """A stored corpus by name; NotFoundError when there is none."""
    return Corpus(name, settings or get_settings())


def list_corpora(settings: Settings | None = None) -> list[dict]:
    """Summaries of every stored corpus, by name."""
    settings = settings or get_settings()
    out = []
    if settings.corpora_dir.is_dir():
        for d in sorted(settings.corpora_dir.iterdir()):
            # a staging or trash folder, or one made by hand under a name no store accepts
            if d.is_dir() and is_valid_name(d.name) and (d / MANIFEST).exists():
                out.append(Corpus(d.name, settings).summary())
    return out


def _bm25_tokenize(texts: list[str], params: BM25Settings, return_ids: bool = True):
    """Texts tokenised with the index's stopwords and stemmer (ids for indexing, or strings)."""
    import bm25s

    stemmer = None
    if params.stemmer:
        import Stemmer

        stemmer = Stemmer.Stemmer(params.stemmer)
    return bm25s.tokenize(
        texts,
        stopwords=params.stopwords,
        stemmer=stemmer,
        return_ids=return_ids,
        show_progress=False,
    )


def bm25_query_tokens(queries: list[str], params: BM25Settings) -> list[list[str]]:
    """Queries tokenised as the BM25 index was (strings, mapped to ids by the retriever)."""
    return _bm25_tokenize(queries, params, return_ids=False)


@dataclass
class TokenReport:
    """What BM25's tokenizer made of a text: each word's tokens, and the words it dropped."""

    kept: list[tuple[str, list[str]]]  # (word as typed, its tokens after stemming)
    dropped: list[tuple[str, str]]  # (word as typed, why: a stopword, or no run of 2+ letters)

    @property
    def tokens(self) -> list[str]:
        return list(dict.fromkeys(t for _, ts in self.kept for t in ts))


def bm25_token_report(text: str, params: BM25Settings) -> TokenReport:
    """Each whitespace-separated word of `text` run through the index's own tokenizer.

    bm25s keeps runs of two or more letters or digits ("g++" -> "g", one letter, dropped), then
    drops stopwords and stems. The tokenizer reads no context, so a word alone gives the tokens
    it gives inside the text.
    """
    words = text.split()
    if not words:
        return TokenReport([], [])
    tokens = _bm25_tokenize(words, params, return_ids=False)
    bare = _bm25_tokenize(words, replace(params, stopwords=None), return_ids=False)
    kept, dropped = [], []
    for word, toks, without_stop in zip(words, tokens, bare, strict=True):
        if toks:
            kept.append((word, list(toks)))
        elif without_stop:
            dropped.append((word, "a stopword"))
        else:
            dropped.append((word, "no run of two or more letters or digits"))
    return TokenReport(kept, dropped)


def delete_corpus(name: str, settings: Settings | None = None) -> None:
    """Remove a corpus: its folder, its Chroma collections."""
    settings = settings or get_settings()
    check_name(name)
    store = open_corpus(name, settings)
    with _corpus_lock(settings, name):
        collections = [i["collection"] for i in store.indexes().values() if "collection" in i]
        trash = settings.corpora_dir / f".deleting-{name}-{os.getpid()}"
        os.replace(store.dir, trash)
        client = chroma_client(settings) if collections else None
        failed = []
        for c in collections:
            try:
                client.delete_collection(c)
            except Exception as exc:  # a missing collection, a server gone: say so, go on
                failed.append(f"{c} ({exc})")
        shutil.rmtree(trash, ignore_errors=True)
    if failed:
        raise RankLensError(
            f"corpus {name!r} is deleted, but these Chroma collections could not be removed: "
            f"{'; '.join(failed)}. A new corpus of that name will not reuse them."
        )
