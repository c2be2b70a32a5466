"""The judgment store: one Database (one engine, its write queue) and the small stores composed
over it (labels, pools, suggestions, agreement and adjudication, qrels import and export).

JudgmentStore is what callers hold: it owns no rules of its own, it forwards each method to the
part that owns it (store.add_label is store.label_store.add_label) and starts judging sessions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import sqlalchemy as sa

from ranklens.config import Settings
from ranklens.judging.adjudication import AdjudicationStore
from ranklens.judging.labels import LabelStore
from ranklens.judging.pools import PoolStore
from ranklens.judging.qrels_io import QrelsIO
from ranklens.judging.session import JudgingSession
from ranklens.judging.suggestions import SuggestionStore
from ranklens.schema import Database
from ranklens.types import Query


def _forward(part: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """A JudgmentStore method that calls `method` on the part held in attribute `part`."""
    name = method.__name__

    @functools.wraps(method)
    def forwarded(self: JudgmentStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(getattr(self, part), name)(*args, **kwargs)

    return forwarded


class JudgmentStore:
    """Relevance labels of every corpus, in one database (an SQLAlchemy URL selects the engine).

    Thread-safe (share one per process, e.g. with st.cache_resource); several processes may
    write to the same SQLite file at once. Every write method returns after its commit. Its
    parts share the one Database, so they share its transactions and its fair write queue.
    """

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.label_store = LabelStore(self.db)
        self.pool_store = PoolStore(self.db)
        self.suggestion_store = SuggestionStore(self.db, self.label_store)
        self.adjudication_store = AdjudicationStore(self.db, self.label_store)
        self.qrels_io = QrelsIO(self.db, self.label_store, self.adjudication_store)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> JudgmentStore:
        """The store at Settings.db_url (RANKLENS_DB_URL, or SQLite under RANKLENS_HOME)."""
        from ranklens.config import get_settings

        return cls((settings or get_settings()).db_url)

    # -- the database: transactions, closing

    @property
    def url(self) -> str:
        return self.db.url

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction (Database.write)."""
        with self.db.write() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read transaction (Database.read)."""
        with self.db.read() as conn:
            yield conn

    def integrity_check(self) -> str:
        return self.db.integrity_check()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- labels (labels.py)

    corpora = _forward("label_store", LabelStore.corpora)
    scale = _forward("label_store", LabelStore.scale)
    set_scale = _forward("label_store", LabelStore.set_scale)
    add_annotator = _forward("label_store", LabelStore.add_annotator)
    annotators = _forward("label_store", LabelStore.annotators)
    set_judging_settings = _forward("label_store", LabelStore.set_judging_settings)
    judging_settings = _forward("label_store", LabelStore.judging_settings)
    record = _forward("label_store", LabelStore.record)
    add_label = _forward("label_store", LabelStore.add_label)
    undo = _forward("label_store", LabelStore.undo)
    undo_event = _forward("label_store", LabelStore.undo_event)
    history = _forward("label_store", LabelStore.history)
    event = _forward("label_store", LabelStore.event)
    count_events = _forward("label_store", LabelStore.count_events)
    current_labels = _forward("label_store", LabelStore.current_labels)
    label_of = _forward("label_store", LabelStore.label_of)
    _scale = _forward("label_store", LabelStore._scale)  # in-transaction readers (session.py)
    _labels = _forward("label_store", LabelStore._labels)
    _current = _forward("label_store", LabelStore._current)
    _event_values = _forward("label_store", LabelStore._event_values)  # accepted.py writes a
    _append = _forward("label_store", LabelStore._append)  # label in its own transaction

    # -- pools (pools.py) and judging sessions

    create_pool = _forward("pool_store", PoolStore.create_pool)
    save_pool = _forward("pool_store", PoolStore.save_pool)
    pool = _forward("pool_store", PoolStore.pool)
    pools = _forward("pool_store", PoolStore.pools)
    pool_provenance = _forward("pool_store", PoolStore.pool_provenance)
    pool_seed = _forward("pool_store", PoolStore.pool_seed)

    def start_session(
        self,
        pool_id: int,
        annotator: str,
        seed: int | None = None,
        *,
        queries: Sequence[Query] = (),
    ) -> JudgingSession:
        """Start (or resume) judging a pool as an annotator: registers the name, records the
        seed, and returns a JudgingSession (next passage, label, skip, undo, progress).

        `queries` are the query set's queries as the corpus holds them now (the corpus owns
        query sets; see session.open_session, which reads them from the corpus)."""
        annotator = self.add_annotator(annotator)
        pool = self.pool(pool_id)
        seed = self.pool_seed(pool_id, annotator, seed)
        settings = self.judging_settings(pool.corpus, pool.query_set)
        return JudgingSession(
            self, pool, annotator, seed, settings, self.scale(pool.corpus), queries
        )

    # -- suggestions (suggestions.py)

    add_suggestions = _forward("suggestion_store", SuggestionStore.add_suggestions)
    add_graded = _forward("suggestion_store", SuggestionStore.add_graded)
    suggestions = _forward("suggestion_store", SuggestionStore.suggestions)
    suggestion_agreement = _forward("suggestion_store", SuggestionStore.suggestion_agreement)

    # -- agreement, adjudication, final qrels (adjudication.py)

    agreement = _forward("adjudication_store", AdjudicationStore.agreement)
    adjudicated = _forward("adjudication_store", AdjudicationStore.adjudicated)
    disagreements = _forward("adjudication_store", AdjudicationStore.disagreements)
    adjudicate = _forward("adjudication_store", AdjudicationStore.adjudicate)
    final_qrels = _forward("adjudication_store", AdjudicationStore.final_qrels)

    # -- qrels import and export (qrels_io.py)

    import_qrels = _forward("qrels_io", QrelsIO.import_qrels)
    import_records = _forward("qrels_io", QrelsIO.import_records)
    export_qrels = _forward("qrels_io", QrelsIO.export_qrels)
