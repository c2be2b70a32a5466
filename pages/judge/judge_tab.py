"""The Judge page's "Judge" tab: blind judging of one passage at a time by keyboard, with the
controls under the passage (judging_controls) and the panels beside it (judging_panels).

Judges never see which ranker found a passage; every store write commits before "Saved" shows.
"""

from __future__ import annotations

import hashlib
from functools import partial

import streamlit as st

from components import safe, state
from components.label_widgets import label_buttons
from ranklens.corpus import external_docs, index
from ranklens.errors import RankLensError
from ranklens.judging import PoolItem, pooling
from ranklens.ranking.highlight import escape

from .display import CSS, card_html, code, passage_html, pool_label, show_flash
from .header import PageContext
from .judging_controls import below_buttons, nav_buttons, on_saved, suggestions_on
from .judging_panels import per_query_table, side_panel
from .judging_state import JudgeView, apply_queue_order


def unit_key(pool_id: int, item: PoolItem) -> str:
    """The grade buttons' key for one passage (clean for CSS; new buttons for each passage, so a
    key pressed while a passage is still on screen always labels that passage)."""
    digest = hashlib.sha1("\x1f".join(item.unit).encode()).hexdigest()[:12]
    return f"{state.JUDGE_GRADES}_{pool_id}_{digest}"


def judge_item(view: JudgeView, corpus: index.Corpus) -> None:
    """The passage, its grade buttons and the controls. The buttons are sent to the browser
    before the passage text (which fills a slot above them): once a new passage is visible, the
    keys already grade that passage, never the one before."""
    session, item = view.session, view.item
    assert item is not None
    slot = st.container()
    saved = partial(on_saved, session, view.context, view.nav, item)
    label_buttons(
        view.store,
        corpus.name,
        session.annotator,
        item.query_id,
        item.passage_id,
        item.doc_id,
        session.query_set,
        key=unit_key(session.pool_id, item),
        scale=session.scale,
        current=view.mine.get(item.unit),
        shortcuts=True,
        cant_judge=True,
        confirm=False,
        on_saved=saved,
    )
    below_buttons(view, item, saved)
    p = external_docs.passages_for(corpus, [item.passage_id]).get(item.passage_id)
    query = session.queries.get(item.query_id, "")
    title, text = (p.title, p.text) if p is not None else ("", "")
    position = [it.unit for it in view.nav].index(item.unit) + 1 if item in view.nav else 0
    shown_suggestions = st.session_state.get(state.JUDGE_SHOW_SUGGESTIONS, True)
    suggested = suggestions_on(view.store, corpus.name, item) if shown_suggestions else []
    meta = f"passage {escape(item.passage_id)} · {position} of {len(view.nav)} in your order"
    if p is not None and external_docs.is_external(p):  # a system's own text; blind: unnamed
        meta += " · not in the corpus: the text a search system returned for it"
    if suggested:
        which = ", ".join(f"{s.grade} ({s.annotator})" for s in suggested)
        meta += f' · <span class="rl-sugg">suggested: {escape(which)}</span>'
    with slot:
        if p is None:
            st.warning(
                f"Passage {code(item.passage_id)} is no longer in corpus {code(corpus.name)} "
                "(was it re-indexed with other chunking?). Skip it or mark it can't judge."
            )
        shown, cut = safe.excerpt(text, query, safe.JUDGE_EXCERPT_CHARS)
        st.markdown(passage_html(query, item.query_id, title, shown), unsafe_allow_html=True)
        if cut:
            with st.expander(f"Full passage ({len(text):,} characters)"):
                st.markdown(
                    safe.html_block(card_html("", text, query)),
                    unsafe_allow_html=True,  # escaped by highlight
                )
        st.markdown(f'<div class="rl-jmeta">{meta}</div>', unsafe_allow_html=True)  # escaped


def done_message(view: JudgeView) -> str:
    """What an annotator reads when nothing waits for them in the pool."""
    o = view.progress.overall
    others = o.total - o.judged
    text = f"Nothing waits for you in pool {view.session.pool_id}: you judged {o.judged} of "
    text += f"{o.total} passages"
    if others:
        n = view.session.annotators_per_passage
        text += f"; the other {others} already have the {n} label{'s' * (n > 1)} they need"
    return text + ". Press k or ← to look back, u to undo."


def render(page: PageContext) -> None:
    store, corpus, query_set, annotator = page.store, page.corpus, page.query_set, page.annotator
    if not annotator:
        st.info("Type your name above (and press Enter) to start judging.")
        return
    if query_set is None:
        st.info(f"Corpus {code(corpus.name)} has no query set to judge.")
        return
    pools = store.pools(corpus.name, query_set)
    if not pools:
        show_flash()
        st.info("No pool for this query set yet: build one under **Set up**.")
        return
    by_id = {p.id: p for p in reversed(pools)}
    if st.session_state.get(state.JUDGE_POOL) not in by_id:
        st.session_state[state.JUDGE_POOL] = next(iter(by_id))
    pool_id = st.selectbox(
        "Pool", list(by_id), format_func=lambda i: pool_label(by_id[i]), key=state.JUDGE_POOL
    )
    try:
        session = pooling.open_session(store, corpus, pool_id, annotator)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    applied = apply_queue_order(store, session, by_id[pool_id])
    view = JudgeView(store, session)
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    left, right = st.columns([2.7, 1], gap="large")
    with left:
        show_flash()
        if view.item is None:
            st.success(done_message(view))
            nav_buttons(view)
        else:
            judge_item(view, corpus)
    with right:
        side_panel(view, applied)
    with st.expander("Progress per query"):
        per_query_table(view)
