"""Pooled blind judging in a real browser with the keyboard alone: five passages graded (with a
skip, an undo, arrow-key navigation right after a tab was clicked, and a note on the way), then
seen in the CLI's export."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.label_widgets import grade_key
from pages.judge.judge_tab import unit_key
from ranklens.corpus import index, ingest
from ranklens.judging import JudgmentStore, PoolItem
from ranklens.types import Query

from ..conftest import ROOT, write_jsonl

pytestmark = pytest.mark.browser

DOCS = [
    (
        "tea1",
        "Green tea",
        "Green tea is brewed at about 80 degrees so the water does not scald it.",
    ),
    ("tea2", "Black tea", "Black tea is brewed with boiling water for three to five minutes."),
    ("tea3", "Oolong", "Oolong tea sits between green tea and black tea in oxidation."),
    ("tea4", "Tea bags", "Tea bags became popular in the early twentieth century."),
    ("bread1", "Sourdough", "Sourdough bread rises with wild yeast and lactic bacteria."),
    ("bread2", "Rye", "Rye bread is dense and often made with a sourdough starter."),
    ("bread3", "Flour", "Bread flour has more protein than cake flour, so bread rises higher."),
    ("moon", "The Moon", "The Moon orbits the Earth and raises the tides."),
]
META = re.compile(r"passage (\S+) · (\d+) of (\d+)")
SHOTS = Path(os.environ.get("RANKLENS_SHOTS", "/tmp/shots"))


def corpus_in(home) -> index.Corpus:
    path = write_jsonl(
        home.home.parent / "kb.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    c = ingest.ingest(path, "kb", ["bm25"], home)
    c.add_query_set(
        "dev",
        [Query("t1", "how hot should the water be for green tea"), Query("b1", "sourdough bread")],
    )
    return c


def test_judge_five_passages_by_keyboard(home, start_app, browser_page, tmp_path):
    corpus = corpus_in(home)
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    page.goto(app.url)
    page.get_by_role("link", name="Judge", exact=True).click()  # the app's navigation
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_label("Your name", exact=True).fill("kbd")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Build pool").click()  # setting up is not judging
    page.get_by_text(re.compile(r"Pool 1 built: \d+ passages")).wait_for()
    meta = page.locator(".rl-jmeta")
    meta.wait_for()
    # under load a rerun may still be drawing the previous state: read until the queue settles
    deadline = time.monotonic() + 30
    total = int(META.search(meta.inner_text()).group(3))
    while total < 7 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        total = int(META.search(meta.inner_text()).group(3))
    assert total >= 7
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "judge-start.png"))

    query = page.locator(".rl-qid")

    def current() -> tuple[str, str]:
        """(query id, passage id) of the passage on screen."""
        return query.inner_text().removeprefix("Query ").strip(), META.search(
            meta.inner_text()
        ).group(1)

    def ready() -> tuple[str, str]:
        """Wait until the run finished and the passage on screen has its own grade buttons."""
        qid, pid = current()
        doc = corpus.get_passages([pid])[pid].doc_id  # looked up, never parsed out of pid
        key = grade_key(unit_key(1, PoolItem(qid, pid, doc)), 0)
        page.locator(f".st-key-{key} button").first.wait_for()
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
        return current()

    def press(key: str) -> tuple[str, str]:
        """Press a key on a settled page; returns the passage it was pressed on."""
        here = ready()
        page.keyboard.press(key)
        return here

    def wait_done(n: int) -> None:
        page.get_by_text(
            f"Overall, your progress: {n} of {total} passages no longer wait for you"
        ).wait_for()

    def wait_not(pid: tuple[str, str]) -> tuple[str, str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                now = current()
            except Exception:  # the element is being replaced
                now = pid
            if now != pid:
                return now
            time.sleep(0.05)
        raise AssertionError(f"still on passage {pid}")

    expected: dict[tuple[str, str], int] = {}
    done = 0

    def grade(key: str) -> tuple[str, str]:
        nonlocal done
        pid = press(key)
        done += 1
        wait_done(done)
        page.get_by_text(f"Saved: {key} · ").first.wait_for()
        expected[pid] = int(key)
        return wait_not(pid)

    grade("3")
    skipped = press("s")  # skip: it comes back at the end
    wait_not(skipped)
    grade("0")
    grade("2")
    undone = ready()
    grade("1")
    press("u")  # undo: the grade is retracted and that passage comes back
    page.get_by_text("Undid the grade 1 · Related").wait_for()
    del expected[undone]
    done -= 1
    wait_done(done)
    assert current() == undone
    grade("1")
    # away to another tab and back by mouse: the tab just clicked lets go of the focus, so the
    # arrows below reach the passages (a focused tab would take them and open its neighbour)
    page.get_by_role("tab", name="Agreement").click()
    meta.wait_for(state="detached")
    page.get_by_role("tab", name="Judge", exact=True).click()
    # arrows: back to the passage just graded (its grade marked), and forward again
    here = press("ArrowLeft")
    assert wait_not(here) == undone
    page.get_by_role("button", name=re.compile("✓ 1 · Related")).first.wait_for()
    ready()
    page.screenshot(path=str(SHOTS / "judge-review.png"))
    press("ArrowRight")
    assert wait_not(undone) == here
    assert (
        page.get_by_role("tab", name="Judge", exact=True).get_attribute("aria-selected") == "true"
    )
    # a note, typed after pressing n (the box gets the focus), saved with Ctrl+Enter
    press("n")
    page.locator(".st-key-rl_judge_note_text textarea").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.tagName == 'TEXTAREA'")
    page.keyboard.type("just a side remark")  # its letters are not shortcuts while typing
    page.keyboard.press("Control+Enter")
    page.get_by_text("Saved your note").wait_for()
    assert ready() == here
    assert page.locator(".st-key-rl_judge_note_text").count() == 0  # the box closed
    page.screenshot(path=str(SHOTS / "judge-note.png"))
    grade("2")
    assert len(expected) == 5 and skipped not in expected
    page.screenshot(path=str(SHOTS / "judge-after-five.png"))
    page.screenshot(path=str(tmp_path / "judge-after-five.png"))

    out = tmp_path / "export.qrels"
    env = {**os.environ, "RANKLENS_HOME": str(home.home)}
    result = subprocess.run(
        [sys.executable, "-m", "ranklens", "judgments", "export", str(out), "--format", "trec"]
        + ["--corpus", "kb", "--level", "passage"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    got = {(q, d): int(r) for q, _, d, r in (line.split() for line in out.read_text().splitlines())}
    assert got == expected
    with JudgmentStore(home.db_url) as store:
        labels = store.current_labels("kb", annotator="kbd")
        assert {(lab.query_id, lab.passage_id): lab.grade for lab in labels} == expected
        noted = [lab for lab in labels if lab.note]
        assert [((lab.query_id, lab.passage_id), lab.note) for lab in noted] == [
            (here, "just a side remark")
        ]
