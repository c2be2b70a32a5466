"""What the Corpus page's tabs share to act on corpora: the corpora the visitor may act on, the
models offered, an upload saved, an ingestion job started or refused, a job's status.

The jobs themselves are ranklens.jobs; uploads are saved by ranklens.corpus.uploads.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from components import auth, job_panel, resources, safe
from ranklens import jobs, models
from ranklens.corpus.index import Corpus
from ranklens.corpus.uploads import save_uploads
from ranklens.errors import RankLensError


def corpora_for(action: str) -> list[str]:
    """The corpora a tab may act on: none (with the reason shown) when the visitor may not
    `action` (team mode: admins only) or there is no corpus yet."""
    if not auth.admin_only(action):
        return []
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
    return names


def pick_corpus(key: str) -> Corpus | None:
    """A corpus chosen in a tab's own picker (kept under `key`); None, said so, when none exists."""
    names = resources.corpus_names()
    if not names:
        st.info("No corpus yet.")
        return None
    return resources.open_corpus(st.selectbox("Corpus", names, key=key))


def refused(exc: RankLensError, cleanup: Path | None) -> None:
    """Show why a job was refused; the upload saved for it is not kept."""
    st.error(safe.error(exc))
    if cleanup is not None:
        shutil.rmtree(cleanup, True)


def submit_job(key: str, start: Callable[..., jobs.Job], *args, cleanup: Path | None, **kwargs):
    """Start a job as this visitor (`start(*args, cleanup=, settings=, actor=, **kwargs)`) and
    remember it under `key`; refused: the reason is shown and the upload is not kept."""
    try:
        job = start(
            *args, cleanup=cleanup, settings=resources.settings(), actor=auth.actor(), **kwargs
        )
    except RankLensError as exc:
        refused(exc, cleanup)
        return
    st.session_state[key] = job.id


def model_choices() -> list[str]:
    """The models a corpus can be indexed with (dense and sparse)."""
    return [m.name for m in models.list_models() if m.kind in ("dense", "sparse")]


def start_ingest(
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
        refused(exc, cleanup)
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


def job_status(key: str) -> None:
    """The progress of the job this session started under `key`, if any."""
    if st.session_state.get(key):
        job_panel.job_status(st.session_state[key], "Indexing")


def saved(files: list, path: str) -> tuple[Path | None, Path | None]:
    """(what to read, the upload folder to remove after): saved uploads, or a path typed."""
    if files:
        target = save_uploads([(f.name, f.getvalue()) for f in files], resources.settings())
        return target, (target.parent if target.is_file() else target)
    return (Path(path.strip()).expanduser() if path.strip() else None), None
