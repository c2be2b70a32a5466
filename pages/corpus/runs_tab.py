"""The Corpus page's "Import runs" tab: run files of another system imported as rankers run:NAME
(ranklens.ranking.imported_runs does the work), listed with their level and the ids the corpus lacks.

Listing is for everyone; importing, replacing and deleting are admin-only in team mode.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import streamlit as st

from components import auth, resources, safe
from pages.corpus import corpus_actions
from ranklens.corpus.index import Corpus
from ranklens.corpus.uploads import save_uploads
from ranklens.errors import RankLensError
from ranklens.ranking import imported_runs
from ranklens.ranking.runfiles import RUN_FORMATS

CORPUS_KEY = "rl_runs_corpus"
NAME_KEY = "rl_runs_name"
PATH_KEY = "rl_runs_path"
FLASH = "rl_runs_flash"  # what the last import or delete did, shown after the rerun
AUTO = "(from the file)"
AUTO_SET = "(the set holding every query id)"


def table(corpus: Corpus) -> list[dict]:
    runs = imported_runs.list_runs(corpus)
    if not runs:
        st.info(f"Corpus {corpus.name!r} has no imported run yet.")
        return runs
    rows = [
        {
            "ranker": r["ranker"],
            "version": r["version"],
            "level": "documents" if r["level"] == "doc" else "passages",
            "lines": r["lines"],
            "queries": r["queries"],
            "query set": r["query_set"],
            "ids": r["ids"],
            "not in the corpus": r["missing"],
            "format": r["format"],
            "file": r["source"],
            "imported": r["imported_at"],
        }
        for r in runs
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    return runs


def _import(corpus: Corpus, upload, path: str, name: str, fmt: str, qset: str, replace: bool):
    if upload is not None:
        target = save_uploads([(upload.name, upload.getvalue())], resources.settings())
        origin = upload.name
    elif path.strip():
        target, origin = Path(path.strip()).expanduser(), None
    else:
        st.error("Choose a run file or give a path.")
        return
    try:
        info = imported_runs.import_run(
            corpus,
            target,
            name.strip(),
            None if fmt == AUTO else fmt,
            None if qset == AUTO_SET else qset,
            replace=replace,
            origin=origin,
        )
    except (RankLensError, OSError) as exc:
        st.error(safe.error(exc))
        return
    finally:
        if upload is not None:
            shutil.rmtree(target.parent, ignore_errors=True)
    level = "document ids" if info["level"] == "doc" else "passage ids"
    st.session_state[FLASH] = (
        f"Imported {info['lines']:,} lines as {info['ranker']} (version {info['version']}): "
        f"{level}; {info['missing']:,} of {info['ids']:,} ids are not in the corpus. "
        "Choose it on the Search, Judge and Evaluate pages."
    )
    st.rerun()  # the table above shows it


def import_form(corpus: Corpus) -> None:
    st.caption(
        "A run file of your own system: TREC six columns (qid Q0 docno rank score tag), JSON "
        "{qid: {docno: score}}, or CSV with a header (query_id, doc_id, score). Ids may be "
        "document or passage ids of the corpus; the order is trec_eval's (score, then id)."
    )
    sets = list(corpus.query_sets())
    with st.form("import_run"):
        upload = st.file_uploader("Run file", type=["txt", "trec", "run", "json", "csv", "tsv"])
        path = st.text_input("or a file on this machine", key=PATH_KEY)
        name = st.text_input("Name (it ranks as run:NAME)", key=NAME_KEY, placeholder="prod")
        fmt = st.selectbox("Format", [AUTO, *RUN_FORMATS])
        qset = st.selectbox("Query set it answers", [AUTO_SET, *sets])
        replace = st.checkbox("Replace the run of this name with a new version")
        submitted = st.form_submit_button("Import run")
    if submitted:
        _import(corpus, upload, path, name, fmt, qset, replace)


def delete_form(corpus: Corpus, runs: list[dict]) -> None:
    if not runs:
        return
    name = st.selectbox("Run to delete", [r["name"] for r in runs], key="rl_runs_delete")
    if st.button("Delete run", key="rl_runs_delete_button"):
        try:
            imported_runs.delete_run(corpus, name)
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        st.session_state[FLASH] = f"Deleted run:{name}."
        st.rerun()


def render() -> None:
    corpus = corpus_actions.pick_corpus(CORPUS_KEY)
    if corpus is None:
        return
    if FLASH in st.session_state:
        st.success(safe.md(st.session_state.pop(FLASH)))
    runs = table(corpus)
    if not auth.admin_only("import, replace or delete run files"):  # team mode: admins only
        return
    import_form(corpus)
    delete_form(corpus, runs)
