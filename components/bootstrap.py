"""First start: index the bundled demo corpus (with its FAQ labels) behind a progress bar.

Runs before any page; does nothing once the demo is ready or when RANKLENS_DEMO=0.
"""

from __future__ import annotations

import os

import streamlit as st

from components import resources, state, widgets
from ranklens import demo, index
from ranklens.config import DEMO_CORPUS, DEMO_DIR
from ranklens.errors import NotFoundError, RankLensError


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
            demo.add_practice_queries(corpus)
        st.session_state[state.DEMO_BOOTSTRAPPED] = True
        return
    with st.status("First start: indexing the bundled demo corpus…", expanded=True) as box:
        st.write(
            f"Python documentation and the Python FAQ "
            f"({DEMO_DIR.relative_to(DEMO_DIR.parents[1])}) with "
            f"{', '.join(settings.demo_models)}. This happens once."
        )
        bar = widgets.IngestProgress()
        try:
            corpus = demo.ingest_demo(settings, progress=bar)
        except RankLensError as exc:
            box.update(label="The demo could not be indexed", state="error")
            st.error(str(exc))
            return
        marker.touch()
        st.write(demo.describe(corpus))
        box.update(label="Demo corpus ready", state="complete", expanded=False)
    st.session_state[state.DEMO_BOOTSTRAPPED] = True
