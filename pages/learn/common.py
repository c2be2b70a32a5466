"""What the Learn page's tabs share: the labelled query set, its labels, the lessons' context
(cached per corpus, set and labels), and the hand-over of a view to the Search or Evaluate page.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from components import resources, routing, state
from ranklens.corpus.index import Corpus
from ranklens.evaluation import qrels_sources as lb
from ranklens.teaching import lessons
from ranklens.types import Qrel, Query

SEARCH_PAGE = "pages/2_search.py"
EVALUATE_PAGE = "pages/4_evaluate.py"
LESSON_INTENT = "learn-lesson"  # the intent a lesson's button sends (the lesson's query id)
EVAL_TABS = {"per-query": "Per query", "significance": "Significance"}


def labelled_sets(corpus: Corpus) -> list[str]:
    """Query sets, those with labels shipped with the corpus first (the demo: faq, then demo)."""
    sets = list(corpus.query_sets())
    shipped = corpus.shipped_qrels()
    return sorted(sets, key=lambda n: (n not in shipped, sets.index(n)))


def choose_set(corpus: Corpus, key: str = state.LEARN_SET) -> str | None:
    names = labelled_sets(corpus)
    if not names:
        st.info(
            f"Corpus {corpus.name!r} has no query set: add one on the Search page, or ingest a "
            "BEIR folder, which brings queries and labels."
        )
        return None
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    return st.selectbox("Query set", names, key=key)


def _labels_version(corpus: Corpus, query_set: str) -> str:
    events = resources.judgment_store().count_events(corpus.name)
    raw = f"{corpus.version()}|{query_set}|{events}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def set_labels(corpus: Corpus, query_set: str) -> tuple[list[Query], lb.Labels | None]:
    """The set's queries and its labels as the Evaluate page resolves them (shipped, else the
    judgment store), at document level; labels None when there are none yet."""
    queries = corpus.query_sets().get(query_set, [])
    try:
        return queries, _cached_labels(corpus.name, query_set, _labels_version(corpus, query_set))
    except lb.NoLabelsError:
        return queries, None


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_labels(corpus_name: str, query_set: str, version: str) -> lb.Labels:
    corpus = resources.open_corpus(corpus_name)
    queries = corpus.query_sets().get(query_set, [])
    return lb.resolve_labels(
        corpus, query_set, queries, level="doc", store=resources.judgment_store()
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def _context(corpus_name: str, query_set: str, version: str, _qrels: tuple[Qrel, ...]):
    corpus = resources.open_corpus(corpus_name)
    return lessons.prepare(corpus, query_set, list(_qrels), load_encoder=resources.encoder)


def lesson_context(corpus: Corpus, query_set: str, qrels: list[Qrel]) -> lessons.Context:
    """The lessons' rankings and per-query values, computed once per corpus, set and labels."""
    with st.spinner(f"Ranking {query_set} with BM25, a dense model and their fusion…"):
        return _context(corpus.name, query_set, _labels_version(corpus, query_set), tuple(qrels))


def open_target(corpus_name: str, target: lessons.Target) -> None:
    """A lesson button's on_click: set the Search or Evaluate page's widgets to the lesson's
    view (callbacks run before any widget exists); app.py opens that page on the next run."""
    ss = st.session_state
    ss[state.CORPUS] = corpus_name
    ss[state.QUERY_SET] = target.query_set
    if target.page == "search":
        ss[state.SEARCH_RANKERS] = list(target.rankers)
        ss[state.SEARCH_QUERY] = target.query_text or ""
        if target.query_id and target.query_text:
            ss[state.SEARCH_QID] = (target.query_id, target.query_text)
        ss[state.SEARCH_DOC_LEVEL] = True
        if target.hnsw_model:
            ss[state.SEARCH_HNSW_MODEL] = target.hnsw_model
        ss.pop(state.SEARCH_RESULT, None)
        routing.send(SEARCH_PAGE, LESSON_INTENT, target.query_id)
    else:
        ss[state.EVAL_RANKERS] = list(target.rankers)
        if target.measures:
            ss[state.EVAL_MEASURES] = list(target.measures)
        ss[state.EVAL_LEVEL] = "doc"
        ss[state.EVAL_CONDENSED] = target.condensed
        if target.tab in EVAL_TABS:
            ss[state.EVAL_TAB] = EVAL_TABS[target.tab]
        if target.query_id:
            ss[state.EVAL_EXPLAIN_QUERY] = target.query_id
        if target.ranker:
            ss[state.EVAL_EXPLAIN_RANKER] = target.ranker
        routing.send(EVALUATE_PAGE, LESSON_INTENT, target.query_id)
