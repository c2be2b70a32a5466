"""Jobs in the app (AppTest): the Corpus page starts ingestion as a job, a second session joins it,
Cancel stops it, Add models finishes it; the sidebar panel shows running jobs on every page."""

from __future__ import annotations

import os
import signal

import pytest
from streamlit.testing.v1 import AppTest

from ranklens import jobs
from ranklens.corpus import index

from .conftest import ROOT
from .test_jobs import MODEL, assert_exactly_indexed, embedded, suggestion_pool, wait_for

PAGE = str(ROOT / "pages" / "corpus" / "page.py")
APP = str(ROOT / "app.py")


@pytest.fixture
def corpus_file(tmp_path):
    from .test_jobs import write_jsonl

    records = [{"_id": f"d{i}", "text": f"page document {i} on theme {i % 5}"} for i in range(240)]
    return write_jsonl(tmp_path / "many.jsonl", records)


@pytest.fixture
def big_file(tmp_path):
    """Enough passages that a job is surely still running when the test cancels it."""
    from .test_jobs import write_jsonl

    records = [{"_id": f"b{i}", "text": f"big document {i} on theme {i % 9}"} for i in range(3000)]
    return write_jsonl(tmp_path / "big.jsonl", records)


def submit_new_corpus(name: str, path: str, chosen: list[str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.radio[0].set_value("Path on this machine").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Corpus name"].set_value(name)
    inputs["File or folder"].set_value(path)
    at.multiselect[0].set_value(chosen)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_corpus_page_starts_a_job_a_second_session_joins_it_cancel_and_finish(home, corpus_file):
    at = submit_new_corpus("paged", str(corpus_file), ["bm25", MODEL])
    [job] = jobs.list_jobs(home)
    assert job.key == "index:paged" and job.args["models"] == ["bm25", MODEL]
    assert at.session_state["rl_corpus_new_job"] == job.id
    # the script run has ended; the job goes on in its worker
    wait_for(lambda: embedded(job.id, home) >= 16, what="a few batches embedded")
    pid = jobs.get(job.id, home).pid
    os.kill(pid, signal.SIGSTOP)  # held mid-job while the second tab and the Cancel come in
    try:
        other = submit_new_corpus("paged", str(corpus_file), ["bm25", MODEL])  # a second tab
        assert other.session_state["rl_corpus_new_job"] == job.id
        assert [j.id for j in jobs.list_jobs(home)] == [job.id]
        at.run()
        cancel = [b for b in at.button if b.label == "Cancel"]
        assert cancel, [b.label for b in at.button]
        cancel[0].click().run()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert jobs.wait(job.id, home, timeout=120).state == jobs.CANCELLED
    at.run()
    assert any("Cancelled" in w.value for w in at.warning)
    assert index.open_corpus("paged", home).status == "indexing"
    # Add models finishes what the cancelled job left (only the missing passages)
    form = next(s for s in at.selectbox if s.label == "Corpus")
    form.set_value("paged")
    next(b for b in at.button if b.label == "Index").click().run()
    finishing = at.session_state["rl_corpus_models_job"]
    assert jobs.wait(finishing, home, timeout=300).state == jobs.DONE
    at.run()
    assert any("paged: 240 documents, 240 passages" in s.value for s in at.success)
    assert_exactly_indexed(home, "paged")


def test_sidebar_panel_shows_running_jobs_on_every_page(home, big_file, monkeypatch):
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    job = jobs.ingest_job("side", ["bm25", MODEL], big_file, settings=home)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.sidebar.caption]
    assert any("Indexing side with bm25" in c for c in captions), captions
    assert [b.label for b in at.sidebar.button] == ["Cancel"]
    at.sidebar.button[0].click().run()
    assert jobs.wait(job.id, home, timeout=120).state == jobs.CANCELLED
    at.run()
    assert any("Cancelled" in w.value for w in at.sidebar.warning)
    assert [b.label for b in at.sidebar.button] == ["Dismiss"]
    at.sidebar.button[0].click().run()
    assert not at.sidebar.button  # dismissed: the panel is empty again


def test_panel_says_how_a_suggestions_job_ended(home, small_jsonl, monkeypatch):
    from ranklens.judging import pooling

    monkeypatch.setenv("RANKLENS_DEMO", "0")
    _, pool = suggestion_pool(home, small_jsonl, 2)
    model = pooling.default_suggestion_model()
    job = jobs.suggestions_job("sugg", pool.id, model, [-3.0, 1.0, 5.0], settings=home)
    running = wait_for(
        lambda: (j := jobs.get(job.id, home)).state == jobs.RUNNING and j.pid and j,
        what="the worker to start",
    )
    os.kill(running.pid, signal.SIGSTOP)  # held while the page looks, so it is seen running
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert any("Suggestions by" in c.value for c in at.sidebar.caption)
    finally:
        os.kill(running.pid, signal.SIGCONT)
    assert jobs.wait(job.id, home, timeout=300).state == jobs.DONE
    at.run()
    [done] = [s.value for s in at.sidebar.success]
    assert done.startswith(f"Stored {len(pool.items)} suggestions (")
