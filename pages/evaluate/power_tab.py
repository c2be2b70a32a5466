"""Evaluate page, tab "Discriminative power": do the labels so far tell the rankers apart?

Subsampling and the tests are ranklens.evaluation.stats.discriminative_power (cached in data.py).
"""

from __future__ import annotations

import streamlit as st

from components import state
from pages.evaluate import data
from pages.evaluate.choices import Setup, keep_one
from ranklens.evaluation import report
from ranklens.types import Qrel, Run


def dp_choices(setup: Setup) -> dict:
    """The discriminative-power choices as last set on its tab (defaults otherwise)."""
    ss = st.session_state
    measure = ss.get(state.EVAL_DP_MEASURE)
    return {
        "measure": measure if measure in setup.measures else setup.measures[0],
        "unit": ss.get(state.EVAL_DP_UNIT) or "query",
        "fraction": float(ss.get(state.EVAL_DP_FRACTION) or 0.5),
        "repeats": int(ss.get(state.EVAL_DP_REPEATS) or 20),
    }


def render(setup: Setup, runs: dict[str, Run], qrels: list[Qrel]):
    if len(setup.rankers) < 2:
        st.info("Choose two or more rankers to see whether the labels tell them apart.")
        return None
    c1, c2, c3, c4 = st.columns(4)
    keep_one(state.EVAL_DP_MEASURE, list(setup.measures), setup.measures[0])
    m = c1.selectbox("Measure", list(setup.measures), key=state.EVAL_DP_MEASURE)
    unit = c2.radio(
        "Subsample",
        ["query", "label"],
        key=state.EVAL_DP_UNIT,
        format_func={"query": "queries", "label": "labels of each query"}.get,
    )
    fraction = c3.slider("Keep", 0.1, 0.9, 0.5, 0.1, key=state.EVAL_DP_FRACTION)
    repeats = int(c4.number_input("Repeats", 2, 200, 20, key=state.EVAL_DP_REPEATS))
    dp = data.discriminative(
        setup.key, m, unit, fraction, repeats, setup.test, setup.alpha, setup.condensed, runs, qrels
    )
    rate = dp.survival_rate
    if dp.significant_full == 0:
        st.info(
            f"No pair of rankers differs significantly on {m} with all the labels: label more "
            "queries before reading anything into the differences."
        )
    else:
        st.metric(
            "Significant differences that survive",
            f"{rate:.0%}",
            help=f"Of the {dp.significant_full} significant pair(s) with all labels, the mean "
            f"share still significant (same direction) when keeping {fraction:.0%} of the "
            f"{'queries' if unit == 'query' else 'labels of each query'}, over {repeats} seeded "
            "repeats.",
        )
        st.caption(
            "High: the labels collected so far can tell these rankers apart. Low: the "
            "differences rest on few queries or labels; collect more."
        )
    st.dataframe(
        report.significance_display(dp.pairs),
        hide_index=True,
        column_config={
            "diff": st.column_config.NumberColumn(format="%.4f"),
            report.P_HOLM: st.column_config.NumberColumn(format="%.4f"),
            "survival_rate": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    return dp
