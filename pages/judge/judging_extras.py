"""The Judge tab's extras: the queue order (blind shuffle, or likely relevant first,
with its trade-off), the time each passage was shown before its label, and a reason typed
after a grade without leaving the keyboard (grade, Tab, text, Enter).

Rules are in ranklens.judging.queue_order and ranklens.judging.timing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import streamlit as st

from components import auth, state
from components.label_widgets import SavedLabel
from ranklens import models
from ranklens.errors import RankLensError
from ranklens.judges import judges
from ranklens.judging import (
    CurrentLabel,
    JudgingSession,
    JudgmentStore,
    PoolInfo,
    PoolItem,
    queue_order,
    timing,
)

from .common import code, flash

ORDER_TEXT = {
    "shuffled": "Blind, shuffled (default)",
    "pool-rank": "Likely relevant first: the pool's rank",
    "cross-encoder": "Likely relevant first: cross-encoder score",
}
# Tab (outside any text box) focuses the reason box; a constant script, no page text in it
FOCUS_REASON = (
    "<script>(function(){var w=window.parent||window,d=w.document;if(w.__rlReasonTab)return;"
    "w.__rlReasonTab=true;d.addEventListener('keydown',function(e){if(e.key!=='Tab')return;"
    "var a=d.activeElement,t=a&&a.tagName;if(t==='INPUT'||t==='TEXTAREA')return;"
    "var i=d.querySelector('.st-key-rl_judge_reason input');if(i){e.preventDefault();i.focus();}"
    "},true);})();</script>"
)


def _scores(store: JudgmentStore, corpus: str) -> tuple[str | None, dict]:
    """The first cross-encoder with stored suggestions, and its scores."""
    for name in models.reranker_names():
        scores = queue_order.suggestion_scores(store, corpus, name)
        if scores:
            return name, scores
    return None, {}


def apply_queue_order(store: JudgmentStore, session: JudgingSession, pool: PoolInfo) -> str:
    """Put the session's queue in the order chosen (before the view reads it); returns it."""
    order = st.session_state.get(state.JUDGE_ORDER, "shuffled")
    if order not in queue_order.ORDERS:
        order = "shuffled"
    scores = None
    if order == "cross-encoder":
        _, scores = _scores(store, session.corpus)
        if not scores:
            return "shuffled"
    queue_order.apply_order(session, order, items=pool.items, scores=scores)
    return order


@auth.guarded  # team mode: only the signed-in owner of this session
def _order_changed() -> None:
    st.session_state[state.JUDGE_CURSOR] = None  # start at the head of the reordered queue


def order_choice(store: JudgmentStore, corpus: str, applied: str) -> None:
    """The queue-order radio and its trade-off (read by apply_queue_order on the next run)."""
    st.radio(
        "Order",
        list(ORDER_TEXT),
        format_func=ORDER_TEXT.get,
        key=state.JUDGE_ORDER,
        help=queue_order.TRADE_OFF,
        on_change=_order_changed,
    )
    chosen = st.session_state.get(state.JUDGE_ORDER, "shuffled")
    if chosen != "shuffled":
        st.caption(queue_order.TRADE_OFF)
    if chosen == "cross-encoder" and applied != "cross-encoder":
        st.info(
            "No cross-encoder suggestions for this corpus yet (Set up): the order stays shuffled."
        )


def mark_shown(context: tuple, item: PoolItem) -> None:
    """Remember when this passage first appeared (kept while it stays on screen)."""
    found = st.session_state.get(state.JUDGE_SHOWN)
    if not found or found[0] != context or found[1] != item.unit:
        st.session_state[state.JUDGE_SHOWN] = (context, item.unit, time.time())


def after_label(store: JudgmentStore, context: tuple, saved: SavedLabel) -> None:
    """After a label was saved: keep its time, and offer the reason box for it."""
    unit = (saved.query_id, saved.doc_id, saved.passage_id)
    found = st.session_state.get(state.JUDGE_SHOWN)
    if found and found[0] == context and found[1] == unit:
        try:
            timing.record_time(store, saved.event_id, found[2])
        except RankLensError:
            pass  # an implausible time (a clock change) is not kept; the label is
    st.session_state[state.JUDGE_REASON_FOR] = (context, unit)
    st.session_state[state.JUDGE_REASON] = ""


@auth.guarded  # team mode: only the signed-in owner of this session
def _save_reason(session: JudgingSession, item: PoolItem) -> None:
    text = str(st.session_state.get(state.JUDGE_REASON) or "").strip()
    if not text:
        return
    try:
        session.note(item, text)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    st.session_state[state.JUDGE_REASON_FOR] = None
    st.session_state[state.JUDGE_REASON] = ""
    flash("success", f"Saved the reason for your grade of passage {code(item.passage_id)}.")


def reason_box(session: JudgingSession, context: tuple) -> None:
    """The reason for the label just given: Tab focuses it, Enter saves it as a note."""
    found = st.session_state.get(state.JUDGE_REASON_FOR)
    if not found or found[0] != context:
        return
    item = next((it for it in session.items if it.unit == found[1]), None)
    if item is None:
        return
    st.text_input(
        f"Reason for your grade of passage {code(item.passage_id)} (Tab, type, Enter)",
        key=state.JUDGE_REASON,
        on_change=_save_reason,
        args=(session, item),
        placeholder="optional: why this grade?",
    )
    st.html(FOCUS_REASON, unsafe_allow_javascript=True)  # a constant


def accept_buttons(
    store: JudgmentStore,
    session: JudgingSession,
    item: PoolItem,
    on_saved: Callable[[SavedLabel], None],
) -> None:
    """One "Accept" button per suggestion on this passage: it becomes your own label."""
    found = [
        s
        for s in store.suggestions(session.corpus, query_ids=[item.query_id])
        if s.unit == item.unit and s.grade is not None
    ]
    if not found:
        return
    with st.container(horizontal=True, gap="small"):
        for s in found:
            digest = hashlib.sha1("\x1f".join((*item.unit, s.annotator)).encode()).hexdigest()[:12]
            st.button(
                f"Accept {s.grade} ({s.annotator})",
                key=f"{state.JUDGE_ACCEPT}_{digest}",
                on_click=_accept,
                args=(store, session, s, on_saved),
                help="Make this suggestion your own label (it is stored as yours, saying "
                "which judge it came from).",
            )


@auth.guarded  # team mode: only the signed-in owner of this session
def _accept(
    store: JudgmentStore,
    session: JudgingSession,
    suggestion: CurrentLabel,
    on_saved: Callable[[SavedLabel], None],
) -> None:
    try:
        event_id = judges.accept_suggestion(
            store, session.corpus, session.annotator, suggestion, query_set=session.query_set
        )
    except RankLensError as exc:
        flash("error", str(exc))
        return
    s = suggestion
    on_saved(SavedLabel(event_id, s.grade, s.query_id, s.passage_id, s.doc_id))


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


def per_query_times(store: JudgmentStore, session: JudgingSession) -> dict[str, str]:
    """Query id -> "median / p90 s" over every annotator's timed labels (for the progress table)."""
    st_ = timing.time_stats(store, session.corpus, query_ids=session.query_ids)
    return {
        q: f"{s.median:.1f} / {s.p90:.1f} s"
        for q, s in st_["query"].items()
        if s.median is not None and s.p90 is not None
    }


def below_buttons(
    store: JudgmentStore,
    session: JudgingSession,
    context: tuple,
    item: PoolItem,
    on_saved: Callable[[SavedLabel], None],
) -> None:
    """Under the grade buttons: the passage's shown time, the reason box for the label just
    given, and (when suggestions are shown) one Accept button per suggestion."""
    mark_shown(context, item)
    reason_box(session, context)
    if st.session_state.get(state.JUDGE_SHOW_SUGGESTIONS, True):
        accept_buttons(store, session, item, on_saved)


def side_panel(store: JudgmentStore, session: JudgingSession, applied: str) -> None:
    """Beside the passage: this annotator's time per label and the queue order."""
    times_caption(store, session)
    order_choice(store, session.corpus, applied)
