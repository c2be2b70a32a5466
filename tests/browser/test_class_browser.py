"""A class in a real browser: six students join with the code in six browser contexts and judge
ten pairs each by keyboard; the teacher's board shows all sixty labels and the kappa that the
export gives; nobody sees another's labels before the reveal; a wrong or closed code is refused."""

from __future__ import annotations

import json
import re

import pytest

from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts
from ranklens.judging.classes import ClassLabel, ClassStore
from ranklens.teaching import class_stats
from ranklens.teaching.classroom import start_class
from ranklens.types import Query

from ..conftest import write_jsonl

pytestmark = pytest.mark.browser

TOPICS = ["green tea", "black tea", "sourdough bread", "rye bread", "herbal tea"]
STUDENTS = ["ana", "ben", "caro", "dev", "eli", "fay"]


def _docs() -> list[dict]:
    return [
        {
            "_id": f"d{i}",
            "title": f"Note {i}",
            "text": f"{TOPICS[i % 5]} and {TOPICS[(i + 2) % 5]}"
            f" notes number {i}: brewing, baking and tasting.",
        }
        for i in range(24)
    ]


def _join(page, url: str, name: str, code: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Join a class").click()
    page.get_by_role("heading", name="Join a class").wait_for()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Class code").fill(code)
    page.get_by_role("button", name="Join").click()


def test_a_class_of_six_judges_and_the_board_agrees_with_the_export(
    home, start_app, browser_page, tmp_path
):
    path = write_jsonl(home.home.parent / "kb.jsonl", _docs())
    corpus = ingest.ingest(path, "kb", ["bm25"], home)
    corpus.add_query_set("dev", [Query(f"t{i}", t) for i, t in enumerate(TOPICS)])
    with JudgmentStore(home.db_url) as store:
        _, teacher_key = accounts.add(store, "teacher", admin=True)
        info = start_class(store, corpus, "dev", 10, seed=3, rankers=["bm25"], depth=10)
    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    browser = browser_page.context.browser

    # a wrong code is refused
    page = browser.new_page()
    page.set_default_timeout(60_000)
    _join(page, app.url, "ana", "ZZZZZZ")
    page.get_by_text("no open class has this code").wait_for()
    page.close()

    for n, name in enumerate(STUDENTS):
        context = browser.new_context(viewport={"width": 1200, "height": 1600})
        page = context.new_page()
        page.set_default_timeout(60_000)
        _join(page, app.url, name, info.code.lower())
        page.get_by_text("0 of 10 pairs graded").wait_for()
        # only the class: no other page of the app is offered
        assert page.get_by_role("link", name="Search", exact=True).count() == 0
        for i in range(10):
            page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
            if i == 0:
                page.get_by_label("Reason (optional)").fill(f"{name} thinks so")
                page.get_by_role("button", name=re.compile(r"^2 · ")).click()
            else:
                page.keyboard.press(str((n + i) % 4))
            page.get_by_text(f"{i + 1} of 10 pairs graded").wait_for()
        page.get_by_text("You have graded every pair").wait_for()
        # before the reveal nobody sees the others' labels
        body = page.inner_text("body")
        assert "The class's grades" not in body
        assert not any(other in body for other in STUDENTS if other != name)
        context.close()

    with JudgmentStore(home.db_url) as store:
        classes = ClassStore(store)
        out = tmp_path / "class.jsonl"
        assert classes.export_jsonl(info.id, out) == 60
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted({r["student"] for r in rows}) == STUDENTS
    assert sum(1 for r in rows if r["reason"]) == 6
    labels = [
        ClassLabel(
            r["student"],
            r["pair"],
            r["grade"],
            r["reason"],
            r["seconds"],
            r["created_at"],
        )
        for r in rows
    ]
    kappa = class_stats.fleiss(info, labels, info.seed).value

    # the teacher's board: every label, and the kappa of the export
    page = browser_page
    page.goto(app.url)
    page.get_by_label("Name", exact=True).fill("teacher")
    page.get_by_label("Key", exact=True).fill(teacher_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Class", exact=True).click()
    page.get_by_role("heading", name="Class").wait_for()
    page.get_by_text(f"Join code: {info.code}").wait_for()
    page.get_by_text("Fleiss' kappa").first.wait_for()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Fleiss' kappa")
    assert metric.locator('[data-testid="stMetricValue"]').inner_text() == f"{kappa:.2f}"
    page.get_by_text("6 students").first.wait_for()
    page.screenshot(path=str(tmp_path / "board.png"), full_page=True)

    # closed: the code is refused
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_text("State: closed").wait_for()
    late = browser.new_page()
    late.set_default_timeout(60_000)
    _join(late, app.url, "gus", info.code)
    late.get_by_text("no open class has this code").wait_for()
