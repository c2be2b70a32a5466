"""Label buttons: a scale's grades as coloured buttons that record a relevance label when pressed.

Used by the Judge page (one passage at a time, with keyboard shortcuts) and the Search page (inline).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import NamedTuple

import streamlit as st

from components import auth, safe
from ranklens.errors import RankLensError
from ranklens.judging import CurrentLabel, JudgmentStore, Scale

CANT_JUDGE = "Can't judge"
CANT_JUDGE_KEY = "x"  # Streamlit reserves "c" (and "r") for itself
_SAFE_KEY = re.compile(r"[^A-Za-z0-9_-]")
_UNSET = object()


class SavedLabel(NamedTuple):
    """What a label button stored (after the commit): grade None means "can't judge"."""

    event_id: int
    grade: int | None
    query_id: str
    passage_id: str
    doc_id: str


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on a "#rrggbb" background (WCAG luminance)."""
    rgb = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#111111" if luminance > 0.22 else "#ffffff"


def safe_key(key: str) -> str:
    """A widget key usable as a CSS class (Streamlit adds st-key-<key>); unique for unique keys."""
    clean = _SAFE_KEY.sub("_", key)
    if clean == key:
        return key
    return f"{clean[:40]}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def grade_key(key: str, grade: int | None) -> str:
    """The widget key of one button (grade None: the "can't judge" button)."""
    return f"{safe_key(key)}_cant" if grade is None else f"{safe_key(key)}_g{grade}"


def button_css(scale: Scale, key: str, current: int | None | object = _UNSET) -> str:
    """CSS colouring each grade button of `key` (colours are validated #rrggbb: no user text here);
    the current label gets a thick dark outline."""
    rules = []
    for g in scale.grades:
        sel = f".st-key-{grade_key(key, g.value)} button"
        rules.append(
            f"{sel}{{background:{g.colour};color:{text_colour(g.colour)};"
            f"border:2px solid {g.colour};min-width:7.5rem;}}"
            f"{sel}:hover{{filter:brightness(0.93);color:{text_colour(g.colour)};}}"
        )
    chosen = (
        grade_key(key, current)
        if current is not _UNSET and (current is None or isinstance(current, int))
        else None
    )
    if chosen:
        rules.append(
            f".st-key-{chosen} button{{outline:3px solid #0d47a1;outline-offset:2px;"
            "font-weight:700;box-shadow:0 0 0 2px #fff inset;}}"
        )
    return "<style>" + "".join(rules) + "</style>"


@auth.guarded  # team mode: only the signed-in owner of this session
def _record(
    store: JudgmentStore,
    corpus: str,
    annotator: str,
    query_id: str,
    passage_id: str,
    doc_id: str,
    query_set: str | None,
    grade: int | None,
    key: str,
    on_saved: Callable[[SavedLabel], None] | None,
) -> None:
    """Button callback: store the label; only once the store returned (committed) say "saved"."""
    try:
        kind = "cant_judge" if grade is None else "label"
        event_id = store.record(
            kind,
            corpus,
            annotator,
            query_id,
            passage_id,
            grade=grade,
            doc_id=doc_id,
            query_set=query_set,
        )
    except RankLensError as exc:
        st.session_state[f"{safe_key(key)}__error"] = str(exc)
        return
    saved = SavedLabel(event_id, grade, query_id, passage_id, doc_id)
    st.session_state[f"{safe_key(key)}__saved"] = saved
    if on_saved is not None:
        on_saved(saved)


def describe(scale: Scale, grade: int | None) -> str:
    """A grade as "2 · Relevant" ("can't judge" for None)."""
    if grade is None:
        return CANT_JUDGE.lower()
    g = scale.grades[grade] if grade in scale else None
    return f"{grade} · {g.label}" if g else str(grade)


def label_buttons(
    store: JudgmentStore,
    corpus: str,
    annotator: str | None,
    query_id: str,
    passage_id: str,
    doc_id: str,
    query_set: str | None = None,
    key: str = "rl_label",
    *,
    scale: Scale | None = None,
    current: CurrentLabel | None | object = _UNSET,
    shortcuts: bool = False,
    cant_judge: bool = False,
    compact: bool = False,
    confirm: bool = True,
    on_saved: Callable[[SavedLabel], None] | None = None,
) -> SavedLabel | None:
    """The scale's grades as coloured buttons for one (query, passage); pressing one records the
    annotator's label (store.add_label, committed before anything says "saved").

    The annotator's current label is highlighted. `key` must be unique on the page (one per hit).
    shortcuts: keys 0-9 press the grades (and x "can't judge"): use on one widget per page only.
    cant_judge: add a "Can't judge" button. compact: numbers only (names in the tooltip).
    confirm: show "Saved" under the buttons after a save. on_saved(saved) runs in the callback,
    after the commit. `scale` and `current` may be passed to save a database read each.
    Returns what was saved by a press in this run, else None.
    """
    scale = scale or store.scale(corpus)
    base = safe_key(key)
    who = (annotator or "").strip()
    if current is _UNSET:
        current = store.label_of(corpus, who, query_id, passage_id, doc_id) if who else None
    current_grade: int | None | object = (
        current.grade if isinstance(current, CurrentLabel) else _UNSET
    )
    st.markdown(button_css(scale, key, current_grade), unsafe_allow_html=True)  # colours only
    disabled = not who
    why = "Say who you are first (your name on the Judge page)." if disabled else None
    with st.container(horizontal=True, gap="small", key=f"{base}_row"):
        for g in scale.grades:
            mark = "✓ " if current_grade == g.value else ""
            label = f"{mark}{g.value}" if compact else f"{mark}{g.value} · {g.label}"
            st.button(
                label,
                key=grade_key(key, g.value),
                help=why or f"{g.label}: {g.guideline}",
                on_click=_record,
                args=(store, corpus, who, query_id, passage_id, doc_id, query_set, g.value, key)
                + (on_saved,),
                shortcut=str(g.value) if shortcuts else None,
                disabled=disabled,
            )
        if cant_judge:
            mark = "✓ " if current_grade is None else ""
            st.button(
                f"{mark}{CANT_JUDGE}",
                key=grade_key(key, None),
                help=why or "You cannot tell (e.g. the passage is unreadable or needs expertise).",
                on_click=_record,
                args=(store, corpus, who, query_id, passage_id, doc_id, query_set, None, key)
                + (on_saved,),
                shortcut=CANT_JUDGE_KEY if shortcuts else None,
                disabled=disabled,
            )
    error = st.session_state.pop(f"{base}__error", None)
    if error:
        st.error(safe.error(error))
    saved: SavedLabel | None = st.session_state.pop(f"{base}__saved", None)
    if saved is not None and confirm:
        st.caption(f"Saved: {describe(scale, saved.grade)}")
    return saved
