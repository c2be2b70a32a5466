"""The Search page's query sets: upload one (saved through ranklens.corpus.uploads), pick a query,
step through a set in its own order or most-disagreeing first (ranklens.ranking.compare)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components import auth, resources, safe, state, upload_widget
from pages.evaluate.data import cached_run
from pages.search.results import doc_mode, hit_key
from ranklens.corpus import index, uploads
from ranklens.corpus.index import Corpus
from ranklens.corpus.trec_files import read_queries
from ranklens.errors import RankLensError
from ranklens.judging import carried_labels
from ranklens.ranking import compare
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


SHORT = {"rbo": "RBO", "tau_ap": "tau-AP"}


def _order(name: str, queries: Sequence[Query], pair=None, measure=None, table=None) -> dict:
    """A query set in stepping order: its own order, or least alike first (table given)."""
    texts = {q.query_id: q.text for q in queries}
    if table is None:
        items = [(q.query_id, q.text, None) for q in queries]
    else:
        items = [
            (qid, texts[qid], v)
            for qid, v in zip(table["query_id"], table[measure], strict=True)
            if qid in texts
        ]
    labels = [
        (f"{SHORT[measure]} {d:.2f} · " if d is not None and d == d else "") + f"{qid}: {text[:70]}"
        for qid, text, d in items
    ]
    return {
        "set": name,
        "pair": pair,
        "measure": measure,
        "items": items,
        "labels": labels,
        "table": table,
    }


def _order_table(order: dict) -> None:
    """The most-different queries as a sortable table; choosing a row opens that query."""
    texts = {qid: text for qid, text, _ in order["items"]}
    table = order["table"].copy()
    table.insert(1, "query", [texts.get(q, "") for q in table["query_id"]])
    names = compare.SIMILARITY_NAMES
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(400, 38 + 35 * len(table)),
        on_select=_pick_row,
        selection_mode="single-row",
        key=state.SEARCH_ORDER_TABLE,
        column_config={
            "query_id": st.column_config.TextColumn("query id"),
            "query": st.column_config.TextColumn("query", width="large"),
            "rbo": st.column_config.NumberColumn(names["rbo"], format="%.3f"),
            "tau_ap": st.column_config.NumberColumn(names["tau_ap"], format="%.3f"),
            "jaccard": st.column_config.NumberColumn(names["jaccard"], format="%.3f"),
        },
    )


def _pick_row() -> None:
    """A row chosen in the most-different table opens its query (stepping goes on from it)."""
    order = st.session_state.get(state.SEARCH_ORDER)
    picked = st.session_state.get(state.SEARCH_ORDER_TABLE)
    rows = picked.selection.rows if picked is not None else []
    if not order or order.get("table") is None or not rows:
        return
    qid = order["table"]["query_id"].iloc[rows[0]]
    pos = next((i for i, item in enumerate(order["items"]) if item[0] == qid), None)
    if pos is not None:
        st.session_state[state.SEARCH_POS] = pos
        _set_query(qid, order["items"][pos][1])


def _read_upload(file_name: str, data: bytes) -> list[Query]:
    with uploads.temporary_upload(file_name, data, resources.settings()) as path:
        return read_queries(path)


def carried_preview(corpus: Corpus, name: str, file_name: str, data: bytes) -> None:
    """Before a set is added: say which of its ids already have labels (ranklens.judging.carried_labels),
    and offer to start clean (fresh ids)."""
    try:
        queries = _read_upload(file_name, data)
        found = carried_labels.carried_labels(corpus, resources.judgment_store(), name, queries)
    except RankLensError:
        return  # the Add button reports a bad file, naming the line
    if found.different_text:
        try:
            carried_labels.check_carried_labels(corpus, resources.judgment_store(), name, queries)
        except RankLensError as exc:
            st.error(safe.error(exc))
    elif found.message(name):
        st.warning(safe.error(found.message(name)), icon="⚠️")
    if found.different_text or found.message(name):
        st.checkbox(
            f"Start clean: give the queries new ids ({name}-ID), so no earlier label applies",
            key=state.SEARCH_UP_CLEAN,
        )


def add_query_set(
    corpus: Corpus, name: str, file_name: str, data: bytes, replace: bool, start_clean=False
) -> bool:
    """Store an uploaded query set (shows what happened); True when it was stored.

    The rules are the core's: an existing set is replaced only when `replace` is ticked, never
    one that came with its labels (Corpus.add_query_set); ids already labelled for another text
    are refused unless `start_clean` (ranklens.judging.carried_labels).
    """
    try:
        index.check_name(name, "query set name")
    except RankLensError as exc:
        st.error(safe.error(exc))
        return False
    sets = corpus.query_sets()
    try:  # a folder of its own per upload: concurrent sessions never share a path
        queries, found = carried_labels.add_query_set(
            corpus,
            resources.judgment_store(),
            name,
            _read_upload(file_name, data),
            start_clean,
            actor=auth.actor(),
            replace=replace,
        )
    except RankLensError as exc:
        st.error(safe.error(exc))
        return False
    st.session_state.pop(state.SEARCH_ORDER, None)  # an order of the old set is stale
    verb = "Replaced" if name in sets else "Added"
    fresh = f", new ids {queries[0].query_id} …" if start_clean and queries else ""
    st.success(f"{verb} query set {name!r} ({len(queries)} queries{fresh}).")
    if found.message(name):
        st.warning(safe.error(found.message(name)), icon="⚠️")
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
            if name and not shipped:
                carried_preview(corpus, name, upload.name, upload.getvalue())
            if st.button("Add query set", key="rl_search_up_add"):
                clean = bool(st.session_state.get(state.SEARCH_UP_CLEAN))
                if add_query_set(corpus, name, upload.name, upload.getvalue(), replace, clean):
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
                format_func=lambda m: {"rbo": "rank-biased overlap (RBO)", "tau_ap": "tau-AP"}[m],
                help="Both run from 1 (the same ranking) down; the least alike come first, ties "
                "broken by the other measure, then by Jaccard@k.",
                horizontal=True,
                key=state.SEARCH_MEASURE,
            )
        with c3:
            go_order = st.button("Order", disabled=len(pair) != 2, key="rl_search_order_btn")
        if go_order:
            by_doc = doc_mode()
            level = "doc" if by_doc else "passage"
            stamp = corpus.version()
            runs = []
            with st.spinner(f"Ranking {len(queries)} queries with {pair[0]} and {pair[1]}…"):
                try:  # cached per (corpus, set, ranker, k, level): Evaluate's runs, reused
                    for spec in pair:
                        runs.append(cached_run(corpus.name, stamp, qs_name, spec, k, level))
                except RankLensError as exc:
                    st.error(safe.error(exc))
                    return
            table = compare.most_different(runs[0], runs[1], k, measure, hit_key(by_doc))
            order = _order(qs_name, queries, list(pair), measure, table)
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
            other = "tau-AP" if order["measure"] == "rbo" else "RBO"
            st.caption(
                f"Least alike first: {safe.md(order['pair'][0])} vs {safe.md(order['pair'][1])} "
                f"by {compare.SIMILARITY_NAMES[order['measure']]}; ties broken by {other}, then "
                "Jaccard. Click a column to sort, a row to open the query."
            )
            _order_table(order)
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
