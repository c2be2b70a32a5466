"""Evaluate page, tab "Difference": per-query differences between two rankers, best win first.

The differences come from ranklens.evaluation.measures.per_query_differences, the figure from ranklens.evaluation.report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import Setup, keep_one
from ranklens.evaluation import measures as ev
from ranklens.evaluation import report

BIGGEST = 10  # rows of each end of the difference table


def render(setup: Setup, per_query: pd.DataFrame, texts: dict[str, str] | None = None) -> None:
    names = list(setup.rankers)
    if len(names) < 2:
        st.info("Choose two rankers to see per-query differences.")
        return
    c1, c2, c3 = st.columns(3)
    keep_one(state.EVAL_DIFF_A, names, names[0])
    keep_one(state.EVAL_DIFF_B, names, names[1])
    keep_one(state.EVAL_DIFF_MEASURE, list(setup.measures), setup.measures[0])
    a = c1.selectbox("Ranker A", names, key=state.EVAL_DIFF_A)
    b = c2.selectbox("Ranker B", names, key=state.EVAL_DIFF_B)
    m = c3.selectbox("Measure", list(setup.measures), key=state.EVAL_DIFF_MEASURE)
    if a == b:
        st.info("Choose two different rankers.")
        return
    diffs = ev.per_query_differences(per_query, m, a, b)
    st.plotly_chart(report.difference_figure(diffs, a, b, m), key="rl_eval_diff_fig")
    table = diffs.copy()
    table.insert(1, "query", [(texts or {}).get(q, "") for q in table["query_id"]])
    table = table.reindex(table["diff"].abs().sort_values(ascending=False, kind="stable").index)
    st.caption(
        f"The {min(BIGGEST * 2, len(table))} biggest differences ({m} of {a} minus {b}; "
        "positive: A is better). Click a column to sort."
    )
    st.dataframe(
        report.without_negative_zero(table.head(BIGGEST * 2)),
        hide_index=True,
        width="stretch",
        key=state.EVAL_DIFF_TABLE,
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in (a, b, "diff")},
    )
