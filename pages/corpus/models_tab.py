"""The Corpus page's "Add models" tab: index a corpus with more models, or finish an index that
an interrupted run left incomplete (only missing passages are embedded). Admins only in team mode.
"""

from __future__ import annotations

import streamlit as st

from components import resources
from pages.corpus import corpus_actions

MODELS_JOB = "rl_corpus_models_job"  # the job started by "Add models" in this session


def render() -> None:
    _form()
    corpus_actions.job_status(MODELS_JOB)


def _form() -> None:
    names = corpus_actions.corpora_for("add models")  # team mode: admins only
    if not names:
        return
    with st.form("add_models"):
        name = st.selectbox("Corpus", names)
        chosen = st.multiselect("Models to add (or to finish)", corpus_actions.model_choices())
        custom = st.text_input("Another sentence-transformers model (hub name or local folder)")
        submitted = st.form_submit_button("Index")
    if submitted:
        chosen = chosen + ([custom.strip()] if custom.strip() else [])
        corpus = resources.open_corpus(name)
        pending = [m for m, i in corpus.indexes().items() if i.get("status") != "complete"]
        todo = list(dict.fromkeys(chosen + pending))
        if not todo:
            st.info("Nothing to do: choose a model.")
            return
        corpus_actions.start_ingest(MODELS_JOB, None, name, todo)
