"""Evaluate page: the summary above the tabs (Judged@10, means with intervals, condensed lists).

Intervals and significance marks come from ranklens.evaluation.stats; tables and figures from ranklens.evaluation.report.
"""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd
import streamlit as st

from components import page_files, routing, safe, state
from pages.evaluate.choices import (
    JUDGED_K,
    JUDGED_THRESHOLD,
    TESTS,
    Setup,
    escape_markdown,
)
from ranklens.evaluation import report, stats
from ranklens.evaluation.measure_texts import explain_measure


def judged_panel(judged: dict[str, float], qrels: list | None = None, source: str = "") -> None:
    """Judged@10 per ranker, always visible, with a warning below 80% and, then, why it is low."""
    cols = st.columns(min(len(judged), 6) or 1)
    for i, (r, v) in enumerate(judged.items()):
        shown = "–" if v is None or math.isnan(v) else f"{v:.0%}"
        cols[i % len(cols)].metric(
            f"Judged@{JUDGED_K} · {r}",
            shown,
            help="The share of the ranker's top 10 that carries a label (any grade).",
        )
    low = {r: v for r, v in judged.items() if v is None or math.isnan(v) or v < JUDGED_THRESHOLD}
    if low:  # one warning for every ranker, with the reason and the way out
        st.warning(_judged_message(low, qrels or [], source), icon=":material/warning:")
        if qrels:
            st.button(
                "Pool these queries on the Judge page",
                key="rl_eval_to_judge",
                icon=":material/balance:",
                on_click=routing.send,
                args=(
                    page_files.JUDGE,
                    state.INTENT_POOL_SET,
                    st.session_state.get(state.QUERY_SET),
                ),
            )


def _judged_message(low: dict, qrels: list, source: str) -> str:
    """Judged@10 below the threshold, why (few labels per query), and what to do, in one box."""
    shares = ", ".join(
        f"{safe.md(r)} {'no' if v is None or math.isnan(v) else f'{v:.0%}'}" for r, v in low.items()
    )
    text = (
        f"**Judged@{JUDGED_K} is below {JUDGED_THRESHOLD:.0%}** ({shares}): unjudged results "
        "count as not relevant, so these scores are a lower bound, and a ranker that finds "
        "other good answers is not credited for them."
    )
    if not qrels:
        return text
    n_queries = len({q.query_id for q in qrels})
    per_query = len(qrels) / max(1, n_queries)
    cap = min(1.0, per_query / JUDGED_K)
    known_item = "shipped" in source and all(
        n == 1 for n in Counter(q.query_id for q in qrels).values()
    )
    kind = (
        " These are known-item labels shipped with the corpus: one judged answer per query, "
        "everything else unjudged."
        if known_item
        else ""
    )
    return (
        f"{text} **Why Judged@{JUDGED_K} is low:** {len(qrels):,} labels for {n_queries:,} "
        f"queries, {per_query:.1f} per query, so at most about {cap:.0%} of a top {JUDGED_K} "
        f"can be judged.{kind} Pooling these queries on the Judge page (the rankers' top "
        "results, judged blind) adds the missing labels; condensed lists (below) drop the "
        "unjudged results instead."
    )


def _ci_explanation(summ: pd.DataFrame, measure: str) -> str:
    lines = [
        "**The number in the table** is the mean of the per-query values over the labelled "
        f"queries; the interval is a {stats.interval_name()}: the queries are drawn again with "
        "replacement, the mean taken each time, and the interval read from those means. It "
        "stays within what the measure can be (a mean of values in [0, 1] never gets a bound "
        "past 1), where mean ± t × sd / √n does not on few queries or a skewed measure.",
        "",
        "| ranker | n | mean | sd | sd/√n | 95% interval |",
        "|---|---|---|---|---|---|",
    ]
    for row in summ[summ["measure"] == measure].itertuples(index=False):
        name = escape_markdown(row.ranker)
        lines.append(
            f"| {name} | {row.n} | {row.mean:.4f} | {row.std:.4f} | {row.sem:.4f} | "
            f"[{row.ci_low:.4f}, {row.ci_high:.4f}] |"
        )
    return "\n".join(lines)


def render(setup: Setup, data: dict, per_query: pd.DataFrame, sig: dict[str, pd.DataFrame]) -> None:
    st.subheader("Summary")
    summ = stats.summary(per_query)
    table = report.summary_display(summ, sig)
    st.dataframe(table, hide_index=True, width="stretch")
    n_rankers = len(setup.rankers)
    marks = (
        f"▲b c = significantly better than rankers b and c ({TESTS[setup.test].lower()}, "
        f"Holm-corrected across all pairs, alpha {setup.alpha:g})."
        if n_rankers > 1
        else "Choose two or more rankers to test differences."
    )
    st.caption(f"Mean over queries [{stats.interval_name()}]. {marks}")
    st.caption(report.GAIN_NOTE)
    cols = st.columns(min(len(setup.measures), 6))
    for i, m in enumerate(setup.measures):
        with cols[i % len(cols)].popover(
            m, icon=":material/info:", width="stretch", help=f"How is {m} computed?"
        ):
            st.markdown(explain_measure(m))
            st.markdown(_ci_explanation(summ, m))
    st.plotly_chart(report.summary_figure(summ), key="rl_eval_summary_fig")
    st.toggle(
        "Condensed lists: drop unjudged results before scoring",
        key=state.EVAL_CONDENSED,
        help="Off (default): unjudged results count as not relevant.",
    )
    shift = report.condensed_shift(data["plain"], data["condensed"])
    if not shift.empty:
        biggest = shift.loc[shift["change"].abs().idxmax()]
        if abs(biggest["change"]) < 5e-4:
            st.caption(
                "Condensed lists move the means by less than 0.0005 here: the results the "
                "measures look at are judged, or unjudged ones do not change the order of the "
                "judged."
            )
        else:
            st.caption(
                f"Condensed lists move the means by up to {biggest['change']:+.3f} "
                f"({biggest['measure']}, {biggest['ranker']}); the table below has every change."
            )
        with st.expander("What condensed lists change"):
            st.dataframe(
                shift,
                hide_index=True,
                column_config={
                    c: st.column_config.NumberColumn(format="%.4f")
                    for c in ("plain", "condensed", "change")
                },
            )
