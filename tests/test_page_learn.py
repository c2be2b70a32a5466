"""The Learn page in AppTest: steps for BM25, cosine, fusion and nDCG agree with the libraries."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ranklens import index
from ranklens.judging import JudgmentStore
from ranklens.types import Query

from .conftest import ROOT

PAGE = str(ROOT / "pages" / "5_learn.py")


def test_learn_page_explains_every_score(home, small_jsonl, fake_encoder):
    c = index.ingest(small_jsonl, "learn", ["bm25", "fake-encoder"], home)
    c.add_query_set("qs", [Query("q1", "python lists sort")])
    store = JudgmentStore(home.db_url)
    store.add_label("learn", "ann", "q1", "py#0", 3, doc_id="py", query_set="qs")
    store.add_label("learn", "ann", "q1", "rust#0", 1, doc_id="rust", query_set="qs")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.selectbox[1].set_value("q1: python lists sort").run()
    assert not at.exception, at.exception
    agreed = [s.value for s in at.success]
    # BM25, cosine, RRF and nDCG@10 each say their steps give the reported number
    assert agreed.count("The steps give the reported number.") == 4, agreed
    assert not at.warning
    # the passage is shown escaped, with the query's terms marked
    shown = " ".join(m.value for m in at.markdown)
    assert "<mark>" in shown


def test_learn_page_without_labels_says_how_to_get_them(home, small_jsonl, fake_encoder):
    index.ingest(small_jsonl, "nolabels", ["bm25"], home)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_input[0].set_value("green tea").run()
    assert not at.exception, at.exception
    assert any("No labels for this query yet" in i.value for i in at.info)
    assert any("Fusion needs two" in i.value for i in at.info)
