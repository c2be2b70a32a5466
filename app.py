"""RankLens: the Streamlit entry point. It only routes to the pages.

Run: streamlit run app.py (scripts/start.sh sets everything up first).
"""

import streamlit as st

from components import auth, bootstrap, classroom, job_panel, page_files, routing, view_state

st.set_page_config(page_title="RankLens", page_icon="🔎", layout="wide")
pages = {  # {script: st.Page}, in the navigation's order
    path: st.Page(path, title=title, icon=icon, url_path=url, default=path == page_files.START)
    for path, title, icon, url in page_files.PAGES
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
