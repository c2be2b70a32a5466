"""The circularity warning: a ranker asking the model that labelled the evaluation's pairs is
flagged next to its numbers by `evaluate` (and by the same core function on the Evaluate page)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens.cli import main
from ranklens.config import Settings, get_settings
from ranklens.corpus import ingest
from ranklens.evaluation import circularity
from ranklens.judging import JudgmentStore
from ranklens.judging.records import CurrentLabel
from ranklens.types import Query

from .conftest import ROOT
from .test_llm_rerank import Oracle, oracle  # noqa: F401 - the stub server fixture

QUERIES = [Query("q1", "python lists append sort"), Query("q2", "moon tides")]


def lab(annotator: str, grade: int | None, note: str | None) -> CurrentLabel:
    return CurrentLabel(annotator, "q1", "py", "py#0", grade, note, "human", 1, 0.0, None)


def test_who_labelled_and_which_rankers_ask_that_model() -> None:
    labels = [
        lab("alice", 2, "accepted llm:smollm2"),
        lab("bob", 1, "accepted from llm:smollm2 prompt 0123456789abcdef"),
        lab("carol", 3, "looks right"),
        lab("llm:qwen:7b", 1, None),  # imported under a judge's name
        lab("dave", None, "accepted llm:smollm2"),  # can't judge: not a label used
    ]
    assert circularity.label_models(labels) == {"smollm2": 2, "qwen:7b": 1}
    s = Settings(llm_model="smollm2")
    assert circularity.ranker_models("rerank(bm25, llm, 20)", s) == {"smollm2"}
    assert circularity.ranker_models("rrf(bm25,rerank(bm25,llm-pairwise,5))", s) == {"smollm2"}
    assert circularity.ranker_models("rerank(bm25,ms-marco-MiniLM-L-12-v2,20)", s) == set()
    assert circularity.ranker_models("rerank(bm25,llm,20)", Settings()) == set()
    found = circularity.warnings(
        ["bm25", "rerank(bm25,llm,20)"], s, circularity.label_models(labels), 4
    )
    assert list(found) == ["rerank(bm25,llm,20)"]
    assert "llm:smollm2, the model that gave 2 of the 4 labels" in found["rerank(bm25,llm,20)"]
    other = Settings(llm_model="gpt-x")
    assert circularity.warnings(["rerank(bm25,llm,20)"], other, {"smollm2": 2}, 4) == {}


@pytest.fixture
def judged_by_oracle(home, small_jsonl, monkeypatch, no_proxy, oracle):  # noqa: F811
    """Corpus "tiny" (BM25, query set "topics") whose 2 labels in the store are one accepted from
    llm:oracle and one of bob's; the LLM endpoint is the oracle stub, its model "oracle"."""
    monkeypatch.setenv("RANKLENS_LLM_URL", oracle)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "oracle")
    settings = get_settings()
    corpus = ingest.ingest(small_jsonl, "tiny", ["bm25"], settings)
    corpus.add_query_set("topics", QUERIES)
    with JudgmentStore(settings.db_url) as store:
        store.add_label("tiny", "alice", "q1", "py#0", 2, doc_id="py", note="accepted llm:oracle")
        store.add_label("tiny", "bob", "q2", "moon#0", 3, doc_id="moon")
    return settings


def test_evaluate_cli_flags_the_ranker_judged_by_its_own_model(
    judged_by_oracle, small_jsonl, capsys, monkeypatch
) -> None:
    with JudgmentStore(judged_by_oracle.db_url) as store:
        store.add_label("tiny", "alice", "q1", "rust#0", 0, doc_id="rust")
    argv = ["evaluate", "--corpus", "tiny", "--queries", "topics", "--measures", "nDCG@10"]
    rankers = ["--rankers", "bm25", "rerank(bm25,llm,3)"]
    assert main([*argv, *rankers]) == 0
    out, err = capsys.readouterr()
    assert (
        "warning: rerank(bm25,llm,3) ranks with llm:oracle, the model that gave 1 of the 3" in err
    )
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("bm25", "rer"))}
    assert "circular" in rows["rerank(bm25,llm,3)"] and "circular" not in rows["bm25"]
    # another model on the endpoint: no warning
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "someone-else")
    assert main([*argv, *rankers]) == 0
    out, err = capsys.readouterr()
    assert "circular" not in out and "ranks with llm:" not in err
    # labels from a file carry no provenance: no warning
    qrels = small_jsonl.parent / "q.txt"
    qrels.write_text("q1 0 py 2\n")
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "oracle")
    assert main([*argv, *rankers, "--qrels", str(qrels)]) == 0
    assert "circular" not in capsys.readouterr().out
    assert Oracle.calls  # the reranker did ask the stub


def test_evaluate_page_flags_the_ranker_judged_by_its_own_model(judged_by_oracle) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate" / "page.py"), default_timeout=120)
    at.session_state[state.EVAL_MEASURES] = ["nDCG@10"]
    at.session_state[state.EVAL_RANKERS] = ["bm25", "rerank(bm25,llm,20)"]
    at.run()
    assert not at.exception, at.exception
    shown = [w.value.replace("\\", "") for w in at.warning]
    found = [w for w in shown if "ranks with llm:oracle" in w]
    assert len(found) == 1 and found[0].startswith("rerank(bm25,llm,20) ranks with llm:oracle")
    assert "1 of the 2 labels" in found[0]
