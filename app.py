"""RankLens: the Streamlit entry point. It only routes to the pages.

Run: streamlit run app.py (scripts/start.sh sets everything up first).
"""

from pathlib import Path

import streamlit as st

from components import auth, bootstrap, classroom, job_panel, routing, view_state

START = "pages/0_start.py"  # what a newcomer sees first: the demo and four things to try
PAGES = [
    (START, "Start", ":material/home:"),
    ("pages/1_corpus.py", "Corpus", ":material/library_books:"),
    ("pages/2_search.py", "Search", ":material/search:"),
    ("pages/3_judge.py", "Judge", ":material/gavel:"),
    ("pages/4_evaluate.py", "Evaluate", ":material/monitoring:"),
    ("pages/5_learn.py", "Learn", ":material/school:"),
    ("pages/6_class.py", "Class", ":material/groups:"),
]
HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="RankLens", page_icon="🔎", layout="wide")
pages = {
    path: st.Page(path, title=title, icon=icon, default=path == START)
    for path, title, icon in PAGES
    if (HERE / path).exists()
}
offered = auth.gate(list(pages.values()))  # team mode: only "Sign in" until then
# students join a class with its code instead of a key; a session that joined sees only it
student = classroom.joined() if auth.team_mode() and auth.awaits_sign_in() else None
if student is not None:
    nav = st.navigation([st.Page(classroom.student_page, title="Class", url_path="class-judge")])
else:
    if auth.team_mode() and auth.awaits_sign_in():
        offered.append(st.Page(classroom.join_page, title="Join a class", url_path="join"))
    nav = st.navigation(offered)
if student is None and auth.allowed():
    view_state.keep()  # corpus, query set, rankers and query: across pages and in the URL
    routing.follow_intent(pages)
    bootstrap.ensure_demo()
    job_panel.sidebar()  # long work in workers: progress and cancel on every page
nav.run()
