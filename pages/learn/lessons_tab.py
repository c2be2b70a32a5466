"""Learn page, tab "Lessons": seven short lessons computed live on a labelled query set, each
with its step table and a button that opens the same view on the Search or Evaluate page.

The lessons, their rules and numbers are ranklens.teaching.lessons; this module lays them out.
"""

from __future__ import annotations

import streamlit as st

from components import page_files, routing, safe, state
from pages.learn import tiny_judge_lesson
from pages.learn.explain_tab import show
from pages.learn.labelled_set import lesson_context
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.teaching import lessons, tiny_judge
from ranklens.types import Qrel

BUTTON = {"search": "Open this on the Search page", "evaluate": "Open this on the Evaluate page"}
LESSON_INTENT = "learn-lesson"  # the intent a lesson's button sends (the lesson's query id)
EVAL_TABS = {"per-query": "Per query", "significance": "Significance"}


def render(corpus: Corpus, query_set: str, qrels: list[Qrel] | None) -> None:
    st.write(
        "Each lesson picks its example from the data by the rule it states (the largest "
        "per-query difference, the most typical query, …), so it stays true when the corpus, "
        "the labels or the models change. Every table below adds up to the number the "
        "library itself reports."
    )
    if not qrels:
        st.info(
            f"The query set {query_set!r} has no labels yet, and the lessons compare rankers "
            "against labels. Choose a set with labels (the demo's `faq`), or judge some "
            "results on the Judge page."
        )
        return
    names = [f"{i}. {name}" for i, name in enumerate(lessons.NAMES, 1)]
    names.append(f"{len(names) + 1}. {tiny_judge.TITLE}")  # needs an LLM endpoint: its own tab
    if st.session_state.get(state.LEARN_LESSON) not in names:
        st.session_state[state.LEARN_LESSON] = names[0]
    picked = st.radio("Lesson", names, key=state.LEARN_LESSON, horizontal=True)
    if picked == names[-1]:
        tiny_judge_lesson.render(corpus, query_set, qrels)
        return
    ctx = lesson_context(corpus, query_set, qrels)
    if ctx is None:
        return
    fn = lessons.LESSONS[names.index(picked)]
    try:
        with st.spinner("Computing the lesson…"):
            lesson = fn(ctx)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    _draw(corpus, lesson)


def _draw(corpus: Corpus, lesson: lessons.Lesson) -> None:
    st.subheader(f"{lesson.number}. {lesson.title}")
    if lesson.query is not None:
        st.caption("The query")
        st.text(f"{lesson.query.query_id}: {lesson.query.text}")
    st.text(lesson.text)
    if lesson.table is not None:
        st.dataframe(lesson.table, hide_index=True, width="stretch")
    if lesson.steps is not None:
        show(lesson.steps)
    for note in lesson.notes:
        st.caption(note)
    st.button(
        BUTTON[lesson.target.page],
        key=f"rl_learn_open_{lesson.key}",
        type="primary",
        on_click=open_target,
        args=(corpus.name, lesson.target),
    )


def open_target(corpus_name: str, target: lessons.Target) -> None:
    """A lesson button's on_click: set the Search or Evaluate page's widgets to the lesson's
    view (callbacks run before any widget exists); app.py opens that page on the next run."""
    ss = st.session_state
    ss[state.CORPUS] = corpus_name
    ss[state.QUERY_SET] = target.query_set
    if target.page == "search":
        ss[state.SEARCH_RANKERS] = list(target.rankers)
        ss[state.SEARCH_QUERY] = target.query_text or ""
        if target.query_id and target.query_text:
            ss[state.SEARCH_QID] = (target.query_id, target.query_text)
        ss[state.SEARCH_DOC_LEVEL] = True
        if target.hnsw_model:
            ss[state.SEARCH_HNSW_MODEL] = target.hnsw_model
        ss.pop(state.SEARCH_RESULT, None)
        routing.send(page_files.SEARCH, LESSON_INTENT, target.query_id)
    else:
        ss[state.EVAL_RANKERS] = list(target.rankers)
        if target.measures:
            ss[state.EVAL_MEASURES] = list(target.measures)
        ss[state.EVAL_LEVEL] = "doc"
        ss[state.EVAL_CONDENSED] = target.condensed
        if target.tab in EVAL_TABS:
            ss[state.EVAL_TAB] = EVAL_TABS[target.tab]
        if target.query_id:
            ss[state.EVAL_EXPLAIN_QUERY] = target.query_id
        if target.ranker:
            ss[state.EVAL_EXPLAIN_RANKER] = target.ranker
        routing.send(page_files.EVALUATE, LESSON_INTENT, target.query_id)
