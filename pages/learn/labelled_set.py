"""The Learn page's query set and its labels: the choice of a set (labelled sets first), its
labels as the Evaluate page resolves them, and the lessons' rankings on it (cached per version).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from components import resources, safe, state
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.evaluation import qrels_sources as lb
from ranklens.teaching import lessons
from ranklens.types import Qrel, Query


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


def lesson_context(corpus: Corpus, query_set: str, qrels: list[Qrel]) -> lessons.Context | None:
    """The lessons' rankings and per-query values, computed once per corpus, set and labels;
    None, with the reason shown, when they cannot be computed."""
    try:
        with st.spinner(f"Ranking {query_set} with BM25, a dense model and their fusion…"):
            version = _labels_version(corpus, query_set)
            return _context(corpus.name, query_set, version, tuple(qrels))
    except RankLensError as exc:
        st.error(safe.error(exc))
        return None
