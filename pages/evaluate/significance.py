"""Evaluate page, tab "Significance": every pair of rankers tested, Holm-corrected, as a matrix.

The tests come from ranklens.stats (scipy underneath); this tab only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import TESTS, Setup, keep_one
from ranklens import report, stats


def significance_section(setup: Setup, sig: dict[str, pd.DataFrame]) -> None:
    if len(setup.rankers) < 2:
        st.info("Choose two or more rankers to test their differences.")
        return
    st.caption(
        f"{TESTS[setup.test]} on per-query values, every pair of rankers, Holm correction "
        f"across all pairs of a measure. * marks p < {setup.alpha:g} (Holm-adjusted)."
    )
    measures = list(sig)
    keep_one(state.EVAL_SIG_MEASURE, measures, measures[0])
    c1, c2 = st.columns([1, 2])
    m = c1.selectbox("Matrix of p-values for", measures, key=state.EVAL_SIG_MEASURE)
    c1.plotly_chart(
        report.pvalue_figure(stats.significance_matrix(sig[m]), setup.alpha), key="rl_eval_p_fig"
    )
    table = pd.concat(list(sig.values()), ignore_index=True)
    c2.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in ("mean_a", "mean_b", "diff", "diff_low", "diff_high", "p", "p_holm")
        },
    )
