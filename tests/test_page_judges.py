"""The Judge page's judging aids in AppTest: queue order (blind shuffle and likely relevant first),
time per label and a reason after a grade, the LLM judge (dry run, batch, prompt versions) against
a local fake endpoint, and judges against people on the Agreement tab."""

from __future__ import annotations

import pytest

from components import state
from pages.judge import header
from ranklens.judges import judges
from ranklens.judging import pool_order, timing

from . import judge_pages
from .judge_pages import build_pool, button, check, grade, open_page, shown
from .test_llm_judge import KEY, server  # noqa: F401  (the server fixture)

# the shared fixtures (tests/judge_pages.py)
corpus = judge_pages.corpus
store = judge_pages.store
no_proxy = judge_pages.no_proxy

pytestmark = pytest.mark.usefixtures("no_proxy")


def test_queue_orders_time_and_reason(corpus, store):
    at = build_pool(open_page(), ["bm25", "fake-encoder"], depth=3)
    pool = store.pools("j", "dev")[-1]
    session = store.start_session(pool.id, "alice")
    blind = pool_order(pool.items, "alice", session.seed)
    assert shown(at)[0] == blind[0].passage_id  # the default: blind and shuffled
    assert at.radio(key=state.JUDGE_ORDER).value == "shuffled"
    check(at.radio(key=state.JUDGE_ORDER).set_value("pool-rank").run())
    assert shown(at)[0] == pool.items[0].passage_id  # likely relevant first
    assert any("hints at what the model thinks" in c.value for c in at.caption)
    first = shown(at)[0]
    at = grade(at, 2)
    (lab,) = store.current_labels("j")
    assert lab.passage_id == first
    assert 0 <= timing.times(store, "j")[lab.event_id] < 60
    # the reason box belongs to the label just given; Enter saves it as the label's reason
    box = at.text_input(key=state.JUDGE_REASON)
    assert first in box.label
    check(box.set_value("names the exact method").run())
    (lab,) = store.current_labels("j")
    assert lab.note == "names the exact method" and lab.grade == 2
    assert shown(at)[0] == pool.items[1].passage_id
    # back to the blind order
    check(at.radio(key=state.JUDGE_ORDER).set_value("shuffled").run())
    rest = [it for it in blind if it.passage_id != first]
    assert shown(at)[0] == rest[0].passage_id


def test_llm_dry_run_batch_and_judges_against_people(corpus, store, server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RANKLENS_LLM_URL", server)
    monkeypatch.setenv("RANKLENS_LLM_MODEL", "fake-model")
    monkeypatch.setenv("RANKLENS_LLM_KEY", KEY)
    at = build_pool(open_page(), ["bm25"], depth=2)
    pool = store.pools("j", "dev")[-1]
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    assert any("fake-model" in c.value and "a key is set" in c.value for c in at.caption)
    assert all(KEY not in c.value for c in at.caption)
    at.number_input(key=state.JUDGE_LLM_MAX_TOKENS).set_value(40)
    at.text_input(key=state.JUDGE_LLM_PRICE).set_value("1/2")
    check(at.button(key=state.JUDGE_LLM_DRY).click().run())
    n = min(5, len(pool.items))
    assert len([e for e in at.expander if e.label.startswith("Pair ")]) == n
    # the estimate before the batch: the pairs left, the reply limit, the price
    (est,) = [i.value.replace("\\", "") for i in at.info if "Estimate before" in i.value]
    left = len(pool.items) - n
    assert f"{left} pairs to send ({n} cached)" in est and "$1 / $2 per million" in est
    assert f"at most {40 * left} completion tokens" in est
    assert store.suggestions("j") == []  # a dry run stores nothing
    check(at.button(key=state.JUDGE_LLM_BATCH).click().run(timeout=60))
    assert any(c.value.replace("\\", "").startswith("Used: ") for c in at.caption)
    stored = judges.llm_suggestions(store, "j")
    assert len(stored) == len(pool.items)  # the fake server grades every passage 0 (no marker)
    assert all(s.label.grade == 0 for s in stored)
    assert [v.version for v in judges.prompt_versions(store, "j")] == [1]
    # a second prompt version from the editor
    key = next(k for k in at.session_state if str(k).startswith(state.JUDGE_LLM_PROMPT))
    check(at.text_area(key=key).set_value(at.text_area(key=key).value + "\nBe strict.").run())
    check(button(at, "Save as a new version").click().run())
    assert [v.version for v in judges.prompt_versions(store, "j")] == [1, 2]
    # people label two passages: the judge is compared with them on the Agreement tab
    for it, g in zip(pool.items[:2], [0, 2], strict=True):
        store.add_label("j", "bob", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    at.session_state[state.JUDGE_TAB] = header.AGREEMENT
    at.session_state[state.JUDGE_JUDGES_LEVEL] = "passage"
    check(at.run())
    assert any("Cross-encoder and LLM against people" in s.value for s in at.subheader)
    names = [t.label for t in at.tabs]
    assert any(n_.startswith("llm:fake-model prompt v1") for n_ in names)
    kappa = [m for m in at.metric if m.label.startswith("Cohen's kappa (linear)")]
    assert (
        kappa and kappa[0].value == "0.000"
    )  # judge says 0 everywhere: no agreement beyond chance
    check(at.toggle(key=state.JUDGE_JUDGES_RANKERS).set_value(True).run(timeout=60))
    assert any("humans" in df.value.columns for df in at.dataframe)
