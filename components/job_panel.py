"""The job panel: progress of the long work running in workers (ranklens.jobs), on every page.

app.py calls sidebar() once per run; a page that starts a job shows it with job_status(). Both
refresh in a fragment while a job runs, and rerun the whole app once when it ends.
"""

from __future__ import annotations

import time

import streamlit as st

from components import auth, resources, safe
from ranklens import access, jobs

REFRESH_S = 1.5  # how often a running job's progress is redrawn
SHOWN_FOR_S = 600  # a job this session saw end stays in the panel this long (or until dismissed)
SEEN = "rl_jobs_seen"  # ids of jobs this session has shown while they ran
DISMISSED = "rl_jobs_dismissed"  # ids of ended jobs whose note the user closed
RUNNING_SEEN = "rl_jobs_running_seen"  # ids of the jobs running at the last redraw


def _plain(text: str) -> str:
    """Text shown literally inside Markdown (names and errors are untrusted)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~$" else c for c in str(text))


@st.cache_resource(show_spinner=False)
def _resumed(home: str) -> list[str]:
    """Once per app process and home: start again the jobs whose worker died with the last one."""
    return [job.id for job in jobs.resume(resources.settings())]


def draw_progress(job: jobs.Job, where=None) -> None:
    """A bar per stage (passages/s, time left), in `where` (a container) or here."""
    where = where if where is not None else st
    lines = job.progress_lines()
    if not lines:
        where.progress(0.0, text="starting…" if job.active else job.state)
    for _, fraction, text in lines:
        where.progress(fraction, text=_plain(safe.for_viewer(text)))


def _outcome(job: jobs.Job) -> None:
    if job.state == jobs.DONE:
        r = job.result
        if "passages" in r:
            st.success(
                f"{_plain(r['name'])}: {r['documents']:,} documents, {r['passages']:,} passages, "
                f"indexed with {_plain(', '.join(r['models']))}."
            )
        elif "suggestions" in r:
            counts = ", ".join(f"{g}: {n}" for g, n in sorted(r["grades"].items()))
            st.success(f"Stored {r['suggestions']:,} suggestions ({counts}).")
        elif "snapshot" in r:
            st.success(
                f"Saved snapshot {_plain(r['snapshot'])} ({r['queries']:,} labelled queries)."
            )
        else:
            st.success(_plain(", ".join(f"{k}: {v}" for k, v in r.items())))
    elif job.state == jobs.FAILED:
        st.error(safe.error(job.error or "failed"))
    elif job.state == jobs.CANCELLED:
        st.warning(
            "Cancelled. What was done is kept; start the same work again to finish it "
            "(only what is missing is done)."
        )


@auth.guarded  # team mode: only the signed-in owner of this session
def _cancel(job_id: str) -> None:
    try:
        jobs.cancel(job_id, resources.settings(), actor=auth.actor())
    except jobs.RankLensError as exc:
        st.toast(safe.error(exc))
        return
    st.toast("Asked the job to stop after its current batch.")


def _started_by(job: jobs.Job) -> str:
    return f" · started by {_plain(job.started_by)}" if job.started_by else ""


def _cancel_button(job: jobs.Job, where: str) -> None:
    if not access.may_cancel(auth.actor(), job.started_by):
        return  # team mode: only the starter or an admin may cancel it
    st.button(
        "Cancel",
        key=f"rl_job_cancel_{where}_{job.id}",
        help="Stops after the current batch; what was done is kept",
        on_click=_cancel,
        args=(job.id,),
    )


def _dismiss(job_id: str) -> None:
    st.session_state.setdefault(DISMISSED, []).append(job_id)


def _draw_panel() -> bool:
    """The panel's content; True while a job runs."""
    settings = resources.settings()
    seen = st.session_state.setdefault(SEEN, [])
    dismissed = st.session_state.setdefault(DISMISSED, [])
    every = jobs.list_jobs(settings)
    active = [j for j in every if j.active]
    for job in active:
        if job.id not in seen:
            seen.append(job.id)
    ended = [
        j
        for j in every
        if not j.active
        and j.id in seen
        and j.id not in dismissed
        and time.time() - (j.finished or 0) < SHOWN_FOR_S
    ]
    if not active and not ended:
        return False
    st.markdown("**Jobs**")
    for job in active:
        with st.container(border=True):
            st.caption(_plain(safe.for_viewer(job.title)) + _started_by(job))
            draw_progress(job)
            _cancel_button(job, "panel")
    for job in ended:
        with st.container(border=True):
            st.caption(_plain(safe.for_viewer(job.title)) + _started_by(job))
            _outcome(job)
            st.button("Dismiss", key=f"rl_job_dismiss_{job.id}", on_click=_dismiss, args=(job.id,))
    return bool(active)


@st.fragment(run_every=REFRESH_S)
def _live_panel() -> None:
    auth.check_fragment()  # revoked or signed out since: the whole app reruns (sign-in page)
    running = _draw_panel()
    before = st.session_state.get(RUNNING_SEEN, [])
    now = [j.id for j in jobs.list_jobs(resources.settings(), active_only=True)]
    st.session_state[RUNNING_SEEN] = now
    if not running or set(before) - set(now):  # a job ended: the pages may show its work now
        st.rerun(scope="app")


def sidebar() -> None:
    """Resume jobs left by a killed app (once per process), then the panel in the sidebar."""
    settings = resources.settings()
    _resumed(str(settings.home))
    with st.sidebar:
        if jobs.list_jobs(settings, active_only=True):
            st.session_state[RUNNING_SEEN] = [
                j.id for j in jobs.list_jobs(settings, active_only=True)
            ]
            _live_panel()
        else:
            _draw_panel()


@st.fragment(run_every=REFRESH_S)
def _live_status(job_id: str, label: str) -> None:
    auth.check_fragment()
    job = jobs.get(job_id, resources.settings())
    _status_body(job, label)
    if not job.active:
        st.rerun(scope="app")


def _status_body(job: jobs.Job, label: str) -> None:
    with st.container(border=True):
        st.markdown(f"**{_plain(label)}**")
        draw_progress(job)
        if job.active:
            _cancel_button(job, "page")
        else:
            _outcome(job)


def job_status(job_id: str, label: str) -> jobs.Job | None:
    """One job's progress in the page body (refreshing while it runs), then how it ended."""
    try:
        job = jobs.get(job_id, resources.settings())
    except jobs.RankLensError:
        return None
    if job.active:
        _live_status(job_id, label)
    else:
        _status_body(job, label)
    return job
