"""Evaluate page, mode "Run files": upload run files and a qrels file, no corpus needed.

Numbers come from ranklens.evaluation.run_evaluation (the same calls as `evaluate --run`), intervals, tests
and Borda from ranklens.evaluation.stats, tables, figures and the HTML report from ranklens.evaluation.report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import resources, safe
from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import qrels_sources as lb
from ranklens.evaluation import report, stats
from ranklens.evaluation import run_evaluation as re_

# session-state keys of this mode (the corpus mode's live in components.state)
MODE = "rl_eval_mode"
RUNS = "rl_eval_rf_runs"
QRELS = "rl_eval_rf_qrels"
MEASURES = "rl_eval_rf_measures"
COMPLETE = "rl_eval_rf_complete"
MAX_DOCS = "rl_eval_rf_max_docs"
LEVEL = "rl_eval_rf_level"
TEST = "rl_eval_rf_test"
TABLE_MEASURE = "rl_eval_rf_table_measure"
SIG_MEASURE = "rl_eval_rf_sig_measure"

MODES = ("Corpus rankers", "Run files")
TESTS = {"randomization": "Randomization test", "t": "Paired t-test"}
SEED = 0
ALPHA = 0.05


def chosen() -> bool:
    """The mode switch at the top of the page: True when "Run files" is chosen."""
    mode = st.radio(
        "What to evaluate",
        MODES,
        key=MODE,
        horizontal=True,
        label_visibility="collapsed",
        help="Run files: TREC, ranx JSON or CSV runs from any system, scored against a qrels file "
        "as trec_eval scores them; no corpus needed.",
    )
    return mode == MODES[1]


@st.cache_data(show_spinner=False, max_entries=8)
def _evaluate(
    runs: tuple[tuple[str, bytes], ...],
    qrels: tuple[str, bytes],
    measures: tuple[str, ...],
    trec_options: tuple[bool, int | None, int],
) -> re_.RunFilesEvaluation:
    options = re_.TrecOptions(*trec_options)
    settings = resources.settings()
    read = re_.read_uploaded_runs(list(runs), settings)
    labels = lb.qrels_from_upload(qrels[0], qrels[1], settings)
    files = {n: name for n, (name, _) in zip(read, runs, strict=True)}
    return re_.evaluate_run_files(read, labels, list(measures), options, files)


@st.cache_data(show_spinner=False, max_entries=8)
def _significance(key: tuple, _result: re_.RunFilesEvaluation, test: str) -> dict:
    return re_.significance(_result, test, SEED, ALPHA)


def _inputs():
    c1, c2 = st.columns(2)
    runs = c1.file_uploader(
        "Run files (TREC six columns, ranx JSON, CSV)",
        accept_multiple_files=True,
        key=RUNS,
        help="Each run is named after its file. The rank column is ignored: documents are ranked "
        "by score, ties by document id (descending), as trec_eval ranks them.",
    )
    qrels = c2.file_uploader("Qrels (TREC, BEIR TSV, CSV or JSONL)", key=QRELS)
    c1, c2, c3, c4, c5 = st.columns([3, 1, 1, 1, 1])
    measures = c1.multiselect(
        "Measures (ir_measures names)",
        list(re_.TREC_SUMMARY),
        default=list(re_.TREC_SUMMARY),
        key=MEASURES,
        accept_new_options=True,
        help="Default: trec_eval's usual summary. Type any ir_measures name (nDCG@10, R@100).",
    )
    complete = c2.toggle(
        "Every qrels query (-c)",
        key=COMPLETE,
        help="Average over every query of the qrels; a query a run lacks counts 0.",
    )
    max_docs = c3.number_input(
        "Max docs (-M)", min_value=0, value=0, step=100, key=MAX_DOCS, help="0: no limit"
    )
    level = c4.number_input(
        "Relevance level (-l)",
        min_value=1,
        value=1,
        key=LEVEL,
        help="The lowest grade that counts as relevant for binary measures (not nDCG).",
    )
    test = c5.radio("Significance test", list(TESTS), key=TEST, format_func=TESTS.get)
    options = re_.TrecOptions(bool(complete), int(max_docs) or None, int(level))
    return runs, qrels, tuple(measures), options, test


def _trec_table(result: re_.RunFilesEvaluation) -> pd.DataFrame:
    rows = [
        {"measure": m, **{r: result.summary[r].get(m) for r in result.summary}}
        for m in result.measures
    ]
    return pd.DataFrame(rows)


def render() -> None:
    """The whole mode: inputs, trec_eval's summary, intervals, tests, ranking, per query, export."""
    st.caption(
        "Scores run files from any system against a qrels file, with trec_eval's numbers "
        "(the same as `python -m ranklens evaluate --run FILE --qrels QRELS`)."
    )
    runs, qrels, measures, options, test = _inputs()
    if not runs or qrels is None:
        st.info("Upload one or more run files and a qrels file to evaluate them.")
        return
    if not measures:
        st.info("Choose at least one measure.")
        return
    try:
        result = _evaluate(
            tuple((f.name, f.getvalue()) for f in runs),
            (qrels.name, qrels.getvalue()),
            measures,
            (options.complete, options.max_docs, options.relevance_level),
        )
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    key = (tuple((f.name, f.file_id) for f in runs), qrels.file_id, measures, options)
    sig = _significance((key, test), result, test)
    quality = re_.quality_table(result)
    for warning in ev.judged_warnings(re_.judged(result)):
        st.warning(safe.md(warning), icon=":material/warning:")
    names = list(result.runs)
    counted = ", ".join(
        f"{safe.md(n)} {result.per_query.loc[result.per_query['ranker'] == n, 'query_id'].nunique()}"
        for n in names
    )
    st.subheader("trec_eval's summary")
    st.dataframe(
        _trec_table(result),
        hide_index=True,
        column_config={n: st.column_config.NumberColumn(format="%.4f") for n in names},
        key="rl_eval_rf_trec",
    )
    st.caption(
        f"Queries evaluated: {counted} ("
        + ("every qrels query, missing ones as 0" if options.complete else "in both run and qrels")
        + f"); -M {options.max_docs or 'none'}; -l {options.relevance_level}. num_* are sums over "
        "queries, the rest means."
    )
    if quality.empty:
        return
    st.subheader("Summary")
    st.dataframe(
        report.summary_display(stats.summary(quality), sig), hide_index=True, width="stretch"
    )
    st.caption(
        "Mean over queries [95% confidence interval]. "
        + (
            f"▲b c = significantly better than runs b and c ({TESTS[test].lower()}, "
            f"Holm-corrected across all pairs, alpha {ALPHA:g})."
            if len(names) > 1
            else "Upload two or more runs to test differences."
        )
    )
    averaged = re_.quality_measures(result.measures)
    per_query, significance, ranking, export = st.tabs(
        ["Per query", "Significance", "Ranking", "Export"]
    )
    with per_query:
        m = st.selectbox("Measure", averaged, key=TABLE_MEASURE)
        wide = quality[quality["measure"] == m].pivot(
            index="query_id", columns="ranker", values="value"
        )
        st.dataframe(wide.reindex(columns=names), key="rl_eval_rf_per_query")
    with significance:
        if not sig:
            st.info("Upload two or more runs to test their differences.")
        else:
            m = st.selectbox("Matrix of p-values for", list(sig), key=SIG_MEASURE)
            st.plotly_chart(
                report.pvalue_figure(stats.significance_matrix(sig[m]), ALPHA),
                key="rl_eval_rf_p_fig",
            )
            st.dataframe(pd.concat(list(sig.values()), ignore_index=True), hide_index=True)
    with ranking:
        c1, c2 = st.columns(2)
        c1.markdown(f"**By mean {safe.md(averaged[0])}**")
        c1.dataframe(stats.rank_by_mean(quality, averaged[0]), hide_index=True)
        c2.markdown("**By Borda count** over every query and averaged measure")
        c2.dataframe(stats.borda(quality), hide_index=True)
    with export:
        c1, c2 = st.columns(2)
        c1.download_button(
            "Per-query metrics (CSV)",
            data=lambda: report.per_query_csv(result.per_query),
            file_name="run-files-per-query.csv",
            mime="text/csv",
            on_click="ignore",
        )
        c2.download_button(
            "HTML report",
            data=lambda: re_.html_report(result, sig, test, ALPHA, qrels.name),
            file_name="run-files-report.html",
            mime="text/html",
            on_click="ignore",
            help="Self-contained (plotly inlined): opens offline.",
        )
