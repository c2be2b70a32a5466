"""The order a judging queue is worked through: blind and shuffled (the default), or "likely
relevant first" (screening prioritisation) by the pool's rank or by a cross-encoder's score.

The trade-off, stated wherever the option is offered: likely relevant first finds the relevant
passages sooner (useful when time runs short), but the order itself hints at what a model
thinks, which can pull the annotator's grades towards the model's (anchoring). Queries keep the
pool's order in every mode; only the passages within a query are reordered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ranklens.errors import InputError
from ranklens.judging.agreement import Unit
from ranklens.judging.records import PoolItem
from ranklens.judging.rules import pool_order

if TYPE_CHECKING:
    from ranklens.judging.session import JudgingSession
    from ranklens.judging.store import JudgmentStore

ORDERS = ("shuffled", "pool-rank", "cross-encoder")
TRADE_OFF = (
    "Likely relevant first shows the passages a model ranks highest first: relevant passages "
    "are found sooner, but the order hints at what the model thinks, and that can pull your "
    "grades towards it. The default, blind and shuffled, hints at nothing."
)


def order_items(
    items: Sequence[PoolItem],
    annotator: str,
    seed: int,
    order: str = "shuffled",
    scores: Mapping[Unit, float] | None = None,
) -> list[PoolItem]:
    """The items in the order to judge them.

    shuffled: pool_order (each query's passages shuffled per annotator and seed).
    pool-rank: the pool's own order within each query (best rank over the pool's rankers).
    cross-encoder: by `scores` (highest first) within each query; unscored passages follow in
    the pool's order. Ties keep the pool's order.
    """
    if order not in ORDERS:
        raise InputError(
            None, f"unknown queue order {order!r}; expected one of {', '.join(ORDERS)}"
        )
    if order == "shuffled":
        return pool_order(items, annotator, seed)
    by_query: dict[str, list[tuple[int, PoolItem]]] = {}
    for i, it in enumerate(items):
        by_query.setdefault(it.query_id, []).append((i, it))
    if order == "cross-encoder" and not scores:
        raise InputError(None, "ordering by the cross-encoder needs its suggestions first")
    out: list[PoolItem] = []
    for entries in by_query.values():
        if order == "cross-encoder":
            assert scores is not None
            entries = sorted(
                entries,
                key=lambda e: (e[1].unit not in scores, -scores.get(e[1].unit, 0.0), e[0]),
            )
        out.extend(it for _, it in entries)
    return out


def suggestion_scores(store: JudgmentStore, corpus: str, model: str) -> dict[Unit, float]:
    """A cross-encoder's scores per unit, from its current suggestions (note `score=...`)."""
    out: dict[Unit, float] = {}
    for s in store.suggestions(corpus, model=model):
        note = s.note or ""
        if note.startswith("score="):
            try:
                out[s.unit] = float(note[len("score=") :])
            except ValueError:
                continue
    return out


def apply_order(
    session: JudgingSession,
    order: str,
    *,
    items: Sequence[PoolItem],
    scores: Mapping[Unit, float] | None = None,
) -> None:
    """Put a session's queue in `order` (items: the pool's items in the pool's order)."""
    session.items = order_items(items, session.annotator, session.seed, order, scores)
