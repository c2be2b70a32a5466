"""Pairwise preferences in a real browser by keyboard alone, right after the tab was clicked: "="
(a tie, bound by the page's own script since Streamlit shortcuts take no "="), → (the right
passage) and u (undo), read back from the judgment store; a tab reached by the keyboard keeps
the arrows."""

from __future__ import annotations

import re
import time

import pytest

from ranklens.corpus import ingest
from ranklens.evaluation import preferences_store as pref_store
from ranklens.judging import JudgmentStore, pooling
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Query

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser

DOCS = [
    (
        "tea1",
        "Green tea",
        "Green tea is brewed at about 80 degrees so the water does not scald it.",
    ),
    ("tea2", "Black tea", "Black tea is brewed with boiling water for three to five minutes."),
    ("tea3", "Oolong", "Oolong tea sits between green tea and black tea in oxidation."),
    ("bread1", "Sourdough", "Sourdough bread rises with wild yeast and lactic bacteria."),
    ("bread2", "Rye", "Rye bread is dense and often made with a sourdough starter."),
]


def wait_for(count: int, home, timeout: float = 30.0) -> list[pref_store.Preference]:
    deadline = time.monotonic() + timeout
    while True:
        with JudgmentStore(home.db_url) as store:
            found = pref_store.preferences(store, "kb")
        if len(found) == count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_preferences_by_keyboard(home, start_app, browser_page):
    path = write_jsonl(
        home.home.parent / "kb.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    corpus = ingest.ingest(path, "kb", ["bm25"], home)
    corpus.add_query_set("dev", [Query("t1", "green black oolong tea"), Query("b1", "bread")])
    with JudgmentStore(home.db_url) as store:
        pooling.make_pool(store, corpus, "dev", make_rankers(["bm25"], corpus), 3)
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Judge", exact=True).click()
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_label("Your name", exact=True).fill("kbd")
    page.keyboard.press("Enter")
    page.get_by_role("tab", name="Preferences").click()
    page.get_by_role("button", name="= Tie").wait_for()
    page.locator(".rl-jp").first.wait_for()
    # no click into the passages first: once the name is given, focus leaves the name box by
    # itself, and the tab just clicked lets go of the focus, so the arrows reach the passages
    # (a focused tab would take → and open the next tab, Review)
    page.wait_for_function("document.activeElement.getAttribute('role') !== 'tab'")

    page.keyboard.press("=")
    assert [p.choice for p in wait_for(1, home)] == ["tie"]
    page.get_by_text(re.compile(r"Saved for query .*: a tie, neither passage is better")).wait_for()
    page.keyboard.press("ArrowRight")
    saved = wait_for(2, home)
    assert [p.choice for p in saved] == ["tie", "right"]
    assert frozenset((saved[0].left, saved[0].right)) != frozenset((saved[1].left, saved[1].right))
    page.get_by_text(re.compile(r"Saved for query .*: the right passage is better")).wait_for()
    assert page.get_by_role("tab", name="Preferences").get_attribute("aria-selected") == "true"
    page.keyboard.press("u")
    assert [p.choice for p in wait_for(1, home)] == ["tie"]
    # a tab reached by the keyboard keeps the focus: there the arrows walk the tabs, as they should
    page.get_by_role("tab", name="Preferences").focus()
    page.keyboard.press("ArrowRight")
    page.get_by_text("Every judge's suggestions in one table").wait_for()
    assert page.get_by_role("tab", name="Review").get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.getAttribute('role')") == "tab"
