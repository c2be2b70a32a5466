"""First start in a real browser: the demo is indexed with a progress bar, then listed as ready;
a link to a page, opened as the very first request of a new server, opens that page in the app.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from ranklens.config import get_settings
from ranklens.corpus import ingest

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser


def test_first_start_indexes_the_demo(start_app, browser_page, tmp_path):
    app = start_app()
    page = browser_page
    page.goto(app.url)
    # with bm25 alone the demo indexes in seconds, so the "indexing…" label may be gone before
    # the browser looks: wait for the end, then open the status box and read its progress bars
    done = page.get_by_text("Demo corpus ready").first
    done.wait_for(timeout=180_000)
    done.click()
    page.get_by_text(re.compile(r"bm25: ([\d,]+)/\1 passages")).first.wait_for()
    assert "passages/s" in page.inner_text("body")
    # the app opens on the start page: the demo, and the four things to try
    page.get_by_role("link", name="Score the rankers").wait_for()
    page.get_by_role("link", name="Corpus", exact=True).click()
    page.get_by_role("heading", name="Corpora").wait_for()
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    # the table is drawn on a canvas; its accessible grid cells carry the text
    cells = page.locator('[data-testid="stDataFrame"] td')
    cells.filter(has_text="python-docs").first.wait_for(state="attached")
    texts = [cells.nth(i).text_content() for i in range(cells.count())]
    assert "python-docs" in texts and "ready" in texts
    page.screenshot(path=str(tmp_path / "first-start.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/first-start.png")
    # a second visit does not index again
    page.goto(app.url)
    page.get_by_role("heading", name="RankLens").wait_for()  # the start page
    assert page.get_by_text("indexing the bundled demo corpus").count() == 0


def test_evaluate_opens_on_the_demo_faq_labels(start_app, browser_page, tmp_path):
    app = start_app()  # RANKLENS_DEMO_MODELS=bm25: seconds, not minutes
    page = browser_page
    page.goto(app.url)
    page.get_by_text("Demo corpus ready").first.wait_for(timeout=180_000)
    page.get_by_role("link", name="Evaluate").click()
    page.get_by_role("heading", name="Summary").wait_for(timeout=120_000)
    assert (
        page.get_by_role("combobox", name="Query set", exact=True).input_value()
        == "faq (175 queries)"
    )
    page.get_by_text("175 of 175 queries of faq have labels").first.wait_for()
    cells = page.locator('[data-testid="stDataFrame"]').first.locator("td")
    cells.filter(has_text="bm25").first.wait_for(state="attached")
    texts = [cells.nth(i).text_content() or "" for i in range(cells.count())]
    assert any(t.startswith("0.") for t in texts)  # real numbers, with their intervals
    page.get_by_text("Judged@10 · bm25").first.wait_for()
    page.get_by_text("Why Judged@10 is low").first.wait_for()
    assert "known-item labels" in page.inner_text("body")
    page.screenshot(path=str(tmp_path / "first-start-evaluate.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(
            path=os.environ["RANKLENS_SHOTS"] + "/first-start-evaluate.png", full_page=True
        )
    page.get_by_role("button", name="Pool these queries on the Judge page").click()
    page.get_by_role("heading", name="Judge").wait_for()
    # it opens Set up on the set it was pressed for, not on the first set ("demo")
    page.get_by_role("button", name="Build pool").wait_for()
    assert page.get_by_role("combobox", name="Query set", exact=True).input_value() == "faq"
    assert page.get_by_role("tab", name="Set up").get_attribute("aria-selected") == "true"


def test_upload_a_corpus_in_the_browser(start_app, browser_page, tmp_path, small_jsonl):
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("heading", name="Corpora").wait_for()
    page.get_by_label("Corpus name").fill("uploaded")
    page.locator('input[type="file"]').first.set_input_files(str(small_jsonl))
    page.get_by_text("small.jsonl").first.wait_for()
    page.get_by_role("button", name="Add corpus").click()
    page.get_by_text("uploaded: 5 documents, 6 passages").wait_for(timeout=120_000)
    # a bad upload shows the file, the line and what was expected
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b"}\n')
    page.goto(app.url)
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("heading", name="Corpora").wait_for()
    page.get_by_label("Corpus name").fill("broken")
    page.locator('input[type="file"]').first.set_input_files(str(bad))
    page.get_by_text("broken.jsonl").first.wait_for()
    page.get_by_role("button", name="Add corpus").click()
    page.get_by_text("broken.jsonl, line 2").wait_for()
    assert "no 'text' field" in page.inner_text("body")


def _tiny_corpus(tmp_path) -> None:
    source = write_jsonl(
        tmp_path / "tiny.jsonl",
        [{"_id": "tea", "text": "Green tea is brewed cool"}, {"_id": "py", "text": "Python lists"}],
    )
    ingest.ingest(source, "tiny", ["bm25"], get_settings({"RANKLENS_HOME": str(tmp_path / "home")}))


def _in_the_app(page, current: str) -> None:
    """No dialog over the page; every page in the sidebar's navigation, `current` marked; wide."""
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").inner_text()
    nav = page.get_by_test_id("stSidebarNav")
    for name in ("Start", "Corpus", "Search", "Judge", "Evaluate", "Learn", "Class"):
        nav.get_by_role("link", name=name, exact=True).wait_for()
    assert nav.get_by_role("link", name=current, exact=True).get_attribute("aria-current")
    assert page.get_by_test_id("stMainBlockContainer").bounding_box()["width"] > 1000


def test_a_link_to_a_page_as_the_first_request_opens_that_page(start_app, browser_page, tmp_path):
    """Until st.navigation first runs in a server, Streamlit treats pages/ as a legacy multipage
    app: the first request runs pages/search.py, which runs app.py (components/page_files). The
    page comes with the app's navigation, wide layout and the view in the link's parameters, and
    without Streamlit's "Page not found" dialog (what an address with no such file gets)."""
    _tiny_corpus(tmp_path)
    app = start_app({"RANKLENS_DEMO": "0"})  # nothing has run in this server yet
    page = browser_page
    page.goto(app.url + "/search?corpus=tiny&q=tea")
    page.get_by_role("heading", name="Search").wait_for()
    page.get_by_text("Green tea is brewed cool").first.wait_for()  # the link's corpus and query
    expect(page.get_by_role("textbox", name="Query")).to_have_value("tea")
    assert page.url == app.url + "/search?corpus=tiny&q=tea"
    _in_the_app(page, "Search")
    # a second page of the same server opens from the navigation
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Judge", exact=True).click()
    page.get_by_role("heading", name="Judge").wait_for()
    assert page.url.startswith(app.url + "/judge")


def test_a_link_to_the_judge_page_as_the_first_request(start_app, browser_page, tmp_path):
    _tiny_corpus(tmp_path)
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url + "/judge?corpus=tiny")
    page.get_by_role("heading", name="Judge").wait_for()
    expect(page.get_by_role("combobox", name="Corpus", exact=True)).to_have_value("tiny")
    assert page.url == app.url + "/judge?corpus=tiny"
    _in_the_app(page, "Judge")
