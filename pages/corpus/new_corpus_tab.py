"""The Corpus page's "Add a corpus" tab: a new corpus from uploaded files, a path on this machine
or a BEIR dataset, chunked and indexed by an ingestion job (ranklens.jobs). Admins only in team mode.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components import auth, resources, safe, upload_widget
from pages.corpus import corpus_actions
from ranklens import models
from ranklens.corpus import index
from ranklens.corpus.chunking import ChunkSettings
from ranklens.corpus.formats import CORPUS_FORMATS
from ranklens.corpus.uploads import save_uploads
from ranklens.errors import RankLensError

TEXTLIKE = {".txt", ".md", ".pdf"}
SOURCES = ["Upload files", "Path on this machine", "BEIR dataset by name"]
NEW_JOB = "rl_corpus_new_job"  # the ingestion job started by "Add corpus" in this session


def render() -> None:
    _form()
    corpus_actions.job_status(NEW_JOB)


def _form() -> None:
    if not auth.admin_only("add a corpus"):  # team mode: admins only
        return
    offered = SOURCES
    source = st.radio("Source", offered, horizontal=True)
    if source not in offered:  # never trust a stale widget value
        return
    with st.form("new_corpus"):
        name = st.text_input("Corpus name", placeholder="my-docs")
        files, path, beir = None, "", ""
        if source == SOURCES[0]:
            files = upload_widget.file_uploader(
                "Files: JSONL, CSV, TSV, TXT, MD, PDF, or a BEIR zip",
                type=["jsonl", "json", "csv", "tsv", "txt", "md", "pdf", "zip"],
                accept_multiple_files=True,
            )
        elif source == SOURCES[1]:
            path = st.text_input("File or folder", placeholder="/data/my-corpus.jsonl")
        else:
            beir = st.text_input("BEIR dataset", placeholder="scifact")
        fmt = st.selectbox("Format", ["auto", *CORPUS_FORMATS])
        chosen = st.multiselect(
            "Models", corpus_actions.model_choices(), default=["bm25", models.DEFAULT_DENSE]
        )
        custom = st.text_input(
            "Another sentence-transformers model (hub name or local folder)", value=""
        )
        c1, c2, c3 = st.columns(3)
        max_words = c1.number_input("Passage size (words)", 16, 2000, ChunkSettings.max_words)
        overlap = c2.number_input("Overlap (words)", 0, 1000, ChunkSettings.overlap_words)
        text_field = c3.text_input("Text field (JSONL/CSV)", value="text")
        submitted = st.form_submit_button("Add corpus", type="primary")
    if not submitted:
        return
    if not name.strip():
        st.error("Give the corpus a name.")
        return
    try:  # the one rule of ranklens.corpus.index, checked before any upload is written
        name = index.check_name(name.strip())
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    if source == SOURCES[0]:
        if not files:
            st.error("Choose at least one file.")
            return
        structured = [f.name for f in files if Path(f.name).suffix.lower() not in TEXTLIKE]
        if len(files) > 1 and structured:
            st.error(
                f"Upload one JSONL, CSV, TSV or zip file at a time ({', '.join(safe.inline(n) for n in structured)}); "
                "several files are read as a folder of .txt, .md and .pdf documents."
            )
            return
        try:
            target = save_uploads([(f.name, f.getvalue()) for f in files], resources.settings())
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
    elif source == SOURCES[1]:
        if not path.strip():
            st.error("Give a file or folder path.")
            return
        target = path.strip()
    else:
        if not beir.strip():
            st.error("Give a BEIR dataset name, e.g. scifact.")
            return
        target = f"beir:{beir.strip()}"
    chosen = chosen + ([custom.strip()] if custom.strip() else [])
    try:
        chunking = ChunkSettings(int(max_words), int(overlap))
    except ValueError as exc:
        st.error(safe.error(exc))
        return
    corpus_actions.start_ingest(
        NEW_JOB,
        target,
        name,
        chosen,
        cleanup=(target.parent if target.is_file() else target) if source == SOURCES[0] else None,
        fmt=None if fmt == "auto" else fmt,
        text_field=text_field or "text",
        max_words=chunking.max_words,
        overlap_words=chunking.overlap_words,
    )
