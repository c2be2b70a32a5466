"""Against real servers on 127.0.0.1: a `chroma run` server, and BEIR zips over HTTP.

Each test starts its server and stops it; nothing leaves this machine.
"""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from ranklens.config import get_settings
from ranklens.corpus import index, ingest
from ranklens.errors import InputError

from .chroma_server import ChromaServer
from .conftest import write_jsonl


@pytest.fixture
def chroma_server(tmp_path, home, monkeypatch):
    """The port of a `chroma run` server over a folder of this test's, which RANKLENS_CHROMA_HOST
    and RANKLENS_CHROMA_PORT name."""
    server = ChromaServer(tmp_path / "server")
    server.start()
    monkeypatch.setenv("RANKLENS_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RANKLENS_CHROMA_PORT", str(server.port))
    try:
        yield server.port
    finally:
        server.stop()


@pytest.mark.slow
def test_ingest_into_chroma_server(
    home, monkeypatch, chroma_server, small_jsonl, fake_encoder, tmp_path
):
    settings = get_settings()
    assert settings.uses_chroma_server
    c = ingest.ingest(small_jsonl, "remote", ["bm25", "fake-encoder"], settings)
    assert c.status == "ready"
    import chromadb

    direct = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    names = [col.name for col in direct.list_collections()]
    assert c.indexes()["fake-encoder"]["collection"] in names
    assert direct.get_collection(c.indexes()["fake-encoder"]["collection"]).count() == 6
    assert not (settings.home / "chroma").exists()  # nothing embedded locally
    index.delete_corpus("remote", settings)
    assert direct.list_collections() == []


@pytest.mark.slow
def test_grow_import_and_export_against_chroma_server(
    home, monkeypatch, chroma_server, small_jsonl, fake_encoder, tmp_path
):
    """Appending (collection metadata updated in place) and imported vectors, on a server."""
    import numpy as np

    from ranklens.corpus import embeddings

    settings = get_settings()
    c = ingest.ingest(small_jsonl, "remote", ["bm25", "fake-encoder"], settings)
    new = write_jsonl(tmp_path / "new.jsonl", [{"_id": "kite", "text": "kites fly on wind"}])
    before = fake_encoder.documents_encoded
    ingest.add_documents(new, "remote", settings)
    assert fake_encoder.documents_encoded - before == 1 and c.status == "ready"
    assert c.collection("fake-encoder").count() == c.passages == 7
    out = tmp_path / "v.npy"
    assert embeddings.export_embeddings("remote", "fake-encoder", out, settings) == 7
    c2 = ingest.ingest(small_jsonl, "remote2", ["bm25"], settings)
    ingest.add_documents(new, "remote2", settings)
    embeddings.import_embeddings("remote2", "fake-encoder", out, settings=settings)
    got = c2.collection("fake-encoder").get(ids=["kite#0"], include=["embeddings"])
    assert np.allclose(got["embeddings"][0], np.load(out)[-1], atol=1e-6)


def _tiny_beir_zip(folder: Path) -> Path:
    root = folder / "tinybeir"
    (root / "qrels").mkdir(parents=True)
    write_jsonl(
        root / "corpus.jsonl",
        [{"_id": "d1", "title": "A", "text": "alpha"}, {"_id": "d2", "text": "beta"}],
    )
    write_jsonl(root / "queries.jsonl", [{"_id": "q1", "text": "alpha?"}])
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    served = folder / "www"
    served.mkdir()
    with zipfile.ZipFile(served / "tinybeir.zip", "w") as zf:
        for f in root.rglob("*"):
            zf.write(f, f.relative_to(folder))
    return served


@pytest.fixture
def http_server(tmp_path):
    served = _tiny_beir_zip(tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_beir_dataset_by_name_downloads_once(home, monkeypatch, http_server):
    monkeypatch.setenv("RANKLENS_BEIR_URL", http_server)
    settings = get_settings()
    c = ingest.ingest("beir:tinybeir", "tb", ["bm25"], settings)
    assert c.documents == 2 and [q.query_id for q in c.query_sets()["test"]] == ["q1"]
    assert (settings.cache_dir / "beir" / "tinybeir.zip").exists()
    with pytest.raises(InputError, match="cannot download BEIR dataset 'nosuch'"):
        ingest.ingest("beir:nosuch", "nb", ["bm25"], settings)
    assert not (settings.cache_dir / "beir" / "nosuch.zip").exists()


def test_cli_beir_by_name(home, monkeypatch, http_server, capsys):
    from ranklens.cli import main

    monkeypatch.setenv("RANKLENS_BEIR_URL", http_server)
    assert (
        main(
            [
                "ingest",
                "--beir",
                "tinybeir",
                "--corpus",
                "tb2",
                "--models",
                "bm25",
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    assert '"documents": 2' in capsys.readouterr().out
