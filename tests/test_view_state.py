"""The view kept across pages and in the URL: corpus, query set, rankers and query survive a
visit to another page, and a link with ?corpus=&set=&ranker=&q= reproduces the view."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens import index
from ranklens.types import Query

from .conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def corpus(home, small_jsonl, fake_encoder, monkeypatch):
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    c = index.ingest(small_jsonl, "kept", ["bm25", fake_encoder.name], home)
    c.add_query_set("first", [Query("a1", "green tea")])
    c.add_query_set("second", [Query("b1", "moon tides"), Query("b2", "python list")])
    index.ingest(small_jsonl, "other", ["bm25"], home)
    return c


def check(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def test_search_view_survives_a_visit_to_learn_and_judge(corpus):
    at = check(AppTest.from_file(APP, default_timeout=120).run())
    check(at.switch_page("pages/2_search.py").run())
    at.selectbox(key=state.CORPUS).set_value("kept").run()
    at.multiselect(key=state.SEARCH_RANKERS).set_value(["fake-encoder"]).run()
    at.text_input(key=state.SEARCH_QUERY).set_value("moon tides").run()
    check(at)
    check(at.switch_page("pages/5_learn.py").run())
    check(at.switch_page("pages/3_judge.py").run())
    assert at.selectbox(key=state.CORPUS).value == "kept"
    at.selectbox(key=state.QUERY_SET).set_value("second").run()
    check(at.switch_page("pages/2_search.py").run())
    assert at.selectbox(key=state.CORPUS).value == "kept"
    assert at.multiselect(key=state.SEARCH_RANKERS).value == ["fake-encoder"]
    assert at.text_input(key=state.SEARCH_QUERY).value == "moon tides"
    assert at.query_params["corpus"] == ["kept"] and at.query_params["q"] == ["moon tides"]
    assert at.query_params["set"] == ["second"]
    assert at.query_params["ranker"] == ["fake-encoder"]


def test_a_link_reproduces_the_view(corpus):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["corpus"] = "kept"
    at.query_params["set"] = "second"
    at.query_params["ranker"] = ["bm25", "rrf(bm25,fake-encoder)"]
    at.query_params["q"] = "python list"
    check(at.run())
    check(at.switch_page("pages/2_search.py").run())
    assert at.selectbox(key=state.CORPUS).value == "kept"
    assert at.multiselect(key=state.SEARCH_RANKERS).value == ["bm25", "rrf(bm25,fake-encoder)"]
    assert at.text_input(key=state.SEARCH_QUERY).value == "python list"
