"""The Judge page's "Preferences" tab: two passages side by side for one query (keys ←, →, =),
and the blind ranker arena (two rankers' top 5 in random order: pick the better list or a tie).

Every rule is ranklens.evaluation.preferences: pairs to show, arena rounds, events, Bradley-Terry fits and
agreement with graded labels. The arena never shows which ranker made which list.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from components import auth, safe, state
from ranklens.corpus import external_docs, index
from ranklens.errors import RankLensError
from ranklens.evaluation import preferences as prefs
from ranklens.evaluation import preferences_store as pref_store
from ranklens.judging import JudgmentStore
from ranklens.ranking.recipes import available_rankers, rank_corpus
from ranklens.types import Query

from .display import CSS, card_html, flash, query_html, show_flash
from .header import PageContext

PASSAGES, ARENA = "Passages side by side", "Ranker arena"
CHOICES = (  # what, the button, its key
    ("left", "← Left is better", "Left"),
    ("tie", "= Tie", "t"),
    ("right", "Right is better →", "Right"),
)


def _verdict(choice: str, what: str) -> str:
    """'the left passage is better', 'a tie: neither list is better'."""
    if choice == "tie":
        return f"a tie, neither {what} is better"
    return f"the {choice} {what} is better"


# Streamlit shortcuts take letters, digits and named keys only: "=" is bound here (a constant
# script, once per page) to the tie button on screen; "t" is its Streamlit shortcut too
TIE_KEY = r"""<script>(function () {
  var d = document;
  if (d.rlTieKey) { return; }
  d.rlTieKey = 1;
  d.addEventListener("keydown", function (e) {
    if (e.key !== "=" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) { return; }
    var boxes = d.querySelectorAll('[class*="st-key-rl_pref_"], [class*="st-key-rl_arena_"]');
    for (var i = 0; i < boxes.length; i++) {
      if (/_tie(\s|$)/.test(boxes[i].className)) {
        var b = boxes[i].querySelector("button");
        if (b) { e.preventDefault(); b.click(); return; }
      }
    }
  });
})();</script>"""


def _seed(*parts: object) -> int:
    return int(hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def _card(title: str, text: str, query: str) -> str:
    """One passage as one raw HTML block: escaped, query terms marked (components.safe)."""
    return safe.html_block(card_html(title, text, query))


def _query_box(query: Query) -> None:
    st.markdown(safe.html_block(query_html(query.text, query.query_id)), unsafe_allow_html=True)


def _choice_buttons(prefix: str, on_click, args: tuple) -> None:
    """Left, tie and right: the arrow keys, t and "=" (a constant script) press them."""
    for col, (choice, label, key) in zip(st.columns(3), CHOICES, strict=True):
        col.button(
            label, key=f"{prefix}_{choice}", shortcut=key, on_click=on_click, args=(*args, choice)
        )
    st.html(TIE_KEY, unsafe_allow_javascript=True)  # a constant: "=" presses the tie button


@auth.guarded  # team mode: only the signed-in owner of this session
def _undo(store: JudgmentStore, corpus: str, annotator: str, kind: str) -> None:
    undone = pref_store.undo(store, corpus, annotator, kind)
    flash(
        "info",
        "Nothing to undo."
        if undone is None
        else f"Took back your preference on query {safe.code(undone.query_id)}.",
    )
    st.session_state.pop(state.JUDGE_ARENA_ROUND, None)


def _undo_button(store: JudgmentStore, corpus: str, annotator: str, kind: str) -> None:
    """Undo (key u): takes back this annotator's latest preference of this kind."""
    args = (store, corpus, annotator, kind)
    st.button("Undo", key=state.JUDGE_PREF_UNDO, shortcut="u", on_click=_undo, args=args)


def render(page: PageContext) -> None:
    store, corpus, query_set, annotator = page.store, page.corpus, page.query_set, page.annotator
    queries = page.queries
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    if query_set is None or not queries:
        st.info("This corpus has no query set: add one on the Search page first.")
        return
    st.caption(
        "Preferences: instead of grading one passage at a time, say which of two is better "
        "(passages of a pool), or which of two rankers' lists is better for a query (blind). "
        "Many such choices give a ranking with intervals (Bradley-Terry), shown below and on "
        "the Evaluate page's Arena tab."
    )
    mode = st.radio("Compare", [PASSAGES, ARENA], horizontal=True, key=state.JUDGE_PREF_MODE)
    show_flash()
    if annotator is None:
        st.info("Type your name above to start.")
    elif mode == PASSAGES:
        _passages(store, corpus, query_set, queries, annotator)
    else:
        _arena(store, corpus, query_set, queries, annotator)
    _summaries(store, corpus, mode)


# ---------------------------------------------------------------- passages side by side


@auth.guarded  # team mode: only the signed-in owner of this session
def _save_passage(
    store, corpus: str, annotator: str, query_set: str, qid: str, a, b, choice: str
) -> None:
    pref_store.record(
        store,
        corpus,
        annotator,
        qid,
        a.passage_id,
        b.passage_id,
        choice,
        query_set=query_set,
        left_doc=a.doc_id,
        right_doc=b.doc_id,
    )
    flash("success", f"Saved for query {safe.code(qid)}: {_verdict(choice, 'passage')}.")


def _passages(
    store, corpus: index.Corpus, query_set: str, queries: list[Query], annotator: str
) -> None:
    pools = store.pools(corpus.name, query_set)
    if not pools:
        st.info("Passages to compare come from a pool: build one on the **Set up** tab.")
        return
    pool = pools[-1]
    _undo_button(store, corpus.name, annotator, "passage")
    texts = {q.query_id: q for q in queries}
    mine = pref_store.preferences(store, corpus.name, annotator=annotator)
    done: dict[str, list[tuple[str, str]]] = {}
    for p in mine:
        done.setdefault(p.query_id, []).append((p.left, p.right))
    by_query: dict[str, list] = {}
    for item in pool.items:
        by_query.setdefault(item.query_id, []).append(item)
    for qid, items in by_query.items():
        if qid not in texts:
            continue
        pairs = prefs.passage_pairs(
            [it.passage_id for it in items],
            done.get(qid, []),
            seed=_seed(pool.id, annotator, qid),
            limit=1,
        )
        if pairs:
            break
    else:
        st.success("You have compared every pair of passages in the latest pool.")
        return
    items_by_id = {it.passage_id: it for it in items}
    a, b = items_by_id[pairs[0][0]], items_by_id[pairs[0][1]]
    _choice_buttons(
        f"rl_pref_{_seed(qid, a.passage_id, b.passage_id)}",
        _save_passage,
        (store, corpus.name, annotator, query_set, qid, a, b),
    )
    query = texts[qid]
    _query_box(query)
    passages = corpus.get_passages([a.passage_id, b.passage_id])
    left, right = st.columns(2)
    for col, item in ((left, a), (right, b)):
        p = passages.get(item.passage_id)
        with col:
            if p is None:
                st.warning(f"Passage {safe.code(item.passage_id)} is no longer in the corpus.")
            else:
                shown = safe.excerpt(p.text, query.text, safe.JUDGE_EXCERPT_CHARS)[0]
                st.markdown(_card(p.title, shown, query.text), unsafe_allow_html=True)


# ---------------------------------------------------------------- the arena


@st.cache_data(show_spinner="Ranking…", max_entries=64)
def _top(corpus_name: str, stamp: str, recipes: tuple, query: Query, k: int) -> dict:
    from components import resources

    c = resources.open_corpus(corpus_name)
    return rank_corpus(c, recipes, [query], k, "doc", resources.encoder, resources.reranker).runs


@auth.guarded  # team mode: only the signed-in owner of this session
def _save_arena(
    store, corpus: str, annotator: str, query_set: str, rnd: prefs.ArenaRound, choice: str
) -> None:
    pref_store.record_arena(store, corpus, annotator, rnd, choice, query_set)
    st.session_state.pop(state.JUDGE_ARENA_ROUND, None)
    flash(
        "success",
        f"Saved for query {safe.code(rnd.query_id)}: {_verdict(choice, 'list')}.",
    )


def _arena(
    store, corpus: index.Corpus, query_set: str, queries: list[Query], annotator: str
) -> None:
    offered = available_rankers(corpus)
    if st.session_state.get(state.JUDGE_ARENA_RANKERS) is None:
        st.session_state[state.JUDGE_ARENA_RANKERS] = offered[:3]
    recipes = st.multiselect(
        "Rankers in the arena (never shown while you judge)", offered, key=state.JUDGE_ARENA_RANKERS
    )
    if len(recipes) < 2:
        st.info("Choose two or more rankers.")
        return
    mine = pref_store.preferences(store, corpus.name, kind="ranker", annotator=annotator)
    counts: dict[str, int] = {}
    for p in mine:
        counts[p.query_id] = counts.get(p.query_id, 0) + 1
    rnd = st.session_state.get(state.JUDGE_ARENA_ROUND)
    if rnd is None or rnd.left not in recipes or rnd.right not in recipes:
        usable = [q for q in queries if q.text.strip()]
        query = min(usable, key=lambda q: counts.get(q.query_id, 0))
        try:
            runs = _top(
                corpus.name,
                corpus.version(),
                tuple(recipes),
                query,
                prefs.ARENA_K,
            )
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        done = [(p.left, p.right) for p in mine if p.query_id == query.query_id]
        rnd = prefs.arena_round(
            runs, query.query_id, done, seed=_seed(annotator, query.query_id, len(mine))
        )
        if rnd is None:
            st.info("Fewer than two of these rankers return anything for this query.")
            return
        st.session_state[state.JUDGE_ARENA_ROUND] = rnd
    query = next(q for q in queries if q.query_id == rnd.query_id)
    _choice_buttons(
        f"rl_arena_{_seed(rnd.query_id, rnd.left, rnd.right)}",
        _save_arena,
        (store, corpus.name, annotator, query_set, rnd),
    )
    _undo_button(store, corpus.name, annotator, "ranker")
    _query_box(query)
    ids = [h.passage_id for h in (*rnd.left_hits, *rnd.right_hits)]
    passages = external_docs.passages_for(corpus, ids)  # a system's own text stays unnamed: blind
    for col, name, hits in zip(
        st.columns(2),
        ("List A (left)", "List B (right)"),
        (rnd.left_hits, rnd.right_hits),
        strict=True,
    ):
        with col:
            st.markdown(f"**{name}**")
            for i, h in enumerate(hits, 1):
                p = passages.get(h.passage_id)
                title, text = (p.title, p.text[:600]) if p else (h.doc_id, "(not in the corpus)")
                st.markdown(_card(f"{i}. {title}", text, query.text), unsafe_allow_html=True)


# ---------------------------------------------------------------- what they add up to


def _summaries(store: JudgmentStore, corpus: index.Corpus, mode: str) -> None:
    if mode == ARENA:
        events = pref_store.preferences(store, corpus.name, kind="ranker")
        with st.expander(f"Arena so far: {len(events)} blind comparisons", expanded=False):
            if events:
                fit = prefs.arena_ranking(events)
                st.dataframe(
                    fit.table,
                    hide_index=True,
                    column_config=_num(["strength", "se", "ci_low", "ci_high"]),
                )
                st.caption(
                    "Bradley-Terry log-strengths (0 = average), 95% intervals; see also the Evaluate page."
                )
        return
    events = pref_store.preferences(store, corpus.name)
    with st.expander(f"Passage preferences so far: {len(events)}", expanded=False):
        if not events:
            return
        qrels = store.final_qrels(corpus.name, level="passage")
        agreement = prefs.label_agreement(events, qrels)
        a, b, c = st.columns(3)
        a.metric("With graded labels", f"{agreement.n} of {len(events)}")
        b.metric(
            "Agree with the grades", "n/a" if agreement.n == 0 else f"{agreement.agreement:.0%}"
        )
        c.metric("Cohen's kappa", "n/a" if pd.isna(agreement.kappa) else f"{agreement.kappa:.3f}")
        st.dataframe(
            prefs.per_query_strengths(events),
            hide_index=True,
            column_config=_num(["strength", "se", "ci_low", "ci_high"]),
        )


def _num(cols: list[str]) -> dict:
    return {c: st.column_config.NumberColumn(format="%.3f") for c in cols}
