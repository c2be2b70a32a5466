"""Cached resources for the pages: settings, Chroma-backed corpora, models.

st.cache_resource keeps one instance per process (shared, thread-safe objects only).
"""

from __future__ import annotations

import streamlit as st

from components import safe, state
from ranklens import models
from ranklens.config import Settings, get_settings
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judging import JudgmentStore


def settings() -> Settings:
    """Read from the environment on each call (cheap), so RANKLENS_HOME changes are seen."""
    return get_settings()


def corpus_names() -> list[str]:
    return [c["name"] for c in index.list_corpora(settings())]


def open_corpus(name: str) -> index.Corpus:
    """A corpus handle (cheap: reads its manifest; passages are read lazily)."""
    return index.open_corpus(name, settings())


@st.cache_resource(show_spinner="Loading model…")
def encoder(name: str) -> models.Encoder:
    return models.load_encoder(name)


@st.cache_resource(show_spinner="Loading reranker…")
def reranker(name: str) -> models.Scorer:
    return models.load_reranker(name)


def select_corpus(label: str = "Corpus", key: str = state.CORPUS) -> str | None:
    """A corpus picker shared by every page (the choice is kept across pages)."""
    names = corpus_names()
    if not names:
        st.info("No corpus yet: add one on the Corpus page.")
        return None
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    return st.selectbox(label, names, key=key)


@st.cache_resource
def _judgment_store(url: str) -> JudgmentStore:
    return JudgmentStore(url)


def judgment_store() -> JudgmentStore:
    """One judgment store per database URL (so each RANKLENS_HOME has its own), shared by sessions."""
    return _judgment_store(settings().db_url)


def choose_corpus(label: str = "Corpus") -> index.Corpus | None:
    """The corpus picker, opened; None (with a message) when there is none or it just vanished."""
    name = select_corpus(label)
    if name is None:
        return None
    try:
        return open_corpus(name)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return None
