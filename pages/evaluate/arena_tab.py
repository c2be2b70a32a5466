"""Evaluate page, tab "Arena": the Bradley-Terry ranking of rankers from blind arena preferences
(Judge page) beside their ranking by a measure of this evaluation.

The fit and the table are ranklens.evaluation.preferences (the CLI's `preferences arena`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import resources, state
from pages.evaluate.choices import Setup, keep_one
from ranklens.evaluation import preferences as prefs
from ranklens.evaluation import preferences_store as pref_store


def render(setup: Setup, per_query: pd.DataFrame) -> None:
    events = pref_store.preferences(resources.judgment_store(), setup.corpus, kind="ranker")
    if not events:
        st.info(
            "No arena preferences for this corpus yet: on the Judge page, tab Preferences, "
            "compare two rankers' top 5 blind."
        )
        return
    keep_one(state.EVAL_ARENA_MEASURE, list(setup.measures), setup.measures[0])
    measure = st.selectbox("Beside", list(setup.measures), key=state.EVAL_ARENA_MEASURE)
    sub = per_query[per_query["measure"] == measure]
    means = sub.groupby("ranker", sort=False)["value"].mean().to_dict()
    fit = prefs.arena_ranking(events)
    table = prefs.beside_measure(fit, means, measure)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("strength", "ci_low", "ci_high", measure)
        },
    )
    st.caption(
        f"{fit.n_comparisons} blind comparisons of two rankers' top {prefs.ARENA_K}. Strength: "
        "Bradley-Terry log-strength (0 = average; a gap of 1 means a 73% chance of being "
        "preferred), 95% intervals from the fit. Rankers not in the arena have no strength."
    )
