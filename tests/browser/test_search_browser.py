"""The Search page in a real browser: type a query, see one column per ranker and marked terms;
say who you are and label a hit with the grade buttons under it; one hit per document."""

from __future__ import annotations

import os

import pytest

from components.label_widgets import grade_key
from ranklens.config import Settings
from ranklens.corpus.ingest import ingest
from ranklens.judging import JudgmentStore
from ranklens.types import Query

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser

DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and lactic acid bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add a sourdough starter for flavour."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth roughly every 27 days and causes tides."),
    ("evil", "<b>Markup</b>", '<img src=x onerror="window.pwned=1"> bread <script>x</script>'),
    ("loaf", "Loaf", "A sourdough bread loaf, proofed overnight. " * 90),  # several passages
]


def test_search_columns_and_highlight(start_app, browser_page, tmp_path):
    settings = Settings(home=tmp_path / "home")
    path = write_jsonl(
        tmp_path / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    corpus = ingest(path, "bakery", ["bm25", "all-MiniLM-L6-v2"], settings)
    corpus.add_query_set("asks", [Query("q1", "sourdough bread"), Query("q2", "tea")])
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Search").click()
    page.get_by_role("heading", name="Search").wait_for()
    box = page.get_by_role("textbox", name="Query", exact=True)
    box.fill("sourdough bread")
    box.press("Enter")
    first_mark = page.locator(".rl-card mark").first
    first_mark.wait_for(timeout=90_000)
    assert first_mark.inner_text().lower() in {"sourdough", "bread"}
    for header in ("A · bm25", "B · all-MiniLM-L6-v2", "C · rrf(bm25,all-MiniLM-L6-v2)"):
        page.get_by_role("strong").filter(has_text=header).first.wait_for()
    assert page.locator(".rl-card").count() >= 3 * 3
    # corpus HTML shows as text and never runs
    page.get_by_text('<img src=x onerror="window.pwned=1">', exact=False).first.wait_for()
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator(".rl-card img, .rl-card script, .rl-card b").count() == 0
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/search.png")
    # the query is q1 of a query set: say who you are, and every hit gets grade buttons
    name = page.get_by_role("textbox", name="Your name (to label)")
    name.fill("dana")
    name.press("Enter")
    bread = page.locator(f".st-key-{grade_key('rl_sl_A_bread#0', 2)} button").first
    bread.wait_for()
    page.wait_for_function(  # one row of buttons under every card
        """() => document.querySelectorAll('[class*="st-key-rl_sl_"][class*="_row"]').length
        === document.querySelectorAll('.rl-card').length"""
    )
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")  # run done
    bread.click()
    chosen = page.locator(f".st-key-{grade_key('rl_sl_C_bread#0', 2)} button", has_text="✓")
    chosen.first.wait_for()  # the label is current in every column (Streamlit draws a twin)
    page.get_by_text("Saved: 2 · Relevant").wait_for()
    page.locator(".rl-card .rl-label", has_text="label 2 (dana)").first.wait_for()
    (label,) = JudgmentStore(settings.db_url).current_labels("bakery")
    assert (label.annotator, label.query_id, label.passage_id, label.grade) == (
        "dana",
        "q1",
        "bread#0",
        2,
    )
    assert label.query_set == "asks"
    page.mouse.move(5, 5)  # off the button: show its colours, not the hover state
    page.screenshot(path=str(tmp_path / "search_labels.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/search_labels.png")
    # one hit per document: the long loaf's passages count once, every document is there once
    page.get_by_text("One hit per document (its best passage)").click()
    page.get_by_text("6 documents").first.wait_for(timeout=60_000)  # the dense column: all 6
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    columns = page.locator('[data-testid="stColumn"]').filter(has=page.locator(".rl-card"))
    assert columns.count() == 3
    for i in range(3):
        metas = columns.nth(i).locator(".rl-card .rl-meta").all_inner_texts()
        docs = [t.split(" · ")[1].split()[0].rsplit("#", 1)[0] for t in metas]
        assert docs and len(docs) == len(set(docs)), docs
        assert "loaf" in docs
