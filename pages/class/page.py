"""Class page (the teacher's): start a class from a pool, show its join code (text and QR), pause,
reveal, close and export it, and the live board for the projector. Rules: ranklens.teaching.classroom.
"""

from __future__ import annotations

import io
import socket

import altair as alt
import pandas as pd
import streamlit as st

from components import auth, resources, safe
from ranklens.errors import RankLensError
from ranklens.judging import Scale
from ranklens.judging.classes import ClassInfo, ClassStore
from ranklens.teaching import class_stats
from ranklens.teaching.classroom import board, class_runs, corpus_qrels, start_class

CHOSEN = "rl_class_chosen"
ANON = "rl_class_anonymous"
PER_STUDENT = "rl_class_per_student"
REFRESH_S = 3


def _classes() -> ClassStore:
    return ClassStore(resources.judgment_store())


@st.cache_data(show_spinner="Ranking the class's queries…", max_entries=16)
def _runs(corpus_name: str, class_id: int, version: str) -> tuple[dict, list]:
    """The rankers' runs and the corpus's labels for a class (once per class and corpus state)."""
    corpus = resources.open_corpus(corpus_name)
    info = _classes().get(class_id)
    return class_runs(corpus, info), corpus_qrels(corpus, info, resources.judgment_store())


def _join_url() -> str:
    """The address students type: the one this browser used, or this machine's name when that
    was the loopback (students cannot reach 127.0.0.1 of the teacher's laptop)."""
    try:
        url = str(st.context.url or "")
    except Exception:  # noqa: BLE001 - an older Streamlit
        url = ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or st.get_option("server.port")
    host = parts.hostname or "127.0.0.1"
    if host in ("127.0.0.1", "localhost", "::1"):
        host = socket.gethostname()
    return f"{parts.scheme or 'http'}://{host}:{port}/"


def _qr_png(text: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=8, border=2)
    return buf.getvalue()


def _start_form() -> None:
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    sets = sorted(corpus.query_sets())
    if not sets:
        st.info("This corpus has no query set: add one on the Search page.")
        return
    with st.form("rl_class_start"):
        query_set = st.selectbox("Query set", sets, key="rl_class_set")
        n = st.number_input("Pairs to judge", 2, 200, 10, key="rl_class_pairs")
        pools = resources.judgment_store().pools(corpus.name, query_set)
        options = ["a new pool of the default rankers"] + [
            f"pool {p.id}: {', '.join(p.rankers)} to depth {p.depth}" for p in pools
        ]
        pick = st.selectbox("Sample from", options, key="rl_class_pool")
        title = st.text_input("Title (shown to students)", key="rl_class_title", max_chars=200)
        guidelines = st.text_area(
            "Guidelines for the class (empty: the query set's)", key="rl_class_guidelines"
        )
        grades = st.selectbox(
            "Grades",
            ["the corpus's scale", 2, 3, 4, 5],
            key="rl_class_grades",
            format_func=lambda g: g if isinstance(g, str) else f"0 to {g - 1}",
        )
        seed = st.number_input("Seed", 0, 2**31 - 1, 1, key="rl_class_seed")
        go = st.form_submit_button("Start the class", type="primary")
    if not go:
        return
    pool_id = None if options.index(pick) == 0 else pools[options.index(pick) - 1].id
    who = auth.annotator() or ""
    try:
        with st.spinner("Sampling pairs…"):
            info = start_class(
                resources.judgment_store(),
                corpus,
                query_set,
                int(n),
                pool_id=pool_id,
                seed=int(seed),
                title=title,
                created_by=who,
                guidelines=guidelines.strip() or None,
                scale=None if isinstance(grades, str) else Scale.of(int(grades)),
            )
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.session_state[CHOSEN] = info.id
    st.success(f"Class started: code {info.code}.")


def _controls(info: ClassInfo) -> None:
    url = _join_url()
    cols = st.columns([2, 1])
    with cols[0]:
        st.markdown(f"## Join code: `{info.code}`")
        st.markdown(f"Students open **{safe.md(url)}**, choose *Join a class* and type the code.")
        st.caption(
            "The app must listen on the network: `./scripts/start.sh --server.address 0.0.0.0` "
            "(team mode: the sign-in page offers Join a class)."
        )
        st.markdown(f"State: **{info.state}** · {len(info.pairs)} pairs")
        with st.container(horizontal=True):
            for label, target in (
                ("Pause", "paused"),
                ("Open", "open"),
                ("Reveal", "revealed"),
                ("Close", "closed"),
            ):
                if st.button(
                    label,
                    key=f"rl_class_state_{target}",
                    disabled=info.state == target or info.state == "closed",
                ):
                    _classes().set_state(info.id, target)
                    st.rerun()
    with cols[1]:
        st.image(_qr_png(url), caption="Scan to open the app", width=220)
    with st.expander("Export labels"):
        classes = _classes()
        if st.button("Prepare the JSONL (time and reason per label)", key="rl_class_jsonl"):
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory() as tmp:
                n = classes.export_jsonl(info.id, Path(tmp) / "class.jsonl")
                data = (Path(tmp) / "class.jsonl").read_bytes()
            st.download_button(
                f"Download {n} labels", data, f"class-{info.code}.jsonl", "application/jsonl"
            )
        rule = st.selectbox("qrels rule", ("majority", "mean", "max", "min"), key="rl_class_rule")
        if st.button("Prepare TREC qrels", key="rl_class_qrels"):
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory() as tmp:
                n = classes.export_qrels(info.id, Path(tmp) / "class.qrels", rule)
                data = (Path(tmp) / "class.qrels").read_bytes()
            st.download_button(f"Download {n} qrels lines", data, f"class-{info.code}.qrels")


def _estimate(label: str, est: class_stats.Estimate, explain: str) -> None:
    if est.value is None:
        st.metric(label, "–", help=explain)
        st.caption(f"Not defined yet: {est.note}.")
        return
    ci = "" if est.low is None else f"95% interval [{est.low:.2f}, {est.high:.2f}]"
    st.metric(label, f"{est.value:.2f}", help=explain)
    st.caption(f"{ci} · {est.items} pairs, {est.raters} students")


@st.fragment(run_every=REFRESH_S)
def _board(class_id: int) -> None:
    auth.check_fragment()  # a sign-in that ended stops the board at its next refresh
    classes = _classes()
    info = classes.get(class_id)
    corpus = resources.open_corpus(info.corpus)
    runs, corpus_labels = _runs(info.corpus, info.id, corpus.version())
    b = board(
        classes, info, runs, corpus_labels, per_student=bool(st.session_state.get(PER_STUDENT))
    )
    names = (
        class_stats.anonymise(b.students)
        if st.session_state.get(ANON)
        else {s: s for s in b.students}
    )
    st.subheader("Progress")
    st.caption(class_stats.EXPLAIN["progress"])
    if b.progress:
        st.dataframe(
            pd.DataFrame([{"student": names[s], "graded": d, "of": t} for s, d, t in b.progress]),
            hide_index=True,
        )
    else:
        st.caption("Nobody has joined yet.")
    st.subheader("Agreement")
    cols = st.columns(2)
    with cols[0]:
        _estimate("Fleiss' kappa", b.fleiss, class_stats.EXPLAIN["fleiss"])
    with cols[1]:
        _estimate("Krippendorff's alpha", b.alpha, class_stats.EXPLAIN["alpha"])
    st.caption(class_stats.EXPLAIN["interval"])
    st.subheader("Where the class disagrees most")
    st.caption(class_stats.EXPLAIN["widest"])
    if not b.widest:
        st.caption("No pair with different grades yet.")
    texts = corpus.get_passages([w.passage_id for w in b.widest])
    queries = {q.query_id: q.text for q in corpus.query_sets().get(info.query_set, [])}
    for w in b.widest:
        p = texts.get(w.passage_id)
        grades = " · ".join(f"{safe.md(names.get(s, s))}: {g}" for s, g in sorted(w.grades.items()))
        with st.container(border=True):
            st.markdown(
                f"**{safe.md(queries.get(w.query_id, w.query_id))}** — spread {w.spread} ({grades})"
            )
            if p is not None:
                st.markdown(safe.md(p.text, multiline=True, limit=600))
            for s, reason in sorted(w.reasons.items()):
                st.markdown(f"- *{safe.md(names.get(s, s))}*: {safe.md(reason)}")
    if b.rankers is not None:
        st.subheader("What the class's labels do to the rankers")
        st.caption(class_stats.EXPLAIN["rankers"])
        rows = [
            {
                "ranker": r,
                "nDCG@10 (class labels)": v,
                "nDCG@10 (corpus labels)": b.rankers.corpus_scores.get(r),
            }
            for r, v in b.rankers.class_scores.items()
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        tau = b.rankers.tau
        st.markdown(
            "Kendall's tau between the two orders: "
            + (
                "not defined (the corpus has no labels for these queries, or too few rankers)"
                if tau is None
                else f"**{tau:.2f}**"
            )
        )
        if b.rankers.student_scores:
            st.caption(class_stats.EXPLAIN["students"])
            points = [
                {"ranker": r, "student": names.get(s, s), "nDCG@10": v}
                for s, scores in b.rankers.student_scores.items()
                for r, v in scores.items()
                if v is not None
            ]
            if points:
                chart = (
                    alt.Chart(pd.DataFrame(points))
                    .mark_circle(size=80, opacity=0.7)
                    .encode(x="nDCG@10:Q", y="ranker:N", tooltip=["student", "nDCG@10"])
                )
                st.altair_chart(chart, width="stretch")
            wins: dict[str, int] = {}
            for top in b.rankers.winners.values():
                for r in top:
                    wins[r] = wins.get(r, 0) + 1
            st.markdown(
                "Winner by student: "
                + ", ".join(f"{safe.md(r)} ({n})" for r, n in sorted(wins.items()))
            )
    st.caption(f"Refreshed every {REFRESH_S} s · computed in {b.computed_in_ms:.0f} ms")


def main() -> None:
    st.title("Class")
    st.caption(
        "Students judge the same pairs blind, each in their own order; the board shows how much "
        "they agree and what their labels do to the rankers' scores."
    )
    if not auth.admin_only("run a class"):
        return
    classes = _classes()
    with st.expander("Start a class", expanded=not classes.list()):
        _start_form()
    all_classes = classes.list()
    if not all_classes:
        return
    ids = [c.id for c in all_classes]
    if st.session_state.get(CHOSEN) not in ids:
        st.session_state[CHOSEN] = ids[-1]
    by_id = {c.id: c for c in all_classes}
    chosen = st.selectbox(
        "Class",
        ids,
        key=CHOSEN,
        format_func=lambda i: (
            f"{by_id[i].code} · {by_id[i].title or by_id[i].query_set} ({by_id[i].state})"
        ),
    )
    info = classes.get(chosen)
    _controls(info)
    with st.container(horizontal=True):
        st.toggle("Hide names", key=ANON)
        st.toggle("Re-score with each student's labels", key=PER_STUDENT)
    _board(info.id)


main()
