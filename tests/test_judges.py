"""Tests of ranklens.judges.judges: prompt versions, LLM suggestions kept apart from labels,
resuming, accepting a suggestion, and judges checked against people. The LLM is the small
chat-completions server of tests/test_llm_judge.py on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from ranklens.judges import judges
from ranklens.judges.judge_agreement import judge_agreement
from ranklens.judging import JudgmentStore, PoolInfo, PoolItem, Scale
from ranklens.llm import prompt_versions
from ranklens.llm.judge import LLMConfig, LLMJudge
from ranklens.llm.prompt import UMBRELA_PROMPT, Prompt
from ranklens.types import Hit, Passage, Query

from .test_llm_judge import KEY, FakeChat, server  # noqa: F401  (the server fixture)


class FakeCorpus:
    """What pairs_for needs of a corpus: its query sets and passages."""

    name = "c"

    def __init__(self, passages: dict[str, str]) -> None:
        self._p = {pid: Passage(pid, pid.split("#")[0], text, "") for pid, text in passages.items()}

    def query_sets(self):
        return {"set": [Query("q1", "first query"), Query("q2", "second query")]}

    def get_passages(self, ids):
        return {i: self._p[i] for i in ids if i in self._p}


@pytest.fixture
def store(tmp_path):
    s = JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    yield s
    s.close()


pytestmark = pytest.mark.usefixtures("no_proxy")


def llm(url: str, prompt: Prompt | None = None, **kw) -> LLMJudge:
    cfg = LLMConfig(url=url, model="fake-model", key=KEY, backoff_s=0.01, **kw)
    return LLMJudge(cfg, Scale.default(), prompt)


ITEMS = [
    PoolItem("q1", "a#0", "a"),
    PoolItem("q1", "b#0", "b"),
    PoolItem("q2", "a#0", "a"),
    PoolItem("q2", "c#0", "c"),
]
POOL = PoolInfo(1, "c", "set", ["bm25"], 10, 0.0, ITEMS)
CORPUS = FakeCorpus({"a#0": "alpha GRADE=3", "b#0": "beta NOSCORE", "c#0": "gamma GRADE=1"})


def test_prompt_versions_are_kept(store) -> None:
    assert judges.prompt_versions(store, "c") == []
    assert prompt_versions.current_prompt(store, "c") == Prompt()
    v1 = judges.save_prompt(store, "c", Prompt(), "alice")
    assert (v1.version, v1.prompt_hash, v1.author) == (1, Prompt().hash, "alice")
    assert judges.save_prompt(store, "c", Prompt(), "bob").version == 1  # same text: same version
    edited = Prompt(UMBRELA_PROMPT + "\nBe strict.")
    v2 = judges.save_prompt(store, "c", edited, "bob")
    assert v2.version == 2 and prompt_versions.current_prompt(store, "c") == edited
    assert judges.save_prompt(store, "c", Prompt(), "carol").version == 3  # back to v1's text
    assert [v.version for v in judges.prompt_versions(store, "c")] == [1, 2, 3]
    assert judges.prompt_versions(store, "other") == []
    assert prompt_versions.prompt_by_hash(store, "c", edited.hash).version == 2


def test_llm_suggestions_stay_apart_resume_and_accept(store, server) -> None:  # noqa: F811
    with llm(server) as judge:
        report = judges.suggest_llm(store, CORPUS, POOL, judge, author="alice")
    assert len(report.graded) == 3 and len(report.unparseable) == 1
    stored = judges.llm_suggestions(store, "c")
    assert [(s.judge, s.label.query_id, s.label.passage_id, s.label.grade) for s in stored] == [
        ("llm:fake-model", "q1", "a#0", 3),
        ("llm:fake-model", "q2", "a#0", 3),
        ("llm:fake-model", "q2", "c#0", 1),
    ]
    assert all(s.prompt_hash == Prompt().hash and s.label.source == "suggestion" for s in stored)
    assert store.current_labels("c") == [] and store.final_qrels("c") == []
    assert [v.version for v in judges.prompt_versions(store, "c")] == [1]
    # resumed: only the pair without a stored suggestion (the unparseable one) is sent again
    n = len(FakeChat.calls)
    with llm(server) as judge:
        again = judges.suggest_llm(store, CORPUS, POOL, judge)
    assert again.total == 1 and len(FakeChat.calls) == n + 1
    assert len(judges.llm_suggestions(store, "c")) == 3
    # accept: a human label of the one who accepts, saying where it came from
    first = stored[0].label
    event = judges.accept_suggestion(store, "c", "bob", first)
    (lab,) = store.current_labels("c")
    assert (lab.annotator, lab.grade, lab.source, lab.event_id) == ("bob", 3, "human", event)
    assert lab.note == f"accepted from llm:fake-model prompt {Prompt().hash}"
    with pytest.raises(Exception, match="not a graded suggestion"):
        judges.accept_suggestion(store, "c", "bob", lab)


def test_each_prompt_version_is_a_judge_against_people(store, server) -> None:  # noqa: F811
    strict = Prompt(UMBRELA_PROMPT + "\nBe strict.")
    with llm(server) as judge:
        judges.suggest_llm(store, CORPUS, POOL, judge)
    # v2's server answers are the same (the server reads the passage), but it is its own judge
    with llm(server, strict) as judge:
        judges.suggest_llm(store, CORPUS, POOL, judge)
    store.add_suggestions("c", "cross-enc", ITEMS, [5.0, 0.0, -5.0, 0.5], [-1.0, 1.0, 4.0])
    for it, g in zip(ITEMS, [3, 0, 2, 1], strict=True):
        store.add_label("c", "alice", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    names = list(judges.judge_labels(store, "c"))
    assert names == [
        "cross-enc",
        f"llm:fake-model prompt v1 ({Prompt().hash})",
        f"llm:fake-model prompt v2 ({strict.hash})",
    ]
    runs = {
        "A": {"q1": [Hit("q1", "a#0", "a", 2, 1), Hit("q1", "b#0", "b", 1, 2)]},
        "B": {"q1": [Hit("q1", "b#0", "b", 2, 1), Hit("q1", "a#0", "a", 1, 2)]},
    }
    reports = judges.judges_vs_people(store, "c", runs=runs, weights="quadratic", level="passage")
    by = {r.judge: r for r in reports}
    ce = by["cross-enc"]  # grades 3, 1, 0, 1 against alice's 3, 0, 2, 1
    hand = judge_agreement(
        "x",
        {"q1": {"a#0": 3, "b#0": 0}, "q2": {"a#0": 2, "c#0": 1}},
        {"q1": {"a#0": 3, "b#0": 1}, "q2": {"a#0": 0, "c#0": 1}},
        (0, 1, 2, 3),
        weights="quadratic",
    )
    assert ce.n == 4 and ce.kappa == pytest.approx(hand.kappa)
    assert [(d.query_id, d.doc_id, d.width) for d in ce.disagreements] == [
        ("q2", "a#0", 2),
        ("q1", "b#0", 1),
    ]
    v1 = by[f"llm:fake-model prompt v1 ({Prompt().hash})"]
    assert v1.n == 3 and v1.confusion[2][3] == 1  # q2 a#0: alice 2, the LLM 3
    assert [r.ranker for r in v1.rankers] == ["A", "B"] and v1.tau == pytest.approx(1.0)


def test_prompt_table_is_made_when_a_database_without_it_opens(store) -> None:
    with store.write() as conn:
        judges.llm_prompts.drop(conn)
    with JudgmentStore(store.url) as reopened:
        assert judges.prompt_versions(reopened, "c") == []
        assert judges.save_prompt(reopened, "c", Prompt()).version == 1


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(tmp_path, monkeypatch, server):  # noqa: F811
    from ranklens.cli import options as cli_options

    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RANKLENS_DB_URL", raising=False)
    monkeypatch.setenv("RANKLENS_LLM_URL", server)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "fake-model")
    monkeypatch.setenv("RANKLENS_LLM_KEY", KEY)
    monkeypatch.setattr(cli_options, "open_corpus", lambda name, settings: CORPUS)
    from ranklens.config import get_settings

    with JudgmentStore(get_settings().db_url) as s:
        pool = s.save_pool("c", "set", ITEMS, ["bm25"], 10, {})
    return pool


def test_cli_llm_dry_run_batch_prompt_and_judges(cli_env, capsys, tmp_path) -> None:
    from ranklens.cli import main

    base = ["judgments", "suggest", "--corpus", "c", "--queries", "set", "--judge", "llm"]
    assert main([*base, "--dry-run", "2"]) == 0
    out = capsys.readouterr()
    assert out.out.count("[prompt]") == 2 and "Query: first query" in out.out
    assert "score 3 -> grade 3" in out.out and "no final score" in out.out
    assert KEY not in out.out + out.err and "nothing stored" in out.err
    assert main([*base, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["graded"] == 3 and data["judge"] == "llm:fake-model"
    assert [u["passage_id"] for u in data["unparseable"]] == ["b#0"]
    assert data["cached"] == 2 and data["tokens"]["completion"] == 2 * 7  # dry run cached 2
    # people label; each judge against them
    with JudgmentStore(f"sqlite:///{tmp_path / 'home' / 'judgments.sqlite3'}") as s:
        for it, g in zip(ITEMS, [3, 0, 2, 1], strict=True):
            s.add_label("c", "alice", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    argv = ["judgments", "judges", "--corpus", "c", "--level", "passage", "--json"]
    assert main(argv) == 0
    (rep,) = json.loads(capsys.readouterr().out)
    assert rep["judge"].startswith("llm:fake-model prompt v1") and rep["units"] == 3
    assert rep["disagreements"][0] == {
        "query_id": "q2",
        "doc_id": "a#0",
        "human": 2,
        "judge": 3,
        "width": 1,
    }
    # a new prompt version from a file
    (tmp_path / "p.txt").write_text("Q {query} P {passage} ##final score: N", encoding="utf-8")
    assert main(["judgments", "prompt", "--corpus", "c", "--set", str(tmp_path / "p.txt")]) == 0
    assert "prompt v2" in capsys.readouterr().out
    assert main(["judgments", "prompt", "--corpus", "c", "--list"]) == 0
    assert capsys.readouterr().out.count("\n") == 2
    (tmp_path / "bad.txt").write_text("no slots", encoding="utf-8")
    assert main(["judgments", "prompt", "--corpus", "c", "--set", str(tmp_path / "bad.txt")]) == 2
    assert "{query}" in capsys.readouterr().err


def test_cli_llm_gives_up_with_one_error_line(cli_env, capsys, monkeypatch) -> None:
    from ranklens.cli import main

    monkeypatch.setenv("RANKLENS_LLM_KEY", "wrong")
    argv = ["judgments", "suggest", "--corpus", "c", "--queries", "set", "--judge", "llm"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: the LLM batch stopped" in err and "HTTP 401" in err and "wrong" not in err
    monkeypatch.delenv("RANKLENS_LLM_URL")
    assert main(argv) == 2
    assert "set RANKLENS_LLM_URL" in capsys.readouterr().err
