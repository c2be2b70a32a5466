"""Team mode's admin-only rules in the core (ranklens.access), as a probing non-admin would try
them: adding corpora, models, documents and vectors; model folders outside the allowed roots
(one message for missing and forbidden, so the disk cannot be mapped); cancelling someone
else's job; shared settings (guidelines, annotators per passage, prompt versions, adjudication,
replacing a query set); and what a non-admin reads of an error."""

from __future__ import annotations

import os

import pytest

from ranklens import access, jobs
from ranklens.access import Actor, Forbidden
from ranklens.config import get_settings
from ranklens.corpus import ingest
from ranklens.judges import judges
from ranklens.judging import blind
from ranklens.llm.prompt import Prompt
from ranklens.types import Query

from .conftest import ROOT

ADMIN = Actor("lead", True)
ANNA = Actor("anna", False)


def _message_without(exc: BaseException, typed: str) -> str:
    return str(exc).replace(os.path.basename(typed.rstrip("/")), "NAME")


def test_non_admins_add_no_model_and_admins_only_inside_the_allowed_roots(
    home, tmp_path, monkeypatch
):
    with pytest.raises(Forbidden, match="only an admin can add a model"):
        access.check_model("sentence-transformers/all-MiniLM-L6-v2", home, ANNA)
    with pytest.raises(Forbidden, match="only an admin"):
        access.check_model(str(home.home), home, ANNA)
    access.check_model("sentence-transformers/all-MiniLM-L6-v2", home, ADMIN)  # a hub name
    access.check_model("anything", home, None)  # the operator (CLI)
    access.check_model("bm25", home, ANNA, known={"bm25"})  # a model the corpus has

    monkeypatch.chdir(ROOT)  # where the app runs
    # the probe's paths: a folder, a protected folder, a file, a missing path: one message
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probes = ["/etc", "/root", "/etc/passwd", "/no/such/place", str(outside), "../../etc"]
    probes += ["data/demo"]  # a hub-like name that is a folder where the server runs
    messages = set()
    for typed in probes:
        with pytest.raises(Forbidden) as info:
            access.check_model(typed, home, ADMIN)
        messages.add(_message_without(info.value, typed))
        assert "/etc" not in str(info.value) and str(tmp_path) not in str(info.value)
    assert len(messages) == 1, messages

    # inside the home, or a folder of RANKLENS_MODEL_DIRS: allowed; a link out of them is not
    inside = home.home / "models" / "mine"
    inside.mkdir(parents=True)
    access.check_model(str(inside), home, ADMIN)
    (home.home / "models" / "sneaky").symlink_to("/etc")
    with pytest.raises(Forbidden):
        access.check_model(str(home.home / "models" / "sneaky"), home, ADMIN)
    with pytest.raises(Forbidden):
        access.check_model(str(outside), home, ADMIN)
    os.environ["RANKLENS_MODEL_DIRS"] = str(tmp_path)
    try:
        access.check_model(str(outside), home, ADMIN)
    finally:
        del os.environ["RANKLENS_MODEL_DIRS"]


def test_jobs_that_add_to_a_corpus_are_admin_only(home, small_jsonl):
    ingest.ingest(small_jsonl, "kb", ["bm25"], home)
    with pytest.raises(Forbidden, match="only an admin can add a corpus or models"):
        jobs.ingest_job("kb", ["all-MiniLM-L6-v2"], settings=home, actor=ANNA)
    with pytest.raises(Forbidden, match="only an admin can add documents"):
        jobs.append_job("kb", small_jsonl, settings=home, actor=ANNA)
    with pytest.raises(Forbidden, match="only an admin can import vectors"):
        jobs.embeddings_job("kb", "all-MiniLM-L6-v2", small_jsonl, settings=home, actor=ANNA)
    # an admin in team mode cannot have the server read a model folder outside the roots
    with pytest.raises(Forbidden, match="must exist under RANKLENS_HOME"):
        jobs.ingest_job("kb", ["/etc"], settings=home, actor=ADMIN)
    with pytest.raises(Forbidden, match="must exist under RANKLENS_HOME"):
        jobs.embeddings_job("kb", "/root", small_jsonl, settings=home, actor=ADMIN)
    assert jobs.list_jobs(home) == []  # nothing was started


def _running_job(settings, started_by: str | None) -> jobs.Job:
    job = jobs.Job(
        "job-" + (started_by or "op"), "suggest", "k", {}, "Suggestions", started_by=started_by
    )
    job.state = jobs.RUNNING
    jobs._write(settings, job)
    return job


def test_only_the_starter_or_an_admin_cancels_a_job(home):
    job = _running_job(home, "bea")
    with pytest.raises(Forbidden, match="only the annotator who started this job"):
        jobs.cancel(job.id, home, actor=ANNA)
    assert jobs.get(job.id, home).state == jobs.RUNNING
    assert jobs.cancel(job.id, home, actor=Actor("bea", False)).state == jobs.CANCELLED
    other = _running_job(home, "carl")
    assert jobs.cancel(other.id, home, actor=ADMIN).state == jobs.CANCELLED
    assert jobs.get(other.id, home).started_by == "carl"  # recorded, shown in the job list


def test_shared_judging_settings_are_admin_only(store):
    settings = get_settings()
    store.add_label("kb", "ursula", "q1", "d1#0", 0, doc_id="d1")
    store.add_label("kb", "victor", "q1", "d1#0", 3, doc_id="d1")
    with pytest.raises(Forbidden):
        store.set_judging_settings("kb", "dev", guidelines="mine", actor=ANNA)
    with pytest.raises(Forbidden):
        store.set_judging_settings("kb", "dev", annotators_per_passage=1, actor=ANNA)
    store.set_judging_settings("kb", "dev", guidelines="shared", actor=ADMIN)
    assert store.judging_settings("kb", "dev").guidelines == "shared"
    with pytest.raises(Forbidden, match="save a prompt version"):
        judges.save_prompt(store, "kb", Prompt("rate {query} {passage}"), "anna", actor=ANNA)
    assert judges.prompt_versions(store, "kb") == []
    with pytest.raises(Forbidden, match="adjudicate"):
        store.adjudicate("kb", "q1", "d1#0", 3, "anna", doc_id="d1", actor=ANNA)
    assert store.adjudicated("kb") == {}
    # blind judging: only an admin decides whether annotators see agreement figures
    assert blind.reveal_agreement(store) is False
    with pytest.raises(Forbidden):
        blind.set_reveal_agreement(store, True, actor=ANNA)
    blind.set_reveal_agreement(store, True, actor=ADMIN)
    assert blind.reveal_agreement(store) is True
    named = store.agreement("kb")
    hidden = blind.without_names(named)
    assert sorted(hidden.annotators) == ["annotator 1", "annotator 2"]
    assert "ursula" not in repr(hidden) and "victor" not in repr(hidden)
    assert [p.kappa for p in hidden.pairs] == [p.kappa for p in named.pairs]
    assert settings.home  # the store fixture's home


def test_replacing_a_query_set_is_admin_only(home, small_jsonl):
    corpus = ingest.ingest(small_jsonl, "kb", ["bm25"], home)
    corpus.add_query_set("mine", [Query("q1", "tea")], actor=ANNA)  # a new set: anyone
    with pytest.raises(Forbidden, match="replace the query set 'mine'"):
        corpus.add_query_set("mine", [Query("q9", "other")], actor=ANNA, replace=True)
    assert [q.query_id for q in corpus.query_sets()["mine"]] == ["q1"]
    corpus.add_query_set("mine", [Query("q2", "bread")], actor=ADMIN, replace=True)
    assert [q.query_id for q in corpus.query_sets()["mine"]] == ["q2"]


def test_a_non_admin_reads_no_server_path_in_an_error(home, monkeypatch):
    from components import auth, safe

    assert safe._admin_check is auth.is_admin  # auth tells safe who may read paths

    message = f"{home.home}/uploads/0a1b/data.jsonl, line 2: expected an _id (see /etc/x.conf)"
    assert str(home.home) in safe.error(message)  # outside team mode: the whole message
    monkeypatch.setenv("RANKLENS_TEAM", "1")  # nobody signed in here: not an admin
    shown = safe.error(message)
    assert str(home.home) not in shown and "/etc" not in shown
    assert "…/data.jsonl, line 2: expected an \\_id" in shown or "…/data.jsonl, line 2" in shown
    assert access.redact_paths("see http://127.0.0.1:8000/v1 and 3/4") == (
        "see http://127.0.0.1:8000/v1 and 3/4"
    )


@pytest.mark.parametrize(
    "host, names, ok",
    [
        ("127.0.0.1:8501", [], True),
        ("[::1]:8501", [], True),
        ("localhost:8501", [], True),
        ("rebind.attacker.example:8501", [], False),
        ("ranklens.example.org", ["ranklens.example.org"], True),
        ("team.example.org", ["*.example.org"], True),
        ("example.org.evil", ["*.example.org"], False),
        ("127.0.0.1", ["ranklens.example.org"], False),
        ("", [], False),
        ("user@host", ["host"], True),
    ],
)
def test_host_names(host, names, ok):
    assert access.host_allowed(host, names) is ok
