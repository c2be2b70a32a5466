"""Team mode in a real browser: nothing works before sign-in (deep links neither), a wrong key is
refused, annotator A cannot save a label as B, a non-admin sees no admin action."""

from __future__ import annotations

import re

import pytest

from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts
from ranklens.types import Query

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser

DOCS = [
    ("tea1", "Green tea", "Green tea is brewed at about 80 degrees."),
    ("tea2", "Black tea", "Black tea is brewed with boiling water."),
    ("bread1", "Sourdough", "Sourdough bread rises with wild yeast."),
]


def _sign_in(page, url: str, name: str, key: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in").click()


def _grade_one(page) -> None:
    """On the Judge page: build a pool (anyone may), grade the first passage 2."""
    page.get_by_role("link", name="Judge", exact=True).click()
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_role("button", name="Build pool").click()
    page.get_by_text(re.compile(r"Pool 1 built: \d+ passages")).wait_for()
    page.locator(".rl-jmeta").wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    page.get_by_role("button", name=re.compile(r"^2 · ")).first.click()
    page.get_by_text("Saved: 2 · ").first.wait_for()


def test_team_mode_sign_in_roles_and_attribution(home, start_app, browser_page):
    path = write_jsonl(
        home.home.parent / "kb.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    corpus = ingest.ingest(path, "kb", ["bm25"], home)
    corpus.add_query_set("dev", [Query("t1", "green tea"), Query("b1", "sourdough bread")])
    with JudgmentStore(home.db_url) as store:
        _, alice = accounts.add(store, "alice")
        _, bob = accounts.add(store, "bob")
    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    page = browser_page

    # nothing works before sign-in: a deep link shows the sign-in page, no page, no navigation
    page.goto(app.url + "/judge")
    page.get_by_role("heading", name="Sign in").wait_for()
    page.wait_for_timeout(500)  # Streamlit's "Page not found" dialog comes after the first paint
    assert page.get_by_text("Page not found").count() == 0
    assert page.url.endswith("/judge")  # the link's address is kept for after the sign-in
    assert page.get_by_role("heading", name="Judge").count() == 0
    assert page.get_by_role("link", name="Judge", exact=True).count() == 0
    assert page.get_by_role("button", name="Build pool").count() == 0

    # a wrong key (bob's) is refused for alice
    _sign_in(page, app.url, "alice", bob)
    page.get_by_text("Wrong name or key.").wait_for()
    assert page.get_by_role("link", name="Judge", exact=True).count() == 0

    # alice signs in through the deep link: the page it names opens; a non-admin sees no admin action
    _sign_in(page, app.url + "/judge", "alice", alice)
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_role("link", name="Corpus", exact=True).click()  # from the start page
    page.get_by_role("heading", name="Corpora").wait_for()
    page.get_by_text("Signed in as alice").wait_for()
    assert page.get_by_text("Path on this machine", exact=True).count() == 0
    page.get_by_role("tab", name="Delete").click()
    page.get_by_text("Only an admin can delete a corpus.").wait_for()
    assert page.get_by_role("button", name="Delete corpus").count() == 0

    # A cannot save as B: there is no name to type; her label is hers
    _grade_one(page)
    assert page.get_by_label("Your name", exact=True).count() == 0
    page.get_by_text("Judging as alice").wait_for()
    page.get_by_role("tab", name="Set up").click()
    page.get_by_text("Only an admin can change the scale.").wait_for()
    assert page.get_by_role("button", name="Set scale").count() == 0
    with JudgmentStore(home.db_url) as store:
        labels = store.current_labels("kb")
    assert [lab.annotator for lab in labels] == ["alice"] and labels[0].grade == 2

    # bob, in a browser context of his own, labels as bob only
    context = page.context.browser.new_context(viewport={"width": 1500, "height": 2200})
    other = context.new_page()
    other.set_default_timeout(60_000)
    _sign_in(other, app.url, "bob", bob)
    other.get_by_text("Signed in as bob").wait_for()
    other.get_by_role("link", name="Judge", exact=True).click()
    other.get_by_role("heading", name="Judge").wait_for()
    other.locator(".rl-jmeta").wait_for()
    other.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    other.get_by_role("button", name=re.compile(r"^1 · ")).first.click()
    other.get_by_text("Saved: 1 · ").first.wait_for()
    context.close()
    with JudgmentStore(home.db_url) as store:
        by = sorted((lab.annotator, lab.grade) for lab in store.current_labels("kb"))
    assert by == [("alice", 2), ("bob", 1)]
