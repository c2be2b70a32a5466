"""Embeddings made elsewhere: passage vectors read from Parquet or .npy into a corpus, and out again.

Everything is checked (ids, dimension, normalisation, finite values) before anything is stored; the
model still encodes queries, so it must be a registry model or a sentence-transformers folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ranklens import models as model_registry
from ranklens.config import Settings, get_settings
from ranklens.corpus.chunking import index_text
from ranklens.corpus.index import Corpus, Progress, ProgressFn, check_name
from ranklens.corpus.ingest import changing, dense_collection, finish_dense
from ranklens.errors import InputError, RankLensError

ID_COLUMNS = ("id", "passage_id", "doc_id", "_id")
VECTOR_COLUMNS = ("embedding", "vector", "embeddings", "vectors")
NORM_TOLERANCE = 1e-3
ADD_BATCH = 2000


def ids_file_for(path: Path) -> Path:
    """The id list beside a .npy file: vectors.npy -> vectors.ids.txt."""
    return path.with_name(path.stem + ".ids.txt")


def _pick(names: Sequence[str], wanted: Sequence[str], path: Path, what: str) -> str:
    for w in wanted:
        if w in names:
            return w
    raise InputError(
        path, f"no {what} column: expected one of {', '.join(wanted)}; found {', '.join(names)}"
    )


def read_embeddings(
    path: str | Path, ids_path: str | Path | None = None
) -> tuple[list[str], np.ndarray]:
    """(ids, vectors as float32 rows) from a Parquet file (an id column and a list column) or a
    .npy matrix with its id list (one id a line; by default FILE.ids.txt beside it)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(path, "no such file")
    if path.suffix == ".parquet":
        return _read_parquet(path)
    if path.suffix == ".npy":
        return _read_npy(path, Path(ids_path).expanduser() if ids_path else ids_file_for(path))
    raise InputError(path, "unknown embeddings format; expected a .parquet file or a .npy file")


def _read_parquet(path: Path) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"not a readable Parquet file ({exc})") from None
    id_col = _pick(table.column_names, ID_COLUMNS, path, "id")
    vec_col = _pick(table.column_names, VECTOR_COLUMNS, path, "vector")
    ids = table.column(id_col)
    if ids.null_count:
        raise InputError(path, f"column {id_col!r} has {ids.null_count} empty ids")
    column = table.column(vec_col).combine_chunks()
    if not (
        pa.types.is_list(column.type)
        or pa.types.is_fixed_size_list(column.type)
        or pa.types.is_large_list(column.type)
    ):
        raise InputError(path, f"column {vec_col!r} is {column.type}; expected a list of floats")
    if column.null_count:
        row = column.is_null().to_numpy(zero_copy_only=False).argmax()
        raise InputError(path, f"row {row + 1} has no vector in column {vec_col!r}")
    n = len(column)
    lengths = np.asarray(pa.compute.list_value_length(column).to_numpy(zero_copy_only=False))
    if n and (lengths != lengths[0]).any():
        row = int(np.argmax(lengths != lengths[0]))
        raise InputError(
            path, f"row {row + 1} has a vector of {lengths[row]} values; row 1 has {lengths[0]}"
        )
    dim = int(lengths[0]) if n else 0
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return [str(x) for x in ids.to_pylist()], np.asarray(flat, dtype=np.float32).reshape(n, dim)


def _read_npy(path: Path, ids_path: Path) -> tuple[list[str], np.ndarray]:
    try:
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise InputError(path, f"not a readable .npy matrix ({exc})") from None
    if vectors.ndim != 2:
        raise InputError(
            path, f"expected a 2-d matrix (passages x dimension), got shape {vectors.shape}"
        )
    if not ids_path.exists():
        raise InputError(
            ids_path, "no id list for the .npy file: expected one passage (or document) id a line"
        )
    ids = [line.rstrip("\r\n") for line in ids_path.read_text(encoding="utf-8").splitlines()]
    for number, i in enumerate(ids, 1):
        if not i.strip():
            raise InputError(ids_path, "empty id; expected one id a line", number)
    if len(ids) != len(vectors):
        raise InputError(
            ids_path,
            f"{len(ids)} ids for {len(vectors)} vectors in {path.name}; expected one a row",
        )
    return ids, np.asarray(vectors, dtype=np.float32)


def _listing(label: str, items: Sequence[str], total: int) -> str:
    shown = ", ".join(repr(i) for i in items[:10])
    more = f" and {total - 10} more" if total > 10 else ""
    return f"{total} {label}: {shown}{more}"


def _passage_order(store: Corpus, ids: list[str], path: Path) -> np.ndarray:
    """For each corpus passage (in corpus order), the row of the file that holds its vector."""
    seen: dict[str, int] = {}
    for row, i in enumerate(ids):
        if i in seen:
            raise InputError(path, f"id {i!r} appears twice (rows {seen[i] + 1} and {row + 1})")
        seen[i] = row
    keys = store.passage_keys()
    by_passage = [seen.get(pid) for pid, _, _ in keys]
    keyed, col = "passage", 0
    if any(r is None for r in by_passage) and store.documents == store.passages:
        by_doc = [seen.get(doc) for _, doc, _ in keys]  # one passage a document: doc ids
        if sum(r is not None for r in by_doc) > sum(r is not None for r in by_passage):
            by_passage, keyed, col = by_doc, "document", 1
    known = {k[col] for k in keys}
    missing = [k[col] for k, r in zip(keys, by_passage, strict=True) if r is None]
    unknown = [i for i in ids if i not in known]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(
                _listing(f"{keyed} ids of the corpus have no vector", missing, len(missing))
            )
        if unknown:
            parts.append(
                _listing(f"ids are not {keyed}s of corpus {store.name!r}", unknown, len(unknown))
            )
        raise InputError(
            path,
            "; ".join(parts) + f". Expected one vector per {keyed} of the corpus (passage ids are "
            "doc_id#n: python -m ranklens export-passages lists them)",
        )
    return np.asarray(by_passage, dtype=np.int64)


def check_vectors(
    vectors: np.ndarray, dim: int, model: str, path: Path, normalise: bool
) -> np.ndarray:
    """The vectors, checked: model's dimension, finite, unit length (or normalised on request)."""
    if vectors.shape[1] != dim:
        raise InputError(
            path,
            f"vectors have {vectors.shape[1]} dimensions; {model} makes {dim}-dimensional ones",
        )
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise InputError(path, f"row {int(np.argmax(bad)) + 1} holds NaN or infinite values")
    norms = np.linalg.norm(vectors, axis=1)
    if (norms == 0).any():
        raise InputError(path, f"row {int(np.argmax(norms == 0)) + 1} is a zero vector")
    off = np.abs(norms - 1) > NORM_TOLERANCE
    if off.any():
        if not normalise:
            row = int(np.argmax(off))
            raise InputError(
                path,
                f"{int(off.sum())} vectors are not of unit length (row {row + 1}: norm "
                f"{norms[row]:.4f}); cosine search needs normalised vectors: normalise them "
                "(sentence-transformers: normalize_embeddings=True) or pass --normalise",
            )
        vectors = vectors / norms[:, None]
    return vectors.astype(np.float32, copy=False)


def import_embeddings(
    corpus: str,
    model: str,
    path: str | Path,
    ids_path: str | Path | None = None,
    settings: Settings | None = None,
    normalise: bool = False,
    progress: ProgressFn | None = None,
) -> Corpus:
    """Store vectors made elsewhere as the corpus's index for `model` (replacing one it has).

    Keyed by passage id, or by document id when the corpus has one passage per document. Ids
    missing from the file or unknown to the corpus, a wrong dimension, vectors that are not unit
    length: an InputError listing them, and nothing stored. Interrupted, run it again.
    """
    settings = settings or get_settings()
    path = Path(path).expanduser()
    with changing(corpus, settings) as store:
        encoder = model_registry.load_encoder(model)  # queries need it; and its dimension
        ids, vectors = read_embeddings(path, ids_path)
        order = _passage_order(store, ids, path)
        vectors = check_vectors(np.asarray(vectors), encoder.dim, model, path, normalise)
        collection = dense_collection(store, model, encoder.dim, fresh=True)
        store._update_manifest(
            lambda d: d["indexes"][model].update({"origin": f"file {path.name}"})
        )
        keys = store.passage_keys()
        total = len(keys)
        if progress:
            progress(Progress(model, 0, total, 0.0))
        start = time.monotonic()
        for i in range(0, total, ADD_BATCH):
            chunk = keys[i : i + ADD_BATCH]
            collection.add(
                ids=[pid for pid, _, _ in chunk],
                embeddings=vectors[order[i : i + ADD_BATCH]],
                metadatas=[{"doc_id": doc, "position": pos} for _, doc, pos in chunk],
            )
            if progress:
                progress(Progress(model, i + len(chunk), total, time.monotonic() - start))
        finish_dense(store, model, collection)
        return store


def _stored_vectors(store: Corpus, model: str) -> Iterator[tuple[list, np.ndarray]]:
    """(passages, vectors) in corpus order, a page at a time."""
    collection = store.collection(model)
    keys = store.passage_keys()
    for i in range(0, len(keys), ADD_BATCH):
        chunk = keys[i : i + ADD_BATCH]
        got = collection.get(ids=[pid for pid, _, _ in chunk], include=["embeddings"])
        row = {pid: n for n, pid in enumerate(got["ids"])}
        if len(row) != len(chunk):
            raise RankLensError(
                f"the {model} index of corpus {store.name!r} lacks vectors; rebuild it with: "
                f"python -m ranklens ingest --corpus {store.name} --models {model}"
            )
        emb = np.asarray(got["embeddings"], dtype=np.float32)
        yield chunk, emb[[row[pid] for pid, _, _ in chunk]]


def export_embeddings(
    corpus: str, model: str, path: str | Path, settings: Settings | None = None
) -> int:
    """Write the corpus's vectors for `model` to Parquet (id, doc_id, embedding) or to .npy with
    its id list beside it (FILE.ids.txt); returns the number of vectors."""
    store = Corpus(check_name(corpus), settings or get_settings())
    path = Path(path).expanduser()
    if path.suffix not in (".parquet", ".npy"):
        raise InputError(path, "unknown embeddings format; expected a .parquet or .npy file name")
    dim = int(store.indexes().get(model, {}).get("dim") or 0)
    store.collection(model)  # NotFoundError for a model the corpus lacks
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema(
            [
                ("id", pa.string()),
                ("doc_id", pa.string()),
                ("embedding", pa.list_(pa.float32(), dim)),
            ]
        )
        with pq.ParquetWriter(tmp, schema) as writer:
            for chunk, emb in _stored_vectors(store, model):
                flat = pa.array(emb.reshape(-1), type=pa.float32())
                writer.write_table(
                    pa.table(
                        {
                            "id": [pid for pid, _, _ in chunk],
                            "doc_id": [doc for _, doc, _ in chunk],
                            "embedding": pa.FixedSizeListArray.from_arrays(flat, dim),
                        },
                        schema=schema,
                    )
                )
                n += len(chunk)
    else:
        out = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.float32, shape=(store.passages, dim)
        )
        ids_tmp = ids_file_for(path).with_name("." + ids_file_for(path).name + ".tmp")
        with open(ids_tmp, "w", encoding="utf-8") as fh:
            for chunk, emb in _stored_vectors(store, model):
                out[n : n + len(chunk)] = emb
                fh.write("".join(pid + "\n" for pid, _, _ in chunk))
                n += len(chunk)
        out.flush()
        del out
        ids_tmp.replace(ids_file_for(path))
    tmp.replace(path)
    return n


def export_passages(corpus: str, path: str | Path, settings: Settings | None = None) -> int:
    """Write the corpus's passages as JSONL (id, doc_id, text as the models see it), the input
    for embedding a corpus elsewhere; returns the number of passages."""
    store = Corpus(check_name(corpus), settings or get_settings())
    path = Path(path).expanduser()
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for p in store.iter_passages():
            fh.write(
                json.dumps({"id": p.passage_id, "doc_id": p.doc_id, "text": index_text(p)}) + "\n"
            )
            n += 1
    tmp.replace(path)
    return n
