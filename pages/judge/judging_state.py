"""What the Judge tab keeps between runs: the passage under the cursor and the order to walk the
queue in, the queue's order (blind shuffle or likely relevant first), and when a passage was shown.

Rules are in ranklens.judging (the session's queue, queue_order, timing); this is session state.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import streamlit as st

from components import auth, state
from components.label_widgets import SavedLabel
from ranklens import models
from ranklens.errors import RankLensError
from ranklens.judging import JudgingSession, JudgmentStore, PoolInfo, PoolItem, queue_order, timing


class JudgeView:
    """What one run of the Judge tab shows: the session, this annotator's queue and labels,
    the navigation order and the passage under the cursor."""

    def __init__(self, store: JudgmentStore, session: JudgingSession) -> None:
        self.store = store
        self.session = session
        self.context = (store.url, session.pool_id, session.annotator)
        self.mine = session.labels()
        self.queue = session.queue()
        self.progress = session.progress()
        waiting = {it.unit for it in self.queue}
        self.nav = [it for it in session.items if it.unit in self.mine or it.unit in waiting]
        cursor = st.session_state.get(state.JUDGE_CURSOR)
        unit = cursor[1] if cursor and cursor[0] == self.context else None
        found = next((it for it in self.nav if it.unit == unit), None)
        self.item = found or (self.queue[0] if self.queue else None)


def set_cursor(context: tuple, item: PoolItem | None) -> None:
    """Show `item` on the next run (None: the head of the queue)."""
    st.session_state[state.JUDGE_CURSOR] = (context, item.unit if item else None)


def after(session: JudgingSession, nav: Sequence[PoolItem], item: PoolItem) -> PoolItem | None:
    """The passage to show after `item` was dealt with: the next one still waiting for this
    annotator after it in their order, else the first still waiting (skipped ones last)."""
    queue = session.queue()
    waiting = {it.unit for it in queue}
    units = [it.unit for it in nav]
    start = units.index(item.unit) + 1 if item.unit in units else 0
    for it in nav[start:]:
        if it.unit in waiting and it.unit != item.unit:
            return it
    return next((it for it in queue if it.unit != item.unit), queue[0] if queue else None)


def reranker_scores(store: JudgmentStore, corpus: str) -> tuple[str | None, dict]:
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
        _, scores = reranker_scores(store, session.corpus)
        if not scores:
            return "shuffled"
    queue_order.apply_order(session, order, items=pool.items, scores=scores)
    return order


@auth.guarded  # team mode: only the signed-in owner of this session
def order_changed() -> None:
    st.session_state[state.JUDGE_CURSOR] = None  # start at the head of the reordered queue


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
