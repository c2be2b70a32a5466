"""The Agreement tab's "Cross-encoder and LLM against people" and "Time per label" sections: each judge
(cross-encoder, each LLM prompt version) against the humans' final labels, and label times.

Every number comes from ranklens.judges.judges / judge_agreement / timing (the CLI's
`judgments judges` and `judgments labels` give the same). Ids are shown as plain table text.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import admin_download, resources, safe, state
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judges import judges
from ranklens.judges.judge_agreement import JudgeAgreement
from ranklens.judging import JudgmentStore, pooling, timing

from .display import LEVEL_TEXT, fmt, table

WEIGHT_TEXT = {"linear": "linear", "quadratic": "quadratic"}


@st.cache_data(show_spinner="Ranking the query set with the pool's rankers…", max_entries=8)
def _runs(home: str, corpus: str, version: str, specs: tuple[str, ...], query_set: str, level: str):
    """The rankers' top 10 (cached per corpus version, recipes, query set and level)."""
    del home, version  # part of the cache key only
    c = index.open_corpus(corpus, resources.settings())
    return pooling.agreement_runs(c, list(specs), query_set, level=level)


def _confusion(rep: JudgeAgreement) -> pd.DataFrame:
    cols = [f"judge {g}" for g in rep.grades]
    rows = [f"humans {g}" for g in rep.grades]
    return pd.DataFrame(rep.confusion, index=rows, columns=cols)


def _one(rep: JudgeAgreement) -> None:
    kind = WEIGHT_TEXT.get(rep.weights or "", "unweighted")
    a, b, c, d = st.columns(4)
    a.metric("Passages both graded", rep.n)
    b.metric(f"Cohen's kappa ({kind})", fmt(rep.kappa))
    c.metric("Same grade", fmt(rep.exact, pct=True))
    d.metric(
        f"Kendall's tau of rankers ({rep.measure})",
        fmt(rep.tau),
        help="How the ranking of rankers by the humans' labels and by the judge's agree "
        "(1: same order, -1: reversed); over the passages both graded.",
    )
    if rep.human_only or rep.judge_only:
        st.caption(
            f"Left out: {rep.human_only} labelled only by people, {rep.judge_only} only by the "
            "judge."
        )
    left, right = st.columns([1, 1.4])
    with left:
        st.markdown("**Confusion** (rows: humans' final label, columns: judge)")
        st.dataframe(_confusion(rep), width="stretch")
    with right:
        if rep.rankers:
            st.markdown(f"**{rep.measure} when the judge's labels replace the humans'**")
            table(
                [
                    {
                        "ranker": r.ranker,
                        "humans": r.human,
                        "judge": r.judge,
                        "change": r.delta,
                        "rank (humans)": r.human_rank,
                        "rank (judge)": r.judge_rank,
                    }
                    for r in rep.rankers
                ],
                column_config={
                    k: st.column_config.NumberColumn(format="%.4f")
                    for k in ("humans", "judge", "change")
                },
            )
    st.markdown(f"**Disagreements, widest first** ({len(rep.disagreements)})")
    if rep.disagreements:
        table(
            [
                {
                    "query": x.query_id,
                    "passage or document": x.doc_id,
                    "humans": x.human,
                    "judge": x.judge,
                    "width": x.width,
                }
                for x in rep.disagreements
            ],
            height=min(400, 38 + 35 * len(rep.disagreements)),
        )


def judges_section(
    store: JudgmentStore,
    corpus: index.Corpus,
    query_set: str | None,
    query_ids: set[str] | None,
    *,
    accepted: bool = True,
) -> dict:
    """The section; returns how it compared (level, weights, query ids, accepted labels or
    not, the rankers' runs or None), the keyword arguments of ranklens.judging's judges_vs_people
    and ensemble_vs_people, for the ensemble section below it."""
    st.subheader("Cross-encoder and LLM against people")  # no "judge": the page heading is
    st.caption(
        "Each judge (a cross-encoder, each LLM prompt version) against the humans' final labels "
        "(majority rule, adjudications first), on the passages both graded."
    )
    a, b, c = st.columns(3)
    weights = a.radio(
        "Kappa weights",
        list(WEIGHT_TEXT),
        horizontal=True,
        key=state.JUDGE_JUDGES_WEIGHTS,
    )
    level = b.radio(
        "Level",
        list(LEVEL_TEXT),
        format_func=lambda lv: "documents" if lv == "doc" else "passages",
        horizontal=True,
        key=state.JUDGE_JUDGES_LEVEL,
    )
    compare = c.toggle(
        "Compare rankers",
        value=False,
        key=state.JUDGE_JUDGES_RANKERS,
        help="Rank the query set with the newest pool's rankers (top 10) and compute each "
        "ranker's nDCG@10 under the humans' and under each judge's labels.",
        disabled=query_set is None,
    )
    runs = None
    if compare and query_set is not None:
        pools = store.pools(corpus.name, query_set)
        if not pools:
            st.info("Build a pool first: its rankers are the ones compared.")
        else:
            try:
                runs = _runs(
                    str(corpus.settings.home),
                    corpus.name,
                    corpus.version(),  # a corpus made again, or a new index, ranks again
                    tuple(pools[-1].rankers),
                    query_set,
                    level,
                )
            except RankLensError as exc:
                st.error(safe.error(exc))
    against = {
        "runs": runs,
        "level": level,
        "weights": weights,
        "query_ids": query_ids,
        "accepted": accepted,
    }
    try:
        reports = judges.judges_vs_people(store, corpus.name, **against)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return against
    if not reports:
        st.caption(
            "No judge has graded a passage that people labelled yet: pre-grade the pool under "
            "**Set up** (cross-encoder or LLM), then label some of the same passages."
        )
        return against
    names = [r.judge for r in reports]
    tabs = st.tabs(names)
    for tab, rep in zip(tabs, reports, strict=True):
        with tab:
            _one(rep)
    return against


def time_section(store: JudgmentStore, corpus: index.Corpus, query_ids: set[str] | None) -> None:
    st.subheader("Time per label")
    st.caption(
        "Seconds from a passage being shown to its label, over current labels given on the "
        "Judge tab (imported labels have no time)."
    )
    st_ = timing.time_stats(store, corpus.name, query_ids=query_ids)
    records = timing.label_records(store, corpus.name, query_ids=query_ids)
    if records:
        admin_download.button(
            f"Download the {len(records)} current labels (JSONL, with reasons and seconds)",
            lambda: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
            file_name=f"{corpus.name}-labels.jsonl",
            mime="application/jsonl",
            key=state.JUDGE_LABELS_JSONL,
        )
    if not st_["annotator"]:
        st.caption("No timed label yet.")
        return
    left, right = st.columns(2)
    for col, what, title in ((left, "annotator", "annotator"), (right, "query", "query")):
        with col:
            st.markdown(f"**Per {title}**")
            table(
                [
                    {title: k, "labels": s.n, "median (s)": s.median, "p90 (s)": s.p90}
                    for k, s in st_[what].items()
                ],
                column_config={
                    k: st.column_config.NumberColumn(format="%.1f")
                    for k in ("median (s)", "p90 (s)")
                },
            )
