"""Faults in team mode's vector store: the `chroma run` server stops mid-session and returns.

The core says so (VectorStoreUnavailable) while BM25 keeps working; the Search page shows it
as an error, and both recover when the server is back on the same port and folder.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens import models
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.corpus.ingest import ingest
from ranklens.errors import VectorStoreUnavailable
from ranklens.ranking.recipes import make_ranker, make_rankers
from ranklens.types import Query

from .chroma_server import ChromaServer
from .conftest import ROOT, FakeEncoder, write_jsonl

FAKE = "fake-fault-enc"
PAGE = str(ROOT / "pages" / "search" / "page.py")


@pytest.fixture
def server(tmp_path, home, monkeypatch):
    srv = ChromaServer(tmp_path / "chroma-server")
    srv.start()
    monkeypatch.setenv("RANKLENS_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RANKLENS_CHROMA_PORT", str(srv.port))
    index._clients.clear()  # no client of another test's server
    try:
        yield srv
    finally:
        srv.stop()
        index._clients.clear()


@pytest.fixture
def remote_corpus(server, tmp_path):
    models.register_encoder(FakeEncoder(FAKE))
    docs = [
        {"_id": "tea", "text": "Green tea is brewed at a lower temperature."},
        {"_id": "moon", "text": "The Moon orbits the Earth and causes the tides."},
        {"_id": "bread", "text": "Sourdough bread rises with wild yeast."},
    ]
    return ingest(write_jsonl(tmp_path / "d.jsonl", docs), "remote", ["bm25", FAKE], get_settings())


@pytest.mark.slow
def test_search_says_the_server_is_gone_keeps_bm25_and_recovers(server, remote_corpus):
    queries = [Query("q1", "green tea"), Query("q2", "moon tides")]
    dense, bm25 = make_rankers([FAKE, "bm25"], remote_corpus)
    before = dense.rank(queries, 3)
    server.stop()
    with pytest.raises(VectorStoreUnavailable) as info:
        dense.rank(queries, 3)
    message = str(info.value)
    assert f"127.0.0.1:{server.port}" in message and "BM25 still works" in message
    assert bm25.rank(queries, 3)["q1"][0].doc_id == "tea"  # lexical search goes on
    with pytest.raises(VectorStoreUnavailable):  # a fresh handle says so too
        index._clients.clear()
        make_ranker(FAKE, index.open_corpus("remote", get_settings())).rank(queries, 3)
    server.start()  # same folder, same port
    assert dense.rank(queries, 3) == before  # the same ranker object works again
    again = make_ranker(FAKE, index.open_corpus("remote", get_settings()))
    assert again.rank(queries, 3) == before


@pytest.mark.slow
def test_search_page_shows_the_outage_and_recovers(server, remote_corpus):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.multiselect(key=state.SEARCH_RANKERS).set_value([FAKE])
    at.text_input(key=state.SEARCH_QUERY).set_value("green tea").run()
    assert not at.exception and not at.error
    server.stop()
    at.text_input(key=state.SEARCH_QUERY).set_value("moon tides").run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Chroma server" in errors and "not reachable" in errors
    server.start()
    at.text_input(key=state.SEARCH_QUERY).set_value("sourdough bread").run()
    assert not at.exception and not at.error
    assert any("bread" in m.value for m in at.markdown if 'class="rl-card"' in m.value)
