"""PostgreSQL stops while the Search page is open: the page says so (no traceback), a label it
reported saved is kept, and labelling works again once the server is back."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from components.label_widgets import grade_key
from ranklens import models
from ranklens.corpus.ingest import ingest
from ranklens.judging import JudgmentStore
from ranklens.types import Query

from .conftest import ROOT, FakeEncoder, own_pg_cluster, write_jsonl

PAGE = str(ROOT / "pages" / "search" / "page.py")
FAKE = "fake-pgfault-enc"


@pytest.fixture
def pg_home(home, monkeypatch, tmp_path):
    with own_pg_cluster() as cluster:
        url = cluster.create_database()
        monkeypatch.setenv("RANKLENS_DB_URL", url)
        models.register_encoder(FakeEncoder(FAKE))
        docs = [
            {"_id": "tea", "text": "Green tea is brewed at a lower temperature."},
            {"_id": "moon", "text": "The Moon orbits the Earth and causes the tides."},
        ]
        corpus = ingest(write_jsonl(tmp_path / "d.jsonl", docs), "pgpage", ["bm25"], home)
        corpus.add_query_set("set1", [Query("q1", "green tea")])
        yield cluster, url


def _button(at: AppTest, passage_id: str, grade: int):
    return at.button(key=grade_key(f"rl_sl_A_{passage_id}", grade))


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, passage_id: str, grade: int) -> AppTest:
    _button(at, passage_id, grade).click()
    return _run(at)


def test_search_page_labels_while_postgresql_stops_and_returns(pg_home):
    cluster, url = pg_home
    at = _run(AppTest.from_file(PAGE, default_timeout=60))
    at.session_state[state.ANNOTATOR] = "alice"
    at.multiselect(key=state.SEARCH_RANKERS).set_value(["bm25"])
    at.text_input(key=state.SEARCH_QUERY).set_value("green tea")
    _run(at)
    _click(at, "tea#0", 2)
    assert any(c.value.startswith("Saved: 2") for c in at.caption)
    cluster.stop("immediate")
    _click(at, "tea#0", 3)
    shown = " ".join(e.value for e in [*at.error, *at.warning]).replace("\\", "")
    assert "not reachable" in shown and "labels saved before are kept" in shown
    assert not any(c.value.startswith("Saved: 3") for c in at.caption)
    cluster.restart()
    _run(at)
    _click(at, "tea#0", 1)
    assert any(c.value.startswith("Saved: 1") for c in at.caption)
    with JudgmentStore(url) as store:
        grades = [e.grade for e in store.history("pgpage", annotator="alice")]
    assert grades == [2, 1]  # the one reported saved is kept; the refused one is not there
