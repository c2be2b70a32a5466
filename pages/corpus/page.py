"""Corpus page: the corpora with their size, models, query sets and status, and one tab per task
(add a corpus, models or documents, import vectors or runs, search endpoints, delete).

One module per tab beside this script; every rule is the core's (ranklens.corpus, ranklens.jobs):
ingestion runs as a job, so it goes on when the page is left.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, resources
from pages.corpus import (
    delete_tab,
    documents_tab,
    endpoints_tab,
    models_tab,
    new_corpus_tab,
    runs_tab,
    vectors_tab,
)
from ranklens import jobs
from ranklens.corpus import index

TABS = {  # tab label -> its module
    "Add a corpus": new_corpus_tab,
    "Add models": models_tab,
    "Add documents": documents_tab,
    "Import vectors": vectors_tab,
    "Import runs": runs_tab,
    "Search endpoints": endpoints_tab,
    "Delete": delete_tab,
}


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


st.title("Corpora")
if auth.is_admin():  # team mode: server paths are for admins
    st.caption(f"All state lives under `{resources.settings().home}`.")

corpora_table()
for tab, module in zip(st.tabs(list(TABS)), TABS.values(), strict=True):
    with tab:
        module.render()
