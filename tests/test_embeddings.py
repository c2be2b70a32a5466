"""Embeddings made elsewhere: import from Parquet and .npy, checks before storing, export back."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ranklens.corpus import embeddings, ingest
from ranklens.corpus.chunking import index_text
from ranklens.errors import InputError
from ranklens.ranking.recipes import make_ranker
from ranklens.types import Query

from .conftest import write_jsonl


def _vectors(corpus, encoder):
    ps = list(corpus.iter_passages())
    return [p.passage_id for p in ps], encoder.encode_documents([index_text(p) for p in ps])


def _parquet(path, ids, vectors, id_col="id"):
    flat = pa.array(np.asarray(vectors, dtype=np.float32).reshape(-1))
    col = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    pq.write_table(pa.table({id_col: ids, "embedding": col}), path)
    return path


@pytest.fixture
def bm25_corpus(home, small_jsonl):
    return ingest.ingest(small_jsonl, "ext", ["bm25"], home)


def test_parquet_import_searches_like_embedding_here(
    home, small_jsonl, bm25_corpus, fake_encoder, tmp_path
):
    here = ingest.ingest(small_jsonl, "here", ["fake-encoder"], home)
    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    before = fake_encoder.documents_encoded
    path = _parquet(tmp_path / "v.parquet", ids[::-1], vecs[::-1])  # any row order
    c = embeddings.import_embeddings("ext", "fake-encoder", path, settings=home)
    assert fake_encoder.documents_encoded == before  # nothing embedded here
    assert c.status == "ready" and c.models() == ["bm25", "fake-encoder"]
    assert c.indexes()["fake-encoder"]["origin"] == "file v.parquet"
    q = [Query("1", "green tea temperature"), Query("2", "memory safety")]
    got = make_ranker("fake-encoder", c).rank(q, 3)
    want = make_ranker("fake-encoder", here).rank(q, 3)
    for k in "12":  # py#0 and py#1 hold the same text, zeros tie: compare scores, documents
        assert [(h.doc_id, round(h.score, 5)) for h in got[k] if h.score > 1e-6] == [
            (h.doc_id, round(h.score, 5)) for h in want[k] if h.score > 1e-6
        ]
        assert any(h.score > 1e-6 for h in got[k])


def test_npy_with_ids_and_export_round_trip(home, bm25_corpus, fake_encoder, tmp_path):
    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    np.save(tmp_path / "v.npy", vecs)
    (tmp_path / "v.ids.txt").write_text("\n".join(ids) + "\n")
    embeddings.import_embeddings("ext", "fake-encoder", tmp_path / "v.npy", settings=home)
    for name in ("out.parquet", "out.npy"):
        n = embeddings.export_embeddings("ext", "fake-encoder", tmp_path / name, home)
        assert n == len(ids)
        back_ids, back = embeddings.read_embeddings(tmp_path / name)
        assert back_ids == ids and np.allclose(back, vecs, atol=1e-6)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("doc_id").to_pylist()[:2] == ["py", "py"]


def test_document_ids_key_a_corpus_of_one_passage_per_document(home, tmp_path, fake_encoder):
    path = write_jsonl(
        tmp_path / "d.jsonl", [{"_id": f"d{i}", "text": f"text {i}"} for i in range(4)]
    )
    c = ingest.ingest(path, "onep", ["bm25"], home)
    ids, vecs = _vectors(c, fake_encoder)
    docs = [i.split("#")[0] for i in ids]
    embeddings.import_embeddings(
        "onep",
        "fake-encoder",
        _parquet(tmp_path / "d.parquet", docs, vecs, "doc_id"),
        settings=home,
    )
    got = c.collection("fake-encoder").get(ids=["d2#0"], include=["embeddings"])
    assert np.allclose(got["embeddings"][0], vecs[2])


def _nothing_stored(c):
    assert "fake-encoder" not in c.indexes()


def test_missing_and_unknown_ids_listed_nothing_stored(home, bm25_corpus, fake_encoder, tmp_path):
    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    path = _parquet(tmp_path / "bad.parquet", ids[1:] + ["nope#0"], vecs)
    with pytest.raises(InputError) as err:
        embeddings.import_embeddings("ext", "fake-encoder", path, settings=home)
    msg = str(err.value)
    assert "bad.parquet" in msg and "1 passage ids of the corpus have no vector: 'py#0'" in msg
    assert "1 ids are not passages of corpus 'ext': 'nope#0'" in msg
    _nothing_stored(bm25_corpus)
    dup = _parquet(tmp_path / "dup.parquet", ids[:-1] + [ids[0]], vecs)
    with pytest.raises(InputError, match=r"appears twice \(rows 1 and 6\)"):
        embeddings.import_embeddings("ext", "fake-encoder", dup, settings=home)
    _nothing_stored(bm25_corpus)


def test_dimension_normalisation_and_values_checked(home, bm25_corpus, fake_encoder, tmp_path):
    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    cases = [
        (vecs[:, :32], "32 dimensions; fake-encoder makes 64"),
        (vecs * 2, "not of unit length"),
        (np.where(np.arange(64) == 0, np.nan, vecs), "NaN"),
    ]
    for i, (bad, match) in enumerate(cases):
        with pytest.raises(InputError, match=match):
            embeddings.import_embeddings(
                "ext", "fake-encoder", _parquet(tmp_path / f"{i}.parquet", ids, bad), settings=home
            )
        _nothing_stored(bm25_corpus)
    c = embeddings.import_embeddings(
        "ext", "fake-encoder", tmp_path / "1.parquet", settings=home, normalise=True
    )
    got = c.collection("fake-encoder").get(ids=[ids[0]], include=["embeddings"])
    assert np.allclose(got["embeddings"][0], vecs[0], atol=1e-6)


def test_npy_without_ids_or_with_wrong_count(home, bm25_corpus, fake_encoder, tmp_path):
    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    np.save(tmp_path / "v.npy", vecs)
    with pytest.raises(InputError, match="v.ids.txt: no id list"):
        embeddings.import_embeddings("ext", "fake-encoder", tmp_path / "v.npy", settings=home)
    (tmp_path / "v.ids.txt").write_text("\n".join(ids[:3]))
    with pytest.raises(InputError, match="3 ids for 6 vectors"):
        embeddings.import_embeddings("ext", "fake-encoder", tmp_path / "v.npy", settings=home)
    with pytest.raises(InputError, match="expected a .parquet file or a .npy"):
        embeddings.import_embeddings("ext", "fake-encoder", tmp_path / "v.ids.txt", settings=home)
    _nothing_stored(bm25_corpus)


def test_cli_import_export(home, bm25_corpus, fake_encoder, tmp_path, capsys):
    from ranklens.cli import main

    ids, vecs = _vectors(bm25_corpus, fake_encoder)
    path = _parquet(tmp_path / "v.parquet", ids, vecs)
    args = ["ingest", "--corpus", "ext", "--embeddings", str(path), "--model", "fake-encoder"]
    assert main([*args, "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == ["bm25", "fake-encoder"]
    out = tmp_path / "out.npy"
    assert main(["export-embeddings", "--corpus", "ext", "--model", "fake-encoder", str(out)]) == 0
    assert np.allclose(np.load(out), vecs, atol=1e-6)
    assert main(["export-passages", "--corpus", "ext", str(tmp_path / "p.jsonl")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ids and rows[2]["text"].startswith("Rust\n")
    assert main(["ingest", "--corpus", "ext", "--embeddings", str(path)]) == 2
    assert "needs --model" in capsys.readouterr().err
