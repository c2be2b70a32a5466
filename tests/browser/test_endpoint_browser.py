"""A live search endpoint in a real browser: endpoint:NAME added by recipe on the Search page,
ranked beside bm25 and all-MiniLM-L6-v2 against a real HTTP server on 127.0.0.1 (answering in
Elasticsearch 8's shape), with the documents the corpus lacks shown in its column."""

from __future__ import annotations

import os

import pytest

from ranklens.config import Settings
from ranklens.endpoints import EndpointStore, parse_spec
from ranklens.ingest import ingest
from ranklens.types import Query

from ..conftest import write_jsonl
from ..search_engines import Engine

pytestmark = pytest.mark.browser

DOCS = [
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast."),
]


def test_endpoint_beside_bm25_and_a_dense_model(start_app, browser_page, tmp_path):
    engine = Engine().start()
    try:
        settings = Settings(home=tmp_path / "home")
        path = write_jsonl(
            tmp_path / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
        )
        corpus = ingest(path, "shop", ["bm25", "all-MiniLM-L6-v2"], settings)
        corpus.add_query_set("asks", [Query("q1", "green tea")])
        spec = parse_spec(f'preset = "elasticsearch"\nurl = "{engine.url}/docs/_search"', "t")
        EndpointStore(corpus.dir, corpus.name).add("prod", spec)
        app = start_app({"RANKLENS_DEMO": "0"})
        page = browser_page
        page.goto(app.url)
        page.get_by_role("link", name="Search").click()
        page.get_by_role("heading", name="Search").wait_for()
        page.get_by_text("Add a ranker by recipe").click()
        recipe = page.get_by_role("textbox", name="Recipe")
        recipe.fill("endpoint:prod")
        recipe.press("Enter")
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
        box = page.get_by_role("textbox", name="Query", exact=True)
        box.fill("green tea")
        box.press("Enter")
        page.locator(".rl-card mark").first.wait_for(timeout=90_000)
        for header in ("A · bm25", "B · all-MiniLM-L6-v2", "D · endpoint:prod"):
            page.get_by_role("strong").filter(has_text=header).first.wait_for()
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
        columns = page.locator('[data-testid="stColumn"]').filter(has=page.locator(".rl-card"))
        assert columns.count() == 4
        cards = columns.nth(3).locator(".rl-card").all_inner_texts()
        assert len(cards) == 3, cards  # the engine's order; ext-*: documents the corpus lacks
        for card, doc_id in zip(cards, ("tea", "ext-2", "ext-1"), strict=True):
            assert doc_id in card, cards
        assert engine.count("/docs/_search") == 1
        page.screenshot(path=str(tmp_path / "endpoint.png"), full_page=True)
        if os.environ.get("RANKLENS_SHOTS"):
            page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/search_endpoint.png")
    finally:
        engine.stop()
