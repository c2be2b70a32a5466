"""Evaluate page, tab "Difference": per-query differences between two rankers, best win first.

The differences come from ranklens.evaluate.per_query_differences, the figure from ranklens.report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import Setup, keep_one
from ranklens import evaluate as ev
from ranklens import report


def difference_section(setup: Setup, per_query: pd.DataFrame) -> None:
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
