"""Evaluate page, tab "Per query": one measure per query and ranker, and one number opened up.

The ranking a number was computed from is shown with its grades; nDCG is worked out step by step
by ranklens.teaching.explain beside ir_measures' own value.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import Setup, escape_markdown, keep_one
from ranklens.corpus import external_docs
from ranklens.corpus.index import Corpus
from ranklens.evaluation import measures as ev
from ranklens.evaluation.measure_texts import explain_measure
from ranklens.teaching.explain import explain_ndcg
from ranklens.types import Qrel, Query, Run, doc_level


def explain_number(
    setup: Setup,
    corpus: Corpus,
    runs: dict[str, Run],
    qrels: list[Qrel],
    per_query: pd.DataFrame,
    measure: str,
    texts: dict[str, str],
) -> None:
    """One per-query number opened up: the ranking it was computed from, with the grades."""
    qids = list(dict.fromkeys(per_query["query_id"]))
    c1, c2 = st.columns(2)
    keep_one(state.EVAL_EXPLAIN_QUERY, qids, qids[0])
    qid = c1.selectbox(
        "Query",
        qids,
        key=state.EVAL_EXPLAIN_QUERY,
        format_func=lambda q: f"{q}: {texts.get(q, '')[:80]}",
    )
    names = list(setup.rankers)
    keep_one(state.EVAL_EXPLAIN_RANKER, names, names[0])
    ranker = c2.selectbox("Ranker", names, key=state.EVAL_EXPLAIN_RANKER)
    sel = per_query[
        (per_query["ranker"] == ranker)
        & (per_query["query_id"] == qid)
        & (per_query["measure"] == measure)
    ]
    value = float(sel["value"].iloc[0]) if not sel.empty else float("nan")
    st.markdown(
        f"**{escape_markdown(measure)}** of **{escape_markdown(ranker)}** for query **{escape_markdown(qid)}** = **{value:.4f}**"
    )
    spec = ev.parse_measures([measure])[0]
    cutoff = spec.measure.params.get("cutoff")
    rel = spec.measure.params.get("rel") or 1
    grades = ev.qrels_dict(qrels).get(qid, {})
    run = runs[ranker]
    hits = doc_level(run).get(qid, []) if setup.level == "doc" else run.get(qid, [])
    if setup.condensed:
        hits = [h for h in hits if (h.doc_id if setup.level == "doc" else h.passage_id) in grades]
    depth = cutoff if isinstance(cutoff, int) else min(len(hits), 20)
    shown = hits[:depth]
    passages = external_docs.passages_for(corpus, [h.passage_id for h in shown])
    rows = []
    for i, h in enumerate(shown, 1):
        ident = h.doc_id if setup.level == "doc" else h.passage_id
        g = grades.get(ident)
        row = {
            "rank": i,
            "id": ident,
            "title": passages[h.passage_id].title
            if h.passage_id in passages
            else "(not in the corpus)",
            "grade": "unjudged" if g is None else str(g),
            "relevant": g is not None and g >= rel,
        }
        if spec.measure.NAME == "nDCG":
            row["gain"] = max(g or 0, 0)
            row["discount log2(rank+1)"] = math.log2(i + 1)
        rows.append(row)
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            column_config={"discount log2(rank+1)": st.column_config.NumberColumn(format="%.3f")},
        )
    else:
        st.caption("This ranker returned nothing for this query: every measure is 0.")
    extra = (
        f"Shown: the top {depth} results the measure looks at"
        + (" (condensed: unjudged removed)" if setup.condensed else "")
        + f". The query has {len(grades)} labels, "
        + f"{sum(1 for g in grades.values() if g >= rel)} with grade ≥ {rel}."
    )
    if spec.measure.NAME == "nDCG":
        ideal = sorted((g for g in grades.values() if g > 0), reverse=True)
        extra += f" Ideal order of gains (for the ideal DCG): {ideal[: depth or None]}."
    st.caption(extra)
    if (
        spec.measure.NAME == "nDCG"
        and isinstance(cutoff, int)
        and setup.level == "doc"
        and hits
        and not setup.condensed
    ):
        ndcg_steps(qid, texts.get(qid, ""), hits, qrels, cutoff)
    st.markdown(explain_measure(measure))


def ndcg_steps(qid: str, text: str, hits: list, qrels: list[Qrel], k: int) -> None:
    """nDCG@k worked out term by term (ranklens.teaching.explain), beside ir_measures' own number."""
    ex = explain_ndcg(hits, [q for q in qrels if q.query_id == qid], Query(qid, text), k)
    with st.popover(f"Work out {ex.title} step by step"):
        st.caption(ex.formula)
        steps = pd.DataFrame(ex.rows)
        if "grade" in steps:  # numbers and "unjudged" in one column: show all as text
            steps["grade"] = steps["grade"].astype(str)
        st.dataframe(steps, hide_index=True)
        for note in ex.notes:
            st.caption(note)
        verdict = "agree" if ex.agrees else "DISAGREE"
        st.markdown(
            f"Steps: **{ex.total:.4f}** · ir_measures: **{ex.reported:.4f}** ({verdict}). "
            "The number RankLens reports is ir_measures'."
        )


def render(
    setup: Setup,
    corpus: Corpus,
    runs: dict[str, Run],
    qrels: list[Qrel],
    per_query: pd.DataFrame,
    texts: dict[str, str],
) -> None:
    measures = list(setup.measures)
    keep_one(state.EVAL_TABLE_MEASURE, measures, measures[0])
    measure = st.selectbox("Measure", measures, key=state.EVAL_TABLE_MEASURE)
    wide = ev.per_query_table(per_query, measure)
    table = wide.reset_index()
    table.insert(1, "query", [texts.get(q, "") for q in table["query_id"]])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={r: st.column_config.NumberColumn(format="%.4f") for r in wide.columns},
    )
    st.caption("Click a column header to sort. Each value is one query's score.")
    with st.expander("Open one number: how it is computed", expanded=False):
        explain_number(setup, corpus, runs, qrels, per_query, measure, texts)
