"""First start: index the bundled demo corpus with a visible progress bar.

Runs before any page; does nothing once the demo is ready or when RANKLENS_DEMO=0.
"""

from __future__ import annotations

import os

import streamlit as st

from components import resources, widgets
from ranklens import index
from ranklens.config import DEMO_CORPUS, DEMO_DIR
from ranklens.errors import NotFoundError, RankLensError


def ensure_demo() -> None:
    if os.environ.get("RANKLENS_DEMO", "1") == "0" or st.session_state.get("rl_demo_checked"):
        return
    settings = resources.settings()
    try:
        ready = index.open_corpus(DEMO_CORPUS, settings).status == "ready"
    except NotFoundError:
        ready = False
    if ready:
        st.session_state["rl_demo_checked"] = True
        return
    with st.status("First start: indexing the bundled demo corpus…", expanded=True) as box:
        st.write(
            f"Python documentation ({DEMO_DIR.relative_to(DEMO_DIR.parents[1])}) with "
            f"{', '.join(settings.demo_models)}. This happens once."
        )
        bar = widgets.IngestProgress()
        try:
            index.ingest(
                DEMO_DIR / "corpus.jsonl",
                DEMO_CORPUS,
                settings.demo_models,
                settings,
                progress=bar,
            )
            query_file = DEMO_DIR / "queries.jsonl"
            if query_file.exists():
                from ranklens.formats import read_queries

                index.open_corpus(DEMO_CORPUS, settings).add_query_set(
                    "demo", read_queries(query_file)
                )
        except RankLensError as exc:
            box.update(label="The demo could not be indexed", state="error")
            st.error(str(exc))
            return
        box.update(label="Demo corpus ready", state="complete", expanded=False)
    st.session_state["rl_demo_checked"] = True
