"""Evaluate page, tab "Snapshots": save this evaluation, list the saved ones, compare two or more
per query, see what changed since (labels, corpus), download one as TREC runs plus a manifest.

Everything is ranklens.evaluation.snapshots (the CLI's `snapshots` and `evaluate --snapshot`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, resources, safe, state
from pages.evaluate.choices import Setup, keep_valid
from ranklens.errors import RankLensError
from ranklens.evaluation import snapshots, snapshots_store


def _settings(setup: Setup) -> dict:
    return {
        "k": setup.k,
        "level": setup.level,
        "condensed": setup.condensed,
        "label_source": setup.labels if setup.labels in ("store", "shipped") else "upload",
        "rule": setup.rule,
        "test": setup.test,
        "alpha": setup.alpha,
    }


def _settings_text(setup: Setup) -> str:
    """The settings a snapshot saved now keeps, as the form says them."""
    s = _settings(setup)
    return (
        f"k {s['k']} · level {s['level']} · condensed lists {'on' if s['condensed'] else 'off'} · "
        f"labels {s['label_source']} · rule {s['rule']} · test {s['test']} · alpha {s['alpha']:g}"
    )


@auth.guarded  # team mode: only the signed-in owner of this session
def _save(setup: Setup, corpus, runs: dict, labels, per_query: pd.DataFrame) -> None:
    name = str(st.session_state.get(state.EVAL_SNAP_NAME) or "").strip()
    try:
        snap = snapshots.make_snapshot(
            name,
            corpus,
            setup.query_set,
            runs,
            per_query,
            labels.qrels,
            setup.level,
            {**_settings(setup), "labels": labels.source},
        )
        replace = bool(st.session_state.get(state.EVAL_SNAP_REPLACE))
        snapshots_store.save(resources.judgment_store(), snap, replace=replace)
    except RankLensError as exc:
        message = str(exc)
        if "already has a snapshot named" in message:
            message += " (tick “Replace a snapshot of the same name” and save again)"
        st.session_state[state.EVAL_SNAP_FLASH] = ("error", message)
        return
    # saved: the box is emptied, so a second Enter or click cannot hit "the name is taken"
    st.session_state[state.EVAL_SNAP_NAME] = ""
    st.session_state[state.EVAL_SNAP_REPLACE] = False
    verb = "Replaced" if replace else "Saved"
    st.session_state[state.EVAL_SNAP_FLASH] = ("success", f"{verb} snapshot {name}.")


def render(setup: Setup, corpus, runs: dict, labels, per_query: pd.DataFrame) -> None:
    store = resources.judgment_store()
    with st.form(key=state.EVAL_SNAP_FORM, border=True):
        st.text_input(
            "Snapshot name",
            key=state.EVAL_SNAP_NAME,
            placeholder="e.g. baseline-2026-12",
            help="Keeps the recipes with model versions, measures and per-query values, runs, "
            "the labels' content hash and the settings, in the judgment store (the team sees it). "
            "Enter saves.",
        )
        st.checkbox("Replace a snapshot of the same name", key=state.EVAL_SNAP_REPLACE)
        st.caption(safe.md(f"Saved with these settings: {_settings_text(setup)}."))
        st.form_submit_button(
            "Save as snapshot",
            on_click=_save,
            args=(setup, corpus, runs, labels, per_query),
        )
    flash = st.session_state.pop(state.EVAL_SNAP_FLASH, None)
    if flash:
        kind, message = flash
        getattr(st, kind)(safe.error(message))
    rows = snapshots_store.list_snapshots(store, corpus.name)
    if not rows:
        st.info("No snapshot of this corpus yet.")
        return
    listing = pd.DataFrame(rows)
    listing["created_at"] = pd.to_datetime(listing["created_at"], unit="s").dt.strftime(
        "%Y-%m-%d %H:%M"
    )
    listing["rankers"] = listing["rankers"].map(", ".join)
    listing["measures"] = listing["measures"].map(", ".join)
    order = ["name", "query_set", "created_at", "rankers", "measures", "level", "k", "condensed"]
    order += ["rule", "label_source", "labels", "queries"]
    st.dataframe(listing[[c for c in order if c in listing]], hide_index=True)
    names = [r["name"] for r in rows]
    keep_valid(state.EVAL_SNAP_PICK, names, names[-2:])
    picked = st.multiselect("Compare snapshots (oldest first)", names, key=state.EVAL_SNAP_PICK)
    if len(picked) == 1:
        _show_one(store, corpus.name, picked[0])
    elif len(picked) >= 2:
        _compare(store, corpus.name, picked)


def _warn(messages: list[str]) -> None:
    for message in messages:
        st.warning(safe.error(message), icon=":material/warning:")


def _show_one(store, corpus_name: str, name: str) -> None:
    snap = snapshots_store.load(store, corpus_name, name)
    _warn(snapshots.warnings_for(snap, resources.settings(), store))
    models = pd.DataFrame(
        [
            {
                "model": m,
                "kind": i.get("kind"),
                "package": i.get("package"),
                "version": i.get("version"),
            }
            for m, i in snap.manifest.get("models", {}).items()
        ]
    )
    st.dataframe(models, hide_index=True)
    st.download_button(
        "Download runs and manifest (zip)",
        snapshots.export_archive(snap),
        file_name=f"{name}.zip".replace("/", "_"),
        mime="application/zip",
        key=state.EVAL_SNAP_DOWNLOAD,
    )


def _compare(store, corpus_name: str, names: list[str]) -> None:
    snaps = [snapshots_store.load(store, corpus_name, n) for n in names]
    rankers = [r for r in snaps[0].rankers if all(r in s.rankers for s in snaps[1:])]
    measures = [m for m in snaps[0].measures if all(m in s.measures for s in snaps[1:])]
    if not rankers or not measures:
        st.info("These snapshots share no ranker or no measure: nothing to compare per query.")
        return
    c1, c2 = st.columns(2)
    ranker = c1.selectbox("Ranker", rankers, key=state.EVAL_SNAP_RANKER)
    measure = c2.selectbox("Measure", measures, key=state.EVAL_SNAP_MEASURE)
    result = snapshots.compare(snaps, measure, ranker)
    warnings = list(result.warnings)
    for s in snaps:
        warnings += snapshots.warnings_for(s, resources.settings(), store)
    _warn(list(dict.fromkeys(warnings)))
    settings = pd.DataFrame({s.name: snapshots.settings_of(s, measure) for s in snaps}).rename_axis(
        "setting"
    )
    settings.insert(0, "differs", [k in result.settings_differ for k in settings.index])
    with st.expander(
        "Settings: " + (", ".join(result.settings_differ) + " differ")
        if result.settings_differ
        else "Settings: the same in every snapshot",
        expanded=bool(result.settings_differ),
    ):
        st.dataframe(settings.reset_index(), hide_index=True)
    counts = result.counts()
    cols = st.columns(len(names) + 2)
    for col, n in zip(cols, names, strict=False):
        col.metric(n, f"{result.means[n]:.4f}")
    cols[-2].metric("Better / worse", f"{counts['better']} / {counts['worse']}")
    moved = int(result.table["moved"].fillna(False).astype(bool).sum())
    cols[-1].metric("Rankings moved", moved, help="queries whose top 10 changed (first vs last)")
    st.caption("Per query, the largest change first (delta: last minus first snapshot).")
    st.dataframe(
        result.table,
        hide_index=True,
        column_config={n: st.column_config.NumberColumn(format="%.4f") for n in [*names, "delta"]},
    )
    _show_one(store, corpus_name, names[-1])
