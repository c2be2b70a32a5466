"""The Judge page's "Review" tab: the judges' suggestions in one table, filtered and sorted (grade,
the judges' disagreement, cross-encoder score), accepted all at once, row by row, or by keyboard.

Every rule is in ranklens.judges.review (the CLI's `judgments review`). An accepted suggestion
becomes the reviewer's own label and keeps its provenance. Only the reviewer's own labels are
shown, never another annotator's. Texts are untrusted: escaped (passage_html) or table cells.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from components import safe, state
from ranklens.corpus import index
from ranklens.corpus.lookups import query_texts
from ranklens.errors import RankLensError
from ranklens.judges import review as rv
from ranklens.judging import JudgmentStore
from ranklens.llm.prompt import JUDGE_PREFIX

from .display import code, flash, scope, show_flash, show_unit
from .header import PageContext

SORT_TEXT = {
    "disagreement": "judges' disagreement",
    "grade": "grade",
    "cross-encoder": "cross-encoder score",
}


def _table(rows: Sequence[rv.ReviewRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "query": r.query_id,
                "passage": r.passage_id or r.doc_id,
                "judge": r.judge,
                "grade": r.grade,
                "disagreement": r.disagreement,
                "judges": r.judges,
                "cross-encoder": r.cross_encoder,
                "yours": (
                    ""
                    if r.mine is None
                    else f"{r.mine} (accepted)"
                    if r.mine_accepted
                    else str(r.mine)
                ),
            }
            for r in rows
        ],
        columns=[
            "query",
            "passage",
            "judge",
            "grade",
            "disagreement",
            "judges",
            "cross-encoder",
            "yours",
        ],
    )


def _accept(
    store: JudgmentStore,
    corpus: str,
    annotator: str,
    rows: Sequence[rv.ReviewRow],
    query_set: str | None,
    overwrite: bool,
) -> None:
    try:
        result = rv.accept_rows(
            store, corpus, annotator, rows, query_set=query_set, overwrite=overwrite
        )
    except RankLensError as exc:
        flash("error", safe.error(exc))
        return
    kept = f"; {result.skipped} you had labelled were kept" if result.skipped else ""
    flash("success", f"Accepted {len(result.accepted)} suggestions as your labels{kept}.")


def _move(step: int, n: int) -> None:
    at = int(st.session_state.get(state.JUDGE_REVIEW_CURSOR) or 0)
    st.session_state[state.JUDGE_REVIEW_CURSOR] = max(0, min(n - 1, at + step))


def _keyboard(
    store: JudgmentStore,
    corpus: index.Corpus,
    annotator: str,
    rows: Sequence[rv.ReviewRow],
    query_set: str | None,
) -> None:
    """One row at a time: a accepts it, j / k move down / up."""
    at = max(0, min(len(rows) - 1, int(st.session_state.get(state.JUDGE_REVIEW_CURSOR) or 0)))
    st.session_state[state.JUDGE_REVIEW_CURSOR] = at
    r = rows[at]
    st.markdown(
        f"**Row {at + 1} of {len(rows)}**: {code(r.judge)} suggests **{r.grade}** "
        f"(disagreement {r.disagreement})"
    )
    query = query_texts(corpus).get(r.query_id, "")
    show_unit(corpus, query, r.query_id, r.passage_id, r.doc_id)
    a, b, c = st.columns(3)
    a.button(
        "Accept (a)",
        key=state.JUDGE_REVIEW_ACCEPT,
        shortcut="a",
        type="primary",
        on_click=_accept,
        args=(store, corpus.name, annotator, [r], query_set, True),
    )
    b.button(
        "Next (j)", key=state.JUDGE_REVIEW_NEXT, shortcut="j", on_click=_move, args=(1, len(rows))
    )
    c.button(
        "Previous (k)",
        key=state.JUDGE_REVIEW_PREV,
        shortcut="k",
        on_click=_move,
        args=(-1, len(rows)),
    )


def render(page: PageContext) -> None:
    store, corpus, query_set, annotator = page.store, page.corpus, page.query_set, page.annotator
    queries = page.queries
    show_flash()
    st.caption(
        "Every judge's suggestions in one table. Accepting one makes it your own label, which "
        "says which judge (and prompt) it came from; agreement and evaluation can leave "
        "accepted labels out."
    )
    if not annotator:
        st.info("Type your name above to review suggestions.")
        return
    query_ids = scope(query_set, queries, state.JUDGE_SCOPE + ":review")
    try:
        rows = rv.review_rows(store, corpus.name, annotator=annotator, query_ids=query_ids)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    if not rows:
        st.caption("No suggestion yet: pre-grade the pool under **Set up** (cross-encoder or LLM).")
        return
    names = sorted({r.judge for r in rows})
    kept = [n for n in st.session_state.get(state.JUDGE_REVIEW_JUDGES, []) if n in names]
    if not kept:
        llms = [n for n in names if n.startswith(JUDGE_PREFIX)]
        kept = [llms[-1] if llms else names[0]]
    st.session_state[state.JUDGE_REVIEW_JUDGES] = kept
    scale = store.scale(corpus.name)
    a, b, c = st.columns([2, 1, 1])
    chosen = a.multiselect("Suggestions of", names, key=state.JUDGE_REVIEW_JUDGES)
    grades = b.multiselect(
        "Grades", list(scale.values), default=list(scale.values), key=state.JUDGE_REVIEW_GRADES
    )
    least = c.number_input("Disagreement at least", 0, scale.max, 0, key=state.JUDGE_REVIEW_MIN_DIS)
    d, e = st.columns([1, 2])
    unlabelled = d.toggle(
        "Only passages I have not labelled", value=True, key=state.JUDGE_REVIEW_UNLABELLED
    )
    sort = e.radio(
        "Sort by",
        list(SORT_TEXT),
        format_func=SORT_TEXT.get,
        horizontal=True,
        key=state.JUDGE_REVIEW_SORT,
    )
    shown = rv.sort_rows(
        rv.filter_rows(
            rows,
            judges=chosen,
            grades=grades,
            min_disagreement=int(least),
            unlabelled_only=unlabelled,
        ),
        sort,
    )
    st.caption(f"{len(shown)} of {len(rows)} suggestions shown.")
    if not shown:
        return
    digest = hashlib.sha1(repr([(r.unit, r.judge, r.mine) for r in shown]).encode()).hexdigest()[
        :10
    ]
    event = st.dataframe(
        _table(shown),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key=f"{state.JUDGE_REVIEW_TABLE}_{digest}",  # a new table, a new selection
        column_config={"cross-encoder": st.column_config.NumberColumn(format="%.3f")},
    )
    picked = [shown[i] for i in event.selection.rows if i < len(shown)]
    left, right = st.columns(2)
    left.button(
        f"Accept selected ({len(picked)})",
        key=state.JUDGE_REVIEW_SELECTED,
        disabled=not picked,
        on_click=_accept,
        args=(store, corpus.name, annotator, picked, query_set, True),
        help="The selected rows become your labels (yours are replaced).",
    )
    right.button(
        f"Accept all shown ({len(shown)})",
        key=state.JUDGE_REVIEW_ALL,
        on_click=_accept,
        args=(store, corpus.name, annotator, shown, query_set, False),
        help="Every row shown becomes your label; passages you labelled keep your label. "
        "With several judges on one passage, the first row of that passage wins.",
    )
    st.markdown("**By keyboard**")
    _keyboard(store, corpus, annotator, shown, query_set)
