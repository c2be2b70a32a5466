"""The Judge tab's controls under the passage and what they do: previous / next (and the arrow
keys), skip, undo, a note, the reason typed after a grade without leaving the keyboard (grade, Tab,
text, Enter), and one Accept button per model suggestion.

Every write goes through ranklens.judging's session and commits before "Saved" shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import streamlit as st

from components import auth, state
from components.label_widgets import SavedLabel, describe
from ranklens.errors import RankLensError
from ranklens.judges import judges
from ranklens.judging import CurrentLabel, JudgingSession, JudgmentStore, PoolItem

from .display import code, flash
from .judging_state import JudgeView, after, after_label, mark_shown, set_cursor

# constant scripts, no page text in them: focus the note box when it opens; Tab (outside any
# text box) focuses the reason box
FOCUS_NOTE = (
    "<script>setTimeout(function(){var d=document;"
    "var t=d.querySelector('.st-key-rl_judge_note_text textarea');if(t){t.focus();}},60);</script>"
)
FOCUS_REASON = (
    "<script>(function(){var w=window.parent||window,d=w.document;if(w.__rlReasonTab)return;"
    "w.__rlReasonTab=true;d.addEventListener('keydown',function(e){if(e.key!=='Tab')return;"
    "var a=d.activeElement,t=a&&a.tagName;if(t==='INPUT'||t==='TEXTAREA')return;"
    "var i=d.querySelector('.st-key-rl_judge_reason input');if(i){e.preventDefault();i.focus();}"
    "},true);})();</script>"
)


def on_saved(
    session: JudgingSession,
    context: tuple,
    nav: Sequence[PoolItem],
    item: PoolItem,
    saved: SavedLabel,
) -> None:
    """After a grade (a key, a button or an accepted suggestion): the next passage, the label's
    time, the reason box, and "Saved"."""
    set_cursor(context, after(session, nav, item))
    after_label(session.store, context, saved)
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
        set_cursor(context, nav[new])
    elif step < 0:
        flash("info", "This is the first passage.")
    else:
        set_cursor(context, None)
        flash("info", "The end of your order: back to the first passage waiting for you.")


@auth.guarded  # team mode: only the signed-in owner of this session
def _skip(session: JudgingSession, context: tuple, nav: Sequence[PoolItem], item: PoolItem) -> None:
    try:
        session.skip(item)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    set_cursor(context, after(session, nav, item))
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
    set_cursor(context, target)
    what = {
        "label": f"the grade {describe(session.scale, ev.grade)}",
        "cant_judge": "“can't judge”",
        "skip": "the skip",
        "note": "the note",
    }.get(ev.kind, ev.kind)
    flash("info", f"Undid {what} on passage {code(ev.passage_id)}.")


def _noted(session: JudgingSession, item: PoolItem, key: str) -> bool:
    """Store the text of the box `key` as the annotator's note on `item`; False if nothing
    was stored (an empty box, or an error, flashed)."""
    text = str(st.session_state.get(key) or "").strip()
    if not text:
        return False
    try:
        session.note(item, text)
    except RankLensError as exc:
        flash("error", str(exc))
        return False
    st.session_state[key] = ""
    return True


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
    if not str(st.session_state.get(state.JUDGE_NOTE_TEXT) or "").strip():
        flash("warning", "The note is empty: nothing saved.")
    elif _noted(session, item, state.JUDGE_NOTE_TEXT):
        _close_note()
        flash("success", f"Saved your note on passage {code(item.passage_id)}.")


@auth.guarded  # team mode: only the signed-in owner of this session
def _save_reason(session: JudgingSession, item: PoolItem) -> None:
    if _noted(session, item, state.JUDGE_REASON):
        st.session_state[state.JUDGE_REASON_FOR] = None
        flash("success", f"Saved the reason for your grade of passage {code(item.passage_id)}.")


def _move_button(view: JudgeView, label: str, key: str, shortcut: str, step: int) -> None:
    st.button(
        label,
        key=key,
        shortcut=shortcut,
        on_click=_go,
        args=(view.context, view.nav, view.item, step),
        disabled=step > 0 and view.item is None,
    )


def nav_buttons(view: JudgeView) -> None:
    """Previous, Next, Skip, Undo, Note, and the arrow keys' hidden twins (CSS) of Previous and
    Next."""
    session, item, ctx, nav = view.session, view.item, view.context, view.nav
    with st.container(horizontal=True, gap="small"):
        _move_button(view, "Previous", state.JUDGE_PREV, "k", -1)
        _move_button(view, "Next", state.JUDGE_NEXT, "j", 1)
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
        _move_button(view, "←", state.JUDGE_LEFT, "Left", -1)
        _move_button(view, "→", state.JUDGE_RIGHT, "Right", 1)


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


def suggestions_on(store: JudgmentStore, corpus: str, item: PoolItem) -> list[CurrentLabel]:
    """The graded model suggestions stored for this passage."""
    return [
        s
        for s in store.suggestions(corpus, query_ids=[item.query_id])
        if s.unit == item.unit and s.grade is not None
    ]


def accept_buttons(
    store: JudgmentStore,
    session: JudgingSession,
    item: PoolItem,
    on_saved: Callable[[SavedLabel], None],
) -> None:
    """One "Accept" button per suggestion on this passage: it becomes your own label."""
    found = suggestions_on(store, session.corpus, item)
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


def below_buttons(view: JudgeView, item: PoolItem, on_saved: Callable[[SavedLabel], None]) -> None:
    """Under the grade buttons: the navigation, the note box, the passage's shown time, the
    reason box for the label just given, and (when suggestions are shown) the Accept buttons."""
    nav_buttons(view)
    note_box(view.session, item)
    mark_shown(view.context, item)
    reason_box(view.session, view.context)
    if st.session_state.get(state.JUDGE_SHOW_SUGGESTIONS, True):
        accept_buttons(view.store, view.session, item, on_saved)
