"""How the Judge page's tabs show things: the style, flash messages, untrusted text as code, a
pool's name, rules and levels in words, numbers, tables, the scope radio, a passage under its query.

Corpus and query text is untrusted: it reaches HTML only through ranklens.ranking.highlight (escaped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from components import safe, state
from ranklens.corpus import index
from ranklens.corpus.lookups import document_passage
from ranklens.judging import JudgmentStore, PoolInfo
from ranklens.ranking.highlight import escape
from ranklens.types import Query

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


def rule_text(rule: str) -> str:
    """How a final-label rule reads in the app."""
    if rule in RULE_TEXT:
        return RULE_TEXT[rule]
    return f"only {rule.split(':', 1)[-1]}'s labels"


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


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
    return safe.html_block(query_html(query, query_id) + card_html(title, text, query))


def query_html(query: str, query_id: str) -> str:
    """The query (its id above it): escaped, its terms marked."""
    return (
        f'<div class="rl-jq"><span class="rl-qid">Query {escape(query_id)}</span>'
        f"{safe.html_mark(query, query)}</div>"
    )


def card_html(title: str, text: str, query: str) -> str:
    """One passage (its title, if any, above it): escaped, query terms marked."""
    head = f'<div class="rl-jt">{safe.html_mark(title, query)}</div>' if title else ""
    return f'<div class="rl-jp">{head}{safe.html_mark(text, query)}</div>'


def show_unit(
    corpus: index.Corpus, query: str, query_id: str, passage_id: str | None, doc_id: str
) -> None:
    """A labelled unit under its query: the passage, or (a document-level label) the whole
    document's passages; says so when the corpus no longer has it."""
    if passage_id:
        p = corpus.get_passages([passage_id]).get(passage_id)
        title, text = (p.title, p.text) if p else ("", "(not in the corpus)")
    else:
        d = document_passage(corpus, doc_id)
        title, text = (d.title, d.text) if d else ("", "(not in the corpus)")
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    st.markdown(passage_html(query, query_id, title, text), unsafe_allow_html=True)  # escaped


def table(rows: Sequence[dict] | pd.DataFrame, **options) -> None:
    """Rows as a full-width table without the index (st.dataframe's options pass through)."""
    data = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    st.dataframe(data, hide_index=True, width="stretch", **options)


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
