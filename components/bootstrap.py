"""First start: index the bundled demo corpus with a visible progress bar.

Runs before any page; does nothing once the demo is ready or when RANKLENS_DEMO=0.
"""

from __future__ import annotations

import os

import streamlit as st

from components import resources, state, widgets
from ranklens import index
from ranklens.config import DEMO_CORPUS, DEMO_DIR
from ranklens.errors import NotFoundError, RankLensError
from ranklens.formats import read_queries


def _add_demo_queries(corpus: index.Corpus) -> None:
    query_file = DEMO_DIR / "queries.jsonl"
    if query_file.exists() and "demo" not in corpus.query_sets():
        corpus.add_query_set("demo", read_queries(query_file))


def ensure_demo() -> None:
    """Index the demo once per home; a user who deleted it later does not get it back."""
    if os.environ.get("RANKLENS_DEMO", "1") == "0" or st.session_state.get(state.DEMO_BOOTSTRAPPED):
        return
    settings = resources.settings()
    marker = settings.home / "demo-indexed"
    try:
        corpus = index.open_corpus(DEMO_CORPUS, settings)
    except NotFoundError:
        corpus = None
    if (corpus is not None and corpus.status == "ready") or (corpus is None and marker.exists()):
        if corpus is not None:
            _add_demo_queries(corpus)
        st.session_state[state.DEMO_BOOTSTRAPPED] = True
        return
    with st.status("First start: indexing the bundled demo corpus…", expanded=True) as box:
        st.write(
            f"Python documentation ({DEMO_DIR.relative_to(DEMO_DIR.parents[1])}) with "
            f"{', '.join(settings.demo_models)}. This happens once."
        )
        bar = widgets.IngestProgress()
        try:
            corpus = index.ingest(
                DEMO_DIR / "corpus.jsonl",
                DEMO_CORPUS,
                settings.demo_models,
                settings,
                progress=bar,
            )
            _add_demo_queries(corpus)
        except RankLensError as exc:
            box.update(label="The demo could not be indexed", state="error")
            st.error(str(exc))
            return
        marker.touch()
        box.update(label="Demo corpus ready", state="complete", expanded=False)
    st.session_state[state.DEMO_BOOTSTRAPPED] = True
