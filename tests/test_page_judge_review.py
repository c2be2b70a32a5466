"""The Judge page's bulk review (Review tab), the accepted-labels switch and ensembles (Agreement
tab) and the LLM calibration (Set up tab) in AppTest, against the learning chat stub."""

from __future__ import annotations

import pytest

from components import state
from pages.judge import header
from ranklens.judges import calibration as cal
from ranklens.judges import judges
from ranklens.judging import JudgmentStore, accepted
from ranklens.llm import prompt_versions
from ranklens.llm.judge import BatchReport, JudgePair, Judgment, Prompt

from . import judge_pages
from .judge_pages import QUERIES, build_pool, button, check, open_page
from .test_calibration import LearningChat, chat  # noqa: F401  (the chat fixture)

# the shared fixtures (tests/judge_pages.py)
corpus = judge_pages.corpus
store = judge_pages.store
no_proxy = judge_pages.no_proxy

pytestmark = pytest.mark.usefixtures("no_proxy")


def suggest(store: JudgmentStore, items, model: str, grades: list[int]) -> None:
    report = BatchReport(model, Prompt().hash, len(items))
    report.judgments = [
        Judgment(JudgePair(it.query_id, "q", it.passage_id, it.doc_id, "p"), g, g, "r", None,
                 None, None, False)
        for it, g in zip(items, grades, strict=True)
    ]  # fmt: skip
    judges.save_prompt(store, "j", Prompt(), "alice")
    judges.store_llm_suggestions(store, "j", report, query_set="dev")


def pooled(store: JudgmentStore):
    at = build_pool(open_page("bob"), ["bm25", "fake-encoder"], depth=3)
    pool = store.pools("j", "dev")[-1]
    items = pool.items[:4]
    suggest(store, items, "m-a", [3, 0, 2, 1][: len(items)])
    suggest(store, items, "m-b", [3, 1, 0, 1][: len(items)])
    store.add_suggestions("j", "ce", items, [9.0, -2.0, 1.0, 0.5][: len(items)], [0, 1, 5])
    return at, items


def test_review_table_accept_all_and_by_keyboard(corpus, store):
    at, items = pooled(store)
    assert len(items) == 4
    store.add_label("j", "alice", items[0].query_id, items[0].passage_id, 1, doc_id=items[0].doc_id)
    at.session_state[state.JUDGE_TAB] = header.REVIEW
    check(at.run())
    (df,) = [d for d in at.dataframe if "disagreement" in d.value.columns]
    judge_a = f"llm:m-b prompt v1 ({Prompt().hash})"  # the newest LLM judge is chosen first
    assert set(df.value["judge"]) == {judge_a} and len(df.value) == 4
    assert list(df.value["disagreement"]) == [2, 1, 0, 0]  # widest first
    assert set(df.value["yours"]) == {""}  # alice's label is not bob's, and not shown
    assert df.value["cross-encoder"].iloc[0] == pytest.approx(1.0)
    # sort by cross-encoder score; grades filter
    check(at.radio(key=state.JUDGE_REVIEW_SORT).set_value("cross-encoder").run())
    (df,) = [d for d in at.dataframe if "disagreement" in d.value.columns]
    assert list(df.value["cross-encoder"]) == [9.0, 1.0, 0.5, -2.0]
    check(at.multiselect(key=state.JUDGE_REVIEW_GRADES).set_value([1]).run())
    (df,) = [d for d in at.dataframe if "disagreement" in d.value.columns]
    assert list(df.value["grade"]) == [1, 1]
    # by keyboard: the row on screen, a accepts it
    assert any("Row 1 of 2" in m.value for m in at.markdown)
    check(at.button(key=state.JUDGE_REVIEW_NEXT).click().run())
    assert any("Row 2 of 2" in m.value for m in at.markdown)
    check(at.button(key=state.JUDGE_REVIEW_ACCEPT).click().run())
    (lab,) = store.current_labels("j", annotator="bob")
    assert lab.grade == 1 and lab.note == f"accepted from llm:m-b prompt {Prompt().hash}"
    assert any("Accepted 1 suggestions" in s.value for s in at.success)
    # the accepted row leaves the "not labelled" view; accept all the rest
    check(at.multiselect(key=state.JUDGE_REVIEW_GRADES).set_value([0, 1, 2, 3]).run())
    check(at.button(key=state.JUDGE_REVIEW_ALL).click().run())
    assert len(store.current_labels("j", annotator="bob")) == 4
    ids = accepted.accepted_event_ids(store, "j")
    assert all(lab.event_id in ids for lab in store.current_labels("j", annotator="bob"))
    check(at.toggle(key=state.JUDGE_REVIEW_UNLABELLED).set_value(False).run())
    (df,) = [d for d in at.dataframe if "disagreement" in d.value.columns]
    assert all(v.endswith("(accepted)") for v in df.value["yours"])


def test_agreement_without_accepted_labels_and_an_ensemble(corpus, store):
    at, items = pooled(store)
    for it, g in zip(items, [3, 0, 2, 1], strict=True):
        store.add_label("j", "alice", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    rows = [s for s in store.suggestions("j") if s.annotator == "ce"]
    accepted.accept(store, "j", "bob", rows)
    at.session_state[state.JUDGE_TAB] = header.AGREEMENT
    at.session_state[state.JUDGE_JUDGES_LEVEL] = "passage"
    check(at.run())
    shared = [m for m in at.metric if m.label == "Passages graded by two or more"]
    assert shared[0].value == "4"
    check(at.toggle(key=state.JUDGE_ACCEPTED).set_value(False).run())
    shared = [m for m in at.metric if m.label == "Passages graded by two or more"]
    assert shared[0].value == "0"
    assert any("Several judges together" in s.value for s in at.subheader)
    (df,) = [d for d in at.dataframe if "same grade" in d.value.columns and "passages" in d.value]
    assert list(df.value["judge"])[-1] == "ensemble" and len(df.value) == 4
    assert list(df.value["passages"]) == [4, 4, 4, 4]
    # majority of (ce, m-a, m-b) = [3, 0, 2, 1] = alice's grades
    assert df.value["same grade"].iloc[-1] == "100%"
    check(at.radio(key=state.JUDGE_ENSEMBLE_HOW).set_value("mean").run())
    (df,) = [d for d in at.dataframe if "same grade" in d.value.columns and "passages" in d.value]
    assert df.value["same grade"].iloc[-1] != "100%"
    # with the rankers compared, each judge's and the ensemble's Kendall's tau
    check(at.toggle(key=state.JUDGE_JUDGES_RANKERS).set_value(True).run(timeout=120))
    (df,) = [d for d in at.dataframe if "same grade" in d.value.columns and "passages" in d.value]
    assert "Kendall's tau (nDCG@10)" in df.value.columns


def test_calibration_from_the_page(corpus, store, chat, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RANKLENS_LLM_URL", chat)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "learner")
    at = build_pool(open_page("alice"), ["bm25"], depth=2)
    pool = store.pools("j", "dev")[-1]
    for n, it in enumerate(pool.items):
        store.add_label("j", "alice", it.query_id, it.passage_id, n % 4, doc_id=it.doc_id)
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    assert any("Calibrate the LLM on your labels" in s.value for s in at.subheader)
    at.number_input(key=state.JUDGE_CAL_EXAMPLES).set_value(2)
    check(at.button(key=state.JUDGE_CAL_GO).click().run(timeout=120))
    (rec,) = cal.calibrations(store, "j")
    held = set(rec.report["held_out_queries"])
    assert len(held) == 1 and {e["query_id"] for e in rec.examples}.isdisjoint(held)
    (df,) = [d for d in at.dataframe if "95% interval" in d.value.columns]
    assert list(df.value["examples"]) == [0, len(rec.examples)]
    assert len([d for d in at.dataframe if "judge 0" in d.value.columns]) == 2  # confusions
    text = {q.query_id: q.text for q in QUERIES}
    for prompt in LearningChat.prompts:  # every pair sent is of the held-out query
        assert f"Query: {text[next(iter(held))]}" in prompt.split("End of the examples.")[-1]
    check(button(at, "Use the calibrated prompt").click().run())
    assert prompt_versions.current_prompt(store, "j").hash == rec.calibrated_hash
