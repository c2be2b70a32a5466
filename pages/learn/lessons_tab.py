"""Learn page, tab "Lessons": seven short lessons computed live on a labelled query set, each
with its step table and a button that opens the same view on the Search or Evaluate page.

The lessons, their rules and numbers are ranklens.teaching.lessons; this module lays them out.
"""

from __future__ import annotations

import streamlit as st

from components import safe, state
from pages.learn.common import lesson_context, open_target
from pages.learn.explain_tab import show
from pages.learn.tiny_judge_tab import tiny_judge_section
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.teaching import lessons, tiny_judge
from ranklens.types import Qrel

BUTTON = {"search": "Open this on the Search page", "evaluate": "Open this on the Evaluate page"}


def lessons_tab(corpus: Corpus, query_set: str, qrels: list[Qrel] | None) -> None:
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
        tiny_judge_section(corpus, query_set, qrels)
        return
    try:
        ctx = lesson_context(corpus, query_set, qrels)
    except RankLensError as exc:
        st.error(safe.error(exc))
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
