"""Evaluate page, tab "Significance": every pair of rankers tested, Holm-corrected, as a matrix.

The tests come from ranklens.evaluation.stats (scipy underneath); this tab only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import TESTS, Setup, keep_one
from ranklens.evaluation import report, stats


def render(setup: Setup, sig: dict[str, pd.DataFrame]) -> None:
    if len(setup.rankers) < 2:
        st.info("Choose two or more rankers to test their differences.")
        return
    st.caption(
        f"{TESTS[setup.test]} on per-query values, every pair of rankers, Holm correction "
        f"across all pairs of a measure. * marks p < {setup.alpha:g} (Holm-adjusted)."
    )
    measures = list(sig)
    keep_one(state.EVAL_SIG_MEASURE, measures, measures[0])
    m = st.selectbox("Matrix of Holm-adjusted p-values for", measures, key=state.EVAL_SIG_MEASURE)
    st.plotly_chart(
        report.pvalue_figure(stats.significance_matrix(sig[m]), setup.alpha), key="rl_eval_p_fig"
    )
    table = report.significance_display(pd.concat(list(sig.values()), ignore_index=True))
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in (
                "mean_a",
                "mean_b",
                "diff",
                "diff_low",
                "diff_high",
                report.P_RAW,
                report.P_HOLM,
            )
        },
    )
    st.caption(
        f"{report.P_RAW}: the test on this pair alone. {report.P_HOLM}: the same p corrected for "
        "testing every pair of rankers (Holm); significance is read from this one."
    )
