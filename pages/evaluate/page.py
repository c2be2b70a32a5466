"""Evaluate page: score rankers against relevance labels, with intervals, tests and exports.

Numbers come from the core (ranklens.evaluation: measures, stats, qrels sources); beside this
script lie the choices, the cached data, the summary and one `<what>_tab.py` per tab. Only the
open tab is computed.
"""

import streamlit as st

from components import resources, safe, state
from pages.evaluate import (
    arena_tab,
    data,
    difference_tab,
    export_tab,
    metric_at_k_tab,
    per_query_tab,
    power_tab,
    ranking_tab,
    run_files,
    significance_tab,
    snapshots_tab,
    summary,
    tune_tab,
)
from pages.evaluate.choices import choose, no_labels_message
from ranklens.errors import RankLensError
from ranklens.evaluation import circularity, report
from ranklens.evaluation.qrels_sources import NoLabelsError

TAB_WIDGETS = (
    state.EVAL_TABLE_MEASURE,
    state.EVAL_EXPLAIN_QUERY,
    state.EVAL_EXPLAIN_RANKER,
    state.EVAL_DIFF_A,
    state.EVAL_DIFF_B,
    state.EVAL_DIFF_MEASURE,
    state.EVAL_CURVE_BASE,
    state.EVAL_SIG_MEASURE,
    state.EVAL_RANK_MEASURE,
    state.EVAL_TUNE_INPUTS,
    state.EVAL_TUNE_MEASURE,
    state.EVAL_TUNE_FOLDS,
    state.EVAL_TUNE_SEED,
    state.EVAL_SNAP_PICK,
    state.EVAL_ARENA_MEASURE,
    state.EVAL_DP_MEASURE,
    state.EVAL_DP_UNIT,
    state.EVAL_DP_FRACTION,
    state.EVAL_DP_REPEATS,
)


def main() -> None:
    for key in TAB_WIDGETS:  # keep choices made in a tab while another tab is open
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.title("Evaluate")
    if run_files.chosen():  # run files and a qrels file: no corpus needed
        run_files.render()
        return
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    setup = choose(corpus)
    if setup is None:
        return
    queries = data.queries_of(setup.corpus, setup.stamp, setup.query_set)
    upload = st.session_state.get(state.EVAL_UPLOAD)
    try:
        labels = data.labels(setup.key, setup, corpus, queries, upload)
    except NoLabelsError:
        no_labels_message(setup)
        return
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    qrels = labels.qrels
    qrels_ids = {q.query_id for q in qrels}
    for warning in labels.warnings:
        st.warning(warning + ".", icon=":material/warning:")
    try:
        runs = data.runs_for(setup)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    values = data.evaluation(setup.key, setup.measures, runs, qrels)
    table = values["condensed" if setup.condensed else "plain"]
    n = table["query_id"].nunique()
    notes = "".join(f" {note[0].upper()}{note[1:]}." for note in labels.notes)
    st.caption(
        f"{n} of {len(queries)} queries of **{setup.query_set}** have labels and are evaluated · "
        f"labels: {labels.source} · {'documents' if setup.level == 'doc' else 'passages'} · "
        f"k = {setup.k}. {report.UNJUDGED_NOTE}{notes}"
    )
    summary.judged_panel(values["judged"], qrels, labels.source)
    sig = (
        data.significance(
            setup.key, setup.measures, setup.condensed, setup.test, setup.alpha, table
        )
        if len(setup.rankers) > 1
        else {}
    )
    summary.render(setup, values, table, sig)
    for warning in circularity.for_labels(corpus, list(runs), labels.source, qrels_ids).values():
        st.warning(safe.md(warning + "."), icon="⚠️")  # a ranker judged by its own model
    texts = {q.query_id: q.text for q in queries}
    sections = {
        "Per query": lambda: per_query_tab.render(setup, corpus, runs, qrels, table, texts),
        "Difference": lambda: difference_tab.render(setup, table, texts),
        "Metric@k": lambda: metric_at_k_tab.render(setup, runs, qrels),
        "Significance": lambda: significance_tab.render(setup, sig),
        "Ranking": lambda: ranking_tab.render(setup, table),
        "Discriminative power": lambda: power_tab.render(setup, runs, qrels),
        "Tune fusion": lambda: tune_tab.render(setup, corpus, queries, qrels),
        "Snapshots": lambda: snapshots_tab.render(setup, corpus, runs, labels, table),
        "Arena": lambda: arena_tab.render(setup, table),
        "Export": lambda: export_tab.render(setup, runs, qrels, values, table, sig, labels.source),
    }
    # stateful tabs: only the open one is computed, so a new label redraws within a second
    tabs = st.tabs(list(sections), key=state.EVAL_TAB, on_change="rerun")
    for tab, draw in zip(tabs, sections.values(), strict=True):
        if tab.open is not False:
            with tab:
                draw()


main()
