"""Start page: what RankLens is, what the bundled demo holds, and the four things to try (search,
judge, evaluate, learn), each one click away. The first page a newcomer sees.
"""

from __future__ import annotations

import streamlit as st

from components import page_files, resources, safe, state
from ranklens.config import DEMO_CORPUS
from ranklens.corpus import demo, index
from ranklens.errors import NotFoundError, RankLensError

TRIES = (  # (page, its name, the link's words, icon, what it shows on the demo)
    (
        page_files.SEARCH,
        "Search",
        "Compare rankers on a question",
        ":material/search:",
        "Type a question and see bm25 and a dense model side by side: which passages each "
        "finds, and where they disagree.",
    ),
    (
        page_files.JUDGE,
        "Judge",
        "Label passages blind",
        ":material/gavel:",
        "Pool the rankers' top passages for the practice queries and label them as relevant "
        "or not, without seeing which ranker found them.",
    ),
    (
        page_files.EVALUATE,
        "Evaluate",
        "Score the rankers",
        ":material/monitoring:",
        "Score each ranker on the labelled FAQ questions (nDCG@10, recall, …), with "
        "confidence intervals and significance tests.",
    ),
    (
        page_files.LEARN,
        "Learn",
        "Take a lesson",
        ":material/school:",
        "Lessons computed live on the demo: why fusion helps, what a metric rewards, how one "
        "label moves a score.",
    ),
)


def _demo() -> index.Corpus | None:
    try:
        return resources.open_corpus(DEMO_CORPUS)
    except NotFoundError:
        return None


def main() -> None:
    st.title("RankLens")
    st.markdown(
        "See how search systems rank, label what they find, and measure which is better. "
        "Everything here also runs from the command line (`python -m ranklens --help`)."
    )
    try:
        corpus = _demo()
    except RankLensError as exc:
        st.error(safe.error(exc))
        corpus = None
    if corpus is None:
        st.info("The demo corpus is not here: add a corpus of your own to start.")
    else:
        models = ", ".join(corpus.models()) or "its indexes are still being built"
        st.subheader("The demo")
        st.markdown(
            f"**{DEMO_CORPUS}**: the Python documentation and FAQ, {corpus.documents:,} "
            f"documents in {corpus.passages:,} passages, indexed with {safe.md(models)}."
        )
        about = demo.describe(corpus)
        if about:
            st.caption(about + ".")
        st.session_state.setdefault(state.CORPUS, DEMO_CORPUS)  # the pages open on the demo
    st.subheader("Try")
    # the links' words differ from the sidebar's page names: one name, one link
    for page, name, action, icon, what in TRIES:
        st.markdown(f"**{name}**: {what}")
        st.page_link(page, label=action, icon=icon)
    st.divider()
    st.page_link(page_files.CORPUS, label="Add your own documents", icon=":material/add:")


main()
