"""RankLens core: corpora, models, rankers, judgments and evaluation, with no UI; and the handful
of calls a notebook needs (open a corpus, rank, evaluate, pool), as ir_measures exports calc_aggregate.

Everything here runs headless; the Streamlit app and the CLI are thin faces over it. The package
is grouped by the stages a user walks through: corpus/, ranking/, judging/, evaluation/,
teaching/, and jobs/ for long work. The calls below import their stage on first use, so that
`import ranklens` stays cheap (no Chroma, no torch) and each call gives what the page and the CLI
give for the same recipe:

    >>> import ranklens
    >>> corpus = ranklens.open_corpus("demo")
    >>> runs = ranklens.rank(corpus, ["bm25", "all-MiniLM-L6-v2"], query_set="faq", k=10).runs
    >>> means = ranklens.evaluate(corpus, query_set="faq", measures=["nDCG@10", "AP"])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from ranklens.config import Settings
    from ranklens.corpus.index import Corpus
    from ranklens.judging.records import PoolInfo
    from ranklens.ranking.recipes import RankedRuns
    from ranklens.types import Query

__version__ = "0.1.0"
__all__ = ["evaluate", "open_corpus", "pool", "queries_of", "rank"]

DEFAULT_MEASURES = ("nDCG@10", "R@100", "AP", "RR")  # the CLI's `evaluate` default


def open_corpus(name: str, settings: Settings | None = None) -> Corpus:
    """The corpus of that name under RANKLENS_HOME (or the given settings' home)."""
    from ranklens.corpus.index import open_corpus as open_

    return open_(name, settings)


def queries_of(corpus: Corpus, query_set: str | None = None) -> list[Query]:
    """The queries of one of the corpus's query sets; None: its only set (an error names the sets
    when it has several or none)."""
    from ranklens.judging.pooling import query_set_of

    return query_set_of(corpus, query_set or _only_set(corpus))


def rank(
    corpus: Corpus,
    rankers: Sequence[str] | None = None,
    *,
    queries: Sequence[Query] | None = None,
    query_set: str | None = None,
    k: int = 10,
    level: str = "passage",
) -> RankedRuns:
    """Rank queries (given, or a query set's) with recipes ("bm25", a model's name, "rrf(a,b)",
    "run:NAME", "endpoint:NAME"...; None: the corpus's default rankers) at `level` ("passage" or
    "doc"), to depth k. The same call the Search page and `python -m ranklens search` make."""
    from ranklens.ranking.recipes import default_rankers, rank_corpus

    chosen = list(rankers) if rankers else default_rankers(corpus)
    asked = list(queries) if queries is not None else queries_of(corpus, query_set)
    return rank_corpus(corpus, chosen, asked, k, level)


def evaluate(
    corpus: Corpus,
    rankers: Sequence[str] | None = None,
    *,
    query_set: str | None = None,
    measures: Sequence[str] = DEFAULT_MEASURES,
    k: int = 100,
    level: str = "doc",
    labels: str = "auto",
    rule: str = "majority",
    per_query: bool = False,
) -> pd.DataFrame:
    """Measures (ir_measures, trec_eval-exact) of each ranker over the labelled queries of a query
    set, as `python -m ranklens evaluate` computes them: labels "auto" (the corpus's own, else
    the judgment store's, aggregated by `rule`), "shipped" or "store". A DataFrame of means
    (rankers x measures), or with per_query=True the long table (ranker, query_id, measure, value)."""
    from ranklens.evaluation import measures as ev
    from ranklens.evaluation.qrels_sources import resolve_labels
    from ranklens.ranking.rankers import check_k
    from ranklens.types import check_level

    level = check_level(level)
    specs = ev.parse_measures(measures)  # a bad measure name fails before any ranking
    check_k(k)
    name = query_set or _only_set(corpus)
    queries = queries_of(corpus, name)
    found = resolve_labels(corpus, name, queries, source=labels, rule=rule, level=level)
    labelled = {q.query_id for q in found.qrels}
    runs = rank(
        corpus, rankers, queries=[q for q in queries if q.query_id in labelled], k=k, level=level
    )
    table = ev.evaluate_runs(runs.runs, found.qrels, specs, level)
    if per_query:
        return table
    import pandas as pd

    return pd.DataFrame(ev.mean_scores(table)).T


def pool(
    corpus: Corpus,
    query_set: str | None = None,
    rankers: Sequence[str] | None = None,
    depth: int = 10,
) -> PoolInfo:
    """Pool a query set's top `depth` passages of each ranker for judging (stored in the judgment
    database, as `python -m ranklens judgments pool` does); the app's Judge page shows it."""
    from ranklens.judging.pooling import make_pool
    from ranklens.judging.store import JudgmentStore
    from ranklens.ranking.recipes import default_rankers, make_rankers

    name = query_set or _only_set(corpus)
    made = make_rankers(list(rankers) if rankers else default_rankers(corpus), corpus)
    with JudgmentStore(corpus.settings.db_url) as store:
        return make_pool(store, corpus, name, made, depth)


def _only_set(corpus: Corpus) -> str:
    sets = list(corpus.query_sets())
    if len(sets) != 1:
        from ranklens.errors import RankLensError

        have = ", ".join(sets) or "none"
        raise RankLensError(f"corpus {corpus.name!r} has {len(sets)} query sets ({have}): name one")
    return sets[0]
