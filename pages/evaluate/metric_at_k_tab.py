"""Evaluate page, tab "Metric@k": the mean of a measure at every cutoff k, a line per ranker.

The curve comes from ranklens.evaluation.measures.metric_at_k_curve (cached in pages/evaluate/data.py).
"""

from __future__ import annotations

import streamlit as st

from components import state
from pages.evaluate import data
from pages.evaluate.choices import CURVE_BASES, Setup
from ranklens.evaluation import report
from ranklens.types import Qrel, Run


def render(setup: Setup, runs: dict[str, Run], qrels: list[Qrel]) -> None:
    base = st.selectbox("Measure", list(CURVE_BASES), key=state.EVAL_CURVE_BASE)
    kmax = min(100, setup.k)
    df = data.curve(setup.key, base, kmax, setup.condensed, runs, qrels)
    st.plotly_chart(report.curve_figure(df, base), key="rl_eval_curve_fig")
    st.caption(
        f"Mean {base}@k for k = 1..{kmax} over the labelled queries"
        + (" (condensed lists)." if setup.condensed else ".")
    )
