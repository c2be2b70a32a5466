"""Widgets of the Search page: ranked columns side by side, overlap, score cut-offs, query-set
stepping by disagreement, inline labels and HNSW-vs-exact recall. Numbers come from rankers.

Passage text is shown only as HTML escaped by ranklens.highlight (a corpus can hold HTML).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import resources, state
from components.label_widgets import label_buttons
from ranklens import ann, compare, index, rankers
from ranklens.compare import HitKey
from ranklens.errors import RankLensError
from ranklens.formats import read_queries
from ranklens.highlight import escape, highlight
from ranklens.index import Corpus
from ranklens.judging import CurrentLabel
from ranklens.rankers import RankedRuns
from ranklens.types import Hit, Query

MAX_RANKERS = 6
MAX_K_PAGE = 100
LETTERS = string.ascii_uppercase

CSS = """
<style>
.rl-card {border:1px solid rgba(128,128,128,.35); border-radius:.5rem; padding:.5rem .65rem;
  margin-bottom:.5rem; font-size:.9rem; line-height:1.35;}
.rl-card .rl-head {font-weight:600; margin-bottom:.2rem;}
.rl-card .rl-meta {color:rgba(128,128,128,1); font-size:.78rem; margin-top:.25rem;}
.rl-badge {display:inline-block; border-radius:.6rem; padding:0 .4rem; margin:.1rem .15rem 0 0;
  font-size:.75rem; background:rgba(128,128,128,.15);}
.rl-up {background:rgba(0,160,60,.18);} .rl-down {background:rgba(220,50,50,.18);}
.rl-label {background:rgba(255,190,0,.3);}
.rl-card mark {background:rgba(255,215,0,.55); padding:0 .1rem; border-radius:.15rem;}
[class*="st-key-rl_sl_"] button {min-width:2.3rem !important; min-height:1.7rem !important;
  padding:0 .45rem !important;}
[class*="st-key-rl_sl_"][class*="_row"] {margin:-.35rem 0 .55rem 0;}
</style>
"""
LABEL_KEY = "rl_sl"  # prefix of the inline label buttons' keys (and of their CSS classes)
NAME_KEY = "rl_search_name"  # "Your name (to label)", copied into state.ANNOTATOR


# ---------------------------------------------------------------- labels (ranklens.judgments)


def stored_labels(corpus: str, query_id: str | None) -> list[CurrentLabel]:
    """Every annotator's current label for a query (one read of the judgment store)."""
    if not query_id:
        return []
    try:
        return resources.judgment_store().current_labels(corpus, query_ids=[query_id])
    except (ImportError, RankLensError, AttributeError):
        return []


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


# ---------------------------------------------------------------- inputs


def _query_of(corpus: Corpus, text: str) -> tuple[str | None, str | None]:
    """(query id, query set) of a query-set query with exactly this text, else (None, None).

    Labels are stored per query id: a query typed freely has none, and cannot be labelled.
    """
    sets = corpus.query_sets()
    chosen = st.session_state.get(state.SEARCH_QID)
    if chosen and chosen[1] == text:
        picked = st.session_state.get(state.QUERY_SET)
        names = [picked, *sets] if picked in sets else list(sets)
        for name in names:
            if any(q.query_id == chosen[0] for q in sets[name]):
                return chosen[0], name
        return chosen[0], None
    for name, queries in sets.items():
        for q in queries:
            if q.text.strip() == text:
                return q.query_id, name
    return None, None


def _make(specs: Sequence[str], corpus: Corpus) -> list[rankers.Ranker]:
    return rankers.make_rankers(specs, corpus, resources.encoder, resources.reranker)


def choose_rankers(corpus: Corpus) -> tuple[list[str], int]:
    options = rankers.available_rankers(corpus)
    custom = st.session_state.get(state.SEARCH_CUSTOM, "").strip()
    chosen = [s for s in st.session_state.get(state.SEARCH_RANKERS, []) if s]
    for spec in [*chosen, custom]:
        if spec and spec not in options:
            options.append(spec)
    if state.SEARCH_RANKERS not in st.session_state or not set(chosen) <= set(options):
        leaves = corpus.models()
        default = leaves[:2] + [o for o in options if o.startswith("rrf(")][:1]
        st.session_state[state.SEARCH_RANKERS] = [o for o in default if o in options]
    left, right = st.columns([3, 1])
    with left:
        specs = st.multiselect(
            "Rankers (up to six)",
            options,
            key=state.SEARCH_RANKERS,
            max_selections=MAX_RANKERS,
            help="Each is a recipe: bm25, a dense model, rrf(A,B), wsum(A:0.3,B:0.7), "
            "rerank(A,CROSS_ENCODER,DEPTH). The same names work in the CLI and run files.",
        )
    with right:
        k = st.number_input("k", 1, MAX_K_PAGE, value=10, key=state.SEARCH_K)
    with st.expander("Add a ranker by recipe"):
        st.text_input(
            "Recipe",
            key=state.SEARCH_CUSTOM,
            placeholder="wsum(bm25:0.3,all-MiniLM-L6-v2:0.7)",
            on_change=_add_custom,
            args=(corpus.name,),
        )
        st.caption(
            "Press Enter to add it to the rankers. Fusion ranks its inputs to depth 100 "
            "(rrf(A,B,k=60,depth=100)); rerank(A,ms-marco-MiniLM-L-12-v2,50) rescores A's top 50."
        )
    return specs, int(k)


def _add_custom(corpus_name: str) -> None:
    spec = st.session_state.get(state.SEARCH_CUSTOM, "").strip()
    if not spec:
        return
    try:
        name = _make([spec], resources.open_corpus(corpus_name))[0].name
    except RankLensError as exc:
        st.session_state["rl_search_custom_error"] = str(exc)
        return
    st.session_state.pop("rl_search_custom_error", None)
    chosen = list(st.session_state.get(state.SEARCH_RANKERS, []))
    if name not in chosen and len(chosen) < MAX_RANKERS:
        chosen.append(name)
    st.session_state[state.SEARCH_RANKERS] = chosen
    st.session_state[state.SEARCH_CUSTOM] = name


# ---------------------------------------------------------------- query sets


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


def _query_set_name_error(name: str) -> str | None:
    """What is wrong with a query set name (index.check_name's rule), said of a query set."""
    try:
        index.check_name(name)
    except RankLensError as exc:
        text = str(exc)
        return (
            text.replace("corpus name", "query set name")
            if "corpus name" in text
            else f"invalid query set name {name!r}: {text}"
        )
    return None


def add_query_set(corpus: Corpus, name: str, file_name: str, data: bytes, replace: bool) -> bool:
    """Store an uploaded query set (shows what happened); True when it was stored.

    An existing set is replaced only when `replace` is ticked, and never one that came with the
    corpus with its relevance labels (a BEIR corpus's qrels are keyed by that set's query ids).
    """
    problem = _query_set_name_error(name)
    if problem:
        st.error(problem)
        return False
    sets = corpus.query_sets()
    if name in sets and name in corpus.shipped_qrels():
        st.error(
            f"Query set {name!r} came with the corpus and has its relevance labels (qrels): "
            "it is not replaced. Choose another name for the uploaded set."
        )
        return False
    if name in sets and not replace:
        st.error(
            f'A query set named {name!r} exists: tick "Replace the existing set" to replace '
            "it, or choose another name."
        )
        return False
    tmp = resources.settings().cache_dir / "uploads" / Path(file_name).name
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    try:
        queries = read_queries(tmp)
        corpus.add_query_set(name, queries)
    except RankLensError as exc:
        st.error(str(exc))
        return False
    finally:
        tmp.unlink(missing_ok=True)
    st.session_state.pop(state.SEARCH_ORDER, None)  # an order of the old set is stale
    verb = "Replaced" if name in sets else "Added"
    st.success(f"{verb} query set {name!r} ({len(queries)} queries).")
    return True


def query_set_panel(corpus: Corpus, specs: Sequence[str], k: int) -> None:
    sets = corpus.query_sets()
    with st.expander(f"Query sets ({len(sets)})", expanded=False):
        upload = st.file_uploader(
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
                    two = _make(pair, corpus)
                    runs = compare_runs(corpus, two, queries, k, by_doc).runs
                except RankLensError as exc:
                    st.error(str(exc))
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


# ---------------------------------------------------------------- results


def doc_mode() -> bool:
    """Whether the page shows one hit per document (the toggle's state)."""
    return bool(st.session_state.get(state.SEARCH_DOC_LEVEL, False))


def hit_key(by_doc: bool) -> HitKey:
    """What identifies a hit when rankers are compared: its document in document mode."""
    return compare.doc_key if by_doc else compare.passage_key


def compare_runs(
    corpus: Corpus, chosen: Sequence[rankers.Ranker], queries: Sequence[Query], k: int, by_doc: bool
) -> RankedRuns:
    """rankers.rank_all: k passages, or (by_doc) k documents, each by its best passage."""
    per_doc = rankers.passages_per_doc(corpus)
    level = "doc" if by_doc else "passage"
    return rankers.rank_all(chosen, queries, k, level=level, passages_per_doc=per_doc)


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
) -> str:
    """One hit as HTML; every piece of corpus text goes through highlight/escape."""
    body = highlight(text, query).replace("\n", "<br>")
    head = highlight(title, query) if title else escape(hit.doc_id)
    label = "".join(f'<span class="rl-badge rl-label">label {escape(x)}</span>' for x in labels)
    return (
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
            f"Labelling as {who} for query {query_id}: a grade under a hit "
            "stores your label (change your name on the Judge page)."
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


def result_columns(
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
    passages = corpus.get_passages(sorted({h.passage_id for hs in hit_lists.values() for h in hs}))
    key = hit_key(by_doc)
    changes = compare.rank_changes(hit_lists, key)
    who = labeller(query_id)
    stored = stored_labels(corpus.name, query_id)
    labels = current_labels(corpus.name, query_id, stored)
    mine = {(lab.passage_id, lab.doc_id): lab for lab in stored if lab.annotator == who}
    store, scale = None, None
    if who:
        try:
            store = resources.judgment_store()
            scale = store.scale(corpus.name)
        except RankLensError as exc:
            st.warning(f"Labels cannot be stored now: {exc}")
            store = None
    st.markdown(CSS, unsafe_allow_html=True)  # a constant: no corpus text
    for n, col in zip(names, st.columns(len(names)), strict=True):
        with col:
            st.markdown(f"**{letters[n]} · {escape(n)}**", unsafe_allow_html=False)
            unit = "documents" if by_doc else "hits"
            st.caption(f"{result.latency_ms[n]:.1f} ms · {len(hit_lists[n])} {unit}")
            if not hit_lists[n]:
                st.info("No passage matches.")
            others = {o: letters[o] for o in names if o != n}
            for h in hit_lists[n]:
                p = passages.get(h.passage_id)
                badges = _badges(h, changes[n].get(key(h), {}), others, k, by_doc)
                card = hit_card(
                    h,
                    p.title if p else "",
                    p.text if p else "",
                    query,
                    badges,
                    _labels_of(labels, h),
                )
                st.markdown(card, unsafe_allow_html=True)  # escaped by highlight
                if store is not None and query_id:
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


def overlap_panel(result: RankedRuns, k: int, by_doc: bool = False) -> None:
    names = list(result.runs)
    if len(names) < 2:
        return
    hit_lists = {n: result.runs[n].get("q", []) for n in names}
    labels = [f"{LETTERS[i]} · {n}" for i, n in enumerate(names)]
    if by_doc:
        st.caption("By document: two rankers agree on a document whichever passage they found.")
    tabs = st.tabs([f"Jaccard@{k}", "Rank-biased overlap (p=0.9)"])
    for tab, measure in zip(tabs, ("jaccard", "rbo"), strict=True):
        with tab:
            _, m = compare.overlap_matrix(hit_lists, k, measure, hit_key(by_doc))
            fig = go.Figure(
                go.Heatmap(
                    z=m,
                    x=labels,
                    y=labels,
                    zmin=0,
                    zmax=1,
                    colorscale="Blues",
                    text=np.round(m, 2),
                    texttemplate="%{text}",
                    hovertemplate="%{y}<br>%{x}<br>%{z:.3f}<extra></extra>",
                )
            )
            fig.update_layout(height=120 + 60 * len(names), margin=dict(l=10, r=10, t=10, b=10))
            fig.update_yaxes(autorange="reversed")
            st.plotly_chart(fig, width="stretch", key=f"rl_search_overlap_{measure}")


def score_panel(result: RankedRuns) -> None:
    names = [n for n in result.runs if result.runs[n].get("q")]
    if not names:
        return
    if st.session_state.get(state.SEARCH_SCORE_RANKER) not in names:
        st.session_state[state.SEARCH_SCORE_RANKER] = names[0]
    name = st.selectbox("Ranker", names, key=state.SEARCH_SCORE_RANKER)
    hits = result.runs[name]["q"]
    scores = [h.score for h in hits]
    lo, hi = float(min(scores)), float(max(scores))
    key = f"{state.SEARCH_THRESHOLD}:{name}"
    if lo == hi:
        threshold = lo
        st.caption(f"Every hit scores {lo:.4f}.")
    else:
        threshold = st.slider(
            "Score threshold", lo, hi, value=lo, step=(hi - lo) / 200, format="%.4f", key=key
        )
    kept = compare.count_at_or_above(hits, threshold)
    st.metric("Hits a cut-off here keeps", f"{kept} of {len(hits)}")
    fig = go.Figure(go.Histogram(x=scores, nbinsx=min(30, max(5, len(scores)))))
    fig.add_vline(x=threshold, line_color="red", line_dash="dash")
    fig.update_layout(
        height=220, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="score", yaxis_title="hits"
    )
    st.plotly_chart(fig, width="stretch", key="rl_search_scores")
    st.caption(
        "Raw cosine and BM25 scores have no natural cut-off: the same threshold keeps very "
        "different numbers of hits from query to query."
    )


def hnsw_panel(corpus: Corpus, query: str, query_id: str | None, k: int) -> None:
    dense = corpus.dense_models()
    if not dense:
        st.caption("No dense model is indexed for this corpus.")
        return
    c1, c2, c3 = st.columns([3, 2, 2])
    model = c1.selectbox("Dense model", dense, key=state.SEARCH_HNSW_MODEL)
    try:
        settings = ann.hnsw_settings(corpus, model)
    except RankLensError as exc:
        st.error(str(exc))
        return
    stored_ef = int(settings.get("ef_search") or 100)
    ef = c2.number_input("ef_search", 1, 10000, value=stored_ef, key=state.SEARCH_HNSW_EF)
    sets = corpus.query_sets()
    scopes = ["this query"] + [f"query set {n}" for n in sets]
    scope = c3.selectbox("Measure on", scopes, key="rl_search_hnsw_scope")
    st.caption(
        "Index settings: "
        + ", ".join(f"{key} = {value}" for key, value in sorted(settings.items()))
        + ". A different ef_search is tried in a separate process; the stored setting is kept."
    )
    if st.button("Measure recall", key="rl_search_hnsw_go"):
        queries = (
            [Query(query_id or "q", query)]
            if scope == "this query"
            else sets[scope.removeprefix("query set ")]
        )
        with st.spinner("Searching HNSW and exact…"):
            try:
                report = ann.hnsw_recall(
                    corpus,
                    model,
                    queries,
                    k,
                    None if int(ef) == stored_ef else int(ef),
                    resources.encoder,
                )
            except RankLensError as exc:
                st.error(str(exc))
                return
        st.session_state[state.SEARCH_HNSW_REPORT] = report
    report = st.session_state.get(state.SEARCH_HNSW_REPORT)
    if report is not None and report.model == model:
        a, b, c = st.columns(3)
        a.metric(f"Recall@{report.k} (ef_search={report.ef_search})", f"{report.mean:.3f}")
        b.metric("HNSW search", f"{report.hnsw_ms:.1f} ms")
        c.metric("Exact search", f"{report.exact_ms:.1f} ms")
        if report.mean < 1:
            st.warning(
                "The index misses results that exact search over the same vectors finds: "
                "these losses are the index's, not the model's."
            )
        if len(report.per_query) > 1:
            table = pd.DataFrame(
                sorted(report.per_query.items(), key=lambda t: t[1]), columns=["query", "recall"]
            )
            st.dataframe(table, hide_index=True, width="stretch", height=200)


# ---------------------------------------------------------------- the page


def run_search(
    corpus: Corpus, specs: Sequence[str], query: str, k: int, by_doc: bool = False
) -> RankedRuns | None:
    key = (corpus.name, tuple(specs), query, k, by_doc, corpus.manifest.get("created"))
    last = st.session_state.get(state.SEARCH_RESULT)
    if last and last[0] == key:
        return last[1]
    try:
        chosen = _make(specs, corpus)
        with st.spinner("Ranking…"):
            result = compare_runs(corpus, chosen, [Query("q", query)], k, by_doc)
    except RankLensError as exc:
        st.error(str(exc))
        return None
    st.session_state[state.SEARCH_RESULT] = (key, result)
    return result


def render() -> None:
    st.title("Search")
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    name = corpus.name
    if not corpus.models():
        st.warning(f"Corpus {name!r} has no finished index yet: finish it on the Corpus page.")
        return
    specs, k = choose_rankers(corpus)
    if "rl_search_custom_error" in st.session_state:
        st.error(st.session_state["rl_search_custom_error"])
    query_set_panel(corpus, specs, k)
    query = st.text_input(
        "Query", key=state.SEARCH_QUERY, placeholder="Type a query and press Enter"
    )
    text = (query or "").strip()
    if not specs:
        st.info("Choose at least one ranker.")
        return
    if not text:
        st.info("Type a query to compare the rankers side by side.")
        return
    by_doc = st.toggle(
        "One hit per document (its best passage)",
        key=state.SEARCH_DOC_LEVEL,
        help="Passages are ranked deeper so that k documents usually remain; overlap and rank "
        "changes then compare documents.",
    )
    result = run_search(corpus, specs, text, k, by_doc)
    if result is None:
        return
    query_id, query_set = _query_of(corpus, text)
    result_columns(corpus, result, text, k, query_id, query_set, by_doc)
    with st.expander("Overlap between rankers", expanded=len(result.runs) > 1):
        overlap_panel(result, k, by_doc)
    with st.expander("Score distributions and cut-offs"):
        score_panel(result)
    with st.expander("Approximate vs exact search (HNSW recall)"):
        hnsw_panel(corpus, text, query_id, k)
