"""Where each page's script lives and at which address it opens: the one list that app.py's
st.navigation, every page link and every hand-over between pages use.

One folder per page under pages/ (its script is page.py, its tabs `<what>_tab.py` beside it);
no script lies directly in pages/, so Streamlit's legacy pages/ mode can only ever run app.py.
"""

from __future__ import annotations

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
