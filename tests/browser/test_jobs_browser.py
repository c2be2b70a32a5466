"""Jobs in a real browser: the first start's demo indexing goes on while the user is on another
page, and after the app itself was killed mid-job; it ends with no passage missing or duplicated.

The demo is indexed with bm25 alone (RANKLENS_DEMO_MODELS=bm25, as conftest sets), which takes
seconds; to be sure the navigation happens mid-job the test pauses the worker (SIGSTOP) until it
has looked at the other page, then lets it go on (SIGCONT): a slow machine, made on purpose.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from ranklens import jobs
from ranklens.config import DEMO_CORPUS, DEMO_DIR, get_settings
from ranklens.corpus import index, ingest

pytestmark = pytest.mark.browser

TITLE = f"First start: indexing the demo {DEMO_CORPUS} with bm25"


def settings_of(tmp_path):
    return get_settings({"RANKLENS_HOME": str(tmp_path / "home"), "RANKLENS_DEMO_MODELS": "bm25"})


def running_worker(settings, timeout=60.0) -> jobs.Job:
    """The demo job once its worker has recorded that it runs (with its pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.find(jobs.index_key(DEMO_CORPUS), settings)
        if job is not None and job.state == jobs.RUNNING and job.pid:
            return job
        time.sleep(0.01)
    raise AssertionError("the demo job's worker did not start")


def assert_demo_exact(settings, tmp_path):
    """The demo's passages are those a plain ingest of data/demo gives: none missing, none twice."""
    corpus = index.open_corpus(DEMO_CORPUS, settings)
    reference = ingest.ingest(
        DEMO_DIR, "reference", ["bm25"], get_settings({"RANKLENS_HOME": str(tmp_path / "ref")})
    )
    keys = corpus.passage_keys()
    assert len(keys) == len(set(keys)) == corpus.passages
    assert keys == reference.passage_keys()
    assert corpus.status == "ready"
    assert corpus.indexes()["bm25"]["count"] == corpus.passages
    return corpus


def wait_ready(page):
    done = page.get_by_text("Demo corpus ready").first
    done.wait_for(timeout=180_000)
    done.click()
    page.get_by_text(re.compile(r"bm25: ([\d,]+)/\1 passages")).first.wait_for()


def test_demo_indexing_goes_on_while_on_another_page(start_app, browser_page, tmp_path):
    settings = settings_of(tmp_path)
    app = start_app()
    page = browser_page
    page.goto(app.url)
    page.get_by_text("First start: indexing the bundled demo corpus").first.wait_for()
    job = running_worker(settings)
    os.kill(job.pid, signal.SIGSTOP)  # hold it mid-job while the user goes elsewhere
    try:
        page.get_by_role("link", name="Search", exact=True).click()
        page.get_by_role("heading", name="Search").first.wait_for()
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text(TITLE).wait_for()  # the panel shows it on this page too
        assert sidebar.get_by_role("button", name="Cancel").count() == 1
        if os.environ.get("RANKLENS_SHOTS"):
            page.screenshot(path=os.environ["RANKLENS_SHOTS"] + "/job-panel.png")
        time.sleep(2 * 1.5)  # a few refreshes of the panel: nothing stops or restarts it
        assert jobs.get(job.id, settings).state == jobs.RUNNING
        page.get_by_role("link", name="Corpus", exact=True).click()
        page.get_by_role("heading", name="Corpora").wait_for()
        page.get_by_text("First start: indexing the bundled demo corpus").first.wait_for()
        page.reload()  # a reload neither stops it nor starts a second one
        page.get_by_text("First start: indexing the bundled demo corpus").first.wait_for()
        assert [j.id for j in jobs.list_jobs(settings)] == [job.id]
    finally:
        os.kill(job.pid, signal.SIGCONT)
    wait_ready(page)
    ended = jobs.get(job.id, settings)
    assert ended.state == jobs.DONE and ended.attempts == 1
    assert [j.id for j in jobs.list_jobs(settings)] == [job.id]
    assert_demo_exact(settings, tmp_path)
    cells = page.locator('[data-testid="stDataFrame"] td')
    cells.filter(has_text="python-docs").first.wait_for(state="attached")
    texts = [cells.nth(i).text_content() for i in range(cells.count())]
    assert "python-docs" in texts and "ready" in texts
    page.screenshot(path=str(tmp_path / "jobs-after.png"), full_page=True)


def test_app_killed_mid_job_resumes_on_the_next_start(start_app, browser_page, tmp_path):
    settings = settings_of(tmp_path)
    first = start_app()
    page = browser_page
    page.goto(first.url)
    page.get_by_text("First start: indexing the bundled demo corpus").first.wait_for()
    job = running_worker(settings)
    os.kill(job.pid, signal.SIGSTOP)
    first.proc.kill()  # the app dies, and its worker with it, mid-job
    os.killpg(job.pid, signal.SIGKILL)
    first.proc.wait()
    deadline = time.monotonic() + 30
    while jobs.worker_alive(settings, job.id):
        assert time.monotonic() < deadline, "the killed worker still holds its lock"
        time.sleep(0.05)
    assert jobs.get(job.id, settings).state == jobs.RUNNING  # unfinished, nobody running it
    second = start_app()  # the next start finds it and runs it again
    page.goto(second.url)
    wait_ready(page)
    ended = jobs.get(job.id, settings)
    assert ended.state == jobs.DONE and ended.attempts == 2
    assert [j.id for j in jobs.list_jobs(settings)] == [job.id]
    assert_demo_exact(settings, tmp_path)
