"""Tests of `python -m ranklens judgments calibrate / ensemble / review` (ranklens/cli/calibrate.py)
through the real entry point, with a fake corpus and the learning chat stub of test_calibration."""

from __future__ import annotations

import json

import pytest

from ranklens.cli import main as cli_main
from ranklens.cli import options as cli_options
from ranklens.evaluation.qrels_sources import store_qrels
from ranklens.judges import judges
from ranklens.judging import JudgmentStore
from ranklens.llm import prompt_versions
from ranklens.llm.prompt import Prompt

from .test_calibration import KINDS, QUERIES, FakeCorpus, LearningChat, chat  # noqa: F401
from .test_judging_review import ITEMS, PEOPLE, llm_batch


@pytest.fixture
def env(tmp_path, monkeypatch, chat):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'j.sqlite3'}"
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RANKLENS_DB_URL", url)
    monkeypatch.setenv("RANKLENS_LLM_URL", chat)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "learner")
    monkeypatch.setattr(cli_options, "open_corpus", lambda name, settings: FakeCorpus())
    with JudgmentStore(url) as s:
        for q in QUERIES:
            for k, g in KINDS.items():
                s.add_label("c", "alice", q, f"{q}-{k}#0", g, doc_id=f"{q}-{k}")
        for it, g in zip(ITEMS, PEOPLE, strict=True):  # the pairs the judges below graded
            s.add_label("c", "alice", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    return url


def test_cli_calibrate_reports_held_out_queries_and_can_use_the_prompt(env, capsys) -> None:
    argv = ["judgments", "calibrate", "--judge", "llm", "--corpus", "c", "--queries", "set",
            "--examples", "4", "--seed", "7", "--no-rankers", "--resamples", "49", "--json"]  # fmt: skip
    assert cli_main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    held, cal = set(data["held_out_queries"]), set(data["calibration_queries"])
    assert held and not held & cal and data["seed"] == 7 and data["judge"] == "llm:learner"
    plain, tuned = data["arms"]
    assert plain["examples"] == 0 and tuned["examples"] == 4
    assert tuned["agreement"]["kappa"] == pytest.approx(1.0)
    assert plain["agreement"]["kappa"] < 0.5
    assert tuned["kappa_low"] is not None and tuned["agreement"]["confusion"][3][3] == len(held)
    assert plain["unparseable_share"] == 0 and tuned["prompt_tokens"] > plain["prompt_tokens"]
    assert {e["query_id"] for e in data["examples"]} <= cal and data["used_prompt_versions"] == []
    # the same seed, text output, and the calibrated prompt saved as a version
    assert cli_main([*argv[:-1], "--use"]) == 0
    out = capsys.readouterr().out
    assert "4 examples: kappa 1.000" in out and "is now prompt v1" in out
    with JudgmentStore(env) as s:
        assert prompt_versions.current_prompt(s, "c").hash == tuned["prompt_hash"]
    assert cli_main([*argv[:4], "--corpus", "c", "--queries", "set", "--prompt", "v9"]) == 2
    assert "no prompt version 'v9'" in capsys.readouterr().err


def test_cli_review_accepts_with_provenance_and_evaluation_can_leave_them_out(env, capsys):
    with JudgmentStore(env) as s:
        judges.save_prompt(s, "c", Prompt(), "alice")
        judges.store_llm_suggestions(s, "c", llm_batch("m-a", [3] * len(ITEMS)))
        judges.store_llm_suggestions(s, "c", llm_batch("m-b", [2] * len(ITEMS)))
    argv = ["judgments", "review", "--corpus", "c", "--annotator", "bob", "--json"]
    assert cli_main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 2 * len(ITEMS) and {r["disagreement"] for r in rows} == {1}
    judge_a = next(r["judge"] for r in rows if r["judge"].startswith("llm:m-a"))
    assert cli_main([*argv[:-1], "--judge", judge_a, "--limit", "3", "--accept"]) == 0
    assert "accepted 3 suggestions as bob's labels" in capsys.readouterr().out
    with JudgmentStore(env) as s:
        notes = {lab.note for lab in s.current_labels("c", annotator="bob")}
        assert notes == {f"accepted from llm:m-a prompt {Prompt().hash}"}
        ids = {"q1", "q2"}
        assert len(store_qrels("c", ids, store=s)) == len(store_qrels("c", ids, store=s,
                                                                       accepted=False))  # fmt: skip
        mx = {q[:2]: q.relevance for q in store_qrels("c", ids, "max", "doc", store=s)}
        only = {
            q[:2]: q.relevance for q in store_qrels("c", ids, "max", "doc", store=s, accepted=False)
        }
        assert [k for k in mx if mx[k] != only[k]] == [("q1", "d0"), ("q1", "d1"), ("q1", "d2")]
    assert cli_main(["judgments", "agreement", "--corpus", "c", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["units"] == 3
    assert (
        cli_main(["judgments", "agreement", "--corpus", "c", "--without-accepted", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["units"] == 0


def test_cli_ensemble_lists_judges_and_compares_them(env, capsys) -> None:
    with JudgmentStore(env) as s:
        judges.save_prompt(s, "c", Prompt(), "alice")
        judges.store_llm_suggestions(s, "c", llm_batch("m-a", [0, 1, 2, 3, 0, 1, 2, 3]))
        judges.store_llm_suggestions(s, "c", llm_batch("m-b", [0, 1, 2, 3, 3, 3, 3, 3]))
    assert cli_main(["judgments", "ensemble", "--corpus", "c"]) == 0
    names = capsys.readouterr().out.split("\n")[:2]
    argv = ["judgments", "ensemble", "--corpus", "c", "--judges", *names, "--how", "mean",
            "--level", "passage", "--json"]  # fmt: skip
    assert cli_main(argv) == 0
    reps = json.loads(capsys.readouterr().out)
    assert [r["judge"] for r in reps[:2]] == names and reps[2]["judge"].startswith("mean of 2")
    assert all(r["units"] == len(ITEMS) for r in reps)
    assert cli_main([*argv[:5], "nope", "llm:x"]) == 2
    assert "no judge named 'nope'" in capsys.readouterr().err
