"""A student's side of a class: joining with a display name and the code, and judging the
class's pairs (blind, shuffled per student, by keyboard). Rules live in ranklens.judging.classes.

A session that joined a class sees this one page and nothing else of the app.
"""

from __future__ import annotations

import time
import uuid

import streamlit as st

from components import resources, safe
from ranklens.errors import RankLensError
from ranklens.judging.classes import (
    ClassError,
    ClassInfo,
    ClassStore,
    JoinLimiter,
    student_order,
)

STUDENT = "rl_class_student"  # (class id, display name) once this session joined a class
JOIN_NAME = "rl_class_join_name"
JOIN_CODE = "rl_class_join_code"
SHOWN_AT = "rl_class_shown_at"  # (position, monotonic time) of the pair on screen
REASON = "rl_class_reason"
NOTICE = "rl_class_notice"
LEAVE = "rl_class_leave"


@st.cache_resource
def _limiter() -> JoinLimiter:
    """One limiter per server process: wrong codes per client."""
    return JoinLimiter()


def classes() -> ClassStore:
    return ClassStore(resources.judgment_store())


def _client() -> str:
    """Who is trying codes: the client's address (one per browser on a classroom network)."""
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # noqa: BLE001 - an older Streamlit: one bucket for all
        return "unknown"


def joined() -> tuple[ClassInfo, str] | None:
    """This session's class and display name while the class is not closed (checked on every
    rerun: closing a class signs its students out)."""
    found = st.session_state.get(STUDENT)
    if not found:
        return None
    try:
        info = classes().get(found[0])
    except RankLensError:
        info = None
    if info is None or info.state == "closed":
        st.session_state.pop(STUDENT, None)
        return None
    return info, found[1]


def join_page() -> None:
    """'Join a class': a display name and the code the teacher shows; no key is needed."""
    st.title("Join a class")
    st.caption("Type the code your teacher shows and the name the class will see.")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("rl_class_join"):
        name = st.text_input("Your name", key=JOIN_NAME, max_chars=60)
        code = st.text_input("Class code", key=JOIN_CODE, max_chars=12)
        submitted = st.form_submit_button("Join", type="primary")
    if not submitted:
        return
    limiter, client = _limiter(), _client()
    wait = limiter.wait_left(client)
    if wait > 0:
        st.error(f"Too many wrong codes from here: try again in {wait:.0f} s.")
        return
    try:
        info, clean = classes().join(code, name)
    except ClassError as exc:
        limiter.failed(client)
        st.error(safe.error(exc))
        return
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    limiter.succeeded(client)
    st.session_state[STUDENT] = (info.id, clean)
    st.rerun()


def _leave() -> None:
    st.session_state.pop(STUDENT, None)


def _save(info: ClassInfo, student: str, position: int, grade: int) -> None:
    """Grade button callback: stored (committed) before the next pair shows."""
    shown = st.session_state.get(SHOWN_AT)
    seconds = time.monotonic() - shown[1] if shown and shown[0] == position else None
    reason = st.session_state.get(f"{REASON}_{position}", "")
    try:
        classes().save_label(
            info.id,
            student,
            position,
            grade,
            reason=reason,
            seconds=seconds,
            nonce=uuid.uuid4().hex,
        )
    except RankLensError as exc:
        st.session_state[NOTICE] = safe.error(exc)
        return
    st.session_state[NOTICE] = f"Saved: {grade} for pair {position + 1}."


def student_page() -> None:
    """Judge the class's pairs one at a time: the query, the passage, the grade buttons (keys
    0-9), a reason if you like. Others' labels stay hidden until the teacher reveals them."""
    found = joined()
    if found is None:
        st.warning("This class is closed.")
        return
    info, student = found
    st.title(safe.md(info.title) if info.title else "Class")
    st.caption(f"Signed in to the class as **{safe.md(student)}**.")
    st.button("Leave the class", key=LEAVE, on_click=_leave)
    if info.guidelines:
        with st.expander("Guidelines"):
            st.markdown(safe.md(info.guidelines, multiline=True))
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.caption(notice)
    mine = {lab.position: lab for lab in classes().labels(info.id, student)}
    order = student_order(info.pairs, student, info.seed)
    st.progress(len(mine) / len(order), text=f"{len(mine)} of {len(order)} pairs graded")
    if info.state == "paused":
        st.info("The teacher has paused the class: wait a moment, then reload.")
        return
    todo = [p for p in order if p.position not in mine]
    if not todo:
        st.success("You have graded every pair. Thank you!")
        if info.state == "revealed":
            _revealed(info)
        return
    pair = todo[0]
    corpus = resources.open_corpus(info.corpus)
    query = next(
        (
            q.text
            for q in corpus.query_sets().get(info.query_set, [])
            if q.query_id == pair.query_id
        ),
        pair.query_id,
    )
    passage = corpus.get_passages([pair.passage_id]).get(pair.passage_id)
    st.session_state.setdefault(SHOWN_AT, (pair.position, time.monotonic()))
    if st.session_state[SHOWN_AT][0] != pair.position:
        st.session_state[SHOWN_AT] = (pair.position, time.monotonic())
    st.subheader("Query")
    st.markdown(safe.md(query))
    st.subheader("Passage")
    if passage is None:
        st.caption("This passage is no longer in the corpus.")
    else:
        if passage.title:
            st.markdown(f"**{safe.md(passage.title)}**")
        st.markdown(safe.md(passage.text, multiline=True))
    st.text_input(
        "Reason (optional)",
        key=f"{REASON}_{pair.position}",
        max_chars=500,
        placeholder="why this grade?",
    )
    with st.container(horizontal=True, gap="small"):
        for g in info.scale.grades:
            st.button(
                f"{g.value} · {g.label}",
                key=f"rl_class_grade_{pair.position}_{g.value}",
                help=f"{g.label}: {g.guideline}",
                on_click=_save,
                args=(info, student, pair.position, g.value),
                shortcut=str(g.value),
            )


def _revealed(info: ClassInfo) -> None:
    """After the reveal: each pair's grades from the whole class (names as the class typed them)."""
    by_pos: dict[int, list[str]] = {}
    for lab in classes().labels(info.id):
        by_pos.setdefault(lab.position, []).append(f"{safe.md(lab.student)} {lab.grade}")
    st.subheader("The class's grades")
    for p in info.pairs:
        st.markdown(
            f"- {safe.md(p.query_id)} / {safe.md(p.passage_id)}: "
            + (" · ".join(by_pos.get(p.position, [])) or "no grade")
        )
