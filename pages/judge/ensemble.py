"""The Agreement tab's "Several judges together" section: two or more judges (LLM prompt versions,
models, cross-encoders) combined by majority or mean, each and the ensemble against people.

Every number comes from ranklens.judges.ensembles (the CLI's `judgments ensemble`).
"""

from __future__ import annotations

import streamlit as st

from components import safe, state
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judges import ensembles, judges
from ranklens.judging import JudgmentStore

from .display import RULE_TEXT, fmt, table

HOW_TEXT = {how: RULE_TEXT[how] for how in ensembles.HOW}  # the final-label rules' words


def ensemble_section(store: JudgmentStore, corpus: index.Corpus, against: dict) -> None:
    """The section; `against` is how the judges section above compared (judges.judges_section)."""
    st.subheader("Several judges together")
    st.caption(
        "Judges combined per passage, each judge and the ensemble against the humans' final "
        "labels on the same passages (those every chosen judge graded)."
    )
    names = list(judges.judge_labels(store, corpus.name, query_ids=against["query_ids"]))
    if len(names) < 2:
        st.caption("An ensemble needs two or more judges with suggestions (Set up).")
        return
    kept = [n for n in st.session_state.get(state.JUDGE_ENSEMBLE, []) if n in names]
    st.session_state[state.JUDGE_ENSEMBLE] = kept or names[:3]
    left, right = st.columns([3, 1])
    members = left.multiselect("Judges", names, key=state.JUDGE_ENSEMBLE)
    how = right.radio(
        "Combined by", list(HOW_TEXT), format_func=HOW_TEXT.get, key=state.JUDGE_ENSEMBLE_HOW
    )
    if len(members) < 2:
        st.info("Choose two or more judges.")
        return
    try:
        reports = ensembles.ensemble_vs_people(store, corpus.name, members, how, **against)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    if not reports[-1].n:
        st.caption("The chosen judges share no passage that people labelled.")
        return
    table(
        [
            {
                "judge": "ensemble" if r is reports[-1] else r.judge,
                "passages": r.n,
                f"kappa ({against['weights']})": fmt(r.kappa),
                "same grade": fmt(r.exact, pct=True),
                "disagreements": len(r.disagreements),
                **({f"Kendall's tau ({r.measure})": fmt(r.tau)} if against["runs"] else {}),
            }
            for r in reports
        ],
    )
