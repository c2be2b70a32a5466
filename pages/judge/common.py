"""What the Judge page's tabs share: the tab names, the style, flash messages, untrusted text as
code, the annotator's name, the query set picker, a pool's name, the scope radio, the passage view.

Corpus and query text is untrusted: it reaches HTML only through ranklens.ranking.highlight (escaped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import streamlit as st

from components import auth, routing, safe, state
from ranklens.corpus import index
from ranklens.judging import JudgmentStore, PoolInfo, PoolItem
from ranklens.ranking.highlight import escape
from ranklens.types import Query

SET_UP, JUDGE, AGREEMENT, FINAL, PREFERENCES, REVIEW = TABS = (
    "Set up",
    "Judge",
    "Agreement",
    "Final labels",
    "Preferences",
    "Review",
)
KEYS_HELP = (
    ("0-9", "grade (then the next passage)"),
    ("x", "can't judge"),
    ("j or →", "next passage"),
    ("k or ←", "previous passage"),
    ("s", "skip (comes back at the end)"),
    ("u", "undo your last action"),
    ("n", "write a note (Ctrl+Enter saves, Esc closes)"),
)
RULE_TEXT = {
    "majority": "majority (a tie: the mean, rounded half up)",
    "mean": "mean, rounded half up",
    "max": "highest grade",
    "min": "lowest grade",
}
LEVEL_TEXT = {
    "doc": "document (a document's grade is its best passage's)",
    "passage": "passage",
}
SCOPE_SET, SCOPE_ALL = "this query set", "the whole corpus"

CSS = """<style>
.rl-jq {font-size:1.35rem; font-weight:600; line-height:1.45; padding:.65rem 1rem;
  background:#eef3fb; color:#10233d; border-left:6px solid #1f4e79; border-radius:.35rem;
  margin-bottom:.8rem; overflow-wrap:anywhere; word-break:break-word; overflow:hidden;}
.rl-jq .rl-qid {display:block; font-size:.78rem; font-weight:400; color:#4a5a70;}
.rl-jp {font-size:1.25rem; line-height:1.7; max-width:50rem; padding:1.1rem 1.3rem;
  border:1px solid #d6d6d6; border-radius:.45rem; background:#fffefa; color:#161616;
  overflow-wrap:anywhere; word-break:break-word; overflow:hidden;}
.rl-jp .rl-jt {font-weight:650; margin-bottom:.45rem;}
.rl-jp mark, .rl-jq mark {background:rgba(255,210,0,.5); color:inherit; padding:0 .12rem;
  border-radius:.15rem;}
.rl-jmeta {font-size:.82rem; color:#666; margin:.35rem 0 .6rem 0;}
.rl-sugg {display:inline-block; border:1px dashed #6d6d6d; color:#3d3d3d; border-radius:1rem;
  padding:.05rem .65rem; font-size:.85rem; font-style:italic; background:#f6f6f6;}
.rl-notes {font-size:.9rem; margin:.2rem 0 .6rem 1rem;}
.st-key-rl_judge_left, .st-key-rl_judge_right {display:none;}
</style>"""
FOCUS_NOTE = (
    "<script>setTimeout(function(){var d=document;"
    "var t=d.querySelector('.st-key-rl_judge_note_text textarea');if(t){t.focus();}},60);</script>"
)


def code(text: object) -> str:
    """Untrusted text as a Markdown code span (shown literally: no links, no markup)."""
    return safe.code(text)


def flash(kind: str, message: str) -> None:
    """A message for the next run (success, info, warning, error)."""
    st.session_state[state.JUDGE_FLASH] = (kind, message)


def show_flash() -> None:
    found = st.session_state.pop(state.JUDGE_FLASH, None)
    if found:
        kind, message = found
        getattr(st, kind, st.info)(message)


def unit_key(pool_id: int, item: PoolItem) -> str:
    """The grade buttons' key for one passage (clean for CSS; new buttons for each passage, so a
    key pressed while a passage is still on screen always labels that passage)."""
    digest = hashlib.sha1("\x1f".join(item.unit).encode()).hexdigest()[:12]
    return f"{state.JUDGE_GRADES}_{pool_id}_{digest}"


def rule_text(rule: str) -> str:
    """How a final-label rule reads in the app."""
    if rule in RULE_TEXT:
        return RULE_TEXT[rule]
    return f"only {rule.split(':', 1)[-1]}'s labels"


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


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


def pool_label(pool: PoolInfo) -> str:
    """How a pool is named to judges: nothing about which ranker found what."""
    queries = len({it.query_id for it in pool.items})
    return (
        f"Pool {pool.id} · {len(pool.items)} passages · {queries} queries · depth {pool.depth} · "
        f"{when(pool.created_at)}"
    )


def scope(query_set: str | None, queries: Sequence[Query], key: str) -> set[str] | None:
    """The query ids to look at: the query set's, or None for the whole corpus."""
    if query_set is None:
        return None
    choice = st.radio(
        "Over", [SCOPE_SET, SCOPE_ALL], horizontal=True, key=key, label_visibility="collapsed"
    )
    return {q.query_id for q in queries} if choice == SCOPE_SET else None


def fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if pct else f"{x:.3f}"


def passage_html(query: str, query_id: str, title: str, text: str) -> str:
    """The query on top and the passage below, both escaped, query terms marked, on one line
    (components.safe.html_block: a blank line in the text cannot end the HTML block)."""
    body = safe.html_mark(text, query)
    head = f'<div class="rl-jt">{safe.html_mark(title, query)}</div>' if title else ""
    return safe.html_block(
        f'<div class="rl-jq"><span class="rl-qid">Query {escape(query_id)}</span>'
        f"{safe.html_mark(query, query)}</div>"
        f'<div class="rl-jp">{head}{body}</div>'
    )


def suggestion_panel(store: JudgmentStore, corpus: index.Corpus) -> None:
    """How often the stored suggestions agree with the human labels of the same passages."""
    sa = store.suggestion_agreement(corpus.name)
    if sa.n == 0:
        st.caption("No passage has both a suggestion and a human label yet.")
        return
    kind = f"{sa.weights}-weighted kappa" if sa.weights else "kappa"
    a, b, c = st.columns(3)
    a.metric("Suggestion / human pairs", sa.n)
    b.metric("Same grade", "n/a" if sa.exact is None else f"{sa.exact:.0%}")
    c.metric(f"Cohen's {kind}", "n/a" if sa.kappa is None else f"{sa.kappa:.3f}")
