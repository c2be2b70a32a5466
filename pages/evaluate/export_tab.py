"""Evaluate page, tab "Export": TREC run files, per-query CSV and the self-contained HTML report.

Every file is made by ranklens.evaluation.report on demand (when its button is pressed).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.evaluate.choices import JUDGED_K, N_PERMUTATIONS, SEED, TESTS, Setup
from pages.evaluate.power_tab import dp_choices
from ranklens.evaluation import measures as ev
from ranklens.evaluation import report, stats
from ranklens.types import Qrel, Run


def render(
    setup: Setup,
    runs: dict[str, Run],
    qrels: list[Qrel],
    data: dict,
    per_query: pd.DataFrame,
    sig: dict[str, pd.DataFrame],
    origin: str,
) -> None:
    base = f"{setup.corpus}-{setup.query_set}"
    dp_args = dp_choices(setup)

    def html() -> str:
        names = list(setup.rankers)
        return report.html_report(
            per_query,
            title=f"RankLens evaluation: {setup.corpus} / {setup.query_set}",
            context={
                "corpus": setup.corpus,
                "query set": setup.query_set,
                "rankers": ", ".join(names),
                "labels": origin,
                "level": setup.level,
                "k": setup.k,
                "condensed lists": setup.condensed,
                "significance test": TESTS[setup.test],
            },
            significance=sig,
            test=setup.test,
            alpha=setup.alpha,
            judged=data["judged"],
            judged_k=JUDGED_K,
            curve=ev.metric_at_k_curve(
                runs, qrels, "nDCG", range(1, min(100, setup.k) + 1), setup.level, setup.condensed
            ),
            differences=(setup.measures[0], names[0], names[1]) if len(names) > 1 else None,
            condensed=report.condensed_shift(data["plain"], data["condensed"]),
            discriminative=stats.discriminative_power(
                runs,
                qrels,
                dp_args["measure"],
                fraction=dp_args["fraction"],
                repeats=dp_args["repeats"],
                seed=SEED,
                unit=dp_args["unit"],
                test=setup.test,
                alpha=setup.alpha,
                n_permutations=N_PERMUTATIONS,
                level=setup.level,
                condensed=setup.condensed,
            )
            if len(names) > 1
            else None,
        )

    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "TREC run files (zip)",
        data=lambda: report.runs_zip(runs, setup.level),
        file_name=f"{base}-runs.zip",
        mime="application/zip",
        on_click="ignore",
        help="One file per ranker: qid Q0 docid rank score tag (readable by trec_eval).",
    )
    c2.download_button(
        "Per-query metrics (CSV)",
        data=lambda: report.per_query_csv(per_query),
        file_name=f"{base}-per-query.csv",
        mime="text/csv",
        on_click="ignore",
    )
    c3.download_button(
        "HTML report",
        data=html,
        file_name=f"{base}-report.html",
        mime="text/html",
        on_click="ignore",
        help="Self-contained (plotly inlined): opens offline.",
    )
