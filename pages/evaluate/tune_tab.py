"""Evaluate page, tab "Tune fusion": rrf k and weighted sums swept on held-out queries.

Everything is ranklens.evaluation.tune (the CLI's `tune`); each input is ranked once through the page's
cached runs. The chosen recipe goes to the Search page in one click (a routing intent).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import page_files, routing, safe, state
from pages.evaluate import data
from pages.evaluate.choices import Setup, keep_one, keep_valid
from ranklens.errors import RankLensError
from ranklens.evaluation import tune
from ranklens.ranking.recipes import available_rankers


@st.cache_data(show_spinner="Sweeping fusion recipes…", max_entries=16)
def _tuned(
    key: tuple,
    inputs: tuple,
    measure: str,
    folds: int,
    seed: int,
    test: str,
    alpha: float,
    _runs: dict,
    _queries: list,
    _qrels: list,
) -> tune.TuneResult:
    return tune.tune_runs(
        _runs,
        _queries,
        _qrels,
        measure,
        folds,
        seed,
        key[5],
        tune.DEFAULT_DEPTH,
        test=test,
        alpha=alpha,
    )


def _add_to_search(recipe: str) -> None:
    routing.send(page_files.SEARCH, state.INTENT_ADD_RANKER, recipe)


def _evaluate_here(recipe: str) -> None:
    """Add the tuned recipe to this page's rankers (it can then be compared and snapshotted)."""
    chosen = list(st.session_state.get(state.EVAL_RANKERS) or [])
    if recipe not in chosen:
        st.session_state[state.EVAL_RANKERS] = [*chosen, recipe]


def _fmt_ci(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def render(setup: Setup, corpus, queries: list, qrels: list) -> None:
    leaves = corpus.models()
    offered = list(dict.fromkeys([*leaves, *available_rankers(corpus), *setup.rankers]))
    keep_valid(state.EVAL_TUNE_INPUTS, offered, leaves[:2])
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    inputs = c1.multiselect(
        "Inputs to fuse (two or three)",
        offered,
        key=state.EVAL_TUNE_INPUTS,
        max_selections=3,
        help="Each input is ranked once, 100 deep; every grid point is fused in memory.",
    )
    keep_one(state.EVAL_TUNE_MEASURE, list(setup.measures), setup.measures[0])
    measure = c2.selectbox("Tune for", list(setup.measures), key=state.EVAL_TUNE_MEASURE)
    folds = int(c3.number_input("Folds", 2, 10, value=5, key=state.EVAL_TUNE_FOLDS))
    seed = int(c4.number_input("Seed", 0, 10_000, value=0, key=state.EVAL_TUNE_SEED))
    st.caption(
        "Sweeps rrf(k ∈ 1, 5, 10, 20, 60, 100) and wsum(weights 0…1 in steps of 0.1) under "
        "min-max and z-score normalisation. Each fold's recipe is chosen on the other folds "
        "and scored on its own queries only; the held-out score is compared with each input "
        "alone and plain rrf(…) by paired tests, Holm-corrected."
    )
    if len(inputs) < 2:
        st.info("Choose two or three inputs to fuse.")
        return
    # the tuning does not depend on the page's rankers: adding the tuned recipe keeps its result
    key = (*setup.key[:3], (), *setup.key[4:])
    params = (key, tuple(inputs), measure, folds, seed, setup.test, setup.alpha)
    if st.button("Tune", type="primary", key=state.EVAL_TUNE_GO):
        st.session_state[state.EVAL_TUNE_RUN] = params
    if st.session_state.get(state.EVAL_TUNE_RUN) != params:
        st.info("Press **Tune** to sweep the grid (a few seconds: inputs are ranked once).")
        return
    runs = {}
    for name in inputs:
        with st.spinner(f"Ranking {setup.query_set} with {name}…"):
            runs[name] = data.cached_run(
                setup.corpus, setup.stamp, setup.query_set, name, tune.DEFAULT_DEPTH, setup.level
            )
    labelled = {q.query_id for q in qrels}
    chosen_queries = [q for q in queries if q.query_id in labelled]
    try:
        result = _tuned(*params, runs, chosen_queries, qrels)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    show_result(result)


def show_result(result: tune.TuneResult) -> None:
    low, high = result.heldout_ci
    a, b, c = st.columns(3)
    a.metric(f"Held-out {result.measure}", f"{result.heldout_mean:.4f}", help=_fmt_ci(low, high))
    plain = result.comparisons.iloc[-1]
    b.metric(
        f"Plain {plain['baseline']}",
        f"{plain['mean']:.4f}",
        delta=f"{plain['diff']:+.4f} held-out gain",
        delta_color="normal" if plain["significant"] else "off",
    )
    c.metric("Queries", result.n_queries, help=f"{len(result.folds)} folds")
    st.markdown(
        f"**Chosen overall** (best on all {result.n_queries} queries, in-sample "
        f"{result.chosen_mean:.4f}): {safe.code(result.chosen)}"
    )
    left, right = st.columns(2)
    left.button(
        "Evaluate this recipe",
        key=state.EVAL_TUNE_EVALUATE,
        on_click=_evaluate_here,
        args=(result.chosen,),
        help="Add it to the rankers above: the summary, the tests and a snapshot then hold it.",
    )
    right.button(
        "Add to Search",
        key=state.EVAL_TUNE_ADD,
        on_click=_add_to_search,
        args=(result.chosen,),
        help="Open the Search page with this recipe added as one more column.",
    )
    verdict = [
        f"against {safe.md(r.baseline)}: gain {r.diff:+.4f} {_fmt_ci(r.diff_low, r.diff_high)}, "
        f"raw p = {r.p:.3g}, Holm-adjusted p = {r.p_holm:.3g} "
        f"({'significant' if r.significant else 'not significant'})"
        for r in result.comparisons.itertuples(index=False)
    ]
    st.markdown(
        f"Held-out {result.measure} {result.heldout_mean:.4f} {_fmt_ci(low, high)}; "
        + "; ".join(verdict)
        + "."
    )
    st.markdown("**Held-out score beside each input and plain RRF** (paired, Holm-corrected)")
    st.dataframe(
        result.comparisons,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in ("mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")
        },
    )
    st.markdown("**Per fold**: chosen on the other folds, scored on this fold's queries")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "fold": f.fold,
                    "recipe": f.recipe,
                    "train": f.train_mean,
                    "held-out": f.test_mean,
                    "queries": len(f.test_queries),
                }
                for f in result.folds
            ]
        ),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in ("train", "held-out")
        },
    )
    with st.expander(f"The whole grid ({len(result.grid)} recipes, means over all queries)"):
        st.dataframe(
            result.grid.sort_values("mean", ascending=False, kind="stable"),
            hide_index=True,
            column_config={"mean": st.column_config.NumberColumn(format="%.4f")},
        )
