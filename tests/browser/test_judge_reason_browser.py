"""A reason typed without leaving the keyboard in a real browser: grade, Tab, text, Enter; the
reason is stored with that label (its note) and the label has a time."""

from __future__ import annotations

import re
import time

import pytest

from ranklens.judging import JudgmentStore, timing

from .test_judge_browser import META, corpus_in

pytestmark = pytest.mark.browser


def test_grade_tab_reason_enter(home, start_app, browser_page):
    corpus_in(home)
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Judge", exact=True).click()
    page.get_by_role("heading", name="Judge", exact=True).wait_for()
    page.get_by_label("Your name", exact=True).fill("kbd")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Build pool").click()
    page.get_by_text(re.compile(r"Pool 1 built: \d+ passages")).wait_for()
    meta = page.locator(".rl-jmeta")
    meta.wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    first = META.search(meta.inner_text()).group(1)
    page.keyboard.press("2")
    page.get_by_text("Saved: 2 · ").first.wait_for()
    box = page.locator(".st-key-rl_judge_reason input")
    box.wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    page.wait_for_function("window.__rlReasonTab === true")  # the Tab handler is in place
    page.keyboard.press("Tab")
    page.wait_for_function(
        "document.activeElement === document.querySelector('.st-key-rl_judge_reason input')"
    )
    page.keyboard.type("gives the exact temperature")
    page.keyboard.press("Enter")
    page.get_by_text("Saved the reason for your grade").wait_for()
    with JudgmentStore(home.db_url) as store:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (lab,) = store.current_labels("kb")
            if lab.note:
                break
            time.sleep(0.1)
        assert (lab.passage_id, lab.grade, lab.note) == (first, 2, "gives the exact temperature")
        assert 0 <= timing.times(store, "kb")[lab.event_id] < 120
