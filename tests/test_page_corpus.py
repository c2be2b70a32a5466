"""The Corpus page in Streamlit's AppTest: list, add from a path, errors, add models, delete."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ranklens import jobs
from ranklens.corpus import index, ingest

from .conftest import ROOT

PAGE = str(ROOT / "pages" / "corpus" / "page.py")


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_home_says_how_to_start(home):
    at = run_page()
    assert any("No corpus yet" in i.value for i in at.info)


def test_lists_corpora_with_counts_and_status(home, small_jsonl):
    ingest.ingest(small_jsonl, "listed", ["bm25"], home)
    at = run_page()
    df = at.dataframe[0].value
    row = df[df["corpus"] == "listed"].iloc[0]
    assert (row["documents"], row["passages"], row["status"]) == (5, 6, "ready")


def _new_corpus(at: AppTest, name: str, path: str) -> AppTest:
    at.radio[0].set_value("Path on this machine").run()
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["Corpus name"].set_value(name)
    form_inputs["File or folder"].set_value(path)
    at.multiselect[0].set_value(["bm25"])
    at.button[0].click().run()
    assert not at.exception, at.exception
    running = jobs.list_jobs(active_only=True)
    for job in running:  # ingestion runs as a job: let it end, then look again
        jobs.wait(job.id, timeout=120)
    if running:
        at.run()
    return at


def test_add_corpus_from_path_and_bad_input(home, small_jsonl, tmp_path):
    at = _new_corpus(run_page(), "frompath", str(small_jsonl))
    assert any("frompath: 5 documents" in s.value for s in at.success)
    assert index.open_corpus("frompath", home).status == "ready"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "a", "text": "ok"}\n{oops\n')
    at = _new_corpus(run_page(), "broken", str(bad))
    assert any("bad.jsonl, line 2" in e.value for e in at.error)
    assert [c["name"] for c in index.list_corpora(home)] == ["frompath"]


@pytest.mark.parametrize("confirm, deleted", [("wrong", False), ("victim", True)])
def test_delete_needs_the_name_typed(home, small_jsonl, confirm, deleted):
    ingest.ingest(small_jsonl, "victim", ["bm25"], home)
    at = run_page()
    at.text_input(key="rl_delete_confirm").set_value(confirm).run()
    button = next(b for b in at.button if b.label == "Delete corpus")
    assert button.disabled is (not deleted)
    if deleted:
        button.click().run()
        assert not (home.corpora_dir / "victim").exists()
    else:
        assert (home.corpora_dir / "victim").exists()


@pytest.mark.parametrize("name", ["a..b", "../escape", "-dash", "spaced name"])
def test_refused_names_say_the_rule_before_anything_is_written(home, small_jsonl, name):
    at = _new_corpus(run_page(), name, str(small_jsonl))
    errors = " ".join(e.value for e in at.error)
    assert "invalid corpus name" in errors and "no '..'" in errors
    assert "chroma" not in errors.lower()  # the rule, not a raw error from a store
    assert index.list_corpora(home) == []
    assert not (home.home / "uploads").exists() or not any((home.home / "uploads").iterdir())
    assert not (home.corpora_dir / name).exists()
