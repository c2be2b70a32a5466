"""The Judge page's "Judge" tab: blind judging of one passage at a time by keyboard (grade,
can't judge, skip, undo, note, previous/next), progress, guidelines and suggestions beside it.

Judges never see which ranker found a passage; every store write commits before "Saved" shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial

import pandas as pd
import streamlit as st

from components import auth, safe, state
from components.label_widgets import SavedLabel, describe, label_buttons
from ranklens.corpus import external_docs, index
from ranklens.errors import RankLensError
from ranklens.judging import JudgingProgress, JudgingSession, JudgmentStore, PoolItem, pooling
from ranklens.ranking.highlight import escape

from . import judging_extras
from .common import CSS, FOCUS_NOTE, KEYS_HELP, code, flash, passage_html, pool_label, show_flash


def unit_key(pool_id: int, item: PoolItem) -> str:
    """The grade buttons' key for one passage (clean for CSS; new buttons for each passage, so a
    key pressed while a passage is still on screen always labels that passage)."""
    digest = hashlib.sha1("\x1f".join(item.unit).encode()).hexdigest()[:12]
    return f"{state.JUDGE_GRADES}_{pool_id}_{digest}"


class JudgeView:
    """What one run of the judging tab shows: the session, this annotator's queue and labels,
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


def _set_cursor(context: tuple, item: PoolItem | None) -> None:
    st.session_state[state.JUDGE_CURSOR] = (context, item.unit if item else None)


def _after(session: JudgingSession, nav: Sequence[PoolItem], item: PoolItem) -> PoolItem | None:
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


def _on_saved(
    session: JudgingSession,
    context: tuple,
    nav: Sequence[PoolItem],
    item: PoolItem,
    saved: SavedLabel,
) -> None:
    _set_cursor(context, _after(session, nav, item))
    judging_extras.after_label(session.store, context, saved)  # its time; the reason box
    what = describe(session.scale, saved.grade)
    flash(
        "success",
        f"Saved: **{what}** for passage {code(saved.passage_id)} (query {code(saved.query_id)}).",
    )


@auth.guarded  # team mode: only the signed-in owner of this session
def _go(context: tuple, nav: Sequence[PoolItem], item: PoolItem | None, step: int) -> None:
    units = [it.unit for it in nav]
    if item is None or item.unit not in units:
        pos = len(nav) if step < 0 else -1
    else:
        pos = units.index(item.unit)
    new = pos + step
    if 0 <= new < len(nav):
        _set_cursor(context, nav[new])
    elif step < 0:
        flash("info", "This is the first passage.")
    else:
        _set_cursor(context, None)
        flash("info", "The end of your order: back to the first passage waiting for you.")


@auth.guarded  # team mode: only the signed-in owner of this session
def _skip(session: JudgingSession, context: tuple, nav: Sequence[PoolItem], item: PoolItem) -> None:
    try:
        session.skip(item)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    _set_cursor(context, _after(session, nav, item))
    flash("info", f"Skipped passage {code(item.passage_id)}: it comes back at the end.")


@auth.guarded  # team mode: only the signed-in owner of this session
def _undo(session: JudgingSession, context: tuple) -> None:
    try:
        ev = session.undo()
    except RankLensError as exc:
        flash("error", str(exc))
        return
    if ev is None:
        flash("info", "Nothing to undo.")
        return
    target = next(
        (it for it in session.items if it.unit == (ev.query_id, ev.doc_id, ev.passage_id)), None
    )
    _set_cursor(context, target)
    what = {
        "label": f"the grade {describe(session.scale, ev.grade)}",
        "cant_judge": "“can't judge”",
        "skip": "the skip",
        "note": "the note",
    }.get(ev.kind, ev.kind)
    flash("info", f"Undid {what} on passage {code(ev.passage_id)}.")


@auth.guarded  # team mode: only the signed-in owner of this session
def _open_note(item: PoolItem) -> None:
    """Open the note box for this passage (it stays with the passage it was opened for)."""
    if st.session_state.get(state.JUDGE_NOTE_OPEN) != item.unit:
        st.session_state[state.JUDGE_NOTE_TEXT] = ""
    st.session_state[state.JUDGE_NOTE_OPEN] = item.unit


def _close_note() -> None:
    st.session_state[state.JUDGE_NOTE_OPEN] = None
    st.session_state[state.JUDGE_NOTE_TEXT] = ""


@auth.guarded  # team mode: only the signed-in owner of this session
def _save_note(session: JudgingSession, item: PoolItem) -> None:
    text = str(st.session_state.get(state.JUDGE_NOTE_TEXT) or "").strip()
    if not text:
        flash("warning", "The note is empty: nothing saved.")
        return
    try:
        session.note(item, text)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    _close_note()
    flash("success", f"Saved your note on passage {code(item.passage_id)}.")


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


def per_query_table(view: JudgeView) -> None:
    times = judging_extras.per_query_times(view.store, view.session)
    rows = [
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
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "done": st.column_config.ProgressColumn("done", min_value=0.0, max_value=1.0)
        },
    )


def _suggestion(store: JudgmentStore, corpus: str, item: PoolItem) -> str | None:
    found = [
        s
        for s in store.suggestions(corpus, query_ids=[item.query_id])
        if s.unit == item.unit and s.grade is not None
    ]
    if not found:
        return None
    return ", ".join(f"{s.grade} ({s.annotator})" for s in found)


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


def nav_buttons(view: JudgeView) -> None:
    session, item, ctx, nav = view.session, view.item, view.context, view.nav
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Previous", key=state.JUDGE_PREV, shortcut="k", on_click=_go, args=(ctx, nav, item, -1)
        )
        st.button(
            "Next",
            key=state.JUDGE_NEXT,
            shortcut="j",
            on_click=_go,
            args=(ctx, nav, item, 1),
            disabled=item is None,
        )
        st.button(
            "Skip",
            key=state.JUDGE_SKIP,
            shortcut="s",
            on_click=_skip,
            args=(session, ctx, nav, item),
            disabled=item is None,
        )
        st.button("Undo", key=state.JUDGE_UNDO, shortcut="u", on_click=_undo, args=(session, ctx))
        st.button(
            "Note",
            key=state.JUDGE_NOTE,
            shortcut="n",
            on_click=_open_note,
            args=(item,),
            disabled=item is None,
        )
        # the arrow keys: hidden twins (CSS) of Previous / Next
        st.button(
            "←", key=state.JUDGE_LEFT, shortcut="Left", on_click=_go, args=(ctx, nav, item, -1)
        )
        st.button(
            "→",
            key=state.JUDGE_RIGHT,
            shortcut="Right",
            on_click=_go,
            args=(ctx, nav, item, 1),
            disabled=item is None,
        )


def note_box(session: JudgingSession, item: PoolItem) -> None:
    label = session.labels().get(item.unit)
    if label is not None and label.note:
        st.caption(f"Your latest note: {code(label.note)}")
    if st.session_state.get(state.JUDGE_NOTE_OPEN) != item.unit:
        return
    st.text_area("Note on this passage (why this grade?)", key=state.JUDGE_NOTE_TEXT, height=90)
    st.html(FOCUS_NOTE, unsafe_allow_javascript=True)  # a constant: focus the note box
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Save note",
            key=state.JUDGE_NOTE_SAVE,
            shortcut="Ctrl+Enter",
            on_click=_save_note,
            args=(session, item),
            type="primary",
        )
        st.button("Close", key=state.JUDGE_NOTE_CANCEL, shortcut="Esc", on_click=_close_note)


def judge_item(view: JudgeView, corpus: index.Corpus) -> None:
    """The passage, its grade buttons and the navigation. The buttons are sent to the browser
    before the passage text (which fills a slot above them): once a new passage is visible, the
    keys already grade that passage, never the one before."""
    session, item = view.session, view.item
    assert item is not None
    slot = st.container()
    label_buttons(
        view.store,
        corpus.name,
        session.annotator,
        item.query_id,
        item.passage_id,
        item.doc_id,
        session.query_set,
        key=unit_key(session.pool_id, item),
        scale=session.scale,
        current=view.mine.get(item.unit),
        shortcuts=True,
        cant_judge=True,
        confirm=False,
        on_saved=partial(_on_saved, session, view.context, view.nav, item),
    )
    nav_buttons(view)
    note_box(session, item)
    on_saved = partial(_on_saved, session, view.context, view.nav, item)
    judging_extras.below_buttons(view.store, session, view.context, item, on_saved)
    p = external_docs.passages_for(corpus, [item.passage_id]).get(item.passage_id)
    query = session.queries.get(item.query_id, "")
    title, text = (p.title, p.text) if p is not None else ("", "")
    position = [it.unit for it in view.nav].index(item.unit) + 1 if item in view.nav else 0
    suggestion = (
        _suggestion(view.store, corpus.name, item)
        if st.session_state.get(state.JUDGE_SHOW_SUGGESTIONS, True)
        else None
    )
    meta = f"passage {escape(item.passage_id)} · {position} of {len(view.nav)} in your order"
    if p is not None and external_docs.is_external(p):  # a system's own text; blind: unnamed
        meta += " · not in the corpus: the text a search system returned for it"
    if suggestion:
        meta += f' · <span class="rl-sugg">suggested: {escape(suggestion)}</span>'
    with slot:
        if p is None:
            st.warning(
                f"Passage {code(item.passage_id)} is no longer in corpus {code(corpus.name)} "
                "(was it re-indexed with other chunking?). Skip it or mark it can't judge."
            )
        shown, cut = safe.excerpt(text, query, safe.JUDGE_EXCERPT_CHARS)
        st.markdown(passage_html(query, item.query_id, title, shown), unsafe_allow_html=True)
        if cut:
            with st.expander(f"Full passage ({len(text):,} characters)"):
                st.markdown(
                    safe.html_block(f'<div class="rl-jp">{safe.html_mark(text, query)}</div>'),
                    unsafe_allow_html=True,  # escaped by highlight
                )
        st.markdown(f'<div class="rl-jmeta">{meta}</div>', unsafe_allow_html=True)  # escaped


def done_message(view: JudgeView) -> str:
    """What an annotator reads when nothing waits for them in the pool."""
    o = view.progress.overall
    others = o.total - o.judged
    text = f"Nothing waits for you in pool {view.session.pool_id}: you judged {o.judged} of "
    text += f"{o.total} passages"
    if others:
        n = view.session.annotators_per_passage
        text += f"; the other {others} already have the {n} label{'s' * (n > 1)} they need"
    return text + ". Press k or ← to look back, u to undo."


def judge_tab(
    store: JudgmentStore, corpus: index.Corpus, query_set: str | None, annotator: str | None
) -> None:
    if not annotator:
        st.info("Type your name above (and press Enter) to start judging.")
        return
    if query_set is None:
        st.info(f"Corpus {code(corpus.name)} has no query set to judge.")
        return
    pools = store.pools(corpus.name, query_set)
    if not pools:
        show_flash()
        st.info("No pool for this query set yet: build one under **Set up**.")
        return
    by_id = {p.id: p for p in reversed(pools)}
    if st.session_state.get(state.JUDGE_POOL) not in by_id:
        st.session_state[state.JUDGE_POOL] = next(iter(by_id))
    pool_id = st.selectbox(
        "Pool", list(by_id), format_func=lambda i: pool_label(by_id[i]), key=state.JUDGE_POOL
    )
    try:
        session = pooling.open_session(store, corpus, pool_id, annotator)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    applied = judging_extras.apply_queue_order(store, session, by_id[pool_id])
    view = JudgeView(store, session)
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    left, right = st.columns([2.7, 1], gap="large")
    with left:
        show_flash()
        if view.item is None:
            st.success(done_message(view))
            nav_buttons(view)
        else:
            judge_item(view, corpus)
    with right:
        progress_panel(view)
        judging_extras.side_panel(store, session, applied)
        st.toggle(
            "Show model suggestions",
            value=True,
            key=state.JUDGE_SHOW_SUGGESTIONS,
            help="Suggestions (if the pool was pre-graded) are shown as “suggested”, never "
            "counted as labels. Turn off to judge without them.",
        )
        guidelines_panel(session)
    with st.expander("Progress per query"):
        per_query_table(view)
