"""The start page: the app opens on it; it says what the demo holds and links the four things to
try (search, judge, evaluate, learn) and adding a corpus."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ranklens.config import DEMO_CORPUS
from ranklens.corpus import ingest
from ranklens.types import Query

from .conftest import ROOT, write_jsonl

APP = str(ROOT / "app.py")


def _open(monkeypatch) -> AppTest:
    monkeypatch.setenv("RANKLENS_DEMO", "0")  # no first-start indexing job in a unit test
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _links(at: AppTest) -> list[tuple[str, str]]:
    return [(p.proto.label, p.proto.page) for p in at.get("page_link")]


def test_the_app_opens_on_the_start_page_with_four_things_to_try(home, monkeypatch):
    at = _open(monkeypatch)
    assert [t.value for t in at.title] == ["RankLens"]
    assert _links(at) == [
        ("Compare rankers on a question", "search"),
        ("Label passages blind", "judge"),
        ("Score the rankers", "evaluate"),
        ("Take a lesson", "learn"),
        ("Add your own documents", "corpus"),
    ]
    text = " ".join(m.value for m in at.markdown)
    for name in ("**Search**", "**Judge**", "**Evaluate**", "**Learn**"):
        assert name in text
    # no link repeats a page's name: the sidebar's links stay the only ones named so
    names = ("search", "judge", "evaluate", "learn", "corpus", "corpora", "start", "class")
    assert not [label for label, _ in _links(at) if any(n in label.lower() for n in names)]
    assert any("demo corpus is not here" in i.value for i in at.info)


def test_the_start_page_describes_the_demo_and_opens_the_pages_on_it(home, monkeypatch, tmp_path):
    docs = write_jsonl(
        tmp_path / "d.jsonl",
        [{"_id": "d1", "text": "lists sort in place"}, {"_id": "d2", "text": "tuples"}],
    )
    corpus = ingest.ingest(docs, DEMO_CORPUS, ["bm25"], home)
    corpus.add_query_set("faq", [Query("q1", "how to sort a list")])
    at = _open(monkeypatch)
    text = " ".join(m.value for m in at.markdown)
    assert f"**{DEMO_CORPUS}**" in text and "2 documents in 2 passages" in text
    assert "bm25" in text
    assert any("1 Python FAQ questions (set `faq`)" in c.value for c in at.caption)
    assert at.session_state["rl_corpus"] == DEMO_CORPUS
    at.switch_page("pages/search/page.py").run()
    assert not at.exception, at.exception
    assert "Search" in [t.value for t in at.title]
