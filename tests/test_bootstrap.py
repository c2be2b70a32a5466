"""First start through app.py (AppTest): the demo is indexed once per home, with its FAQ labels
and its practice queries."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from components import state
from ranklens import jobs
from ranklens.config import DEMO_CORPUS, DEMO_DIR
from ranklens.corpus import demo, index, ingest

from .conftest import ROOT

APP = str(ROOT / "app.py")


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def test_first_start_indexes_the_demo_once(home, monkeypatch):
    monkeypatch.setenv("RANKLENS_DEMO_MODELS", "bm25")
    monkeypatch.delenv("RANKLENS_DEMO", raising=False)
    at = run_app()  # the indexing runs as a job, in a worker of its own
    assert [s.label for s in at.get("status")] == ["First start: indexing the bundled demo corpus…"]
    job = jobs.find(jobs.index_key(DEMO_CORPUS))
    second_tab = run_app()  # another session while it runs: the same job, not a second one
    seen = (
        second_tab.session_state["rl_demo_job"]
        if "rl_demo_job" in second_tab.session_state
        else None
    )
    # it follows the running job, or (when that job had finished meanwhile) none: never a new one
    assert seen == job.id or (seen is None and jobs.find(job.key).state == jobs.DONE)
    assert [j.id for j in jobs.list_jobs()] == [job.id]
    assert jobs.wait(job.id, timeout=180).state == jobs.DONE
    at.run()
    assert [s.label for s in at.get("status")] == ["Demo corpus ready"]
    settings = index.get_settings()
    corpus = index.open_corpus(DEMO_CORPUS, settings)
    assert corpus.status == "ready" and corpus.models() == ["bm25"]
    sets = corpus.query_sets()
    assert len(sets["demo"]) == 44
    labels = corpus.shipped_qrels()["faq"]
    assert len(sets["faq"]) == len(labels) >= 150
    assert {q.query_id for q in labels} == {q.query_id for q in sets["faq"]}
    assert {q.doc_id for q in labels} <= corpus.doc_ids()
    assert not {q.query_id for q in sets["demo"]} & {q.query_id for q in labels}
    # deleted by the user: a later start does not bring it back
    index.delete_corpus(DEMO_CORPUS, settings)
    run_app()
    assert DEMO_CORPUS not in [c["name"] for c in index.list_corpora(settings)]


def test_demo_indexed_from_the_cli_gets_its_queries(home, monkeypatch):
    monkeypatch.delenv("RANKLENS_DEMO", raising=False)
    ingest.ingest(DEMO_DIR, DEMO_CORPUS, ["bm25"], home)  # as the README says
    at = run_app()
    assert not at.get("status")  # nothing indexed
    corpus = index.open_corpus(DEMO_CORPUS, home)
    assert set(corpus.query_sets()) == {"demo", "faq"} and "faq" in corpus.shipped_qrels()


def test_evaluate_opens_on_the_faq_labels_after_first_start(home, monkeypatch, fake_encoder):
    monkeypatch.setenv("RANKLENS_DEMO_MODELS", f"bm25 {fake_encoder.name}")
    monkeypatch.delenv("RANKLENS_DEMO", raising=False)
    monkeypatch.setenv("RANKLENS_BATCH_SIZE", "512")  # the demo's passages in a few Chroma adds
    # what the first start's job does (here in-process: the fake encoder lives in this process)
    demo.ingest_demo(index.get_settings())
    at = run_app()
    at.switch_page("pages/evaluate/page.py").run()
    assert not at.exception, at.exception
    fused = f"rrf(bm25,{fake_encoder.name})"
    assert at.selectbox(key=state.QUERY_SET).value == "faq"
    assert at.multiselect(key=state.EVAL_RANKERS).value == ["bm25", fake_encoder.name, fused]
    summary = at.dataframe[0].value
    text = summary.to_string()
    for name in ("bm25", fake_encoder.name, fused, "nDCG@10", "RR", "R@100"):
        assert name in text
    judged = [m.label for m in at.metric]
    assert [f"Judged@10 · {r}" for r in ("bm25", fake_encoder.name, fused)] == judged[:3]
    why = " ".join(w.value for w in at.warning)
    assert "Why Judged@10 is low" in why and "known-item labels" in why and "Judge" in why
