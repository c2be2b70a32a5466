"""The Evaluate page in a real browser on the demo: the summary table and a plot, then a new label.

Labels here are test data (BM25's own top 3 graded 2, 1, 0), written to the temporary store only.
"""

from __future__ import annotations

import os
import time

import pytest

from ranklens.config import DEMO_CORPUS, Settings
from ranklens.corpus import index
from ranklens.judging import JudgmentStore
from ranklens.ranking.recipes import make_ranker

pytestmark = pytest.mark.browser


def summary_cells(page) -> list[str]:
    cells = page.locator('[data-testid="stDataFrame"]').first.locator("td")
    return [cells.nth(i).text_content() or "" for i in range(cells.count())]


def test_evaluate_page_on_the_demo(start_app, browser_page, tmp_path):
    app = start_app()
    page = browser_page
    page.goto(app.url)
    page.get_by_text("Demo corpus ready").first.wait_for(timeout=120_000)
    settings = Settings(home=tmp_path / "home")
    corpus = index.open_corpus(DEMO_CORPUS, settings)
    store = JudgmentStore(settings.db_url)
    page.get_by_role("link", name="Evaluate").click()
    page.get_by_role("heading", name="Evaluate").wait_for()
    # the page opens on the FAQ set (its labels ship with the demo); this test labels "demo"
    page.get_by_role("heading", name="Summary").wait_for(timeout=120_000)
    assert (
        page.get_by_role("combobox", name="Query set", exact=True).input_value()
        == "faq (175 queries)"
    )
    page.get_by_role("combobox", name="Query set", exact=True).click()
    page.get_by_role("option", name="demo (44 queries)").click()
    if store.count_events(DEMO_CORPUS) == 0:
        page.get_by_text("No labels yet").wait_for()
        page.get_by_text("judgments import").first.wait_for()

    queries = corpus.query_sets()["demo"][:12]
    run = make_ranker("bm25", corpus).rank(queries, 3)
    for q in queries:
        for hit, grade in zip(run[q.query_id], (2, 1, 0), strict=False):
            store.add_label(
                DEMO_CORPUS, "tester", q.query_id, hit.passage_id, grade, doc_id=hit.doc_id
            )
    page.reload()  # a new session opens on faq again: pick the labelled "demo" set
    page.get_by_role("heading", name="Summary").wait_for(timeout=120_000)
    page.get_by_role("combobox", name="Query set", exact=True).click()
    page.get_by_role("option", name="demo (44 queries)").click()
    page.get_by_text("12 of 44 queries of demo have labels").first.wait_for(timeout=60_000)
    table = page.locator('[data-testid="stDataFrame"]').first
    table.locator("td").filter(has_text="bm25").first.wait_for(state="attached")
    page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
    page.get_by_text("Judged@10 · bm25").first.wait_for()
    before = summary_cells(page)
    page.screenshot(path=str(tmp_path / "evaluate.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/evaluate.png", full_page=True)

    # a new label: a passage BM25 ranked 3rd (grade 0) becomes highly relevant
    first = queries[0].query_id
    store.add_label(
        DEMO_CORPUS, "tester", first, run[first][2].passage_id, 3, doc_id=run[first][2].doc_id
    )
    t0 = time.perf_counter()
    page.get_by_role("heading", name="Evaluate").click()  # focus the app, not a widget
    page.keyboard.press("r")  # Streamlit's rerun shortcut
    deadline = time.monotonic() + 30
    while summary_cells(page) == before and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    elapsed = time.perf_counter() - t0
    assert summary_cells(page) != before, "the new label did not change the summary"
    print(f"browser: new label visible after {elapsed:.2f} s")
    assert elapsed < 3.0  # generous for a loaded CI machine; the AppTest holds it to 1 s
    store.close()
