"""The Search page's query sets: upload one (saved through ranklens.uploads), pick a query,
step through a set in its own order or most-disagreeing first (ranklens.compare)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components import auth, resources, safe, state, upload_widget
from pages.search.inputs import make
from pages.search.results import doc_mode, hit_key
from ranklens import compare, uploads
from ranklens.errors import RankLensError
from ranklens.formats import read_queries
from ranklens.index import Corpus
from ranklens.recipes import rank_corpus
from ranklens.types import Query


def _set_query(qid: str, text: str) -> None:
    st.session_state[state.SEARCH_QUERY] = text
    st.session_state[state.SEARCH_QID] = (qid, text)


def _step(delta: int) -> None:
    order = st.session_state.get(state.SEARCH_ORDER)
    if not order:
        return
    pos = (st.session_state.get(state.SEARCH_POS, 0) + delta) % len(order["items"])
    st.session_state[state.SEARCH_POS] = pos
    qid, text, _ = order["items"][pos]
    _set_query(qid, text)


def _pick_from_order() -> None:
    order = st.session_state.get(state.SEARCH_ORDER)
    label = st.session_state.get("rl_search_order_pick")
    if order and label in order["labels"]:
        pos = order["labels"].index(label)
        st.session_state[state.SEARCH_POS] = pos
        qid, text, _ = order["items"][pos]
        _set_query(qid, text)


def _order(name: str, queries: Sequence[Query], pair=None, measure=None, scores=None) -> dict:
    """A query set in stepping order: its own order, or by disagreement (scores given)."""
    texts = {q.query_id: q.text for q in queries}
    if scores is None:
        items = [(q.query_id, q.text, None) for q in queries]
    else:
        items = [(qid, texts[qid], d) for qid, d in scores if qid in texts]
    labels = [
        (f"{d:.2f} · " if d is not None else "") + f"{qid}: {text[:70]}" for qid, text, d in items
    ]
    return {"set": name, "pair": pair, "measure": measure, "items": items, "labels": labels}


def add_query_set(corpus: Corpus, name: str, file_name: str, data: bytes, replace: bool) -> bool:
    """Store an uploaded query set (shows what happened); True when it was stored. The rules
    (replace only when ticked, never a set that came with its labels) are the core's."""
    sets = corpus.query_sets()
    try:  # a folder of its own per upload: concurrent sessions never share a path
        with uploads.temporary_upload(file_name, data, resources.settings()) as path:
            queries = read_queries(path)
        corpus.add_query_set(name, queries, actor=auth.actor(), replace=replace)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return False
    st.session_state.pop(state.SEARCH_ORDER, None)  # an order of the old set is stale
    verb = "Replaced" if name in sets else "Added"
    st.success(f"{verb} query set {name!r} ({len(queries)} queries).")
    return True


def panel(corpus: Corpus, specs: Sequence[str], k: int) -> None:
    sets = corpus.query_sets()
    with st.expander(f"Query sets ({len(sets)})", expanded=False):
        upload = upload_widget.file_uploader(
            "Add a query set (TSV: id<TAB>text, or JSONL with _id and text)",
            type=["tsv", "txt", "jsonl"],
            key="rl_search_upload",
        )
        if upload is not None:
            name = st.text_input(
                "Name for the set", Path(upload.name).stem, key="rl_search_up_name"
            ).strip()
            shipped = name in sets and name in corpus.shipped_qrels()
            replace = False
            if shipped:
                st.caption(
                    f"{name!r} came with the corpus, with its relevance labels: give the new set "
                    "another name."
                )
            elif name in sets and not auth.is_admin():  # team mode: replacing is for admins
                st.caption(
                    f"Only an admin can replace the query set {name!r}: choose another name."
                )
            elif name in sets:
                replace = st.checkbox(
                    f"Replace the existing set {name!r} ({len(sets[name])} queries)",
                    key=f"rl_search_up_replace:{name}",
                )
            if st.button("Add query set", key="rl_search_up_add"):
                if add_query_set(corpus, name, upload.name, upload.getvalue(), replace):
                    sets = corpus.query_sets()
        if not sets:
            st.caption("This corpus has no query set yet.")
            return
        if st.session_state.get(state.QUERY_SET) not in sets:
            st.session_state[state.QUERY_SET] = next(iter(sets))
        qs_name = st.selectbox("Query set", list(sets), key=state.QUERY_SET)
        queries = sets[qs_name]
        pair_options = list(specs)
        pair_now = [p for p in st.session_state.get(state.SEARCH_PAIR, []) if p in pair_options]
        st.session_state[state.SEARCH_PAIR] = pair_now if pair_now else pair_options[:2]
        c1, c2, c3 = st.columns([3, 2, 1])
        with c1:
            pair = st.multiselect(
                "Order by the disagreement of",
                pair_options,
                max_selections=2,
                key=state.SEARCH_PAIR,
            )
        with c2:
            measure = st.radio(
                "Measure",
                compare.DISAGREEMENT_MEASURES,
                format_func=lambda m: {"rbo": "rank-biased overlap", "tau_ap": "tau-AP"}[m],
                horizontal=True,
                key=state.SEARCH_MEASURE,
            )
        with c3:
            go_order = st.button("Order", disabled=len(pair) != 2, key="rl_search_order_btn")
        if go_order:
            by_doc = doc_mode()
            with st.spinner(f"Ranking {len(queries)} queries with {pair[0]} and {pair[1]}…"):
                try:
                    two = make(pair, corpus)
                    level = "doc" if by_doc else "passage"
                    runs = rank_corpus(corpus, two, queries, k, level).runs
                except RankLensError as exc:
                    st.error(safe.error(exc))
                    return
            scores = compare.disagreement_by_query(
                runs[two[0].name], runs[two[1].name], k, measure, hit_key(by_doc)
            )
            order = _order(qs_name, queries, [r.name for r in two], measure, scores)
            st.session_state[state.SEARCH_ORDER] = order
            st.session_state[state.SEARCH_POS] = 0
            _set_query(*order["items"][0][:2])
            st.rerun()
        order = st.session_state.get(state.SEARCH_ORDER)
        if not order or order["set"] != qs_name or len(order["items"]) != len(queries):
            order = _order(qs_name, queries)
            st.session_state[state.SEARCH_ORDER] = order
            st.session_state[state.SEARCH_POS] = 0
        if order["pair"]:
            st.caption(
                f"Most disagreeing first: {order['pair'][0]} vs {order['pair'][1]} "
                f"({order['measure']}; 0 = same ranking, 1 = nothing in common)."
            )
        else:
            st.caption("In the set's own order; **Order** puts the most disagreeing first.")
        pos = min(st.session_state.get(state.SEARCH_POS, 0), len(order["items"]) - 1)
        st.session_state["rl_search_order_pick"] = order["labels"][pos]
        a, b, c = st.columns([1, 6, 1])
        a.button("◀ Previous", on_click=_step, args=(-1,), key="rl_search_prev")
        b.selectbox(
            "Query",
            order["labels"],
            key="rl_search_order_pick",
            label_visibility="collapsed",
            on_change=_pick_from_order,
        )
        c.button("Next ▶", on_click=_step, args=(1,), key="rl_search_next")
