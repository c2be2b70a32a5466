"""Widgets of the Judge page: who judges, pools, blind judging one passage at a time by keyboard,
guidelines, scale, suggestions, agreement, adjudication, final qrels, import and export.

Corpus and query text is untrusted: it reaches HTML only through ranklens.highlight (escaped).
Judges never see which ranker found a passage; every store write commits before "Saved" shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from components import resources, state
from components.label_widgets import SavedLabel, describe, label_buttons
from ranklens import index, models, rankers
from ranklens.chunking import index_text
from ranklens.errors import InputError, RankLensError
from ranklens.formats import QRELS_FORMATS
from ranklens.highlight import escape, highlight
from ranklens.judging import (
    DEFAULT_IMPORT_ANNOTATOR,
    RULES,
    ImportReport,
    JudgingProgress,
    JudgingSession,
    JudgmentStore,
    PoolInfo,
    PoolItem,
    Scale,
    pooling,
)
from ranklens.types import Query
from ranklens.uploads import safe_name, temporary_upload

SET_UP, JUDGE, AGREEMENT, FINAL = TABS = ("Set up", "Judge", "Agreement", "Final labels")
DEFAULT_DEPTH = 10
MAX_DEPTH = 100
KEYS_HELP = (
    ("0-9", "grade (then the next passage)"),
    ("x", "can't judge"),
    ("j or →", "next passage"),
    ("k or ←", "previous passage"),
    ("s", "skip (comes back at the end)"),
    ("u", "undo your last action"),
    ("n", "write a note (Ctrl+Enter saves, Esc closes)"),
)
RULE_TEXT = {
    "majority": "majority (a tie: the mean, rounded half up)",
    "mean": "mean, rounded half up",
    "max": "highest grade",
    "min": "lowest grade",
}
LEVEL_TEXT = {
    "doc": "document (a document's grade is its best passage's)",
    "passage": "passage",
}
SCOPE_SET, SCOPE_ALL = "this query set", "the whole corpus"

CSS = """<style>
.rl-jq {font-size:1.35rem; font-weight:600; line-height:1.45; padding:.65rem 1rem;
  background:#eef3fb; color:#10233d; border-left:6px solid #1f4e79; border-radius:.35rem;
  margin-bottom:.8rem;}
.rl-jq .rl-qid {display:block; font-size:.78rem; font-weight:400; color:#4a5a70;}
.rl-jp {font-size:1.25rem; line-height:1.7; max-width:50rem; padding:1.1rem 1.3rem;
  border:1px solid #d6d6d6; border-radius:.45rem; background:#fffefa; color:#161616;
  overflow-wrap:anywhere;}
.rl-jp .rl-jt {font-weight:650; margin-bottom:.45rem;}
.rl-jp mark, .rl-jq mark {background:rgba(255,210,0,.5); color:inherit; padding:0 .12rem;
  border-radius:.15rem;}
.rl-jmeta {font-size:.82rem; color:#666; margin:.35rem 0 .6rem 0;}
.rl-sugg {display:inline-block; border:1px dashed #6d6d6d; color:#3d3d3d; border-radius:1rem;
  padding:.05rem .65rem; font-size:.85rem; font-style:italic; background:#f6f6f6;}
.rl-notes {font-size:.9rem; margin:.2rem 0 .6rem 1rem;}
.st-key-rl_judge_left, .st-key-rl_judge_right {display:none;}
</style>"""
FOCUS_NOTE = (
    "<script>setTimeout(function(){var d=document;"
    "var t=d.querySelector('.st-key-rl_judge_note_text textarea');if(t){t.focus();}},60);</script>"
)


# ---------------------------------------------------------------- small helpers


def code(text: object) -> str:
    """Untrusted text as a Markdown code span (shown literally: no links, no markup)."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def flash(kind: str, message: str) -> None:
    """A message for the next run (success, info, warning, error)."""
    st.session_state[state.JUDGE_FLASH] = (kind, message)


def show_flash() -> None:
    found = st.session_state.pop(state.JUDGE_FLASH, None)
    if found:
        kind, message = found
        getattr(st, kind, st.info)(message)


def unit_key(pool_id: int, item: PoolItem) -> str:
    """The grade buttons' key for one passage (clean for CSS; new buttons for each passage, so a
    key pressed while a passage is still on screen always labels that passage)."""
    digest = hashlib.sha1("\x1f".join(item.unit).encode()).hexdigest()[:12]
    return f"{state.JUDGE_GRADES}_{pool_id}_{digest}"


def default_thresholds(scale: Scale) -> str:
    """Cross-encoder logit thresholds spread over -3..5 (one per grade above 0)."""
    m = scale.max
    if m == 1:
        return "0"
    return ", ".join(f"{-3 + 8 * i / (m - 1):g}" for i in range(m))


def parse_thresholds(text: str) -> list[float]:
    """Numbers separated by commas or spaces; InputError naming what was expected."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise InputError(
            None, f"thresholds {text!r}: expected numbers separated by commas, e.g. -3, 1, 5"
        ) from None


def rule_text(rule: str) -> str:
    """How a final-label rule reads in the app."""
    if rule in RULE_TEXT:
        return RULE_TEXT[rule]
    return f"only {rule.split(':', 1)[-1]}'s labels"


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- who, which corpus, which set


def _set_name() -> None:
    name = " ".join(str(st.session_state.get(state.JUDGE_NAME) or "").split())[:200]
    st.session_state[state.ANNOTATOR] = name


def identity() -> str | None:
    """The annotator's name (kept in state.ANNOTATOR across pages), or None until given."""
    if state.JUDGE_NAME not in st.session_state:
        st.session_state[state.JUDGE_NAME] = st.session_state.get(state.ANNOTATOR, "")
    st.text_input(
        "Your name",
        key=state.JUDGE_NAME,
        on_change=_set_name,
        placeholder="e.g. alice",
        help="Every label you give is stored under this name. Press Enter to start.",
    )
    return st.session_state.get(state.ANNOTATOR) or None


def choose_query_set(store: JudgmentStore, corpus: index.Corpus) -> tuple[str | None, list[Query]]:
    """The corpus's query sets (their one owner); returns the chosen name and its queries."""
    shipped = corpus.query_sets()
    names = sorted(shipped)
    if not names:
        st.selectbox("Query set", ["(none)"], disabled=True, key=f"{state.QUERY_SET}_none")
        return None, []
    if st.session_state.get(state.QUERY_SET) not in names:
        st.session_state[state.QUERY_SET] = names[0]
    name = st.selectbox("Query set", names, key=state.QUERY_SET)
    return name, list(shipped[name])


# ---------------------------------------------------------------- pools


@st.cache_resource(show_spinner=False, max_entries=64)
def _ranker(home: str, corpus: str, spec: str, version: str) -> rankers.Ranker:
    """One loaded ranker per (home, corpus, recipe, index state), shared by sessions."""
    c = index.open_corpus(corpus, resources.settings())
    return rankers.make_ranker(spec, c, resources.encoder, resources.reranker)


def ranker_for(corpus: index.Corpus, spec: str) -> rankers.Ranker:
    m = corpus.manifest  # a corpus deleted and made again has another uid
    version = json.dumps([m.get("uid"), m.get("indexes")], sort_keys=True, default=str)
    return _ranker(str(corpus.settings.home), corpus.name, spec, version)


def build_pool(
    store: JudgmentStore,
    corpus: index.Corpus,
    query_set: str,
    queries: Sequence[Query],
    specs: Sequence[str],
    depth: int,
) -> PoolInfo:
    """Rank the query set with each ranker to `depth` and store the pool of their top passages."""
    if not queries:
        raise InputError(None, f"query set {query_set!r} has no queries")
    bar = st.progress(0.0, text="Ranking…")
    runs = {}
    for i, spec in enumerate(specs):
        bar.progress(i / len(specs), text=f"Ranking {len(queries)} queries with {spec}…")
        runs[spec] = ranker_for(corpus, spec).rank(list(queries), depth)
    bar.progress(1.0, text="Storing the pool…")
    pool = store.create_pool(corpus.name, query_set, runs, depth, [q.query_id for q in queries])
    bar.empty()
    return pool


def pool_label(pool: PoolInfo) -> str:
    """How a pool is named to judges: nothing about which ranker found what."""
    queries = len({it.query_id for it in pool.items})
    return (
        f"Pool {pool.id} · {len(pool.items)} passages · {queries} queries · depth {pool.depth} · "
        f"{_when(pool.created_at)}"
    )


def _default_rankers(options: list[str], corpus: index.Corpus) -> list[str]:
    leaves = corpus.models()
    fused = [o for o in options if o.startswith("rrf(")]
    return (leaves[:2] + fused[:1]) or options[:1]


def pool_section(
    store: JudgmentStore, corpus: index.Corpus, query_set: str, queries: Sequence[Query]
) -> None:
    st.subheader("Pool")
    st.caption(
        "A query's pool is the union of each ranker's top passages, without duplicates. Each "
        "annotator sees it in their own shuffled order and never sees which ranker found a passage."
    )
    options = rankers.available_rankers(corpus)
    chosen = [s for s in st.session_state.get(state.JUDGE_RANKERS, []) if s in options]
    if state.JUDGE_RANKERS not in st.session_state or not chosen:
        st.session_state[state.JUDGE_RANKERS] = _default_rankers(options, corpus)
    else:
        st.session_state[state.JUDGE_RANKERS] = chosen
    st.session_state.setdefault(state.JUDGE_DEPTH, DEFAULT_DEPTH)
    left, right = st.columns([3, 1])
    with left:
        specs = st.multiselect("Rankers to pool", options, key=state.JUDGE_RANKERS)
    with right:
        depth = st.number_input(
            "Depth (top passages per ranker)", 1, MAX_DEPTH, step=1, key=state.JUDGE_DEPTH
        )
    if st.button("Build pool", type="primary", disabled=not specs or not queries):
        try:
            with st.spinner("Building the pool…"):
                pool = build_pool(store, corpus, query_set, queries, specs, int(depth))
        except RankLensError as exc:
            st.error(str(exc))
        else:
            flash(
                "success",
                f"Pool {pool.id} built: {len(pool.items)} passages for "
                f"{len({it.query_id for it in pool.items})} queries. Judge them here.",
            )
            st.session_state[state.JUDGE_POOL] = pool.id
            st.session_state[state.JUDGE_TAB_NEXT] = JUDGE
            st.rerun()
    pools = store.pools(corpus.name, query_set)
    if pools:
        rows = [
            {
                "pool": p.id,
                "built": _when(p.created_at),
                "queries": len({it.query_id for it in p.items}),
                "passages": len(p.items),
                "depth": p.depth,
                "rankers": ", ".join(p.rankers),
            }
            for p in reversed(pools)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def guidelines_section(
    store: JudgmentStore, corpus: index.Corpus, query_set: str, queries: Sequence[Query]
) -> None:
    st.subheader("Guidelines and annotators")
    info = store.judging_settings(corpus.name, query_set)
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
                    corpus.name, query_set, guidelines=text, annotators_per_passage=per
                )
            except RankLensError as exc:
                st.error(str(exc))
            else:
                st.success(f"Saved for query set {code(query_set)}.")


def scale_table(scale: Scale) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "key": str(g.value),
                    "grade": g.label,
                    "colour": g.colour,
                    "guideline": g.guideline,
                }
                for g in scale.grades
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def scale_section(store: JudgmentStore, corpus: index.Corpus) -> None:
    st.subheader("Scale")
    scale = store.scale(corpus.name)
    st.caption(
        f"Corpus {code(corpus.name)} grades on {scale.describe()}. The scale belongs to the "
        "corpus: every query set and annotator uses it."
    )
    scale_table(scale)
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
                st.error(str(exc))
            else:
                flash("success", f"The scale is now {Scale.of(int(n)).describe()}.")
                st.rerun()


def make_suggestions(
    store: JudgmentStore,
    corpus: index.Corpus,
    pool: PoolInfo,
    model: str,
    thresholds: Sequence[float],
) -> list[int]:
    """Score every pool passage with the cross-encoder and store the graded suggestions."""
    texts = {q.query_id: q.text for q in corpus.query_sets().get(pool.query_set, [])}
    scorer = resources.reranker(model)
    passages = corpus.get_passages(sorted({it.passage_id for it in pool.items}))
    by_query: dict[str, list[PoolItem]] = {}
    for it in pool.items:
        if it.passage_id in passages and it.query_id in texts:
            by_query.setdefault(it.query_id, []).append(it)
    items: list[PoolItem] = []
    scores: list[float] = []
    for qid, its in by_query.items():
        got = scorer.score(texts[qid], [index_text(passages[it.passage_id]) for it in its])
        items += its
        scores += [float(s) for s in got]
    return store.add_suggestions(
        corpus.name, model, items, scores, thresholds, query_set=pool.query_set
    )


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
    st.session_state.setdefault(key, default_thresholds(scale))
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
        try:
            with st.spinner("Scoring the pool with the cross-encoder…"):
                grades = make_suggestions(store, corpus, pool, model, parse_thresholds(text))
        except RankLensError as exc:
            st.error(str(exc))
        else:
            counts = ", ".join(f"{g}: {grades.count(g)}" for g in scale.values)
            st.success(f"Stored {len(grades)} suggestions ({counts}).")
    suggestion_panel(store, corpus)


def suggestion_panel(store: JudgmentStore, corpus: index.Corpus) -> None:
    """How often the stored suggestions agree with the human labels of the same passages."""
    sa = store.suggestion_agreement(corpus.name)
    if sa.n == 0:
        st.caption("No passage has both a suggestion and a human label yet.")
        return
    kind = f"{sa.weights}-weighted kappa" if sa.weights else "kappa"
    a, b, c = st.columns(3)
    a.metric("Suggestion / human pairs", sa.n)
    b.metric("Same grade", "n/a" if sa.exact is None else f"{sa.exact:.0%}")
    c.metric(f"Cohen's {kind}", "n/a" if sa.kappa is None else f"{sa.kappa:.3f}")


def setup_tab(
    store: JudgmentStore, corpus: index.Corpus, query_set: str | None, queries: Sequence[Query]
) -> None:
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
    guidelines_section(store, corpus, query_set, queries)
    st.divider()
    scale_section(store, corpus)
    st.divider()
    suggestion_section(store, corpus, query_set)


# ---------------------------------------------------------------- judging


class JudgeView:
    """What one run of the judging tab shows: the session, this annotator's queue and labels,
    the navigation order and the passage under the cursor."""

    def __init__(self, store: JudgmentStore, session: JudgingSession) -> None:
        self.store = store
        self.session = session
        self.context = (store.url, session.pool_id, session.annotator)
        self.mine = session.labels()
        self.queue = session.queue()
        self.progress = session.progress()
        waiting = {it.unit for it in self.queue}
        self.nav = [it for it in session.items if it.unit in self.mine or it.unit in waiting]
        cursor = st.session_state.get(state.JUDGE_CURSOR)
        unit = cursor[1] if cursor and cursor[0] == self.context else None
        found = next((it for it in self.nav if it.unit == unit), None)
        self.item = found or (self.queue[0] if self.queue else None)


def _set_cursor(context: tuple, item: PoolItem | None) -> None:
    st.session_state[state.JUDGE_CURSOR] = (context, item.unit if item else None)


def _after(session: JudgingSession, nav: Sequence[PoolItem], item: PoolItem) -> PoolItem | None:
    """The passage to show after `item` was dealt with: the next one still waiting for this
    annotator after it in their order, else the first still waiting (skipped ones last)."""
    queue = session.queue()
    waiting = {it.unit for it in queue}
    units = [it.unit for it in nav]
    start = units.index(item.unit) + 1 if item.unit in units else 0
    for it in nav[start:]:
        if it.unit in waiting and it.unit != item.unit:
            return it
    return next((it for it in queue if it.unit != item.unit), queue[0] if queue else None)


def _on_saved(
    session: JudgingSession,
    context: tuple,
    nav: Sequence[PoolItem],
    item: PoolItem,
    saved: SavedLabel,
) -> None:
    _set_cursor(context, _after(session, nav, item))
    what = describe(session.scale, saved.grade)
    flash(
        "success",
        f"Saved: **{what}** for passage {code(saved.passage_id)} (query {code(saved.query_id)}).",
    )


def _go(context: tuple, nav: Sequence[PoolItem], item: PoolItem | None, step: int) -> None:
    units = [it.unit for it in nav]
    if item is None or item.unit not in units:
        pos = len(nav) if step < 0 else -1
    else:
        pos = units.index(item.unit)
    new = pos + step
    if 0 <= new < len(nav):
        _set_cursor(context, nav[new])
    elif step < 0:
        flash("info", "This is the first passage.")
    else:
        _set_cursor(context, None)
        flash("info", "The end of your order: back to the first passage waiting for you.")


def _skip(session: JudgingSession, context: tuple, nav: Sequence[PoolItem], item: PoolItem) -> None:
    try:
        session.skip(item)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    _set_cursor(context, _after(session, nav, item))
    flash("info", f"Skipped passage {code(item.passage_id)}: it comes back at the end.")


def _undo(session: JudgingSession, context: tuple) -> None:
    try:
        ev = session.undo()
    except RankLensError as exc:
        flash("error", str(exc))
        return
    if ev is None:
        flash("info", "Nothing to undo.")
        return
    target = next(
        (it for it in session.items if it.unit == (ev.query_id, ev.doc_id, ev.passage_id)), None
    )
    _set_cursor(context, target)
    what = {
        "label": f"the grade {describe(session.scale, ev.grade)}",
        "cant_judge": "“can't judge”",
        "skip": "the skip",
        "note": "the note",
    }.get(ev.kind, ev.kind)
    flash("info", f"Undid {what} on passage {code(ev.passage_id)}.")


def _open_note(item: PoolItem) -> None:
    """Open the note box for this passage (it stays with the passage it was opened for)."""
    if st.session_state.get(state.JUDGE_NOTE_OPEN) != item.unit:
        st.session_state[state.JUDGE_NOTE_TEXT] = ""
    st.session_state[state.JUDGE_NOTE_OPEN] = item.unit


def _close_note() -> None:
    st.session_state[state.JUDGE_NOTE_OPEN] = None
    st.session_state[state.JUDGE_NOTE_TEXT] = ""


def _save_note(session: JudgingSession, item: PoolItem) -> None:
    text = str(st.session_state.get(state.JUDGE_NOTE_TEXT) or "").strip()
    if not text:
        flash("warning", "The note is empty: nothing saved.")
        return
    try:
        session.note(item, text)
    except RankLensError as exc:
        flash("error", str(exc))
        return
    _close_note()
    flash("success", f"Saved your note on passage {code(item.passage_id)}.")


def passage_html(query: str, query_id: str, title: str, text: str) -> str:
    """The query on top and the passage below, both escaped, query terms marked."""
    body = highlight(text, query).replace("\n", "<br>")
    head = f'<div class="rl-jt">{highlight(title, query)}</div>' if title else ""
    return (
        f'<div class="rl-jq"><span class="rl-qid">Query {escape(query_id)}</span>'
        f"{highlight(query, query)}</div>"
        f'<div class="rl-jp">{head}{body}</div>'
    )


def _progress_text(p: JudgingProgress, what: str) -> str:
    done = p.total - p.remaining
    return f"{what}: {done} of {p.total} passages done · {p.judged} judged by you"


def progress_panel(view: JudgeView) -> None:
    prog = view.progress
    st.progress(prog.overall.fraction, text=_progress_text(prog.overall, "Overall"))
    if view.item is not None:
        p = prog.per_query[view.item.query_id]
        st.progress(p.fraction, text=_progress_text(p, "This query"))


def per_query_table(view: JudgeView) -> None:
    rows = [
        {
            "query": qid,
            "text": view.session.queries.get(qid, ""),
            "done": p.fraction,
            "judged by you": p.judged,
            "complete": p.complete,
            "passages": p.total,
        }
        for qid, p in view.progress.per_query.items()
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "done": st.column_config.ProgressColumn("done", min_value=0.0, max_value=1.0)
        },
    )


def _suggestion(store: JudgmentStore, corpus: str, item: PoolItem) -> str | None:
    found = [
        s
        for s in store.suggestions(corpus, query_ids=[item.query_id])
        if s.unit == item.unit and s.grade is not None
    ]
    if not found:
        return None
    return ", ".join(f"{s.grade} ({s.annotator})" for s in found)


def guidelines_panel(session: JudgingSession) -> None:
    st.markdown("**Scale**")
    for g in session.scale.grades:
        st.markdown(f"**{g.value}** · {g.label} — {g.guideline}")
    if session.guidelines.strip():
        with st.container(border=True):
            st.markdown("**Guidelines**")
            st.markdown(session.guidelines)  # Markdown typed by the project (no raw HTML)
    with st.expander("Keys", expanded=False):
        st.markdown("\n".join(f"- **{k}**: {what}" for k, what in KEYS_HELP))


def nav_buttons(view: JudgeView) -> None:
    session, item, ctx, nav = view.session, view.item, view.context, view.nav
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Previous", key=state.JUDGE_PREV, shortcut="k", on_click=_go, args=(ctx, nav, item, -1)
        )
        st.button(
            "Next",
            key=state.JUDGE_NEXT,
            shortcut="j",
            on_click=_go,
            args=(ctx, nav, item, 1),
            disabled=item is None,
        )
        st.button(
            "Skip",
            key=state.JUDGE_SKIP,
            shortcut="s",
            on_click=_skip,
            args=(session, ctx, nav, item),
            disabled=item is None,
        )
        st.button("Undo", key=state.JUDGE_UNDO, shortcut="u", on_click=_undo, args=(session, ctx))
        st.button(
            "Note",
            key=state.JUDGE_NOTE,
            shortcut="n",
            on_click=_open_note,
            args=(item,),
            disabled=item is None,
        )
        # the arrow keys: hidden twins (CSS) of Previous / Next
        st.button(
            "←", key=state.JUDGE_LEFT, shortcut="Left", on_click=_go, args=(ctx, nav, item, -1)
        )
        st.button(
            "→",
            key=state.JUDGE_RIGHT,
            shortcut="Right",
            on_click=_go,
            args=(ctx, nav, item, 1),
            disabled=item is None,
        )


def note_box(session: JudgingSession, item: PoolItem) -> None:
    label = session.labels().get(item.unit)
    if label is not None and label.note:
        st.caption(f"Your latest note: {code(label.note)}")
    if st.session_state.get(state.JUDGE_NOTE_OPEN) != item.unit:
        return
    st.text_area("Note on this passage (why this grade?)", key=state.JUDGE_NOTE_TEXT, height=90)
    st.html(FOCUS_NOTE, unsafe_allow_javascript=True)  # a constant: focus the note box
    with st.container(horizontal=True, gap="small"):
        st.button(
            "Save note",
            key=state.JUDGE_NOTE_SAVE,
            shortcut="Ctrl+Enter",
            on_click=_save_note,
            args=(session, item),
            type="primary",
        )
        st.button("Close", key=state.JUDGE_NOTE_CANCEL, shortcut="Esc", on_click=_close_note)


def judge_item(view: JudgeView, corpus: index.Corpus) -> None:
    """The passage, its grade buttons and the navigation. The buttons are sent to the browser
    before the passage text (which fills a slot above them): once a new passage is visible, the
    keys already grade that passage, never the one before."""
    session, item = view.session, view.item
    assert item is not None
    slot = st.container()
    label_buttons(
        view.store,
        corpus.name,
        session.annotator,
        item.query_id,
        item.passage_id,
        item.doc_id,
        session.query_set,
        key=unit_key(session.pool_id, item),
        scale=session.scale,
        current=view.mine.get(item.unit),
        shortcuts=True,
        cant_judge=True,
        confirm=False,
        on_saved=partial(_on_saved, session, view.context, view.nav, item),
    )
    nav_buttons(view)
    note_box(session, item)
    p = corpus.get_passages([item.passage_id]).get(item.passage_id)
    query = session.queries.get(item.query_id, "")
    title, text = (p.title, p.text) if p is not None else ("", "")
    position = [it.unit for it in view.nav].index(item.unit) + 1 if item in view.nav else 0
    suggestion = (
        _suggestion(view.store, corpus.name, item)
        if st.session_state.get(state.JUDGE_SHOW_SUGGESTIONS, True)
        else None
    )
    meta = f"passage {escape(item.passage_id)} · {position} of {len(view.nav)} in your order"
    if suggestion:
        meta += f' · <span class="rl-sugg">suggested: {escape(suggestion)}</span>'
    with slot:
        if p is None:
            st.warning(
                f"Passage {code(item.passage_id)} is no longer in corpus {code(corpus.name)} "
                "(was it re-indexed with other chunking?). Skip it or mark it can't judge."
            )
        st.markdown(passage_html(query, item.query_id, title, text), unsafe_allow_html=True)
        st.markdown(f'<div class="rl-jmeta">{meta}</div>', unsafe_allow_html=True)  # escaped


def done_message(view: JudgeView) -> str:
    """What an annotator reads when nothing waits for them in the pool."""
    o = view.progress.overall
    others = o.total - o.judged
    text = f"Nothing waits for you in pool {view.session.pool_id}: you judged {o.judged} of "
    text += f"{o.total} passages"
    if others:
        n = view.session.annotators_per_passage
        text += f"; the other {others} already have the {n} label{'s' * (n > 1)} they need"
    return text + ". Press k or ← to look back, u to undo."


def judge_tab(
    store: JudgmentStore, corpus: index.Corpus, query_set: str | None, annotator: str | None
) -> None:
    if not annotator:
        st.info("Type your name above (and press Enter) to start judging.")
        return
    if query_set is None:
        st.info(f"Corpus {code(corpus.name)} has no query set to judge.")
        return
    pools = store.pools(corpus.name, query_set)
    if not pools:
        show_flash()
        st.info("No pool for this query set yet: build one under **Set up**.")
        return
    by_id = {p.id: p for p in reversed(pools)}
    if st.session_state.get(state.JUDGE_POOL) not in by_id:
        st.session_state[state.JUDGE_POOL] = next(iter(by_id))
    pool_id = st.selectbox(
        "Pool", list(by_id), format_func=lambda i: pool_label(by_id[i]), key=state.JUDGE_POOL
    )
    try:
        session = store.start_session(
            pool_id, annotator, queries=corpus.query_sets().get(query_set, [])
        )
    except RankLensError as exc:
        st.error(str(exc))
        return
    view = JudgeView(store, session)
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    left, right = st.columns([2.7, 1], gap="large")
    with left:
        show_flash()
        if view.item is None:
            st.success(done_message(view))
            nav_buttons(view)
        else:
            judge_item(view, corpus)
    with right:
        progress_panel(view)
        st.toggle(
            "Show model suggestions",
            value=True,
            key=state.JUDGE_SHOW_SUGGESTIONS,
            help="Suggestions (if the pool was pre-graded) are shown as “suggested”, never "
            "counted as labels. Turn off to judge without them.",
        )
        guidelines_panel(session)
    with st.expander("Progress per query"):
        per_query_table(view)


# ---------------------------------------------------------------- agreement


def _scope(query_set: str | None, queries: Sequence[Query], key: str) -> set[str] | None:
    """The query ids to look at: the query set's, or None for the whole corpus."""
    if query_set is None:
        return None
    choice = st.radio(
        "Over", [SCOPE_SET, SCOPE_ALL], horizontal=True, key=key, label_visibility="collapsed"
    )
    return {q.query_id for q in queries} if choice == SCOPE_SET else None


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.0%}" if pct else f"{x:.3f}"


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
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "query": d.query_id,
                    "passage": d.passage_id or d.doc_id,
                    "grades": " · ".join(f"{a} {g}" for a, g in d.grades.items()),
                    "spread": d.spread,
                    "adjudicated": "" if d.adjudicated is None else str(d.adjudicated),
                }
                for d in found
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Adjudicate")
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
    texts = {q.query_id: q.text for qs in corpus.query_sets().values() for q in qs}
    if query_set:
        texts.update({q.query_id: q.text for q in corpus.query_sets().get(query_set, [])})
    if d.passage_id:
        p = corpus.get_passages([d.passage_id]).get(d.passage_id)
        title, text = (p.title, p.text) if p else ("", "(not in the corpus)")
    else:
        ps = corpus.passages_of_doc(d.doc_id)
        title = ps[0].title if ps else ""
        text = "\n\n".join(x.text for x in ps) or "(not in the corpus)"
    st.markdown(CSS, unsafe_allow_html=True)  # a constant
    st.markdown(
        passage_html(texts.get(d.query_id, ""), d.query_id, title, text), unsafe_allow_html=True
    )  # escaped by highlight
    labels = [
        lab
        for lab in store.current_labels(corpus.name, query_ids=[d.query_id])
        if lab.unit == (d.query_id, d.doc_id, d.passage_id)
    ]
    scale = store.scale(corpus.name)
    items = "".join(
        f"<li><b>{escape(lab.annotator)}</b>: {escape(describe(scale, lab.grade))}"
        + (f" — {escape(lab.note)}" if lab.note else "")
        + "</li>"
        for lab in labels
    )
    st.markdown(f'<ul class="rl-notes">{items}</ul>', unsafe_allow_html=True)  # escaped
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
                )
            except RankLensError as exc:
                st.error(str(exc))
            else:
                flash(
                    "success",
                    f"Adjudicated {code(d.passage_id or d.doc_id)} for query "
                    f"{code(d.query_id)}: **{describe(scale, int(grade))}**.",
                )
                st.rerun()


def agreement_tab(
    store: JudgmentStore,
    corpus: index.Corpus,
    query_set: str | None,
    queries: Sequence[Query],
    annotator: str | None,
) -> None:
    show_flash()
    query_ids = _scope(query_set, queries, state.JUDGE_SCOPE + ":agreement")
    rep = store.agreement(corpus.name, query_ids=query_ids)
    kind = f"{rep.weights}-weighted" if rep.weights else "unweighted"
    a, b, c = st.columns(3)
    a.metric("Annotators", len(rep.annotators))
    b.metric("Passages graded by two or more", rep.units)
    c.metric(f"Krippendorff's alpha ({rep.level})", _fmt(rep.alpha))
    if rep.pairs:
        st.markdown(f"**Cohen's kappa per pair** ({kind})")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "annotator A": p.a,
                        "annotator B": p.b,
                        "passages both graded": p.n,
                        "same grade": _fmt(p.exact, pct=True),
                        "kappa": p.kappa,
                    }
                    for p in rep.pairs
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No passage has been graded by two annotators yet.")
    if rep.per_query:
        with st.expander("Per query"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {"query": qid, "passages graded by 2+": q.units, "alpha": q.alpha}
                        for qid, q in rep.per_query.items()
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    st.caption(
        "Undefined values (n/a, empty) mean there is nothing to compare, e.g. both annotators "
        "used a single grade throughout."
    )
    st.markdown("**Model suggestions against human labels**")
    suggestion_panel(store, corpus)
    st.divider()
    adjudication(store, corpus, query_set, query_ids, annotator)


# ---------------------------------------------------------------- final labels, import, export


def export_bytes(
    store: JudgmentStore,
    corpus: str,
    fmt: str,
    level: str,
    rule: str,
    query_ids: set[str] | None,
) -> tuple[bytes, int]:
    """The final qrels as a file's bytes (store.export_qrels through a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="ranklens-export-") as tmp:
        path = Path(tmp) / f"qrels.{fmt}"
        n = store.export_qrels(corpus, path, fmt, level=level, rule=rule, query_ids=query_ids)
        return path.read_bytes(), n


def import_upload(
    store: JudgmentStore,
    corpus: index.Corpus,
    name: str,
    data: bytes,
    fmt: str | None,
    annotator: str,
    keep_unknown: bool = False,
) -> ImportReport:
    """Import an uploaded qrels file all or nothing; errors name the upload and its line."""
    safe = safe_name(name, "qrels.txt")
    with temporary_upload(safe, data, corpus.settings) as path:
        report = pooling.import_labels(
            store, corpus, path, fmt, origin=safe, annotator=annotator, keep_unknown=keep_unknown
        )
    report.path = safe
    return report


def import_section(store: JudgmentStore, corpus: index.Corpus) -> None:
    st.subheader("Import qrels")
    st.caption(
        "TREC (`qid 0 docid grade`), BEIR TSV (with header), CSV or JSONL. All or nothing: a bad "
        "line stops the import with its line number and nothing is stored. Query ids the corpus "
        "does not know yet are accepted and listed."
    )
    upload = st.file_uploader("Qrels file", key=state.JUDGE_IMPORT_FILE)
    a, b, c = st.columns([1, 1, 2], vertical_alignment="bottom")
    with a:
        fmt = st.selectbox("Format", ["detect", *QRELS_FORMATS], key=state.JUDGE_IMPORT_FORMAT)
    with b:
        st.session_state.setdefault(state.JUDGE_IMPORT_ANNOTATOR, DEFAULT_IMPORT_ANNOTATOR)
        who = st.text_input("Store the labels as annotator", key=state.JUDGE_IMPORT_ANNOTATOR)
    with c:
        keep = st.checkbox(
            "Keep labels of unknown document ids (and list them)", key=state.JUDGE_IMPORT_KEEP
        )
    if st.button("Import", disabled=upload is None):
        try:
            report = import_upload(
                store,
                corpus,
                upload.name,
                upload.getvalue(),
                None if fmt == "detect" else fmt,
                who,
                keep,
            )
        except RankLensError as exc:
            st.error(f"Nothing was imported. {exc}")
        except UnicodeDecodeError:
            st.error(f"Nothing was imported. {upload.name}: not UTF-8 text; expected qrels.")
        else:
            first, *rest = report.summary().split("\n")
            st.success(first)
            if report.unknown_queries:
                st.warning(
                    f"{len(report.unknown_queries)} query ids the corpus does not know yet "
                    f"(accepted; their text can come later with a query set): "
                    + ", ".join(code(q) for q in report.unknown_queries[:50])
                    + (" …" if len(report.unknown_queries) > 50 else "")
                )
            for line in rest:
                if not line.startswith(f"{len(report.unknown_queries)} query ids"):
                    st.info(line)


def final_tab(
    store: JudgmentStore,
    corpus: index.Corpus,
    query_set: str | None,
    queries: Sequence[Query],
) -> None:
    show_flash()
    st.subheader("Final qrels")
    query_ids = _scope(query_set, queries, state.JUDGE_SCOPE + ":final")
    rules = list(RULES) + [f"annotator:{a}" for a in store.annotators(corpus.name)]
    if st.session_state.get(state.JUDGE_RULE) not in rules:
        st.session_state[state.JUDGE_RULE] = "majority"
    left, right = st.columns(2)
    with left:
        rule = st.selectbox(
            "Rule when a passage has no adjudicated label",
            rules,
            format_func=rule_text,
            key=state.JUDGE_RULE,
        )
    with right:
        level = st.radio(
            "Level",
            list(LEVEL_TEXT),
            format_func=LEVEL_TEXT.get,
            horizontal=True,
            key=state.JUDGE_LEVEL,
        )
    st.caption(
        "A passage's final grade is its adjudicated grade if it has one, else the rule over its "
        "annotators' grades; model suggestions never count. “Can't judge” gives no grade."
    )
    qrels = store.final_qrels(corpus.name, rule=rule, level=level, query_ids=query_ids)
    graded = grade_counts(qrels)
    st.markdown(
        f"**{len(qrels)}** {level}-level qrels over **{len({q.query_id for q in qrels})}** "
        f"queries · grades {graded}"
    )
    if qrels:
        st.dataframe(
            pd.DataFrame(
                [{"query": q.query_id, level: q.doc_id, "grade": q.relevance} for q in qrels[:500]]
            ),
            hide_index=True,
            width="stretch",
            height=240,
        )
    stem = f"{corpus.name}-{query_set if query_ids is not None else 'all'}-{level}"
    trec, _ = export_bytes(store, corpus.name, "trec", level, rule, query_ids)
    beir, _ = export_bytes(store, corpus.name, "beir", level, rule, query_ids)
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Download TREC qrels",
            trec,
            file_name=f"{stem}.qrels",
            mime="text/plain",
            disabled=not qrels,
            on_click="ignore",
        )
        st.download_button(
            "Download BEIR qrels (TSV)",
            beir,
            file_name=f"{stem}.tsv",
            mime="text/tab-separated-values",
            disabled=not qrels,
            on_click="ignore",
        )
    st.divider()
    import_section(store, corpus)


def grade_counts(qrels: Sequence) -> str:
    """ "0: 3, 2: 5": how many qrels have each grade."""
    counts: dict[int, int] = {}
    for q in qrels:
        counts[q.relevance] = counts.get(q.relevance, 0) + 1
    return ", ".join(f"{g}: {n}" for g, n in sorted(counts.items())) or "none"


# ---------------------------------------------------------------- the page


def page() -> None:
    """The whole Judge page (pages/3_judge.py calls this)."""
    st.title("Judge")
    store = resources.judgment_store()
    top = st.columns([1, 1, 1])
    with top[0]:
        annotator = identity()
    with top[1]:
        corpus = resources.choose_corpus()
    if corpus is None:
        return
    with top[2]:
        query_set, queries = choose_query_set(store, corpus)
    nxt = st.session_state.pop(state.JUDGE_TAB_NEXT, None)
    if nxt in TABS:
        st.session_state[state.JUDGE_TAB] = nxt
    elif st.session_state.get(state.JUDGE_TAB) not in TABS:
        has_pool = query_set is not None and bool(store.pools(corpus.name, query_set))
        st.session_state[state.JUDGE_TAB] = JUDGE if has_pool else SET_UP
    tabs = dict(zip(TABS, st.tabs(list(TABS), key=state.JUDGE_TAB, on_change="rerun"), strict=True))
    if tabs[SET_UP].open:
        with tabs[SET_UP]:
            setup_tab(store, corpus, query_set, queries)
    if tabs[JUDGE].open:
        with tabs[JUDGE]:
            judge_tab(store, corpus, query_set, annotator)
    if tabs[AGREEMENT].open:
        with tabs[AGREEMENT]:
            agreement_tab(store, corpus, query_set, queries, annotator)
    if tabs[FINAL].open:
        with tabs[FINAL]:
            final_tab(store, corpus, query_set, queries)
