"""The Learn page in AppTest: steps that agree with the libraries, the lessons on the demo with
their hand-over to Search and Evaluate, the embedding map, and what-if labels."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens import models
from ranklens.config import DEMO_DIR, get_settings
from ranklens.corpus import index, ingest
from ranklens.judging import JudgmentStore
from ranklens.teaching import lessons, whatif
from ranklens.types import Query

from .conftest import ROOT, FakeEncoder

PAGE = str(ROOT / "pages" / "learn" / "page.py")
APP = str(ROOT / "app.py")
AGREE = "The steps give the reported number."


def _page(tab: str | None = None, timeout: int = 120) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=timeout)
    if tab:
        at.session_state[state.LEARN_TAB] = tab
    at.run()
    assert not at.exception, at.exception
    return at


def test_learn_page_explains_every_score(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "learn", ["bm25", "fake-encoder"], home)
    c.add_query_set("qs", [Query("q1", "python lists sort")])
    store = JudgmentStore(home.db_url)
    store.add_label("learn", "ann", "q1", "py#0", 3, doc_id="py", query_set="qs")
    store.add_label("learn", "ann", "q1", "rust#0", 1, doc_id="rust", query_set="qs")
    at = _page("Explain a number")
    at.selectbox(key=state.LEARN_QUERY).set_value("q1: python lists sort").run()
    assert not at.exception, at.exception
    agreed = [s.value for s in at.success]
    # BM25, cosine, RRF and nDCG@10 each say their steps give the reported number
    assert agreed.count(AGREE) == 4, agreed
    assert not at.warning
    # the passage is shown escaped, with the query's terms marked
    shown = " ".join(m.value for m in at.markdown)
    assert "<mark>" in shown


def test_learn_page_without_labels_says_how_to_get_them(home, small_jsonl):
    c = ingest.ingest(small_jsonl, "nolabels", ["bm25"], home)
    c.add_query_set("qs", [Query("q1", "green tea")])
    at = _page()
    assert any("has no labels yet" in i.value for i in at.info)  # the lessons need labels
    at = _page("Explain a number")
    at.text_input[0].set_value("green tea").run()
    assert not at.exception, at.exception
    assert any("No labels for this query yet" in i.value for i in at.info)
    assert any("Fusion needs two" in i.value for i in at.info)


# ------------------------------------------------------------------ on the demo


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The bundled demo indexed with bm25 and the fake encoder (its FAQ labels shipped)."""
    home = tmp_path_factory.mktemp("learn-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RANKLENS_HOME", str(home))
        for var in ("RANKLENS_CHROMA_HOST", "RANKLENS_CHROMA_PORT", "RANKLENS_DB_URL"):
            mp.delenv(var, raising=False)
        enc = FakeEncoder()
        models.register_encoder(enc)
        ingest.ingest(DEMO_DIR, "python-docs", ["bm25", enc.name], get_settings())
    return home


@pytest.fixture
def on_demo(demo_home, monkeypatch):
    monkeypatch.setenv("RANKLENS_HOME", str(demo_home))
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    for var in ("RANKLENS_CHROMA_HOST", "RANKLENS_CHROMA_PORT", "RANKLENS_DB_URL"):
        monkeypatch.delenv(var, raising=False)
    models.register_encoder(FakeEncoder())
    return demo_home


def test_every_lesson_shows_steps_that_agree_with_the_library(on_demo):
    at = _page()
    assert at.selectbox(key=state.LEARN_SET).value == "faq"  # the labelled set comes first
    lesson = at.radio(key=state.LEARN_LESSON)
    for option in lesson.options[: len(lessons.NAMES)]:  # the LLM lesson: test_page_tiny_judge
        lesson.set_value(option).run()
        assert not at.exception, (option, at.exception)
        assert [s.value for s in at.success] == [AGREE], option
        assert at.subheader[0].value.startswith(option.split(".")[0] + ".")
        lesson = at.radio(key=state.LEARN_LESSON)


def test_a_lesson_opens_the_same_view_on_search_and_on_evaluate(on_demo):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/learn/page.py").run()
    assert not at.exception, at.exception
    query_line = at.text[0].value  # "query id: query text" of lesson 1
    at.button(key="rl_learn_open_exact-terms").click().run()
    assert not at.exception, at.exception
    # the button sent its request (routing.send; app.py's follow_intent opens the page, which
    # AppTest does not follow: the browser test does): the Search page opens on the lesson
    assert "learn-lesson" in at.session_state[state.INTENTS]
    at.switch_page("pages/search/page.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key=state.SEARCH_QUERY).value == query_line.split(": ", 1)[1]
    assert at.session_state[state.SEARCH_DOC_LEVEL] is True
    # a fresh session opens Learn on lesson 6 (under app.py, AppTest passes no new radio
    # value on to a page already shown, so the lesson is set before the page first runs)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state[state.LEARN_LESSON] = f"6. {lessons.NAMES[5]}"
    at.switch_page("pages/learn/page.py").run()
    assert at.subheader[0].value.startswith("6.")
    at.button(key="rl_learn_open_incomplete-labels").click().run()
    assert not at.exception, at.exception
    at.switch_page("pages/evaluate/page.py").run()
    assert not at.exception, at.exception
    assert at.toggle(key=state.EVAL_CONDENSED).value is True
    assert at.selectbox(key=state.QUERY_SET).value == "faq"
    assert set(at.multiselect(key=state.EVAL_MEASURES).value) == {"nDCG@10", "Judged@10"}


def test_embedding_map_marks_the_query_and_its_top_k(on_demo):
    at = _page("Embedding map")
    options = at.selectbox(key=state.LEARN_QUERY).options
    faq = next(o for o in options if o.startswith("q.faq."))
    at.selectbox(key=state.LEARN_QUERY).set_value(faq).run()
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # one dense model here
    spec = charts[0].proto.spec
    assert '"name":"query"' in spec and '"name":"top 10"' in spec and '"name":"unjudged"' in spec
    assert any("passages are drawn" in c.value for c in at.caption)


def test_what_if_table_equals_the_core(on_demo):
    at = _page("What if")
    qid = at.selectbox(key=state.LEARN_WHATIF_QUERY).value
    doc = at.selectbox(key=state.LEARN_WHATIF_DOC).value  # its labelled answer comes first
    grade_radio = next(r for r in at.radio if r.key and r.key.startswith(state.LEARN_WHATIF_GRADE))
    assert grade_radio.value == "3"
    grade_radio.set_value("unjudged").run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    corpus = index.open_corpus("python-docs", get_settings())
    ctx = lessons.prepare(corpus, "faq", corpus.shipped_qrels()["faq"])
    expected = whatif.what_if(ctx.runs, ctx.qrels, qid, doc, None, ["nDCG@10", "AP", "RR", "P@10"])
    assert len(shown) == len(expected) == 12
    for a, b in zip(shown["mean after"], expected["mean after"], strict=True):
        assert math.isclose(a, b)
    assert (shown["queries after"] == len(ctx.queries) - 1).all()
