"""The Judge page's "Set up" tab: build a pool from rankers, guidelines and annotators per
passage, the corpus's scale, cross-encoder suggestions. Every rule is in ranklens.judging.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from components import auth, job_panel, resources, safe, state
from ranklens import jobs, models
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judging import DEFAULT_POOL_DEPTH, MAX_POOL_DEPTH, JudgmentStore, Scale, pooling
from ranklens.ranking import rankers, recipes
from ranklens.ranking.recipes import available_rankers, make_ranker
from ranklens.types import Query

from . import calibration, llm_panel
from .display import code, flash, show_flash, suggestion_panel, table, when
from .header import JUDGE, PageContext

SUGGEST_JOB = "rl_judge_suggest_job"  # the suggestions job started here (ranklens.jobs)


@st.cache_resource(show_spinner=False, max_entries=64)
def _ranker(home: str, corpus: str, spec: str, version: str) -> rankers.Ranker:
    """One loaded ranker per (home, corpus, recipe, index state), shared by sessions."""
    c = index.open_corpus(corpus, resources.settings())
    return make_ranker(spec, c, resources.encoder, resources.reranker)


def ranker_for(corpus: index.Corpus, spec: str) -> rankers.Ranker:
    """The shared ranker of a recipe for this state of the corpus's indexes."""
    return _ranker(str(corpus.settings.home), corpus.name, spec, corpus.version())


def pool_section(
    store: JudgmentStore, corpus: index.Corpus, query_set: str, queries: Sequence[Query]
) -> None:
    st.subheader("Pool")
    st.caption(
        "A query's pool is the union of each ranker's top passages, without duplicates. Each "
        "annotator sees it in their own shuffled order and never sees which ranker found a passage."
    )
    options = available_rankers(corpus)
    chosen = [s for s in st.session_state.get(state.JUDGE_RANKERS, []) if s in options]
    if state.JUDGE_RANKERS not in st.session_state or not chosen:
        st.session_state[state.JUDGE_RANKERS] = recipes.default_rankers(corpus)
    else:
        st.session_state[state.JUDGE_RANKERS] = chosen
    st.session_state.setdefault(state.JUDGE_DEPTH, DEFAULT_POOL_DEPTH)
    left, right = st.columns([3, 1])
    with left:
        specs = st.multiselect("Rankers to pool", options, key=state.JUDGE_RANKERS)
    with right:
        depth = st.number_input(
            "Depth (top passages per ranker)", 1, MAX_POOL_DEPTH, step=1, key=state.JUDGE_DEPTH
        )
    subset = _query_subset(queries, len(specs))
    if st.button("Build pool", type="primary", disabled=not specs or not queries):
        try:
            with st.spinner(f"Ranking {len(queries)} queries with {len(specs)} rankers…"):
                chosen = [ranker_for(corpus, spec) for spec in specs]
                pool = pooling.make_pool(store, corpus, query_set, chosen, int(depth), **subset)
        except RankLensError as exc:
            st.error(safe.error(exc))
        else:
            flash(
                "success",
                f"Pool {pool.id} built: {len(pool.items)} passages for "
                f"{len({it.query_id for it in pool.items})} queries. Judge them here."
                + (
                    f" Left out: {pool.left_out} ids the corpus lacks, with no text to judge."
                    if pool.left_out
                    else ""
                ),
            )
            st.session_state[state.JUDGE_POOL] = pool.id
            st.session_state[state.JUDGE_TAB_NEXT] = JUDGE
            st.rerun()
    pools = store.pools(corpus.name, query_set)
    if pools:
        rows = [
            {
                "pool": p.id,
                "built": when(p.created_at),
                "queries": len({it.query_id for it in p.items}),
                "passages": len(p.items),
                "depth": p.depth,
                "rankers": ", ".join(p.rankers),
            }
            for p in reversed(pools)
        ]
        table(rows)


ALL, CHOSEN, DIFFERENT = "all", "chosen", "different"


def _query_subset(queries: Sequence[Query], n_rankers: int) -> dict:
    """Which of the set's queries to pool: all, chosen ones, or the first N most different."""
    ways = {
        ALL: f"All {len(queries)} queries",
        CHOSEN: "Chosen queries",
        DIFFERENT: "The first N where the first two rankers differ most",
    }
    way = st.radio(
        "Queries to pool", list(ways), format_func=ways.get, horizontal=True, key=state.JUDGE_SUBSET
    )
    if way == CHOSEN:
        texts = {q.query_id: q.text for q in queries}
        ids = st.multiselect(
            "Queries",
            list(texts),
            format_func=lambda qid: f"{qid}: {texts[qid][:80]}",
            key=state.JUDGE_SUBSET_IDS,
        )
        return {"query_ids": ids or None}
    if way == DIFFERENT:
        st.session_state.setdefault(state.JUDGE_SUBSET_N, min(5, max(1, len(queries))))
        n = st.number_input(
            "N (queries)",
            1,
            max(1, len(queries)),
            step=1,
            key=state.JUDGE_SUBSET_N,
            help="The order of the Search page: least alike first by RBO of the two rankers' "
            "top passages (at the pool depth), ties broken by tau-AP.",
        )
        if n_rankers < 2:
            st.caption("Choose two rankers: their disagreement orders the queries.")
        return {"most_different": int(n)}
    return {}


def guidelines_section(store: JudgmentStore, corpus: index.Corpus, query_set: str) -> None:
    st.subheader("Guidelines and annotators")
    info = store.judging_settings(corpus.name, query_set)
    if not auth.is_admin():  # team mode: shared settings are for admins
        st.caption(f"Annotators per passage: {int(info.annotators_per_passage)}.")
        auth.admin_only("change the guidelines or annotators per passage")
        return
    suffix = f":{corpus.name}:{query_set}"
    with st.form(f"{state.JUDGE_GUIDELINES}_form{suffix}", border=False):
        text = st.text_area(
            "Judging guidelines (Markdown), shown beside every passage",
            value=info.guidelines,
            height=180,
            key=state.JUDGE_GUIDELINES + suffix,
            placeholder="What makes a passage relevant for these queries? Examples help.",
        )
        per = st.number_input(
            "Annotators per passage",
            1,
            10,
            value=int(info.annotators_per_passage),
            key=state.JUDGE_PER_PASSAGE + suffix,
            help="A passage leaves the queues once this many people graded it.",
        )
        if st.form_submit_button("Save guidelines and annotators"):
            try:
                store.set_judging_settings(
                    corpus.name,
                    query_set,
                    guidelines=text,
                    annotators_per_passage=per,
                    actor=auth.actor(),
                )
            except RankLensError as exc:
                st.error(safe.error(exc))
            else:
                st.success(f"Saved for query set {code(query_set)}.")


def scale_table(scale: Scale) -> None:
    table(
        [
            {
                "key": str(g.value),
                "grade": g.label,
                "colour": g.colour,
                "guideline": g.guideline,
            }
            for g in scale.grades
        ],
    )


def scale_section(store: JudgmentStore, corpus: index.Corpus) -> None:
    st.subheader("Scale")
    scale = store.scale(corpus.name)
    st.caption(
        f"Corpus {code(corpus.name)} grades on {scale.describe()}. The scale belongs to the "
        "corpus: every query set and annotator uses it."
    )
    scale_table(scale)
    if not auth.admin_only("change the scale"):  # team mode: admins only
        return
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    with left:
        n = st.number_input(
            "Number of grades", 2, 10, value=len(scale), step=1, key=state.JUDGE_SCALE_GRADES
        )
    with right:
        if st.button("Set scale", disabled=int(n) == len(scale)):
            try:
                store.set_scale(corpus.name, Scale.of(int(n)))
            except RankLensError as exc:
                st.error(safe.error(exc))
            else:
                flash("success", f"The scale is now {Scale.of(int(n)).describe()}.")
                st.rerun()


def suggestion_section(store: JudgmentStore, corpus: index.Corpus, query_set: str) -> None:
    st.subheader("Suggestions (optional)")
    st.caption(
        "A cross-encoder pre-grades the pool: a score reaching the first threshold is grade 1, "
        "the second grade 2, and so on. Suggestions are shown as such while judging and never "
        "count as human labels."
    )
    names = models.reranker_names()
    pools = store.pools(corpus.name, query_set)
    scale = store.scale(corpus.name)
    if not names:
        st.info("No cross-encoder is installed.")
        return
    if not pools:
        st.info("Build a pool first.")
        return
    key = f"{state.JUDGE_SUGGEST_THRESHOLDS}:{scale.max}"
    st.session_state.setdefault(key, pooling.format_thresholds(pooling.default_thresholds(scale)))
    left, right = st.columns(2)
    with left:
        model = st.selectbox("Cross-encoder", names, key=state.JUDGE_SUGGEST_MODEL)
    with right:
        text = st.text_input(
            f"Score thresholds for grades 1-{scale.max} (increasing)",
            key=key,
            help="The model's raw scores (logits): about -10 for unrelated, +8 for a clear answer.",
        )
    pool = pools[-1]
    if st.button(f"Pre-grade pool {pool.id} ({len(pool.items)} passages)"):
        try:  # a job (pooling.make_suggestions in a worker): leaving the page does not stop it
            job = jobs.suggestions_job(
                corpus.name,
                pool.id,
                model,
                pooling.parse_thresholds(text),
                resources.settings(),
                actor=auth.actor(),
            )
        except RankLensError as exc:
            st.error(safe.error(exc))
        else:
            st.session_state[SUGGEST_JOB] = job.id
    if st.session_state.get(SUGGEST_JOB):
        job_panel.job_status(
            st.session_state[SUGGEST_JOB], "Scoring the pool with the cross-encoder"
        )
    suggestion_panel(store, corpus)


def render(page: PageContext) -> None:
    store, corpus, query_set, queries = page.store, page.corpus, page.query_set, page.queries
    show_flash()
    if query_set is None:
        st.info(
            f"Corpus {code(corpus.name)} has no query set. Add one (a JSONL or TSV of queries) "
            "on the Search page, or import qrels under **Final labels**."
        )
        scale_section(store, corpus)
        return
    pool_section(store, corpus, query_set, queries)
    st.divider()
    guidelines_section(store, corpus, query_set)
    st.divider()
    scale_section(store, corpus)
    st.divider()
    suggestion_section(store, corpus, query_set)
    st.divider()
    llm_panel.llm_section(store, corpus, query_set)
    st.divider()
    calibration.calibration_section(store, corpus, query_set)
