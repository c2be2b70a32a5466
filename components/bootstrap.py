"""First start: index the bundled demo corpus (with its FAQ labels) as a job, with its progress.

Runs before any page; does nothing once the demo is ready or when RANKLENS_DEMO=0. The indexing
runs in a worker (ranklens.jobs): a reload, a navigation or a second tab never stops or repeats it.
"""

from __future__ import annotations

import os

import streamlit as st

from components import job_panel, resources, safe, state
from ranklens import jobs
from ranklens.config import DEMO_CORPUS, DEMO_DIR
from ranklens.corpus import demo, index
from ranklens.errors import NotFoundError, RankLensError

DEMO_JOB = "rl_demo_job"  # the id of the demo's indexing job this session has shown


def _intro(settings) -> str:
    return (
        f"Python documentation and the Python FAQ "
        f"({DEMO_DIR.relative_to(DEMO_DIR.parents[1])}) with "
        f"{', '.join(settings.demo_models)}. This happens once, in the background: "
        "you can use the other pages meanwhile."
    )


@st.fragment(run_every=job_panel.REFRESH_S)
def _indexing_box(job_id: str, intro: str) -> None:
    from components import auth

    auth.check_fragment()  # revoked or signed out since: the whole app reruns (sign-in page)
    job = jobs.get(job_id, resources.settings())
    if not job.active:
        st.rerun(scope="app")  # show the outcome, and the pages the new corpus
    box = st.status("First start: indexing the bundled demo corpus…", expanded=True)
    box.write(intro)  # (no `with`: leaving one would mark the box complete)
    job_panel.draw_progress(job, box)


def ensure_demo() -> None:
    """Index the demo once per home; a user who deleted it (or cancelled it) does not get it
    back."""
    if os.environ.get("RANKLENS_DEMO", "1") == "0" or st.session_state.get(state.DEMO_BOOTSTRAPPED):
        return
    settings = resources.settings()
    try:
        corpus = index.open_corpus(DEMO_CORPUS, settings)
    except NotFoundError:
        corpus = None
    shown = st.session_state.get(DEMO_JOB)
    last = jobs.find(jobs.index_key(DEMO_CORPUS), settings)
    if (corpus is not None and corpus.status == "ready") or (
        corpus is None and demo.marker(settings).exists()
    ):
        if corpus is not None:
            demo.add_practice_queries(corpus)
            if shown and last is not None and last.id == shown:  # this session saw it indexing
                with st.status("Demo corpus ready", state="complete", expanded=False):
                    job_panel.draw_progress(last)
                    st.write(demo.describe(corpus))
        st.session_state[state.DEMO_BOOTSTRAPPED] = True
        return
    if last is not None and not last.active and last.state != jobs.DONE:
        if last.state == jobs.CANCELLED or last.id == shown:  # stopped by a user, or seen failing
            if last.state == jobs.FAILED:
                with st.status("The demo could not be indexed", state="error"):
                    st.error(safe.error(last.error or "failed"))
            st.session_state[state.DEMO_BOOTSTRAPPED] = True
            return
    try:
        job = jobs.demo_job(settings)  # the running one, when another tab or run started it
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.session_state[DEMO_JOB] = job.id
    _indexing_box(job.id, _intro(settings))
