"""The Search page in a real browser with the user's own systems: an imported run file (run:NAME)
and a live endpoint (endpoint:NAME, a real HTTP server on 127.0.0.1 answering in Elasticsearch
8's shape) added by recipe beside bm25 and all-MiniLM-L6-v2; the set's query typed, the run's
hits in trec_eval's order, ids the corpus lacks as "not in the corpus" cards (with the system's
own text, shown as text, never run), the endpoint's documents of the corpus with the corpus's
text, and a one-line note where a system has nothing for a query."""

from __future__ import annotations

import os

import pytest

from ranklens.config import Settings
from ranklens.corpus import external_docs
from ranklens.corpus.ingest import ingest
from ranklens.ranking import imported_runs
from ranklens.ranking.endpoints import EndpointStore, parse_spec
from ranklens.types import Doc, Query

from ..conftest import write_jsonl
from ..search_engines import Engine

pytestmark = pytest.mark.browser

DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and lactic acid bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add a sourdough starter for flavour."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth roughly every 27 days and causes tides."),
]
RUN = "q1 Q0 rye 1 7 prod\nq1 Q0 ghost 2 5 prod\nq1 Q0 outside 3 3 prod\nq1 Q0 bread 4 3 prod\n"


@pytest.fixture
def engine():
    server = Engine().start()
    yield server
    server.stop()


def test_run_and_endpoint_beside_bm25_and_dense(start_app, browser_page, tmp_path, engine):
    settings = Settings(home=tmp_path / "home")
    path = write_jsonl(
        tmp_path / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    corpus = ingest(path, "bakery", ["bm25", "all-MiniLM-L6-v2"], settings)
    corpus.add_query_set("asks", [Query("q1", "sourdough bread"), Query("q2", "tea")])
    (tmp_path / "prod.trec").write_text(RUN)
    imported_runs.import_run(corpus, tmp_path / "prod.trec", "prod", query_set="asks")
    evil = '<img src=x onerror="window.pwned=1"> sourdough elsewhere'
    external_docs.put(corpus.dir, "run:prod", [Doc("outside", evil, "Outside")])
    spec = parse_spec(f'preset = "elasticsearch"\nurl = "{engine.url}/docs/_search"', "t")
    EndpointStore(corpus.dir, corpus.name).add("prod", spec)
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Search").click()
    page.get_by_role("heading", name="Search").wait_for()
    page.get_by_text("Add a ranker by recipe").click()
    recipe = page.get_by_role("textbox", name="Recipe")
    recipe.fill("run:prod")
    recipe.press("Enter")
    page.get_by_text("run:prod", exact=True).first.wait_for()  # its chip among the rankers
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    recipe.fill("endpoint:prod")
    recipe.press("Enter")
    page.get_by_text("endpoint:prod", exact=True).first.wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    box = page.get_by_role("textbox", name="Query", exact=True)
    box.fill("sourdough bread")
    box.press("Enter")
    for header in (
        "A · bm25",
        "B · all-MiniLM-L6-v2",
        "C · rrf(bm25,all-MiniLM-L6-v2)",
        "D · run:prod",
        "E · endpoint:prod",
    ):
        page.get_by_role("strong").filter(has_text=header).first.wait_for(timeout=90_000)
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    column = page.locator('[data-testid="stColumn"]').filter(has_text="D · run:prod").last
    column.locator(".rl-card").nth(3).wait_for()
    heads = column.locator(".rl-card .rl-head").all_inner_texts()
    # trec_eval's order: score desc, then id desc (outside > bread on the 3.0 tie)
    assert [h.split(" · ", 1)[1] for h in heads] == ["Rye bread", "ghost", "Outside", "Sourdough"]
    cards = column.locator(".rl-card")
    assert "not in the corpus" in cards.nth(1).inner_text()
    assert "not in the corpus · text from run:prod" in cards.nth(2).inner_text()
    assert "not in the corpus" not in cards.nth(0).inner_text()
    page.get_by_text('<img src=x onerror="window.pwned=1">', exact=False).first.wait_for()
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator(".rl-card img").count() == 0
    bm25 = page.locator('[data-testid="stColumn"]').filter(has_text="A · bm25").last
    assert bm25.locator(".rl-card").count() >= 2
    page.screenshot(path=str(tmp_path / "search_run.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/search_run.png")
    # a query the run has no results for: one line in its column; the endpoint answers it
    box.fill("green tea")
    box.press("Enter")
    page.get_by_text("run:prod has no results for this query").wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    ends = page.locator('[data-testid="stColumn"]').filter(has_text="E · endpoint:prod").last
    ends.locator(".rl-card").nth(2).wait_for()
    cards = ends.locator(".rl-card").all_inner_texts()
    assert len(cards) == 3, cards  # the engine's order: tea, then two documents the corpus lacks
    assert "Green tea" in cards[0] and "not in the corpus" not in cards[0]  # the corpus's text
    assert "not in the corpus · text from endpoint:prod" in cards[1] and "Matcha" in cards[1]
    assert "Oolong" in cards[2]
    assert engine.count("/docs/_search") >= 1
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/search_endpoint.png")
