"""Revocation reaches an open tab (team mode, a real `streamlit run` server): after the admin runs
`annotators remove frank` on the server, frank's open Judge tab cannot save another label; the
next click lands on the sign-in page, and the store holds only the label saved before."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts
from ranklens.types import Query

from ..conftest import ROOT, write_jsonl

pytestmark = pytest.mark.browser

DOCS = [
    ("tea1", "Green tea", "Green tea is brewed at about 80 degrees."),
    ("tea2", "Black tea", "Black tea is brewed with boiling water."),
    ("bread1", "Sourdough", "Sourdough bread rises with wild yeast."),
]


def test_a_removed_annotators_open_tab_cannot_save(home, start_app, browser_page):
    path = write_jsonl(
        home.home.parent / "kb.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    corpus = ingest.ingest(path, "kb", ["bm25"], home)
    corpus.add_query_set("dev", [Query("t1", "green tea"), Query("b1", "sourdough bread")])
    with JudgmentStore(home.db_url) as store:
        _, key = accounts.add(store, "frank")
    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    page = browser_page
    page.goto(app.url)
    page.get_by_label("Name", exact=True).fill("frank")
    page.get_by_label("Key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as frank").wait_for()
    page.get_by_role("link", name="Judge", exact=True).click()
    page.get_by_role("heading", name="Judge").wait_for()
    page.get_by_role("button", name="Build pool").click()
    page.get_by_text(re.compile(r"Pool 1 built: \d+ passages")).wait_for()
    page.locator(".rl-jmeta").wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
    page.get_by_role("button", name=re.compile(r"^2 · ")).first.click()
    page.get_by_text("Saved: 2 · ").first.wait_for()
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")

    # the admin removes frank on the server, with the CLI
    env = {**os.environ, "RANKLENS_HOME": str(home.home)}
    subprocess.run(
        [sys.executable, "-m", "ranklens", "annotators", "remove", "frank"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # his tab is still open on the next passage: a grade click is refused, the page signs out
    page.get_by_role("button", name=re.compile(r"^3 · ")).first.click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.get_by_text("Saved: 3 · ").count() == 0
    with JudgmentStore(home.db_url) as store:
        labels = store.current_labels("kb")
    assert [(lab.annotator, lab.grade) for lab in labels] == [("frank", 2)]


def test_a_removed_annotators_job_panel_stops_and_others_jobs_have_no_cancel(
    home, start_app, browser_page
):
    """The sidebar's job panel refreshes on its own (a fragment, which skips app.py): after the
    removal it shows the sign-in page without a click; it never offered a cancel of a job that
    another annotator started."""
    import fcntl

    from ranklens import jobs

    with JudgmentStore(home.db_url) as store:
        _, key = accounts.add(store, "frank")
    held = []
    for who in ("frank", "gina"):  # two running jobs, their "workers" alive (this test holds
        job = jobs.Job(f"job-{who}", "suggest", f"k-{who}", {}, f"Scoring for {who}")
        job.state, job.started_by = jobs.RUNNING, who  # the locks a worker would hold)
        jobs._write(home, job)
        fh = open(jobs._lock_path(home, job.id), "a")  # noqa: SIM115 - held until the end
        fcntl.flock(fh, fcntl.LOCK_EX)
        held.append(fh)
    try:
        app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
        page = browser_page
        page.goto(app.url)
        page.get_by_label("Name", exact=True).fill("frank")
        page.get_by_label("Key", exact=True).fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as frank").wait_for()
        page.get_by_text("Scoring for gina · started by gina").wait_for()
        page.get_by_text("Scoring for frank · started by frank").wait_for()
        page.get_by_role("button", name="Cancel").first.wait_for()
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
        assert page.get_by_role("button", name="Cancel").count() == 1  # his own job only
        env = {**os.environ, "RANKLENS_HOME": str(home.home)}
        subprocess.run(
            [sys.executable, "-m", "ranklens", "annotators", "remove", "frank"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        page.get_by_role("heading", name="Sign in").wait_for(timeout=30_000)  # no click
        assert page.get_by_text("Scoring for gina").count() == 0
        assert jobs.get("job-gina", home).state == jobs.RUNNING
    finally:
        for fh in held:
            fh.close()
