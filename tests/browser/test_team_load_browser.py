"""Load in a real browser: five annotators, each signed in in a browser context of their own,
judge 20 passages each at the same time (their clicks interleaved); all 100 labels are stored,
each under its annotator, and all 100 are in the export (one TREC file per annotator)."""

from __future__ import annotations

import re

import pytest

from ranklens.cli import main as cli_main
from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore, pooling
from ranklens.judging import annotators as accounts
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Query

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser
N_ANNOTATORS, PER_ANNOTATOR = 5, 20
WORDS = ["green", "black", "oolong", "white", "herbal", "iced"]


def test_five_contexts_judge_twenty_passages_each(home, start_app, browser_page, tmp_path):
    docs = [
        {"_id": f"d{i}", "text": f"{WORDS[i % 6]} tea number {i}: brew it at {60 + i} degrees."}
        for i in range(30)
    ]
    corpus = ingest.ingest(write_jsonl(tmp_path / "tea.jsonl", docs), "teas", ["bm25"], home)
    corpus.add_query_set("dev", [Query("q1", "green tea degrees"), Query("q2", "black tea brew")])
    names = [f"ann{i}" for i in range(N_ANNOTATORS)]
    with JudgmentStore(home.db_url) as store:
        keys = {n: accounts.add(store, n)[1] for n in names}
        bm25 = make_rankers(["bm25"], corpus)
        # every annotator judges every passage (5 per passage), so each has 20 of their own
        pool = pooling.make_pool(store, corpus, "dev", bm25, 15, annotators_per_passage=5)
    assert len(pool.items) >= PER_ANNOTATOR
    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    browser = browser_page.context.browser
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1800}) for _ in names]
    pages = []
    try:
        for name, ctx in zip(names, contexts, strict=True):
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            page.goto(app.url)
            page.get_by_label("Name", exact=True).fill(name)
            page.get_by_label("Key", exact=True).fill(keys[name])
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text(f"Signed in as {name}").wait_for()
            page.get_by_role("link", name="Judge", exact=True).click()
            page.locator(".rl-jmeta").wait_for()
            pages.append(page)
        total = len(pool.items)
        for done in range(1, PER_ANNOTATOR + 1):
            for page in pages:  # every context clicks before any waits: the runs overlap
                page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
                page.get_by_role("button", name=re.compile(rf"^{done % 4} · ")).first.click()
            mine = re.compile(
                rf"^Overall, your progress: \d+ of {total} passages no longer wait for you · "
                rf"{done} judged by you$"
            )
            for page in pages:  # "Overall" counts everyone's labels; "by you" this context's
                page.get_by_text(mine).wait_for()
    finally:
        for ctx in contexts:
            ctx.close()

    with JudgmentStore(home.db_url) as store:
        labels = store.current_labels("teas")
        events = store.history("teas")
    assert len(labels) == N_ANNOTATORS * PER_ANNOTATOR == len(events)  # none lost, none twice
    for name in names:
        mine = [lab for lab in labels if lab.annotator == name]
        assert len({(lab.query_id, lab.passage_id) for lab in mine}) == PER_ANNOTATOR
    exported = 0
    for name in names:
        out = tmp_path / f"{name}.qrels"
        argv = ["judgments", "export", str(out), "--corpus", "teas", "--level", "passage",
                "--rule", f"annotator:{name}"]  # fmt: skip
        assert cli_main(argv) == 0
        lines = out.read_text().splitlines()
        assert len(lines) == PER_ANNOTATOR
        exported += len(lines)
    assert exported == N_ANNOTATORS * PER_ANNOTATOR
