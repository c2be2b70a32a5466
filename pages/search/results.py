"""The Search page's results: one column per ranker, a card per hit (query terms marked, rank
changes against the other columns, current labels) and inline grade buttons under each hit.

Corpus text is shown only as HTML escaped by ranklens.ranking.highlight (a corpus can hold HTML).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import streamlit as st

from components import auth, resources, safe, state
from components.label_widgets import label_buttons
from ranklens.corpus import external_docs
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.judging import CurrentLabel
from ranklens.ranking import compare, imported_runs
from ranklens.ranking.compare import HitKey
from ranklens.ranking.highlight import escape
from ranklens.ranking.rankers import RankedRuns
from ranklens.types import Hit

LETTERS = string.ascii_uppercase
CSS = """
<style>
.rl-card {border:1px solid rgba(128,128,128,.35); border-radius:.5rem; padding:.5rem .65rem;
  margin-bottom:.5rem; font-size:.9rem; line-height:1.35; overflow-wrap:anywhere;
  word-break:break-word; min-width:0; overflow:hidden;}
.rl-card .rl-head {font-weight:600; margin-bottom:.2rem;}
.rl-card .rl-meta {color:rgba(128,128,128,1); font-size:.78rem; margin-top:.25rem;}
.rl-badge {display:inline-block; border-radius:.6rem; padding:0 .4rem; margin:.1rem .15rem 0 0;
  font-size:.75rem; background:rgba(128,128,128,.15);}
.rl-up {background:rgba(0,160,60,.18);} .rl-down {background:rgba(220,50,50,.18);}
.rl-label {background:rgba(255,190,0,.3);} .rl-missing {background:rgba(90,90,220,.18);}
.rl-card mark {background:rgba(255,215,0,.55); padding:0 .1rem; border-radius:.15rem;}
[class*="st-key-rl_sl_"] button {min-width:2.3rem !important; min-height:1.7rem !important;
  padding:0 .45rem !important;}
[class*="st-key-rl_sl_"][class*="_row"] {margin:-.35rem 0 .55rem 0;}
</style>
"""
MISSING = "missing"  # hit_card's origin for an id the corpus lacks and no system gave text for
LABEL_KEY = "rl_sl"  # prefix of the inline label buttons' keys (and of their CSS classes)
NAME_KEY = "rl_search_name"  # "Your name (to label)", copied into state.ANNOTATOR


def stored_labels(corpus: str, query_id: str | None) -> list[CurrentLabel]:
    """Every annotator's current label for a query (one read of the judgment store).

    A store that cannot be read raises RankLensError; columns() shows it as a warning.
    """
    if not query_id:
        return []
    return resources.judgment_store().current_labels(corpus, query_ids=[query_id])


def current_labels(
    corpus: str, query_id: str | None, labels: Sequence[CurrentLabel] | None = None
) -> dict[tuple[str, str], list[str]]:
    """(passage_id or "", doc_id) -> ["grade (annotator)", ...] for a query from a query set."""
    out: dict[tuple[str, str], list[str]] = {}
    for lab in stored_labels(corpus, query_id) if labels is None else labels:
        if lab.grade is not None:
            key = (lab.passage_id, lab.doc_id)
            out.setdefault(key, []).append(f"{lab.grade} ({lab.annotator})")
    return out


def _labels_of(labels: dict[tuple[str, str], list[str]], hit: Hit) -> list[str]:
    return labels.get((hit.passage_id, hit.doc_id), []) + labels.get(("", hit.doc_id), [])


def doc_mode() -> bool:
    """Whether the page shows one hit per document (the toggle's state)."""
    return bool(st.session_state.get(state.SEARCH_DOC_LEVEL, False))


def hit_key(by_doc: bool) -> HitKey:
    """What identifies a hit when rankers are compared: its document in document mode."""
    return compare.doc_key if by_doc else compare.passage_key


def _badges(
    hit: Hit, others: dict[str, int], letters: dict[str, str], k: int, by_doc: bool = False
) -> str:
    parts = []
    what = " documents" if by_doc else ""
    for other, letter in letters.items():
        title = escape(other)
        if other not in others:
            parts.append(
                f'<span class="rl-badge" title="{title}">{letter}: not in top {k}{what}</span>'
            )
            continue
        diff = others[other] - hit.rank
        if diff > 0:
            text, cls = f"up {diff}", "rl-up"
        elif diff < 0:
            text, cls = f"down {-diff}", "rl-down"
        else:
            text, cls = "same", ""
        parts.append(
            f'<span class="rl-badge {cls}" title="rank {others[other]} in {title}">'
            f"{letter}: {text}</span>"
        )
    return "".join(parts)


def hit_card(
    hit: Hit,
    title: str,
    text: str,
    query: str,
    badges: str,
    labels: list[str],
    origin: str = "",
) -> str:
    """One hit as HTML; every piece of corpus text goes through highlight/escape (components.safe:
    no line break left). The text is the bounded excerpt the caller chose. origin: "" for the
    corpus's own passage, MISSING for an id the corpus lacks (id only), else the outside system
    whose returned text this is (marked as such)."""
    body = safe.html_mark(text, query)
    head = safe.html_mark(title, query) if title else safe.html_text(hit.doc_id)
    label = "".join(f'<span class="rl-badge rl-label">label {escape(x)}</span>' for x in labels)
    if origin == MISSING:
        body = '<span class="rl-badge rl-missing">not in the corpus</span>'
    elif origin:
        body = (
            f'<span class="rl-badge rl-missing">not in the corpus · text from '
            f"{safe.html_text(origin)}</span> {body}"
        )
    return safe.html_block(
        f'<div class="rl-card"><div class="rl-head">#{hit.rank} · {head}</div>'
        f"<div>{body}</div>"
        f'<div class="rl-meta">score {hit.score:.4f} · {escape(hit.passage_id)} {label}</div>'
        f"<div>{badges}</div></div>"
    )


def _set_annotator() -> None:
    name = " ".join(str(st.session_state.get(NAME_KEY) or "").split())[:200]
    st.session_state[state.ANNOTATOR] = name


def labeller(query_id: str | None) -> str | None:
    """Who labels hits inline (state.ANNOTATOR, shared with the Judge page), or None: then no
    buttons are shown, and a line says what is missing (a name is asked for here)."""
    if not query_id:
        st.caption(
            "To label hits here, take the query from a query set (labels are stored per query "
            "id; a query typed freely has none)."
        )
        return None
    who = str(st.session_state.get(state.ANNOTATOR) or "").strip()
    if who:
        st.caption(
            f"Labelling as {safe.md(who)} for query {safe.md(query_id)}: a grade under a hit "
            "stores your label"
            + (" (signed in)." if auth.annotator() else " (change your name on the Judge page).")
        )
        return who
    st.text_input(
        "Your name (to label)",
        key=NAME_KEY,
        on_change=_set_annotator,
        placeholder="e.g. alice",
        help="Grade buttons appear under each hit once you say who you are (Enter). "
        "The same name is used on the Judge page.",
    )
    return None


def columns(
    corpus: Corpus,
    result: RankedRuns,
    query: str,
    k: int,
    query_id: str | None,
    query_set: str | None = None,
    by_doc: bool = False,
) -> None:
    """One column per ranker: a card per hit and, when the query has an id and the annotator a
    name, a compact row of grade buttons under it (label_widgets.label_buttons)."""
    names = list(result.runs)
    letters = {n: LETTERS[i] for i, n in enumerate(names)}
    hit_lists = {n: result.runs[n].get("q", []) for n in names}
    ids = sorted({h.passage_id for hs in hit_lists.values() for h in hs})
    passages = external_docs.passages_for(corpus, ids)  # with outside systems' texts
    key = hit_key(by_doc)
    changes = compare.rank_changes(hit_lists, key)
    who = labeller(query_id)
    try:
        stored = stored_labels(corpus.name, query_id)
    except RankLensError as exc:
        st.warning(f"Labels cannot be read now: {safe.error(exc)}")
        stored = []
    if not auth.is_admin():  # team mode, blind judging: an annotator sees their own labels only
        stored = [lab for lab in stored if lab.annotator == who]
    labels = current_labels(corpus.name, query_id, stored)
    mine = {(lab.passage_id, lab.doc_id): lab for lab in stored if lab.annotator == who}
    store, scale = None, None
    if who:
        try:
            store = resources.judgment_store()
            scale = store.scale(corpus.name)
        except RankLensError as exc:
            st.warning(f"Labels cannot be stored now: {safe.error(exc)}")
            store = None
    st.markdown(CSS, unsafe_allow_html=True)  # a constant: no corpus text
    for n, col in zip(names, st.columns(len(names)), strict=True):
        with col:
            st.markdown(f"**{letters[n]} · {safe.inline(n)}**")
            unit = "documents" if by_doc else "hits"
            st.caption(f"{result.latency_ms[n]:.1f} ms · {len(hit_lists[n])} {unit}")
            if not hit_lists[n]:
                note = imported_runs.empty_note(corpus, n)
                st.info(safe.md(note) if note else "No passage matches.")
            others = {o: letters[o] for o in names if o != n}
            for h in hit_lists[n]:
                p = passages.get(h.passage_id)
                badges = _badges(h, changes[n].get(key(h), {}), others, k, by_doc)
                text = p.text if p else ""
                shown, cut = safe.excerpt(text, query)
                card = hit_card(
                    h,
                    safe.excerpt(p.title, query, 300)[0] if p else "",
                    shown,
                    query,
                    badges,
                    _labels_of(labels, h),
                    MISSING if p is None else (p.source if external_docs.is_external(p) else ""),
                )
                st.markdown(card, unsafe_allow_html=True)  # escaped by highlight
                if cut:
                    with st.expander(f"Full passage ({len(text):,} characters)"):
                        st.markdown(
                            safe.html_block(
                                f'<div class="rl-card">{safe.html_mark(text, query)}</div>'
                            ),
                            unsafe_allow_html=True,  # escaped by highlight
                        )
                if store is not None and query_id and p is not None:  # no text: no label
                    label_buttons(
                        store,
                        corpus.name,
                        who,
                        query_id,
                        h.passage_id,
                        h.doc_id,
                        query_set,
                        key=f"{LABEL_KEY}_{letters[n]}_{h.passage_id}",
                        scale=scale,
                        current=mine.get((h.passage_id, h.doc_id)),
                        compact=True,
                    )
