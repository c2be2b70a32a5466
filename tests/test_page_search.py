"""The Search page in Streamlit's AppTest: columns, escaping and highlighting, rank badges,
labels, overlap, score cut-off, query-set stepping by disagreement, HNSW recall, errors."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens import index, models
from ranklens.types import Query

from .conftest import ROOT, FakeEncoder, write_jsonl

PAGE = str(ROOT / "pages" / "2_search.py")
FAKE = "fake-page-enc"
DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add sourdough starter."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("evil", "<b>Evil</b> title", "<script>alert('x')</script> bread & <img src=x onerror=1>"),
]


@pytest.fixture
def corpus(home):
    models.register_encoder(FakeEncoder(FAKE))
    path = write_jsonl(
        home.home.parent / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    c = index.ingest(path, "pagetest", ["bm25", FAKE], home)
    c.add_query_set(
        "set1",
        [Query("q1", "sourdough bread"), Query("q2", "green tea"), Query("q3", "moon tides")],
    )
    return c


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def search(at: AppTest, query: str, rankers: list[str] | None = None) -> AppTest:
    if rankers is not None:
        at.multiselect(key=state.SEARCH_RANKERS).set_value(rankers)
    at.text_input(key=state.SEARCH_QUERY).set_value(query).run()
    assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if 'class="rl-card"' in m.value]


def test_no_corpus_says_where_to_add_one(home):
    at = run_page()
    assert any("No corpus yet" in i.value for i in at.info)


def test_columns_side_by_side_escaped_and_highlighted(corpus):
    at = run_page()
    assert at.multiselect(key=state.SEARCH_RANKERS).value == ["bm25", FAKE, f"rrf(bm25,{FAKE})"]
    assert any("Type a query" in i.value for i in at.info)
    at = search(at, "bread", ["bm25", FAKE])
    assert len(at.columns) >= 2
    headers = [
        m.value for m in at.markdown if m.value.startswith("**A ·") or m.value.startswith("**B ·")
    ]
    assert headers == ["**A · bm25**", f"**B · {FAKE}**"]
    assert any(c.value.endswith("hits") and "ms" in c.value for c in at.caption)
    html = cards(at)
    assert len(html) == 2
    bm25 = html[0]
    assert re.search(r'rl-head">#\d+ · [^<]*<mark>bread</mark>', bm25)  # in a title
    assert re.search(r"<div>[^<]*<mark>bread</mark>", bm25)  # in a passage
    # corpus HTML is shown as text, never as markup
    assert "&lt;script&gt;" in bm25 and "<script>" not in bm25 and "<img" not in bm25
    assert "&lt;b&gt;Evil&lt;/b&gt;" in bm25
    # every hit of one column says where the other column put it
    assert "B: up" in bm25 or "B: down" in bm25 or "B: same" in bm25
    assert "#1 · " in bm25 and "score " in bm25


def test_rank_badges_and_overlap(corpus):
    at = search(run_page(), "sourdough bread", ["bm25", f"rrf(bm25,{FAKE})"])
    html = cards(at)
    assert "B: " in html[0] and "A: " in html[1]
    assert len(at.get("plotly_chart")) >= 2  # Jaccard and RBO heat maps (+ score histogram)


def test_score_threshold_counts_kept_hits(corpus):
    at = search(run_page(), "bread", ["bm25"])
    metric = next(m for m in at.metric if m.label == "Hits a cut-off here keeps")
    total = int(metric.value.split(" of ")[1])
    assert metric.value == f"{total} of {total}" and total >= 2
    slider = at.slider(key=f"{state.SEARCH_THRESHOLD}:bm25")
    slider.set_value(slider.max).run()
    metric = next(m for m in at.metric if m.label == "Hits a cut-off here keeps")
    assert metric.value == f"1 of {total}"


def test_bad_recipe_and_empty_results(corpus):
    at = run_page()
    at.text_input(key=state.SEARCH_CUSTOM).set_value("rrf(bm25)").run()
    assert any("at least two" in e.value for e in at.error)
    at.text_input(key=state.SEARCH_CUSTOM).set_value(f"wsum( bm25:0.3 , {FAKE}:0.7 )").run()
    assert f"wsum(bm25:0.3,{FAKE}:0.7)" in at.multiselect(key=state.SEARCH_RANKERS).value
    at = search(at, "the of and", ["bm25"])  # only stopwords: BM25 matches nothing
    assert any("No passage matches" in i.value for i in at.info)


def test_query_set_ordered_by_disagreement_and_stepping(corpus):
    at = search(run_page(), "x", ["bm25", FAKE])
    at.selectbox(key=state.QUERY_SET).set_value("set1").run()
    at.button(key="rl_search_next").click().run()  # the set's own order first
    assert at.text_input(key=state.SEARCH_QUERY).value == "green tea"
    at.selectbox(key="rl_search_order_pick").set_value("q3: moon tides").run()
    assert at.text_input(key=state.SEARCH_QUERY).value == "moon tides"
    at.button(key="rl_search_order_btn").click().run()
    assert not at.exception, at.exception
    order = at.session_state[state.SEARCH_ORDER]
    scores = [d for _, _, d in order["items"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][0][1]
    at.button(key="rl_search_next").click().run()
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][1][1]
    at.button(key="rl_search_prev").click().run()
    at.button(key="rl_search_prev").click().run()
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][2][1]
    assert cards(at)


def test_current_label_is_shown(corpus, home):
    from ranklens.judgments import JudgmentStore

    store = JudgmentStore(home.db_url)
    store.add_label("pagetest", "alice", "q2", "tea#0", grade=2)
    at = search(run_page(), "green tea", ["bm25"])
    html = cards(at)[0]
    assert "label 2 (alice)" in html
    at = search(at, "green tea brewed")  # not a query of any set: no labels to show
    assert "label 2" not in cards(at)[0]


def test_hnsw_recall_panel(corpus):
    at = search(run_page(), "tea", ["bm25", FAKE])
    assert any("ef_search = " in c.value for c in at.caption)
    at.button(key="rl_search_hnsw_go").click().run()
    assert not at.exception, at.exception
    recall = next(m for m in at.metric if m.label.startswith("Recall@"))
    assert recall.value == "1.000" and "ef_search=100" in recall.label


def test_document_level_toggle(corpus, home):
    long = {"_id": "long", "title": "Loaf", "text": "sourdough loaf crumb " * 120}
    path = write_jsonl(home.home.parent / "long.jsonl", [long])
    index.ingest(path, "longdoc", ["bm25"], home)
    at = run_page()
    at.selectbox(key=state.CORPUS).set_value("longdoc").run()
    at = search(at, "sourdough loaf", ["bm25"])
    assert len(cards(at)[0].split('class="rl-card"')) - 1 >= 2  # several passages of one doc
    at.toggle(key=state.SEARCH_DOC_LEVEL).set_value(True).run()
    assert len(cards(at)[0].split('class="rl-card"')) - 1 == 1


def test_highlight_escapes_first_then_marks_stems():
    from ranklens.highlight import highlight, query_terms

    assert query_terms("Sorting the lists") == {"sort", "list"}  # stemmed, stopwords out
    out = highlight('<a href="x">sorted</a> lists & sort_key', "sorting lists")
    assert out == (
        "&lt;a href=&quot;x&quot;&gt;<mark>sorted</mark>&lt;/a&gt; <mark>lists</mark> &amp; sort_key"
    )
    # words inside the entities escaping makes are never marked (no broken entities)
    assert highlight("a < b", "lt gt") == "a &lt; b"
    assert highlight("x &amp; y", "amp") == "x &amp;<mark>amp</mark>; y"  # the text's own word
    assert highlight("<b>bold</b>", "") == "&lt;b&gt;bold&lt;/b&gt;"
