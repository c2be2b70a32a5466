"""Evaluate page, tab "Ranking": rankers by their mean on one measure and by Borda count.

Both orders come from ranklens.evaluation.stats (rank_by_mean, borda).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import state
from pages.evaluate.choices import Setup, keep_one
from ranklens.evaluation import stats


def render(setup: Setup, per_query: pd.DataFrame) -> None:
    c1, c2 = st.columns(2)
    with c1:
        keep_one(state.EVAL_RANK_MEASURE, list(setup.measures), setup.measures[0])
        m = st.selectbox("By mean of", list(setup.measures), key=state.EVAL_RANK_MEASURE)
        st.dataframe(
            stats.rank_by_mean(per_query, m),
            hide_index=True,
            column_config={"mean": st.column_config.NumberColumn(format="%.4f")},
        )
    with c2:
        st.markdown("**By Borda count** over every query and measure")
        st.dataframe(
            stats.borda(per_query),
            hide_index=True,
            column_config={"points": st.column_config.NumberColumn(format="%.1f")},
        )
        st.caption(
            "In each (query, measure) the best of n rankers gets n − 1 points, the worst 0; "
            "ties share. Who wins most often, whatever the margins."
        )
