"""The Learn page in a real browser: the embedding map of all-MiniLM-L6-v2 with the query marked,
its top k ringed and a labelled passage coloured, and a lesson on the same corpus."""

from __future__ import annotations

import os

import pytest

from ranklens.config import Settings
from ranklens.corpus import ingest
from ranklens.corpus.trec_files import write_qrels
from ranklens.types import Qrel, Query

pytestmark = pytest.mark.browser

TEXTS = {
    "tea": "Green tea is brewed at a lower temperature than black tea to avoid bitterness.",
    "moon": "The Moon orbits the Earth roughly every 27 days and causes the tides.",
    "bread": "Sourdough bread rises with wild yeast and lactic acid bacteria.",
    "rust": "Rust guarantees memory safety through ownership and borrowing rules.",
    "py": "Python lists are mutable sequences. You can append items and sort them in place.",
    "coffee": "Espresso is made by forcing hot water through finely ground coffee beans.",
    "tide": "Ocean tides rise and fall twice a day because of the pull of the Moon.",
    "yeast": "Baker's yeast turns sugar into carbon dioxide, which makes dough rise.",
}
QUERIES = {
    "q1": "how hot should the water be for green tea",
    "q2": "why does the sea go up and down",
    "q3": "what makes bread dough get bigger",
}
LABELS = [("q1", "tea", 3), ("q1", "coffee", 0), ("q2", "tide", 3), ("q2", "moon", 2),
          ("q3", "yeast", 3), ("q3", "bread", 2)]  # fmt: skip


def _beir(folder):
    import json

    folder.mkdir()
    with open(folder / "corpus.jsonl", "w") as fh:
        for i, t in TEXTS.items():
            fh.write(json.dumps({"_id": i, "title": i.title(), "text": t}) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for i, t in QUERIES.items():
            fh.write(json.dumps({"_id": i, "text": t}) + "\n")
    (folder / "qrels").mkdir()
    write_qrels([Qrel(q, d, g) for q, d, g in LABELS], folder / "qrels" / "test.tsv", "beir")
    return folder


def test_embedding_map_marks_the_query(start_app, browser_page, tmp_path):
    settings = Settings(home=tmp_path / "home")
    corpus = ingest.ingest(_beir(tmp_path / "tiny"), "tiny", ["bm25", "all-MiniLM-L6-v2"], settings)
    assert corpus.query_sets()["test"] == [Query(q, t) for q, t in QUERIES.items()]
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url + "/learn")
    page.get_by_role("heading", name="Learn").wait_for(timeout=120_000)
    # the lessons open on the labelled set, and their steps agree with the library
    page.get_by_text("The steps give the reported number.").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Embedding map").click()
    page.get_by_text("A query of the corpus").first.wait_for()
    page.get_by_label("A query of the corpus").click()
    page.get_by_role("option", name=f"q2: {QUERIES['q2']}").click()
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.wait_for(timeout=60_000)
    legend = chart.locator(".legend")
    for name in ("query", "top 8", "unjudged", "3 Highly relevant", "2 Relevant"):
        legend.get_by_text(name, exact=True).wait_for()
    # the query is drawn as a star, the top 8 ringed and numbered 1..8
    assert chart.locator("path.point").count() >= len(TEXTS)
    numbers = chart.locator("g.textpoint text").all_text_contents()
    assert sorted(numbers, key=int) == [str(i) for i in range(1, 9)]
    page.get_by_text("all 8 passages are drawn").first.wait_for()
    page.screenshot(path=str(tmp_path / "learn-map.png"), full_page=True)
    if os.environ.get("RANKLENS_SHOTS"):
        page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/learn-map.png", full_page=True)
    # a lesson's button opens the same view on the Search page
    page.get_by_role("tab", name="Lessons").click()
    page.get_by_role("button", name="Open this on the Search page").click()
    page.get_by_role("heading", name="Search").wait_for(timeout=60_000)
    typed = page.get_by_role("textbox", name="Query").input_value()
    assert typed in QUERIES.values()
