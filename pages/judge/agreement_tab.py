"""The Judge page's "Agreement" tab: Cohen's kappa per pair and Krippendorff's alpha (from
ranklens.judging.agreement through the store), suggestions against humans, disagreements, adjudication.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from components import auth, safe, state
from components.label_widgets import describe
from ranklens.corpus import index
from ranklens.corpus.lookups import query_texts
from ranklens.errors import RankLensError
from ranklens.judging import JudgmentStore, blind
from ranklens.ranking.highlight import escape

from . import ensemble, judges
from .display import (
    code,
    flash,
    fmt,
    scope,
    show_flash,
    show_unit,
    suggestion_panel,
    table,
)
from .header import PageContext


def adjudication(
    store: JudgmentStore,
    corpus: index.Corpus,
    query_set: str | None,
    query_ids: set[str] | None,
    annotator: str | None,
) -> None:
    st.subheader("Disagreements")
    show_done = st.toggle("Include adjudicated ones", key=state.JUDGE_SHOW_ADJUDICATED)
    found = store.disagreements(corpus.name, query_ids=query_ids, include_adjudicated=show_done)
    if not found:
        st.caption("No passage graded differently by its annotators.")
        return
    table(
        [
            {
                "query": d.query_id,
                "passage": d.passage_id or d.doc_id,
                "grades": " · ".join(f"{a} {g}" for a, g in d.grades.items()),
                "spread": d.spread,
                "adjudicated": "" if d.adjudicated is None else str(d.adjudicated),
            }
            for d in found
        ],
    )
    st.subheader("Adjudicate")
    if not auth.admin_only("adjudicate"):  # team mode: admins only
        return
    if not annotator:
        st.info("Type your name above to record adjudicated labels.")
        return
    # choices are units, not list positions: the list can change between two runs
    units = {(d.query_id, d.doc_id, d.passage_id): d for d in found}
    if st.session_state.get(state.JUDGE_ADJUDICATE) not in units:
        st.session_state[state.JUDGE_ADJUDICATE] = next(iter(units))

    def name(unit: tuple[str, str, str]) -> str:
        d = units[unit]
        return f"{d.query_id} · {d.passage_id or d.doc_id} · spread {d.spread}"

    pick = st.selectbox("Passage", list(units), format_func=name, key=state.JUDGE_ADJUDICATE)
    d = units[pick]
    query = query_texts(corpus, first=query_set).get(d.query_id, "")
    show_unit(corpus, query, d.query_id, d.passage_id, d.doc_id)
    labels = [
        lab
        for lab in store.current_labels(corpus.name, query_ids=[d.query_id])
        if lab.unit == (d.query_id, d.doc_id, d.passage_id)
    ]
    scale = store.scale(corpus.name)
    items = "".join(
        f"<li><b>{escape(lab.annotator)}</b>: {escape(describe(scale, lab.grade))}"
        + (f" — {safe.html_text(lab.note)}" if lab.note else "")
        + "</li>"
        for lab in labels
    )
    st.markdown(safe.html_block(f'<ul class="rl-notes">{items}</ul>'), unsafe_allow_html=True)
    # the form belongs to this unit: if the unit leaves the list, its submission is dropped
    unit_id = hashlib.sha1(json.dumps(list(pick)).encode()).hexdigest()[:12]
    with st.form(f"{state.JUDGE_ADJ_GRADE}_form_{unit_id}", border=False):
        grade = st.radio(
            "Adjudicated grade",
            list(scale.values),
            format_func=lambda g: describe(scale, g),
            horizontal=True,
            key=state.JUDGE_ADJ_GRADE,
        )
        note = st.text_input("Reason (optional)", key=state.JUDGE_ADJ_NOTE)
        if st.form_submit_button("Record adjudicated label", type="primary"):
            try:
                store.adjudicate(
                    corpus.name,
                    d.query_id,
                    d.passage_id,
                    int(grade),
                    annotator,
                    doc_id=d.doc_id,
                    note=note or None,
                    query_set=query_set,
                    actor=auth.actor(),
                )
            except RankLensError as exc:
                st.error(safe.error(exc))
            else:
                flash(
                    "success",
                    f"Adjudicated {code(d.passage_id or d.doc_id)} for query "
                    f"{code(d.query_id)}: **{describe(scale, int(grade))}**.",
                )
                st.rerun()


def render(page: PageContext) -> None:
    store, corpus, query_set, annotator = page.store, page.corpus, page.query_set, page.annotator
    queries = page.queries
    show_flash()
    query_ids = scope(query_set, queries, state.JUDGE_SCOPE + ":agreement")
    if not auth.is_admin():  # team mode, blind judging: figures without names, if an admin chose
        if not blind.reveal_agreement(store):
            st.caption(
                "Only an admin can see agreement, others' grades and adjudication (blind judging)."
            )
            return
        _figures(blind.without_names(store.agreement(corpus.name, query_ids=query_ids)))
        return
    if auth.team_mode():
        on = st.toggle(
            "Show annotators these agreement figures, without names",
            value=blind.reveal_agreement(store),
            key="rl_judge_reveal_agreement",
        )
        if on != blind.reveal_agreement(store):
            blind.set_reveal_agreement(store, on, actor=auth.actor())
    accepted = st.toggle(
        "Include labels accepted from suggestions",
        value=True,
        key=state.JUDGE_ACCEPTED,
        help="A label someone accepted from a model's suggestion (Review tab, Accept buttons) "
        "is theirs; leave such labels out to see the people's own judgment only.",
    )
    rep = store.agreement(corpus.name, query_ids=query_ids, accepted=accepted)
    _figures(rep)
    st.markdown("**Model suggestions against human labels**")
    suggestion_panel(store, corpus)
    st.divider()
    against = judges.judges_section(store, corpus, query_set, query_ids, accepted=accepted)
    ensemble.ensemble_section(store, corpus, against)
    judges.time_section(store, corpus, query_ids)
    st.divider()
    adjudication(store, corpus, query_set, query_ids, annotator)


def _figures(rep) -> None:
    """Alpha, kappa per pair and alpha per query."""
    kind = f"{rep.weights}-weighted" if rep.weights else "unweighted"
    a, b, c = st.columns(3)
    a.metric("Annotators", len(rep.annotators))
    b.metric("Passages graded by two or more", rep.units)
    c.metric(f"Krippendorff's alpha ({rep.level})", fmt(rep.alpha))
    if rep.pairs:
        st.markdown(f"**Cohen's kappa per pair** ({kind})")
        table(
            [
                {
                    "annotator A": p.a,
                    "annotator B": p.b,
                    "passages both graded": p.n,
                    "same grade": fmt(p.exact, pct=True),
                    "kappa": p.kappa,
                }
                for p in rep.pairs
            ],
        )
    else:
        st.caption("No passage has been graded by two annotators yet.")
    if rep.per_query:
        with st.expander("Per query"):
            table(
                [
                    {"query": qid, "passages graded by 2+": q.units, "alpha": q.alpha}
                    for qid, q in rep.per_query.items()
                ],
            )
    st.caption(
        "Undefined values (n/a, empty) mean there is nothing to compare, e.g. both annotators "
        "used a single grade throughout."
    )
