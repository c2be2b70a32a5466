"""The Judge page's header: the tab names and what each tab is given, which tab opens and how a
clicked tab lets go of the keys, the annotator's name box and the query set picker.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components import auth, routing, state
from ranklens.corpus import index
from ranklens.judging import JudgmentStore
from ranklens.types import Query

from .display import code

SET_UP, JUDGE, AGREEMENT, FINAL, PREFERENCES, REVIEW = TABS = (
    "Set up",
    "Judge",
    "Agreement",
    "Final labels",
    "Preferences",
    "Review",
)


@dataclass(frozen=True)
class PageContext:
    """What every tab's render() is given: the store, the corpus, the query set chosen above
    (None: the corpus has none) and its queries, and the annotator (None until named)."""

    store: JudgmentStore
    corpus: index.Corpus
    query_set: str | None
    queries: list[Query]
    annotator: str | None


# A tab clicked with the mouse keeps the focus, and a focused tab takes the arrow keys (→ opens
# the next tab), which the Judge and Preferences tabs need for the passages: a tab of this page
# clicked with the mouse lets go of the focus at once. A tab reached by the keyboard (its focus
# ring shows) keeps it, so the arrows still walk the tabs. A constant, nothing of the user's
RELEASE_TAB_FOCUS = """<script>(function () {
  var d = document;
  function release() {
    var a = d.activeElement;
    if (a && a.closest && a.closest('.st-key-rl_judge_tab [role="tab"]')
        && !a.matches(':focus-visible')) { a.blur(); }
  }
  release();
  if (d.rlJudgeTabFocus) { return; }
  d.rlJudgeTabFocus = 1;
  d.addEventListener('click', function (e) {
    var t = e.target;
    if (t && t.closest && t.closest('.st-key-rl_judge_tab [role="tab"]')) { setTimeout(release, 0); }
  }, true);
})();</script>"""


def _set_name() -> None:
    name = " ".join(str(st.session_state.get(state.JUDGE_NAME) or "").split())[:200]
    st.session_state[state.ANNOTATOR] = name
    st.session_state[state.JUDGE_NAME_SET] = st.session_state.get(state.JUDGE_NAME_SET, 0) + 1


# once a name is given, focus leaves the name box, so j, k, 0-3 go to the judging keys (a
# fixed script, nothing of the user's in it)
_BLUR = (
    "<script>/*{n}*/const a = window.parent.document.activeElement || document.activeElement;"
    "if (a && a.tagName === 'INPUT') {{ a.blur(); }}</script>"
)


def identity() -> str | None:
    """The annotator's name (kept in state.ANNOTATOR across pages), or None until given.
    In team mode: the signed-in annotator, and no name box (labels go under that name only)."""
    signed_in = auth.annotator()
    if signed_in is not None:
        st.caption(f"Judging as {code(signed_in)} (signed in)")
        return signed_in
    if state.JUDGE_NAME not in st.session_state:
        st.session_state[state.JUDGE_NAME] = st.session_state.get(state.ANNOTATOR, "")
    st.text_input(
        "Your name",
        key=state.JUDGE_NAME,
        on_change=_set_name,
        placeholder="e.g. alice",
        help="Every label you give is stored under this name. Press Enter to start.",
    )
    changed = st.session_state.pop(state.JUDGE_NAME_SET, None)
    if changed and st.session_state.get(state.ANNOTATOR):
        st.html(_BLUR.format(n=changed), unsafe_allow_javascript=True, width="content")
    return st.session_state.get(state.ANNOTATOR) or None


def choose_query_set(corpus: index.Corpus) -> tuple[str | None, list[Query]]:
    """The corpus's query sets (their one owner); returns the chosen name and its queries."""
    shipped = corpus.query_sets()
    names = sorted(shipped)
    if not names:
        st.selectbox("Query set", ["(none)"], disabled=True, key=f"{state.QUERY_SET}_none")
        return None, []
    wanted = routing.take(state.INTENT_POOL_SET)  # "Pool these queries" on the Evaluate page
    if wanted in names:
        st.session_state[state.QUERY_SET] = wanted
        st.session_state[state.JUDGE_TAB_NEXT] = SET_UP
    if st.session_state.get(state.QUERY_SET) not in names:
        st.session_state[state.QUERY_SET] = names[0]
    name = st.selectbox("Query set", names, key=state.QUERY_SET)
    return name, list(shipped[name])


def open_tab(store: JudgmentStore, corpus: index.Corpus, query_set: str | None) -> None:
    """Which tab opens: one asked for on the last run (after building a pool, "Pool these
    queries"), else the one open before, else Judge when the query set has a pool, else Set up."""
    nxt = st.session_state.pop(state.JUDGE_TAB_NEXT, None)
    if nxt in TABS:
        st.session_state[state.JUDGE_TAB] = nxt
    elif st.session_state.get(state.JUDGE_TAB) not in TABS:
        has_pool = query_set is not None and bool(store.pools(corpus.name, query_set))
        st.session_state[state.JUDGE_TAB] = JUDGE if has_pool else SET_UP


def release_tab_focus() -> None:
    """Let the keys reach the open tab's shortcuts right after its tab was clicked."""
    st.html(RELEASE_TAB_FOCUS, unsafe_allow_javascript=True, width="content")  # a constant
