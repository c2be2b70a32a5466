"""The Judge tab's panels beside and below the passage: this annotator's and the pool's progress,
time per label, the queue order (with its trade-off), the scale, guidelines and keys, and the
progress per query.

Figures come from ranklens.judging (the session's progress, timing, queue_order).
"""

from __future__ import annotations

import streamlit as st

from components import safe, state
from ranklens.judging import JudgingProgress, JudgingSession, JudgmentStore, queue_order, timing

from .display import table
from .judging_state import JudgeView, order_changed

KEYS_HELP = (
    ("0-9", "grade (then the next passage)"),
    ("x", "can't judge"),
    ("j or →", "next passage"),
    ("k or ←", "previous passage"),
    ("s", "skip (comes back at the end)"),
    ("u", "undo your last action"),
    ("n", "write a note (Ctrl+Enter saves, Esc closes)"),
)
ORDER_TEXT = {
    "shuffled": "Blind, shuffled (default)",
    "pool-rank": "Likely relevant first: the pool's rank",
    "cross-encoder": "Likely relevant first: cross-encoder score",
}


def _progress_text(p: JudgingProgress, what: str) -> str:
    done = p.total - p.remaining
    return (
        f"{what}, your progress: {done} of {p.total} passages no longer wait for you · "
        f"{p.judged} judged by you"
    )


def _pool_text(p: JudgingProgress, what: str, needed: int) -> str:
    labels = "label" if needed == 1 else "labels"
    return (
        f"{what}, the pool's progress: {p.complete} of {p.total} passages have the {needed} "
        f"graded {labels} they need (from every annotator)"
    )


def progress_panel(view: JudgeView) -> None:
    prog = view.progress
    needed = view.session.annotators_per_passage
    mine, pool = st.columns(2)
    mine.progress(prog.overall.fraction, text=_progress_text(prog.overall, "Overall"))
    pool.progress(prog.overall.pool_fraction, text=_pool_text(prog.overall, "Overall", needed))
    if view.item is not None:
        p = prog.per_query[view.item.query_id]
        mine.progress(p.fraction, text=_progress_text(p, "This query"))
        pool.progress(p.pool_fraction, text=_pool_text(p, "This query", needed))


def per_query_times(store: JudgmentStore, session: JudgingSession) -> dict[str, str]:
    """Query id -> "median / p90 s" over every annotator's timed labels (for the progress table)."""
    st_ = timing.time_stats(store, session.corpus, query_ids=session.query_ids)
    return {
        q: f"{s.median:.1f} / {s.p90:.1f} s"
        for q, s in st_["query"].items()
        if s.median is not None and s.p90 is not None
    }


def per_query_table(view: JudgeView) -> None:
    times = per_query_times(view.store, view.session)
    table(
        [
            {
                "query": qid,
                "text": view.session.queries.get(qid, ""),
                "done": p.fraction,
                "judged by you": p.judged,
                "complete": p.complete,
                "passages": p.total,
                "median / p90 per label": times.get(qid, ""),
            }
            for qid, p in view.progress.per_query.items()
        ],
        column_config={
            "done": st.column_config.ProgressColumn("done", min_value=0.0, max_value=1.0)
        },
    )


def times_caption(store: JudgmentStore, session: JudgingSession) -> None:
    """This annotator's median and p90 seconds per label (and this query's, over everyone)."""
    st_ = timing.time_stats(store, session.corpus, query_ids=session.query_ids)
    mine = st_["annotator"].get(session.annotator)
    if mine is None or mine.median is None:
        return
    st.caption(
        f"Your time per label: median {mine.median:.1f} s, p90 {mine.p90:.1f} s "
        f"({mine.n} timed labels)"
    )


def order_choice(applied: str) -> None:
    """The queue-order radio and its trade-off (read by apply_queue_order on the next run)."""
    st.radio(
        "Order",
        list(ORDER_TEXT),
        format_func=ORDER_TEXT.get,
        key=state.JUDGE_ORDER,
        help=queue_order.TRADE_OFF,
        on_change=order_changed,
    )
    chosen = st.session_state.get(state.JUDGE_ORDER, "shuffled")
    if chosen != "shuffled":
        st.caption(queue_order.TRADE_OFF)
    if chosen == "cross-encoder" and applied != "cross-encoder":
        st.info(
            "No cross-encoder suggestions for this corpus yet (Set up): the order stays shuffled."
        )


def guidelines_panel(session: JudgingSession) -> None:
    st.markdown("**Scale**")
    for g in session.scale.grades:
        st.markdown(f"**{g.value}** · {safe.md(g.label)} — {safe.md(g.guideline)}")
    if session.guidelines.strip():
        with st.container(border=True):
            st.markdown("**Guidelines**")
            st.markdown(safe.md_defanged(session.guidelines))  # no link, image or HTML
    with st.expander("Keys", expanded=False):
        st.markdown("\n".join(f"- **{k}**: {what}" for k, what in KEYS_HELP))


def side_panel(view: JudgeView, applied: str) -> None:
    """Beside the passage: progress, time per label, the queue order, the suggestions switch,
    the scale and guidelines."""
    progress_panel(view)
    times_caption(view.store, view.session)
    order_choice(applied)
    st.toggle(
        "Show model suggestions",
        value=True,
        key=state.JUDGE_SHOW_SUGGESTIONS,
        help="Suggestions (if the pool was pre-graded) are shown as “suggested”, never "
        "counted as labels. Turn off to judge without them.",
    )
    guidelines_panel(view.session)
