"""Ingestion: loading a source into a corpus, growing a corpus, and building its indexes.

Staged (bad input never touches a stored corpus), resumable (a rerun does only the work left) and,
for a corpus that grows, journaled: a killed append is finished by the next run, never half-kept.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ranklens import models as model_registry
from ranklens.config import Settings, get_settings
from ranklens.corpus.chunking import ChunkSettings, chunk_documents, index_text
from ranklens.corpus.formats import Fields, open_source, unique_docs
from ranklens.corpus.index import (
    _SCHEMA,
    COMPLETE,
    INDEXING,
    MANIFEST,
    BM25Settings,
    Corpus,
    Progress,
    ProgressFn,
    _atomic_write_json,
    _bm25_tokenize,
    _corpus_lock,
    check_name,
    chroma_client,
    collection_name,
    home_id,
)
from ranklens.corpus.trec_files import write_queries
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.types import Passage

NEXT_DB = "passages.next.sqlite3"  # an append's new passage store, swapped in by the journal


# ---------------------------------------------------------------- the passage store


def _write_passages(
    db_path: Path, passages: Iterable[Passage], progress: ProgressFn | None
) -> dict:
    """Store passages; returns counts and a fingerprint of ids and texts."""
    con = sqlite3.connect(db_path)
    con.executescript(_SCHEMA)
    digest = hashlib.sha256()
    docs: set[str] = set()
    n = 0
    start = time.monotonic()
    batch: list[tuple] = []
    for p in passages:
        batch.append((n, p.passage_id, p.doc_id, p.title, p.text, p.source, p.position))
        digest.update(f"{p.passage_id}\x1f{p.title}\x1f{p.text}\x1e".encode())
        docs.add(p.doc_id)
        n += 1
        if len(batch) >= 2000:
            con.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?)", batch)
            batch.clear()
            if progress:
                progress(Progress("read", n, 0, time.monotonic() - start))
    con.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?)", batch)
    con.commit()
    con.close()
    if progress:
        progress(Progress("read", n, n, time.monotonic() - start))
    return {"documents": len(docs), "passages": n, "fingerprint": digest.hexdigest()}


def _stage(
    source_path: str | Path,
    staging: Path,
    fmt: str | None,
    fields: Fields | None,
    chunking: ChunkSettings,
    settings: Settings,
    progress: ProgressFn | None,
) -> dict:
    """Read, check and chunk a source into a staging folder; returns the manifest."""
    from ranklens.corpus.formats import download_beir
    from ranklens.corpus.trec_files import write_qrels

    path_str = str(source_path)
    if path_str.startswith("beir:"):
        path = download_beir(path_str[5:], settings.beir_base_url, settings.cache_dir / "beir")
        fmt = "beir"
    else:
        path = Path(path_str).expanduser()
    source = open_source(
        path, fmt, fields, scratch=settings.scratch_dir, zip_limits=settings.zip_limits
    )
    try:
        staging.mkdir(parents=True)
        docs = unique_docs(source.docs(), path)
        counts = _write_passages(
            staging / "passages.sqlite3", chunk_documents(docs, chunking), progress
        )
        if counts["passages"] == 0:
            raise InputError(path, "no documents found")
        if source.query_sets:
            (staging / "queries").mkdir()
            for name, queries in source.query_sets.items():
                if queries:
                    write_queries(queries, staging / "queries" / f"{name}.jsonl")
        if source.qrels:
            (staging / "qrels").mkdir()
            for name, labels in source.qrels.items():
                write_qrels(labels, staging / "qrels" / f"{name}.tsv", "beir")
    finally:
        source.cleanup()
    return {
        **counts,
        "source": path_str,
        "format": source.format,
        "chunking": chunking.as_dict(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "uid": uuid.uuid4().hex,  # tells a corpus from a later one made under the same name
        "indexes": {},
    }


# ---------------------------------------------------------------- dense indexes


def existing_ids(collection) -> set[str]:
    """Every id a Chroma collection holds (paged)."""
    n = collection.count()
    ids: set[str] = set()
    page = 5000
    for offset in range(0, n, page):
        ids.update(collection.get(include=[], limit=page, offset=offset)["ids"])
    return ids


def identity(corpus: Corpus, model: str) -> dict:
    """Whose vectors a collection holds: this home, this corpus (its uid), this model."""
    m = corpus.manifest
    return {
        "ranklens_corpus": corpus.name,
        "model": model,
        "home": home_id(corpus.settings),
        "uid": m.get("uid", ""),
        "fingerprint": m["fingerprint"],
    }


def _belongs(metadata: dict | None, ident: dict) -> bool:
    """A collection made for this corpus: same uid (a corpus that grew keeps its uid), or, for one
    made before collections recorded a uid, the same passages."""
    meta = metadata or {}
    keys = ("ranklens_corpus", "model", "home")
    if any(meta.get(k) != ident[k] for k in keys):
        return False
    if meta.get("uid"):
        return meta["uid"] == ident["uid"]
    return meta.get("fingerprint") == ident["fingerprint"]


def dense_collection(corpus: Corpus, model: str, dim: int, fresh: bool = False):
    """The model's collection for this corpus, made (or remade) when it is not this corpus's."""
    name = collection_name(corpus.name, model, home_id(corpus.settings))
    client = chroma_client(corpus.settings)
    ident = identity(corpus, model)
    conf = {"hnsw": {"space": "cosine"}}

    def mark(data: dict) -> None:
        entry = data["indexes"].setdefault(model, {})
        entry.update({"status": INDEXING, "collection": name, "dim": dim, "kind": "dense"})

    corpus._update_manifest(mark)
    col = client.get_or_create_collection(
        name, configuration=conf, metadata=ident, embedding_function=None
    )
    if fresh or not _belongs(col.metadata, ident):
        # left behind by a deleted corpus of the same name, or made for other passages
        client.delete_collection(name)
        col = client.create_collection(
            name, configuration=conf, metadata=ident, embedding_function=None
        )
    return col


def length_sorted(passages: list[Passage]) -> list[Passage]:
    """Longest first, so that every batch holds texts of about one length (little padding)."""
    return sorted(passages, key=lambda p: -len(index_text(p)))


def _index_dense(corpus: Corpus, model: str, progress: ProgressFn | None) -> None:
    """Embed the passages the model's collection lacks (and drop replaced or removed ones)."""
    encoder = model_registry.load_encoder(model)
    collection = dense_collection(corpus, model, encoder.dim)
    stale = set(corpus.indexes()[model].get("stale", []))
    have = existing_ids(collection) if collection.count() else set()
    ids = corpus.passage_ids()
    drop = (have - set(ids)) | (stale & have)
    gone = sorted(drop)  # replaced or removed passages
    for i in range(0, len(gone), 5000):
        collection.delete(ids=gone[i : i + 5000])
    if stale:
        corpus._update_manifest(lambda d: d["indexes"][model].pop("stale", None))
    have -= drop
    todo = length_sorted([p for p in corpus.iter_passages() if p.passage_id not in have])
    total, done = len(todo), 0
    start = time.monotonic()
    if progress:
        progress(Progress(model, 0, total, 0.0))
    batch = max(1, corpus.settings.batch_size)
    for i in range(0, total, batch):
        chunk = todo[i : i + batch]
        vectors = encoder.encode_documents([index_text(p) for p in chunk])
        collection.add(
            ids=[p.passage_id for p in chunk],
            embeddings=np.asarray(vectors, dtype=np.float32),
            metadatas=[{"doc_id": p.doc_id, "position": p.position} for p in chunk],
        )
        done += len(chunk)
        if progress:
            progress(Progress(model, done, total, time.monotonic() - start))
    finish_dense(corpus, model, collection)


def finish_dense(corpus: Corpus, model: str, collection) -> None:
    """Mark a dense index complete once it holds exactly the corpus's passages."""
    count = collection.count()
    if count != corpus.passages:
        raise RankLensError(
            f"index for {model} holds {count} vectors, expected {corpus.passages}; run ingest again"
        )
    collection.modify(metadata=identity(corpus, model))  # the passages it now holds
    corpus._update_manifest(
        lambda d: d["indexes"][model].update({"status": COMPLETE, "count": count})
    )


# ---------------------------------------------------------------- BM25


def _index_bm25(corpus: Corpus, params: BM25Settings, progress: ProgressFn | None) -> None:
    import bm25s

    corpus._update_manifest(
        lambda d: (
            d["indexes"]
            .setdefault(model_registry.BM25, {})
            .update({"status": INDEXING, "params": params.as_dict(), "kind": "sparse"})
        )
    )
    start = time.monotonic()
    texts = [index_text(p) for p in corpus.iter_passages()]
    if progress:
        progress(Progress(model_registry.BM25, 0, len(texts), 0.0))
    tokens = _bm25_tokenize(texts, params)
    del texts
    retriever = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    retriever.index(tokens, show_progress=False)
    tmp = corpus.dir / ".bm25.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    retriever.save(str(tmp))
    final = corpus.bm25_dir()
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    n = len(tokens.ids)
    if progress:
        progress(Progress(model_registry.BM25, n, n, time.monotonic() - start))
    lengths = [len(doc) for doc in tokens.ids]
    stats = {"avg_doc_len": sum(lengths) / max(1, n), "vocabulary": len(tokens.vocab)}
    corpus._update_manifest(
        lambda d: d["indexes"][model_registry.BM25].update(
            {"status": COMPLETE, "count": n, "stats": stats}
        )
    )


# ---------------------------------------------------------------- ingest


def _clean_stale(settings: Settings, name: str) -> None:
    """Remove this corpus's staging folders left by killed runs (never another corpus's)."""
    mine = re.compile(rf"\.staging-{re.escape(name)}-\d+")
    for d in settings.corpora_dir.glob(f".staging-{name}-*"):
        if mine.fullmatch(d.name):
            shutil.rmtree(d, ignore_errors=True)


def _check_models(models: Sequence[str]) -> list[str]:
    models = list(dict.fromkeys(models))
    if not models:
        raise RankLensError("choose at least one model (e.g. bm25)")
    for m in models:
        if re.search(r"[\s(),:]", m):
            raise RankLensError(
                f"model name {m!r} holds white space or one of ( ) , : which ranker recipes "
                "use; rename or move the model folder"
            )
        if m != model_registry.BM25 and model_registry.model_info(m).kind == "reranker":
            raise RankLensError(f"{m} is a reranker; it scores pairs at query time, not an index")
    return models


def complete_indexes(
    store: Corpus,
    models: Sequence[str] = (),
    bm25: BM25Settings | None = None,
    progress: ProgressFn | None = None,
) -> Corpus:
    """Finish every index the corpus names, and build those of `models` it lacks."""
    wanted = list(dict.fromkeys([*store.indexes(), *models]))
    for model in wanted:
        info = store.indexes().get(model, {})
        if info.get("status") == COMPLETE:
            continue
        if model == model_registry.BM25:
            params = bm25 or (BM25Settings(**info["params"]) if "params" in info else None)
            _index_bm25(store, params or BM25Settings(), progress)
        else:
            _index_dense(store, model, progress)
    return store


def ingest(
    path: str | Path | None,
    corpus: str,
    models: Sequence[str] = ("bm25", model_registry.DEFAULT_DENSE),
    settings: Settings | None = None,
    fmt: str | None = None,
    fields: Fields | None = None,
    chunking: ChunkSettings | None = None,
    bm25: BM25Settings | None = None,
    progress: ProgressFn | None = None,
) -> Corpus:
    """Load a source into a corpus (or add models to an existing one) and build its indexes.

    path may be a file, a folder, a BEIR zip, or "beir:NAME" to download a BEIR dataset; it may
    be None for an existing corpus. Bad input raises InputError before anything stored changes.
    Interrupted, the same call finishes the work: only passages a collection lacks are embedded.
    To add documents to an existing corpus use add_documents.
    """
    settings = settings or get_settings()
    check_name(corpus)
    models = _check_models(models)
    with _corpus_lock(settings, corpus):
        _clean_stale(settings, corpus)
        target = settings.corpora_dir / corpus
        exists = (target / MANIFEST).exists()
        if path is None and not exists:
            raise NotFoundError(f"no corpus named {corpus!r}; give a PATH to create it")
        if exists:
            recover(Corpus(corpus, settings))
        if path is not None:
            staging = settings.corpora_dir / f".staging-{corpus}-{os.getpid()}"
            try:
                manifest = _stage(
                    path,
                    staging,
                    fmt,
                    fields,
                    chunking or ChunkSettings(),
                    settings,
                    progress,
                )
                if exists:
                    old = Corpus(corpus, settings).manifest
                    if old["fingerprint"] != manifest["fingerprint"]:
                        raise RankLensError(
                            f"corpus {corpus!r} already exists with other content "
                            f"({old['documents']} documents from {old.get('source', '?')}); to "
                            "add documents to it use --append (add_documents), else delete it "
                            "first or choose another name"
                        )
                else:
                    _atomic_write_json(staging / MANIFEST, manifest)
                    os.replace(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        store = Corpus(corpus, settings)
        for model in models:
            if store.indexes().get(model, {}).get("status") == COMPLETE:
                continue
            if model == model_registry.BM25:
                _index_bm25(store, bm25 or BM25Settings(), progress)
            else:
                _index_dense(store, model, progress)
        return store


# ---------------------------------------------------------------- corpora that grow


@dataclass
class Added:
    """What add_documents did: documents added, replaced and found unchanged."""

    corpus: Corpus
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    passages: int = 0  # new passages (of added and replaced documents)


def _where(doc_source: str, path: Path) -> tuple[Path, int | None]:
    """The file and line a document came from (its source is 'name:line' for line formats)."""
    name, _, line = doc_source.rpartition(":")
    if name and line.isdigit():
        return (path.parent / name if path.is_file() else path / name), int(line)
    return (path / doc_source if doc_source and path.is_dir() else path), None


def recover(store: Corpus) -> None:
    """Finish an append that was journaled (its new passage store swapped in), or forget one that
    was not: after this, the passages and the manifest agree. Call under the corpus lock."""
    nxt = store.dir / NEXT_DB
    pending = store.manifest.get("pending")
    if pending is None:
        nxt.unlink(missing_ok=True)  # killed before the journal: the append never happened
        return
    if nxt.exists():
        os.replace(nxt, store.dir / "passages.sqlite3")
    _atomic_write_json(store.dir / MANIFEST, pending)


@contextmanager
def changing(corpus: str, settings: Settings) -> Iterator[Corpus]:
    """An existing corpus opened for a change: under its lock, an interrupted append finished
    or forgotten first (recover)."""
    check_name(corpus)
    with _corpus_lock(settings, corpus):
        store = Corpus(corpus, settings)
        recover(store)
        yield store


def add_documents(
    path: str | Path,
    corpus: str,
    settings: Settings | None = None,
    fmt: str | None = None,
    fields: Fields | None = None,
    replace: bool = False,
    progress: ProgressFn | None = None,
) -> Added:
    """Add a file of documents to an existing corpus; embed only its new passages, for every model
    the corpus has, and rebuild BM25.

    A document already there with the same text is skipped (so the same call, run again, finishes
    an interrupted append); with other text it is refused, naming the file and line, unless
    replace is True, which re-embeds only that document. The passages change all at once (a
    journal in the manifest); the indexes are then completed, resumably, as at first ingestion.
    """
    settings = settings or get_settings()
    path = Path(path).expanduser()
    with changing(corpus, settings) as store:
        chunking = ChunkSettings(**store.manifest.get("chunking", {}))
        result = Added(store)
        new: list[Passage] = []
        source = open_source(
            path, fmt, fields, scratch=settings.scratch_dir, zip_limits=settings.zip_limits
        )
        try:
            for doc in unique_docs(source.docs(), path):
                passages = list(chunk_documents([doc], chunking))
                old = store.passages_of_doc(doc.doc_id)
                if old and [(p.title, p.text) for p in old] == [
                    (p.title, p.text) for p in passages
                ]:
                    result.unchanged += 1
                    continue
                if old and not replace:
                    where, line = _where(doc.source, path)
                    raise InputError(
                        where,
                        f"document id {doc.doc_id!r} is already in corpus {corpus!r} with other "
                        "text; give --replace (replace=True) to replace it, or another id",
                        line,
                    )
                (result.replaced if old else result.added).append(doc.doc_id)
                new.extend(passages)
        finally:
            source.cleanup()
        result.passages = len(new)
        if new:
            _journal_append(store, new, set(result.replaced), str(path), progress)
        complete_indexes(store, progress=progress)
        return result


def _journal_append(
    store: Corpus,
    new: list[Passage],
    replaced: set[str],
    source: str,
    progress: ProgressFn | None,
) -> None:
    """Write the grown passage store beside the old one, journal it, swap it in."""
    nxt = store.dir / NEXT_DB
    nxt.unlink(missing_ok=True)
    stale = {p.passage_id for d in sorted(replaced) for p in store.passages_of_doc(d)}
    kept = (p for p in store.iter_passages() if p.doc_id not in replaced)
    counts = _write_passages(nxt, _chain(kept, new), progress)
    if "uid" not in store.manifest:  # a corpus made before corpora had one
        store._update_manifest(lambda d: d.setdefault("uid", uuid.uuid4().hex))
    manifest = store.manifest
    for model, info in manifest.get("indexes", {}).items():
        if info.get("kind") == "dense" and info.get("status") == COMPLETE:
            _adopt_uid(store, model, info)
    grown = copy.deepcopy(manifest)
    grown.update(counts, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    grown["appended"] = [*manifest.get("appended", []), {"source": source, "passages": len(new)}]
    for info in grown.get("indexes", {}).values():
        info["status"] = INDEXING
        if info.get("kind") == "dense":
            info["stale"] = sorted(set(info.get("stale", [])) | stale)
    _atomic_write_json(store.dir / MANIFEST, {**manifest, "pending": grown})  # the journal
    recover(store)


def _chain(*parts: Iterable[Passage]) -> Iterable[Passage]:
    for part in parts:
        yield from part


def _adopt_uid(store: Corpus, model: str, info: dict) -> None:
    """A collection made before collections recorded their corpus's uid learns it, so that the
    grown corpus (a new fingerprint) keeps its vectors."""
    try:
        col = chroma_client(store.settings).get_collection(info["collection"])
    except Exception:  # missing: rebuilt by _index_dense
        return
    ident = identity(store, model)
    if _belongs(col.metadata, ident) and not (col.metadata or {}).get("uid"):
        col.modify(metadata=ident)
