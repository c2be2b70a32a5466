"""The Judge page's "Final labels" tab: the final qrels by rule and level, TREC and BEIR
downloads, and qrels upload (all or nothing, saved through ranklens.corpus.uploads).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components import admin_download, auth, state, upload_widget
from components.safe import error as plain
from ranklens.corpus import index
from ranklens.corpus.trec_files import QRELS_FORMATS
from ranklens.corpus.uploads import safe_name, temporary_upload
from ranklens.errors import RankLensError
from ranklens.judging import DEFAULT_IMPORT_ANNOTATOR, RULES, ImportReport, JudgmentStore, pooling

from .display import LEVEL_TEXT, code, rule_text, scope, show_flash, table
from .header import PageContext


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
    if not auth.admin_only("import labels"):  # team mode: admins only
        return
    st.caption(
        "TREC (`qid 0 docid grade`), BEIR TSV (with header), CSV or JSONL. All or nothing: a bad "
        "line stops the import with its line number and nothing is stored. Query ids the corpus "
        "does not know yet are accepted and listed."
    )
    upload = upload_widget.file_uploader("Qrels file", key=state.JUDGE_IMPORT_FILE)
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
            st.error(f"Nothing was imported. {plain(exc)}")
        except UnicodeDecodeError:
            st.error(f"Nothing was imported. {plain(upload.name)}: not UTF-8 text; expected qrels.")
        else:
            first, *rest = report.summary().split("\n")
            st.success(plain(first))
            if report.unknown_queries:
                st.warning(
                    f"{len(report.unknown_queries)} query ids the corpus does not know yet "
                    f"(accepted; their text can come later with a query set): "
                    + ", ".join(code(q) for q in report.unknown_queries[:50])
                    + (" …" if len(report.unknown_queries) > 50 else "")
                )
            for line in rest:
                if not line.startswith(f"{len(report.unknown_queries)} query ids"):
                    st.info(plain(line))


def render(page: PageContext) -> None:
    store, corpus, query_set, queries = page.store, page.corpus, page.query_set, page.queries
    show_flash()
    st.subheader("Final qrels")
    if not auth.admin_only("see and download the final labels (blind judging)"):
        return  # team mode: final labels show others' grades, and rules name annotators
    query_ids = scope(query_set, queries, state.JUDGE_SCOPE + ":final")
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
        table(
            [{"query": q.query_id, level: q.doc_id, "grade": q.relevance} for q in qrels[:500]],
            height=240,
        )
    stem = f"{corpus.name}-{query_set if query_ids is not None else 'all'}-{level}"
    with st.container(horizontal=True, gap="small"):  # each file made when clicked
        for fmt, label, ext, mime in (
            ("trec", "Download TREC qrels", "qrels", "text/plain"),
            ("beir", "Download BEIR qrels (TSV)", "tsv", "text/tab-separated-values"),
        ):
            admin_download.button(
                label,
                lambda fmt=fmt: export_bytes(store, corpus.name, fmt, level, rule, query_ids)[0],
                file_name=f"{stem}.{ext}",
                mime=mime,
                key=f"rl_final_download_{fmt}",
                disabled=not qrels,
            )
    st.divider()
    import_section(store, corpus)


def grade_counts(qrels: Sequence) -> str:
    """ "0: 3, 2: 5": how many qrels have each grade."""
    counts: dict[int, int] = {}
    for q in qrels:
        counts[q.relevance] = counts.get(q.relevance, 0) + 1
    return ", ".join(f"{g}: {n}" for g, n in sorted(counts.items())) or "none"
