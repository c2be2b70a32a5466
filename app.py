"""RankLens: the Streamlit entry point. It only routes to the pages.

Run: streamlit run app.py (scripts/start.sh sets everything up first).
"""

from pathlib import Path

import streamlit as st

from components import auth, bootstrap, job_panel, routing, view_state

PAGES = [
    ("pages/1_corpus.py", "Corpus", ":material/library_books:"),
    ("pages/2_search.py", "Search", ":material/search:"),
    ("pages/3_judge.py", "Judge", ":material/gavel:"),
    ("pages/4_evaluate.py", "Evaluate", ":material/monitoring:"),
    ("pages/5_learn.py", "Learn", ":material/school:"),
]
HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="RankLens", page_icon="🔎", layout="wide")
pages = {
    path: st.Page(path, title=title, icon=icon)
    for path, title, icon in PAGES
    if (HERE / path).exists()
}
nav = st.navigation(auth.gate(list(pages.values())))  # team mode: only "Sign in" until then
if auth.allowed():
    view_state.keep()  # corpus, query set, rankers and query: across pages and in the URL
    routing.follow_intent(pages)
    bootstrap.ensure_demo()
    job_panel.sidebar()  # long work in workers: progress and cancel on every page
nav.run()
