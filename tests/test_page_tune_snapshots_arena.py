"""The Evaluate page's Tune fusion, Snapshots and Arena tabs in Streamlit's AppTest
(numbers equal to the core's, "Add to Search" lands on the Search page), and the Judge page's
Preferences tab (passages side by side, the blind arena).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens.corpus import ingest
from ranklens.evaluation import preferences_store as pref_store
from ranklens.evaluation import snapshots_store, tune
from ranklens.judging import JudgmentStore, pooling
from ranklens.ranking import recipes
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Qrel, Query

from .conftest import ROOT

EVALUATE = str(ROOT / "pages" / "evaluate" / "page.py")
SEARCH = str(ROOT / "pages" / "search" / "page.py")
JUDGE = str(ROOT / "pages" / "judge" / "page.py")
QUERIES = [
    Query("q1", "python list append sort"),
    Query("q2", "memory safety ownership borrowing"),
    Query("q3", "green tea temperature bitterness"),
    Query("q4", "moon orbit tides earth"),
    Query("q5", "sourdough bread yeast"),
    Query("q6", "green tea black tea moon"),
]
LABELS = [
    ("q1", "py", 2),
    ("q2", "rust", 3),
    ("q3", "tea", 2),
    ("q4", "moon", 3),
    ("q5", "bread", 2),
    ("q6", "moon", 1),
    ("q6", "tea", 1),
]


@pytest.fixture
def corpus(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    c.add_query_set("topics", QUERIES)
    with JudgmentStore(home.db_url) as store:
        for q, d, g in LABELS:
            store.add_label("tiny", "imported", q, "", g, doc_id=d, source="import")
    return c


def check(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def evaluate_tab(tab: str, **session) -> AppTest:
    at = AppTest.from_file(EVALUATE, default_timeout=60)
    at.session_state[state.EVAL_MEASURES] = ["nDCG@10", "RR"]
    at.session_state[state.EVAL_TAB] = tab
    at.session_state[state.EVAL_RANKERS] = ["bm25", "fake-encoder"]
    for k, v in session.items():
        at.session_state[k] = v
    return check(at.run())


def test_tune_tab_gives_the_cores_numbers_and_adds_to_search(corpus, home):
    at = evaluate_tab("Tune fusion", **{state.EVAL_TUNE_FOLDS: 3})
    assert any("Press **Tune**" in i.value for i in at.info)
    check(at.button(key=state.EVAL_TUNE_GO).click().run())
    qrels = [Qrel(q, d, g) for q, d, g in LABELS]
    expected = tune.tune(corpus, ["bm25", "fake-encoder"], QUERIES, qrels, "nDCG@10", folds=3)
    held = next(m for m in at.metric if m.label == "Held-out nDCG@10")
    assert held.value == f"{expected.heldout_mean:.4f}"
    frames = [d.value for d in at.dataframe]
    comparisons = next(f for f in frames if "baseline" in f.columns)
    assert list(comparisons["baseline"]) == ["bm25", "fake-encoder", "rrf(bm25,fake-encoder)"]
    assert comparisons["p_holm"].tolist() == pytest.approx(expected.comparisons["p_holm"].tolist())
    assert any(expected.chosen in m.value for m in at.markdown)

    check(at.button(key=state.EVAL_TUNE_ADD).click().run())
    assert at.session_state[state.INTENDED_PAGE] == "pages/search/page.py"  # app.py opens it
    intents = at.session_state[state.INTENTS]
    assert intents == {state.INTENT_ADD_RANKER: expected.chosen}
    # "Evaluate this recipe": the tuned wsum(...) joins the rankers and survives reruns
    check(at.button(key=state.EVAL_TUNE_EVALUATE).click().run())
    assert expected.chosen in at.multiselect(key=state.EVAL_RANKERS).value
    check(at.run())
    assert expected.chosen in at.multiselect(key=state.EVAL_RANKERS).value
    summary = next(f for f in (d.value for d in at.dataframe) if "key" in f.columns)
    assert expected.chosen in list(summary["ranker"])
    assert at.button(key=state.EVAL_TUNE_ADD)  # the tuning's result stays on screen

    search = AppTest.from_file(SEARCH, default_timeout=60)
    search.session_state[state.INTENTS] = dict(intents)
    check(search.run())
    assert expected.chosen in search.multiselect(key=state.SEARCH_RANKERS).value
    assert state.INTENT_ADD_RANKER not in search.session_state[state.INTENTS]  # taken once


def test_typed_recipe_stays_on_evaluate_and_a_bad_one_is_said(corpus, home):
    typed = "rrf(bm25, fake-encoder, k=10)"
    at = evaluate_tab("Per query", **{state.EVAL_RANKERS: ["bm25", typed]})
    canonical = recipes.make_ranker(typed, corpus).name
    assert at.multiselect(key=state.EVAL_RANKERS).value == ["bm25", canonical]
    check(at.run())  # a rerun keeps it
    assert at.multiselect(key=state.EVAL_RANKERS).value == ["bm25", canonical]
    at = evaluate_tab("Per query", **{state.EVAL_RANKERS: ["bm25", "rrf(bm25)"]})
    assert any("'rrf(bm25)' left out" in e.value for e in at.error)


def test_pool_these_queries_opens_set_up_on_that_set(corpus, home):
    at = AppTest.from_file(JUDGE, default_timeout=60)
    at.session_state[state.INTENTS] = {state.INTENT_POOL_SET: "topics"}
    at.session_state[state.QUERY_SET] = "other"
    check(at.run())
    assert at.selectbox(key=state.QUERY_SET).value == "topics"
    assert at.session_state[state.JUDGE_TAB] == "Set up"
    # a pool of the first 2 queries where the two rankers differ most
    check(at.radio(key=state.JUDGE_SUBSET).set_value("different").run())
    check(at.number_input(key=state.JUDGE_SUBSET_N).set_value(2).run())
    at.multiselect(key=state.JUDGE_RANKERS).set_value(["bm25", "fake-encoder"])
    check(next(b for b in at.button if b.label == "Build pool").click().run())
    with JudgmentStore(home.db_url) as store:
        pool = store.pools("tiny", "topics")[-1]
    assert len({it.query_id for it in pool.items}) == 2


def test_snapshots_tab_saves_lists_and_compares(corpus, home):
    at = evaluate_tab("Snapshots")
    assert any("No snapshot of this corpus yet" in i.value for i in at.info)
    said = [c.value for c in at.caption if "Saved with these settings" in c.value]
    assert said and "condensed lists off" in said[0] and "level doc" in said[0]
    at.text_input(key=state.EVAL_SNAP_NAME).set_value("first")
    submit = next(b for b in at.button if b.label == "Save as snapshot")
    check(submit.click().run())
    assert any("Saved snapshot first" in s.value for s in at.success)
    assert at.text_input(key=state.EVAL_SNAP_NAME).value == ""  # a second Enter saves nothing
    at.text_input(key=state.EVAL_SNAP_NAME).set_value("first")
    check(next(b for b in at.button if b.label == "Save as snapshot").click().run())
    assert any("Replace a snapshot of the same name" in e.value for e in at.error)
    at.text_input(key=state.EVAL_SNAP_NAME).set_value("first")
    at.checkbox(key=state.EVAL_SNAP_REPLACE).check()
    check(next(b for b in at.button if b.label == "Save as snapshot").click().run())
    assert any("Replaced snapshot first" in s.value for s in at.success)
    with JudgmentStore(home.db_url) as store:
        snap = snapshots_store.load(store, "tiny", "first")
        # one more label changes q1: a second snapshot differs there, and the labels' hash
        store.add_label("tiny", "imported", "q1", "", 0, doc_id="py", source="import")
    assert snap.rankers == ["bm25", "fake-encoder"] and snap.labels_count == len(LABELS)
    at = evaluate_tab("Snapshots")
    at.text_input(key=state.EVAL_SNAP_NAME).set_value("second")
    check(next(b for b in at.button if b.label == "Save as snapshot").click().run())
    at = evaluate_tab("Snapshots", **{state.EVAL_SNAP_PICK: ["first", "second"]})
    table = next(d.value for d in at.dataframe if "delta" in d.value.columns)
    row = table.set_index("query_id").loc["q1"]
    assert row["status"] == "worse" and row["second"] == 0
    assert any("different labels" in w.value for w in at.warning)
    assert any("labels changed since snapshot" in w.value for w in at.warning)
    deltas = table["delta"].abs().tolist()
    assert deltas == sorted(deltas, reverse=True)  # the largest change first
    settings = next(d.value for d in at.dataframe if "differs" in d.value.columns)
    assert settings.set_index("setting").loc["labels", "differs"]
    assert "condensed" in next(d.value for d in at.dataframe if "name" in d.value.columns)
    assert len(at.get("download_button")) == 1


def test_arena_tab_beside_ndcg(corpus, home):
    with JudgmentStore(home.db_url) as store:
        for _ in range(4):
            pref_store.record(
                store, "tiny", "ann", "q1", "fake-encoder", "bm25", "right", kind="ranker"
            )
    at = evaluate_tab("Arena")
    table = next(d.value for d in at.dataframe if "arena_rank" in d.value.columns)
    rows = table.set_index("ranker")
    assert rows.loc["bm25", "arena_rank"] == 1 and rows.loc["fake-encoder", "arena_rank"] == 2
    assert "nDCG@10" in table.columns and not rows["nDCG@10"].isna().any()


def judge_preferences(mode: str) -> AppTest:
    at = AppTest.from_file(JUDGE, default_timeout=60)
    at.session_state[state.ANNOTATOR] = "alice"
    at.session_state[state.JUDGE_TAB] = "Preferences"
    at.session_state[state.JUDGE_PREF_MODE] = mode
    at.session_state[state.QUERY_SET] = "topics"
    return check(at.run())


def test_arena_is_blind_and_stores_the_pick(corpus, home):
    from pages.judge import preferences_tab as arena

    at = judge_preferences(arena.ARENA)
    shown = " ".join(m.value for m in at.markdown)
    assert "List A (left)" in shown and "List B (right)" in shown
    rnd = at.session_state[state.JUDGE_ARENA_ROUND]
    for name in (rnd.left, rnd.right):  # which ranker made which list is never on the page
        assert name not in shown.replace("Rankers in the arena", "")
    check(next(b for b in at.button if b.label == "← Left is better").click().run())
    with JudgmentStore(home.db_url) as store:
        (saved,) = pref_store.preferences(store, "tiny", kind="ranker")
    assert (saved.left, saved.right, saved.choice) == (rnd.left, rnd.right, "left")
    assert saved.shown["left"][0][0] == rnd.left_hits[0].passage_id
    assert any("Saved" in s.value for s in at.success)


def test_passages_side_by_side_and_agreement(corpus, home):
    from pages.judge import preferences_tab as arena

    with JudgmentStore(home.db_url) as store:
        pooling.make_pool(store, corpus, "topics", make_rankers(["bm25"], corpus), 2)
    at = judge_preferences(arena.PASSAGES)
    check(next(b for b in at.button if b.label == "= Tie").click().run())
    check(next(b for b in at.button if b.label == "Right is better →").click().run())
    with JudgmentStore(home.db_url) as store:
        saved = pref_store.preferences(store, "tiny")
        assert [p.choice for p in saved] == ["tie", "right"]
        assert len({frozenset((p.left, p.right)) for p in saved}) == 2  # a new pair each time
        assert all(p.left_doc and p.right_doc for p in saved)
    check(next(b for b in at.button if b.label == "Undo").click().run())
    with JudgmentStore(home.db_url) as store:
        assert [p.choice for p in pref_store.preferences(store, "tiny")] == ["tie"]
