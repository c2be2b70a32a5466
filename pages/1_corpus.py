"""Corpus page: add a corpus (upload, path, BEIR name), add models or documents, import vectors
made elsewhere, list and delete corpora.

All work is done by ranklens.corpus.index (names, ingestion, deletion) and uploads are saved by
ranklens.corpus.uploads; ingestion runs as a job (ranklens.jobs), so it goes on when the page is left;
this page gathers choices, shows the job's progress and shows errors with st.error.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from components import auth, job_panel, resources, routing, safe, upload_widget
from pages.corpus import runs_tab
from pages.corpus.endpoints_tab import endpoints_tab
from ranklens import jobs, models
from ranklens.corpus import index
from ranklens.corpus.chunking import ChunkSettings
from ranklens.corpus.formats import CORPUS_FORMATS
from ranklens.corpus.uploads import save_uploads
from ranklens.errors import RankLensError

TEXTLIKE = {".txt", ".md", ".pdf"}
SOURCES = ["Upload files", "Path on this machine", "BEIR dataset by name"]
NEW_JOB = "rl_corpus_new_job"  # the ingestion job started by "Add corpus" in this session
MODELS_JOB = "rl_corpus_models_job"  # the one started by "Add models"


def corpora_table() -> None:
    rows = index.list_corpora(resources.settings())
    if not rows:
        st.info("No corpus yet. Add one below.")
        return
    table = pd.DataFrame(
        [
            {
                "corpus": r["name"],
                "documents": r["documents"],
                "passages": r["passages"],
                "models": ", ".join(r["models"]),
                "query sets": ", ".join(f"{k} ({v})" for k, v in r["query_sets"].items()),
                "status": r["status"],
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, use_container_width=True)
    running = {j.key for j in jobs.list_jobs(resources.settings(), active_only=True)}
    unfinished = [
        r["name"]
        for r in rows
        if r["status"] != "ready" and jobs.index_key(r["name"]) not in running
    ]
    if unfinished:
        st.warning(
            f"Not ready (an indexing run was interrupted): {', '.join(unfinished)}. "
            "Use **Add models** to finish it; only missing passages are embedded."
        )


def _model_choices() -> list[str]:
    return [m.name for m in models.list_models() if m.kind in ("dense", "sparse")]


def _start_ingest(
    key: str, path, name: str, chosen: Sequence[str], cleanup: Path | None = None, **kwargs
) -> None:
    """Start the ingestion as a job (or find the one already indexing this corpus)."""
    try:
        job = jobs.ingest_job(
            name,
            chosen,
            path,
            cleanup=cleanup,
            settings=resources.settings(),
            actor=auth.actor(),  # team mode: admins only (checked by the core too)
            **kwargs,
        )
    except (RankLensError, ValueError) as exc:
        st.error(safe.error(exc))
        if cleanup is not None:  # refused: the saved upload is not kept
            shutil.rmtree(cleanup, True)
        return
    mine = cleanup is None or job.args.get("cleanup") == str(Path(cleanup).resolve())
    if not mine and cleanup is not None:
        shutil.rmtree(cleanup, True)  # another job of this corpus runs: this upload is not used
    if job.args.get("models") != list(dict.fromkeys(chosen)) or not mine:
        st.warning(
            f"{name} is already being indexed ({job.title}); nothing else was started. "
            "Try again when that job has ended."
        )
    st.session_state[key] = job.id


def _job_status(key: str) -> None:
    if st.session_state.get(key):
        job_panel.job_status(st.session_state[key], "Indexing")


def new_corpus_form() -> None:
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
        chosen = st.multiselect("Models", _model_choices(), default=["bm25", models.DEFAULT_DENSE])
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
    _start_ingest(
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


def add_models_form() -> None:
    if not auth.admin_only("add models"):  # team mode: admins only
        return
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
        return
    with st.form("add_models"):
        name = st.selectbox("Corpus", names)
        chosen = st.multiselect("Models to add (or to finish)", _model_choices())
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
        _start_ingest(MODELS_JOB, None, name, todo)


def delete_form() -> None:
    if not auth.admin_only("delete a corpus"):  # team mode: admins only
        return
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
        return
    name = st.selectbox("Corpus to delete", names, key="rl_delete_choice")
    st.caption(
        "Deletes the passages and every index. Relevance labels stay in the judgment store "
        "(export them on the Judge page); a new corpus of the same name shows them again."
    )
    confirm = st.text_input(f"Type **{name}** to confirm", key="rl_delete_confirm")
    if st.button("Delete corpus", type="secondary", disabled=confirm != name):
        try:
            index.delete_corpus(name, resources.settings())
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        st.success(f"Deleted {name}.")
        st.rerun()


ADD_JOB = "rl_corpus_add_job"  # the job started by "Add documents" in this session
VECTORS_JOB = "rl_corpus_vectors_job"  # the one started by "Import vectors"


def _saved(files: list, path: str) -> tuple[Path | None, Path | None]:
    """(what to read, the upload folder to remove after): saved uploads, or a path typed."""
    if files:
        target = save_uploads([(f.name, f.getvalue()) for f in files], resources.settings())
        return target, (target.parent if target.is_file() else target)
    return (Path(path.strip()).expanduser() if path.strip() else None), None


def add_documents_form() -> None:
    if not auth.admin_only("add documents"):  # team mode: admins only
        return
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
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
    cleanup = None
    try:
        target, cleanup = _saved([upload] if upload else [], path)
        if target is None:
            st.error("Choose a file or give a path.")
            return
        job = jobs.append_job(
            name,
            target,
            replace=replace,
            cleanup=cleanup,
            settings=resources.settings(),
            actor=auth.actor(),
        )
    except RankLensError as exc:
        st.error(safe.error(exc))
        if cleanup is not None:  # refused: the saved upload is not kept
            shutil.rmtree(cleanup, True)
        return
    st.session_state[ADD_JOB] = job.id


def import_vectors_form() -> None:
    if not auth.admin_only("import vectors"):  # team mode: admins only
        return
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
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
    cleanup = None
    try:
        target, cleanup = _saved(list(uploads or []), path)
        ids = None
        if target is not None and target.is_dir():  # a .npy and its id list
            found = {p.suffix: p for p in target.iterdir()}
            target, ids = found.get(".npy") or found.get(".parquet"), found.get(".txt")
        if target is None:
            st.error("Choose a .parquet or .npy file, or give a path.")
            return
        job = jobs.embeddings_job(
            name,
            custom.strip() or model,
            target,
            ids=ids,
            normalise=normalise,
            cleanup=cleanup,
            settings=resources.settings(),
            actor=auth.actor(),
        )
    except RankLensError as exc:
        st.error(safe.error(exc))
        if cleanup is not None:  # refused: the saved upload is not kept
            shutil.rmtree(cleanup, True)
        return
    st.session_state[VECTORS_JOB] = job.id


routing.require_app("pages/1_corpus.py")

st.title("Corpora")
if auth.is_admin():  # team mode: server paths are for admins
    st.caption(f"All state lives under `{resources.settings().home}`.")

corpora_table()
tab_new, tab_models, tab_grow, tab_vectors, tab_runs, tab_endpoints, tab_delete = st.tabs(
    [
        "Add a corpus",
        "Add models",
        "Add documents",
        "Import vectors",
        "Import runs",
        "Search endpoints",
        "Delete",
    ]
)
with tab_new:
    new_corpus_form()
    _job_status(NEW_JOB)
with tab_models:
    add_models_form()
    _job_status(MODELS_JOB)
with tab_grow:
    add_documents_form()
    _job_status(ADD_JOB)
with tab_vectors:
    import_vectors_form()
    _job_status(VECTORS_JOB)
with tab_runs:
    runs_tab.render()
with tab_endpoints:
    endpoints_tab()
with tab_delete:
    delete_form()
