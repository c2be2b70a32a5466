"""The Learn page's lesson "Can a tiny model judge?" in AppTest on the demo: without an endpoint it
says how to start the local judge; with one (the oracle stub) it grades the FAQ pool and shows the
known answers against the other passages, then agreement once people labelled the pool."""

from __future__ import annotations

from components import state
from ranklens.config import get_settings
from ranklens.judging import JudgmentStore
from ranklens.teaching import tiny_judge

from .test_llm_rerank import oracle  # noqa: F401 - the stub server fixture
from .test_page_learn import _page, demo_home, on_demo  # noqa: F401 - the demo fixtures

LESSON = f"8. {tiny_judge.TITLE}"


def _open_lesson(timeout: int = 120):
    at = _page(timeout=timeout)
    at.radio(key=state.LEARN_LESSON).set_value(LESSON).run()
    assert not at.exception, at.exception
    return at


def test_without_an_endpoint_the_lesson_says_how_to_start_one(on_demo, monkeypatch):  # noqa: F811
    monkeypatch.delenv("RANKLENS_LLM_URL", raising=False)
    at = _open_lesson()
    assert at.subheader[0].value == tiny_judge.TITLE
    assert any("local-judge.sh" in i.value.replace("\\", "") for i in at.info)
    assert any("scripts/setup.sh --judge" in c.value for c in at.code)


def test_the_lesson_grades_the_faq_pool(on_demo, oracle, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RANKLENS_LLM_URL", oracle)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "oracle")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    at = _open_lesson()
    at.button(key=state.LEARN_TINY_JUDGE).click().run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert any("llm:oracle graded" in t and "known answers" in t for t in texts)
    assert any("No one has labelled" in c.value.replace("\\", "") for c in at.caption)
    # people label one pooled pair of two queries each: agreement appears
    settings = get_settings()
    with JudgmentStore(settings.db_url) as store:
        result = at.session_state[f"{state.LEARN_TINY_JUDGE}:python-docs:faq:oracle"]
        for j in result.report.judgments[:4]:
            store.add_label(
                "python-docs", "alice", j.pair.query_id, j.pair.passage_id, 1, doc_id=j.pair.doc_id
            )
    at.button(key=state.LEARN_TINY_JUDGE).click().run()
    assert not at.exception, at.exception
    assert any("weighted kappa (linear)" in t.value for t in at.text)
