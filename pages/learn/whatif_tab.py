"""Learn page, tab "What if": change one label (nothing is saved) and watch nDCG@10, AP, RR and
P@k of each ranker move, for that query and for the whole set.

The numbers are ranklens.teaching.whatif (a re-evaluation through ir_measures); this module lays them out.
"""

from __future__ import annotations

import streamlit as st

from components import safe, state
from pages.learn.labelled_set import lesson_context
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.scale import Scale
from ranklens.teaching import whatif
from ranklens.types import Qrel

UNJUDGED = "unjudged"
TOP = 10


def render(corpus: Corpus, query_set: str, qrels: list[Qrel] | None, scale: Scale) -> None:
    st.write(
        "Change one label and see what the measures would say. Nothing is saved: the labels "
        "stay as they are, and the numbers are a fresh evaluation with that one label changed."
    )
    if not qrels:
        st.info(f"The query set {query_set!r} has no labels yet: there is nothing to change.")
        return
    ctx = lesson_context(corpus, query_set, qrels)
    if ctx is None:
        return
    texts = {q.query_id: q.text for q in ctx.queries}
    ids = list(texts)
    if st.session_state.get(state.LEARN_WHATIF_QUERY) not in ids:
        st.session_state[state.LEARN_WHATIF_QUERY] = ids[0]
    c1, c2 = st.columns([3, 1])
    qid = c1.selectbox(
        "Query",
        ids,
        key=state.LEARN_WHATIF_QUERY,
        format_func=lambda q: f"{q}: {texts[q][:90]}",
    )
    k = int(c2.number_input("k of P@k", 1, 100, value=TOP, key=state.LEARN_WHATIF_K))
    grades = ctx.grades(qid)
    docs = list(grades)
    for name in ctx.names:
        docs += [h.doc_id for h in ctx.runs[name].get(qid, [])[:TOP]]
    docs = list(dict.fromkeys(docs))
    ranks = {n: {h.doc_id: h.rank for h in ctx.runs[n].get(qid, [])} for n in ctx.names}

    def label(doc: str) -> str:
        where = ", ".join(f"{n} #{ranks[n][doc]}" for n in ctx.names if doc in ranks[n])
        return f"{doc} · now {grades.get(doc, UNJUDGED)} · {where or 'not ranked'}"

    doc = st.selectbox(
        f"Document (labelled ones, then each ranker's top {TOP})",
        docs,
        key=state.LEARN_WHATIF_DOC,
        format_func=label,
    )
    options = [UNJUDGED, *[str(g.value) for g in scale.grades]]
    names = {str(g.value): f"{g.value} · {g.label}" for g in scale.grades}
    current = str(grades[doc]) if doc in grades else UNJUDGED
    new = st.radio(
        "Its label, if it were",
        options,
        index=options.index(current),
        horizontal=True,
        format_func=lambda o: safe.md(names.get(o, "unjudged")),  # radio options read Markdown
        key=f"{state.LEARN_WHATIF_GRADE}:{qid}:{doc}",
    )
    if new == current:
        st.caption("Pick another label to see the change.")
        return
    measures = list(whatif.MEASURES[:3]) + [f"P@{k}"]
    before = ctx.per_query if f"P@{k}" in set(ctx.per_query["measure"]) else None
    try:
        table = whatif.what_if(
            ctx.runs, ctx.qrels, qid, doc, None if new == UNJUDGED else int(new), measures,
            before=before,
        )  # fmt: skip
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.dataframe(table.style.format(precision=4, na_rep="–"), hide_index=True, width="stretch")
    st.caption(
        f"{current} → {new}. 'query' columns: this query alone; 'mean' columns: the mean over "
        f"the set's labelled queries ({int(table['queries before'].iloc[0])} before, "
        f"{int(table['queries after'].iloc[0])} after: a query without labels is not evaluated). "
        "Rankings are not recomputed: only the labels change."
    )
