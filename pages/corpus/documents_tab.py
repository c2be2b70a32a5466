"""The Corpus page's "Add documents" tab: append documents to a corpus (or replace those whose
id is there with other text), run as a job by ranklens.jobs. Admins only in team mode.
"""

from __future__ import annotations

import streamlit as st

from components import safe, upload_widget
from pages.corpus import corpus_actions
from ranklens import jobs
from ranklens.errors import RankLensError

ADD_JOB = "rl_corpus_add_job"  # the job started by "Add documents" in this session


def render() -> None:
    _form()
    corpus_actions.job_status(ADD_JOB)


def _form() -> None:
    names = corpus_actions.corpora_for("add documents")  # team mode: admins only
    if not names:
        return
    with st.form("add_documents"):
        name = st.selectbox("Corpus", names, key="rl_add_docs_corpus")
        upload = upload_widget.file_uploader(
            "New documents (JSONL, CSV, TSV)", type=["jsonl", "csv", "tsv"]
        )
        path = st.text_input("or a file on this machine", key="rl_add_docs_path")
        replace = st.checkbox("Replace documents whose id is already there with other text")
        submitted = st.form_submit_button("Add documents")
    if not submitted:
        return
    try:
        target, cleanup = corpus_actions.saved([upload] if upload else [], path)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    if target is None:
        st.error("Choose a file or give a path.")
        return
    corpus_actions.submit_job(
        ADD_JOB, jobs.append_job, name, target, replace=replace, cleanup=cleanup
    )
