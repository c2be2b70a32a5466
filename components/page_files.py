"""Where each page's script lives and at which address it opens: the one list that app.py's
st.navigation, every page link and every hand-over between pages use.

One folder per page under pages/ (its script is page.py, its tabs `<what>_tab.py` beside it).
Until st.navigation first runs in a server, Streamlit treats a pages/ folder as a legacy
multipage app: the first request runs the top-level pages/<address>.py its address names, and
for an address without one it opens a "Page not found" dialog over the app. So each address has
a two-line file directly in pages/ that runs app.py (run_app), and app.py opens the page.
"""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

START = "pages/start/page.py"  # what a newcomer sees first: the demo and four things to try
CORPUS = "pages/corpus/page.py"
SEARCH = "pages/search/page.py"
JUDGE = "pages/judge/page.py"
EVALUATE = "pages/evaluate/page.py"
LEARN = "pages/learn/page.py"
CLASS = "pages/class/page.py"

# (script, title in the navigation, icon, address: http://host/<url_path>)
PAGES = (
    (START, "Start", ":material/home:", "start"),
    (CORPUS, "Corpus", ":material/library_books:", "corpus"),
    (SEARCH, "Search", ":material/search:", "search"),
    (JUDGE, "Judge", ":material/gavel:", "judge"),
    (EVALUATE, "Evaluate", ":material/monitoring:", "evaluate"),
    (LEARN, "Learn", ":material/school:", "learn"),
    (CLASS, "Class", ":material/groups:", "class"),
)


def run_app() -> None:
    """Run app.py in place of a pages/<address>.py that Streamlit's legacy mode runs: app.py's
    st.navigation then opens the page of that address, with the app's navigation and layout."""
    runpy.run_path(str(ROOT / "app.py"))
