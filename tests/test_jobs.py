"""Jobs (ranklens.jobs): a worker process per job, one per key, cancel between batches, and a
worker killed with SIGKILL resumed by the next start with no passage missing or duplicated."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from ranklens import jobs
from ranklens.corpus import index, ingest
from ranklens.corpus.ingest import existing_ids

from .conftest import FAST_MODEL, write_jsonl

MODEL = FAST_MODEL  # a real model: workers are processes of their own


@pytest.fixture
def corpus_file(tmp_path):
    """240 one-passage documents: enough batches (of 8) to stop a worker in the middle."""
    records = [
        {"_id": f"d{i}", "text": f"document {i} about topic {i % 7} with words w{i} and x{i % 13}"}
        for i in range(240)
    ]
    return write_jsonl(tmp_path / "many.jsonl", records)


def wait_for(predicate, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def embedded(job_id, home, model=MODEL) -> int:
    stage = jobs.get(job_id, home).stages.get(model)
    return int(stage["done"]) if stage else 0


def assert_exactly_indexed(home, name, model=MODEL):
    corpus = index.open_corpus(name, home)
    ids = corpus.passage_ids()
    assert len(ids) == len(set(ids)) == corpus.passages
    collection = corpus.collection(model)
    assert collection.count() == corpus.passages  # nothing duplicated
    assert existing_ids(collection) == set(ids)  # nothing missing
    assert corpus.status == "ready"
    return corpus


def test_ingest_job_runs_in_its_own_process_and_records_progress(home, small_jsonl):
    job = jobs.ingest_job("small", ["bm25"], small_jsonl, settings=home)
    assert job.pid and job.pid != os.getpid()
    done = jobs.wait(job.id, home, timeout=120)
    assert done.state == jobs.DONE, done.error
    assert done.result["passages"] == 6 and done.result["documents"] == 5
    assert done.stages["bm25"]["done"] == done.stages["bm25"]["total"] == 6
    assert not jobs.worker_alive(home, job.id)
    assert index.open_corpus("small", home).status == "ready"
    # the record on disk is plain JSON, written whole
    data = json.loads((home.home / "jobs" / f"{job.id}.json").read_text())
    assert data["state"] == "done" and data["key"] == "index:small"


def test_a_second_start_returns_the_running_job(home, corpus_file):
    first = jobs.ingest_job("many", ["bm25", MODEL], corpus_file, settings=home)
    got: list[jobs.Job] = []
    threads = [
        threading.Thread(
            target=lambda: got.append(
                jobs.ingest_job("many", ["bm25", MODEL], corpus_file, settings=home)
            )
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {j.id for j in got} == {first.id}
    assert [j.id for j in jobs.list_jobs(home) if j.key == "index:many"] == [first.id]
    assert jobs.wait(first.id, home, timeout=300).state == jobs.DONE
    assert_exactly_indexed(home, "many")
    # once it ended, a start is a new job (here: nothing left to do, so it finishes at once)
    again = jobs.ingest_job("many", [MODEL], None, settings=home)
    assert again.id != first.id
    assert jobs.wait(again.id, home, timeout=120).state == jobs.DONE


def test_cancel_stops_between_batches_and_a_new_start_finishes(home, corpus_file):
    job = jobs.ingest_job("many", ["bm25", MODEL], corpus_file, settings=home)
    wait_for(lambda: embedded(job.id, home) >= 16, what="a few batches embedded")
    pid = jobs.get(job.id, home).pid
    os.kill(pid, signal.SIGSTOP)  # held mid-job, so it cannot end before the cancel comes
    try:
        jobs.cancel(job.id, home)
    finally:
        os.kill(pid, signal.SIGCONT)
    ended = jobs.wait(job.id, home, timeout=120)
    assert ended.state == jobs.CANCELLED
    corpus = index.open_corpus("many", home)
    stored = corpus.collection(MODEL).count()
    assert corpus.status == "indexing" and 16 <= stored < 240
    # the same start again resumes: only the missing passages are embedded
    again = jobs.ingest_job("many", ["bm25", MODEL], corpus_file, settings=home)
    assert again.id != job.id
    finished = jobs.wait(again.id, home, timeout=300)
    assert finished.state == jobs.DONE, finished.error
    assert finished.stages[MODEL]["total"] == 240 - stored
    assert_exactly_indexed(home, "many")


def test_worker_killed_mid_ingest_is_resumed_by_the_next_start(home, corpus_file):
    job = jobs.ingest_job("many", ["bm25", MODEL], corpus_file, settings=home)
    wait_for(lambda: embedded(job.id, home) >= 16, what="a few batches embedded")
    os.kill(job.pid, signal.SIGSTOP)  # mid-job: it cannot finish before the kill
    os.killpg(job.pid, signal.SIGKILL)  # the worker and anything it started, as a crash would
    wait_for(lambda: not jobs.worker_alive(home, job.id), what="the lock to be let go")
    left = jobs.get(job.id, home)
    assert left.state == jobs.RUNNING  # nobody recorded an end: the worker was killed
    stored = index.open_corpus("many", home).collection(MODEL).count()
    assert 16 <= stored < 240
    # the next start of the app resumes it (the same job, a new worker)
    restarted = jobs.resume(home)
    assert [j.id for j in restarted] == [job.id]
    assert jobs.resume(home) == []  # a second look finds it alive: no second worker
    finished = jobs.wait(job.id, home, timeout=300)
    assert finished.state == jobs.DONE, finished.error
    assert finished.attempts == 2
    assert finished.stages[MODEL]["total"] == 240 - stored  # what was stored is not redone
    assert_exactly_indexed(home, "many")


def test_a_job_that_keeps_dying_is_given_up(home, small_jsonl):
    job = jobs.ingest_job("small", ["bm25"], small_jsonl, settings=home)
    jobs.wait(job.id, home)
    record = jobs.get(job.id, home)
    record.state, record.attempts = jobs.RUNNING, jobs.MAX_ATTEMPTS  # as if killed each time
    jobs._write(home, record)
    assert jobs.resume(home) == []
    failed = jobs.get(job.id, home)
    assert failed.state == jobs.FAILED and "stopped 3 times" in failed.error


def test_bad_input_fails_the_job_with_file_and_line(home, tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b"}\n')
    job = jobs.wait(jobs.ingest_job("broken", ["bm25"], bad, settings=home).id, home)
    assert job.state == jobs.FAILED
    assert "broken.jsonl, line 2" in job.error
    assert "broken" not in [c["name"] for c in index.list_corpora(home)]


def test_cancel_of_a_job_whose_worker_is_gone_and_bad_ids(home, small_jsonl):
    job = jobs.ingest_job("small", ["bm25"], small_jsonl, settings=home)
    jobs.wait(job.id, home)
    record = jobs.get(job.id, home)
    record.state = jobs.RUNNING
    jobs._write(home, record)
    assert jobs.cancel(job.id, home).state == jobs.CANCELLED
    with pytest.raises(jobs.RankLensError, match="invalid job id"):
        jobs.get("../x", home)
    with pytest.raises(jobs.NotFoundError):
        jobs.cancel("nosuchjob", home)
    with pytest.raises(jobs.RankLensError, match="unknown job kind"):
        jobs.start("nope", "k", {}, "t", home)


def test_cli_lists_shows_and_cancels(home, small_jsonl, capsys):
    from ranklens.cli import main

    job = jobs.ingest_job("small", ["bm25"], small_jsonl, settings=home)
    jobs.wait(job.id, home)
    assert main(["jobs", "list"]) == 0
    assert "no running jobs" in capsys.readouterr().out
    assert main(["jobs", "list", "--all"]) == 0
    out = capsys.readouterr().out
    assert job.id in out and "done" in out and "Indexing small with bm25" in out
    assert main(["jobs", "show", job.id]) == 0
    assert "bm25: 6/6 passages" in capsys.readouterr().out
    assert main(["jobs", "cancel", job.id]) == 0
    assert "is done: nothing to cancel" in capsys.readouterr().out
    assert main(["jobs", "list", "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == job.id
    assert main(["jobs", "cancel", "nosuchjob"]) == 2
    assert "no job 'nosuchjob'" in capsys.readouterr().err


def suggestion_pool(home, small_jsonl, depth: int):
    """Corpus "sugg" (BM25) with query set "qs" of two queries, and a BM25 pool of that depth;
    returns both."""
    from ranklens.judging import JudgmentStore, pooling
    from ranklens.ranking.recipes import make_ranker
    from ranklens.types import Query

    corpus = ingest.ingest(small_jsonl, "sugg", ["bm25"], home)
    corpus.add_query_set("qs", [Query("q1", "green tea"), Query("q2", "memory safety")])
    with JudgmentStore.from_settings(home) as store:
        return corpus, pooling.make_pool(store, corpus, "qs", [make_ranker("bm25", corpus)], depth)


def test_suggestions_job_stores_what_make_suggestions_stores(home, small_jsonl):
    from ranklens import models
    from ranklens.judging import JudgmentStore, pooling

    corpus, pool = suggestion_pool(home, small_jsonl, 3)
    model = pooling.default_suggestion_model()
    job = jobs.suggestions_job("sugg", pool.id, model, [-3.0, 1.0, 5.0], settings=home)
    done = jobs.wait(job.id, home, timeout=300)
    assert done.state == jobs.DONE, done.error
    assert done.result["suggestions"] == len(pool.items)
    assert done.stages[model]["done"] == done.stages[model]["total"] == 2  # queries
    scorer = models.load_reranker(model)
    with JudgmentStore.from_settings(home) as store:
        stored = store.suggestions("sugg", model=model)
        again = pooling.make_suggestions(
            store, corpus, pool, model, [-3.0, 1.0, 5.0], scorer=scorer
        )
    assert sorted(done.result["grades"].items()) == sorted(
        {str(g): again.count(g) for g in set(again)}.items()
    )
    assert len(stored) == len(pool.items)


def test_vectors_a_worker_indexed_are_found_by_a_process_already_searching(home, tmp_path):
    """The app keeps one Chroma client open; what a worker writes meanwhile must be searchable."""
    from ranklens.ranking.recipes import make_ranker
    from ranklens.types import Query

    first = [
        {"_id": f"a{i}", "text": f"astronomy note {i} on planets and moons"} for i in range(30)
    ]
    before = ingest.ingest(write_jsonl(tmp_path / "a.jsonl", first), "first", [MODEL], home)
    hits = make_ranker(MODEL, before).rank([Query("q", "planets")], 3)["q"]
    assert hits  # this process's client is open and has searched
    second = [{"_id": f"b{i}", "text": f"cooking recipe {i} with garlic"} for i in range(30)]
    second.append({"_id": "target", "text": "the violin concerto was played by the orchestra"})
    job = jobs.ingest_job(
        "second", [MODEL], write_jsonl(tmp_path / "b.jsonl", second), settings=home
    )
    assert jobs.wait(job.id, home, timeout=300).state == jobs.DONE
    after = index.open_corpus("second", home)
    hits = make_ranker(MODEL, after).rank([Query("q", "violin orchestra concerto")], 3)["q"]
    assert hits[0].doc_id == "target"
    assert_exactly_indexed(home, "second")


def test_vectors_a_worker_adds_to_a_searched_collection_are_found(home, tmp_path):
    """The app's embedded Chroma client is made anew when a worker changed a collection."""
    from ranklens.ranking.recipes import make_ranker
    from ranklens.types import Query

    first = [
        {"_id": f"a{i}", "text": f"astronomy note {i} on planets and moons"} for i in range(30)
    ]
    ingest.ingest(write_jsonl(tmp_path / "a.jsonl", first), "first", [MODEL], home)
    before = index.open_corpus("first", home)
    assert make_ranker(MODEL, before).rank([Query("q", "planets")], 3)["q"]
    more = [{"_id": "comet", "text": "a comet tail of ice and dust points away from the sun"}]
    grow = jobs.append_job("first", write_jsonl(tmp_path / "c.jsonl", more), settings=home)
    assert jobs.wait(grow.id, home, timeout=300).state == jobs.DONE
    grown = index.open_corpus("first", home)
    hits = make_ranker(MODEL, grown).rank([Query("q", "comet tail ice dust")], 3)["q"]
    assert hits[0].doc_id == "comet"
    assert_exactly_indexed(home, "first")
