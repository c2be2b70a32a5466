"""The Corpus page's "Import vectors" tab: passage vectors made elsewhere (a .parquet, or a .npy
with its ids) imported for a model by a job (ranklens.jobs). Admins only in team mode.
"""

from __future__ import annotations

import streamlit as st

from components import safe, upload_widget
from pages.corpus import corpus_actions
from ranklens import jobs, models
from ranklens.errors import RankLensError

VECTORS_JOB = "rl_corpus_vectors_job"  # the job started by "Import vectors" in this session


def render() -> None:
    _form()
    corpus_actions.job_status(VECTORS_JOB)


def _form() -> None:
    names = corpus_actions.corpora_for("import vectors")  # team mode: admins only
    if not names:
        return
    st.caption(
        "Vectors made elsewhere (e.g. on a GPU): one per passage (ids from "
        "`python -m ranklens export-passages`), unit length, of the model's dimension. The model "
        "still encodes queries here."
    )
    dense = [m.name for m in models.list_models() if m.kind == "dense"]
    with st.form("import_vectors"):
        name = st.selectbox("Corpus", names, key="rl_vectors_corpus")
        model = st.selectbox("Model that made them", dense, key="rl_vectors_model")
        custom = st.text_input("or a sentence-transformers model folder", key="rl_vectors_custom")
        uploads = upload_widget.file_uploader(
            "Vectors: a .parquet, or a .npy with its ids (.txt, one a line)",
            type=["parquet", "npy", "txt"],
            accept_multiple_files=True,
        )
        path = st.text_input("or a .parquet / .npy file on this machine", key="rl_vectors_path")
        normalise = st.checkbox("Normalise vectors that are not of unit length")
        submitted = st.form_submit_button("Import vectors")
    if not submitted:
        return
    try:
        target, cleanup = corpus_actions.saved(list(uploads or []), path)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    ids = None
    if target is not None and target.is_dir():  # a .npy and its id list
        found = {p.suffix: p for p in target.iterdir()}
        target, ids = found.get(".npy") or found.get(".parquet"), found.get(".txt")
    if target is None:
        st.error("Choose a .parquet or .npy file, or give a path.")
        return
    corpus_actions.submit_job(
        VECTORS_JOB,
        jobs.embeddings_job,
        name,
        custom.strip() or model,
        target,
        ids=ids,
        normalise=normalise,
        cleanup=cleanup,
    )
