"""Evaluate page: the cached data behind every tab (runs, labels, per-query values, tests).

Each function is a thin st.cache_data wrapper around one core call; the Setup's keys say when
a cached value is stale.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import resources
from pages.evaluate.choices import JUDGED_K, N_PERMUTATIONS, SEED, SHIPPED, STORE, Setup
from ranklens.evaluation import measures as ev
from ranklens.evaluation import qrels_sources as lb
from ranklens.evaluation import stats
from ranklens.ranking.recipes import rank_corpus
from ranklens.types import Qrel, Query, Run


@st.cache_data(show_spinner=False, max_entries=16)
def queries_of(corpus_name: str, stamp: str, query_set: str) -> list[Query]:
    return resources.open_corpus(corpus_name).query_sets().get(query_set, [])


@st.cache_data(show_spinner=False, max_entries=128)
def cached_run(
    corpus_name: str, stamp: str, query_set: str, ranker: str, k: int, level: str = "passage"
) -> Run:
    """One ranker's run over the whole query set (labels do not change it).

    At level "doc": k documents per query, passages ranked deeper to find them.
    """
    corpus = resources.open_corpus(corpus_name)
    queries = [q for q in queries_of(corpus_name, stamp, query_set) if q.text.strip()]
    runs = rank_corpus(corpus, [ranker], queries, k, level, resources.encoder, resources.reranker)
    return next(iter(runs.runs.values()))


def runs_for(setup: Setup) -> dict[str, Run]:
    out = {}
    for name in setup.rankers:
        with st.spinner(f"Ranking {setup.query_set} with {name}…"):
            run = cached_run(setup.corpus, setup.stamp, setup.query_set, name, setup.k, setup.level)
        out[name] = run
    return out


@st.cache_data(show_spinner=False, max_entries=8)
def upload_qrels(data: bytes, name: str) -> list[Qrel]:
    """Qrels from an uploaded file (saved through ranklens.corpus.uploads); errors name the upload."""
    return lb.qrels_from_upload(name, data, resources.settings())


@st.cache_data(show_spinner=False, max_entries=32)
def labels(key: tuple, _setup: Setup, _corpus, _queries: list[Query], _upload=None) -> lb.Labels:
    """The setup's labels, resolved by ranklens.evaluation.qrels_sources exactly as the CLI resolves them.

    ``key`` is setup.key (it names the labels source, rule and labels version, so a new label
    or another upload is a new entry); ``_upload`` is the uploaded file when the source is one.
    Raises labels.NoLabelsError when the source has no label for the query set.
    """
    how = {"rule": _setup.rule, "level": _setup.level}
    if _setup.labels == STORE:
        store = resources.judgment_store()
        return lb.resolve_labels(
            _corpus,
            _setup.query_set,
            _queries,
            source="store",
            store=store,
            accepted=_setup.accepted,
            **how,
        )
    if _setup.labels == SHIPPED:
        return lb.resolve_labels(_corpus, _setup.query_set, _queries, source="shipped", **how)
    qrels = upload_qrels(_upload.getvalue(), _upload.name)
    origin = f"uploaded file {_upload.name}"
    return lb.resolve_labels(_corpus, _setup.query_set, _queries, qrels=qrels, origin=origin, **how)


@st.cache_data(show_spinner=False, max_entries=32)
def evaluation(key: tuple, measures: tuple, _runs: dict, _qrels: list) -> dict:
    """Per-query values with plain and condensed lists, and Judged@10 per ranker."""
    level = key[5]
    return {
        "plain": ev.evaluate_runs(_runs, _qrels, list(measures), level, False),
        "condensed": ev.evaluate_runs(_runs, _qrels, list(measures), level, True),
        "judged": ev.judged_fraction(_runs, _qrels, JUDGED_K, level),
    }


@st.cache_data(show_spinner="Testing significance…", max_entries=32)
def significance(
    key: tuple, measures: tuple, condensed: bool, test: str, alpha: float, _per_query
) -> dict[str, pd.DataFrame]:
    return {
        m: stats.pairwise_significance(_per_query, m, test, alpha, N_PERMUTATIONS, SEED)
        for m in measures
    }


@st.cache_data(show_spinner="Computing metric@k…", max_entries=32)
def curve(key: tuple, base: str, kmax: int, condensed: bool, _runs, _qrels) -> pd.DataFrame:
    return ev.metric_at_k_curve(_runs, _qrels, base, range(1, kmax + 1), key[5], condensed)


@st.cache_data(show_spinner="Subsampling the labels…", max_entries=32)
def discriminative(
    key: tuple,
    measure: str,
    unit: str,
    fraction: float,
    repeats: int,
    test: str,
    alpha: float,
    condensed: bool,
    _runs,
    _qrels,
) -> stats.DiscriminativePower:
    return stats.discriminative_power(
        _runs,
        _qrels,
        measure,
        fraction=fraction,
        repeats=repeats,
        seed=SEED,
        unit=unit,
        test=test,
        alpha=alpha,
        n_permutations=N_PERMUTATIONS,
        level=key[5],
        condensed=condensed,
    )
