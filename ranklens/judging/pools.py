"""Stored pools (what each pool holds, and which rankers found each item) and each annotator's
recorded shuffle seed of a pool; a part of JudgmentStore, composed over its Database."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from ranklens.errors import InputError, NotFoundError
from ranklens.judging.records import (
    PoolInfo,
    PoolItem,
)
from ranklens.judging.rules import (
    build_pool,
    check_name,
    pool_provenance,
)
from ranklens.schema import Database, insert_row, pool_items, pool_seeds, pools_table
from ranklens.types import Run


class PoolStore:
    """Pools of every corpus and annotators' seeds (one Database; thread-safe as it is)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_pool(
        self,
        corpus: str,
        query_set: str,
        runs: Mapping[str, Run],
        depth: int,
        query_ids: Sequence[str] | None = None,
    ) -> PoolInfo:
        """Build (build_pool) and store the pool of these rankers' runs; returns it."""
        items = build_pool(runs, depth, query_ids)
        return self.save_pool(
            corpus, query_set, items, list(runs), depth, pool_provenance(runs, depth)
        )

    def save_pool(
        self,
        corpus: str,
        query_set: str,
        items: Sequence[PoolItem],
        rankers: Sequence[str],
        depth: int,
        provenance: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> PoolInfo:
        """Store a pool (a new id each time; labels belong to passages, not to pools)."""
        if not items:
            raise InputError(None, "the pool is empty: the rankers returned no passages")
        provenance = provenance or {}
        now = time.time()
        with self.db.write() as conn:
            pool_id = insert_row(
                conn,
                pools_table,
                corpus=corpus,
                query_set=query_set,
                rankers=json.dumps(list(rankers)),
                depth=depth,
                created_at=now,
            )
            conn.execute(
                sa.insert(pool_items),
                [
                    dict(
                        pool_id=pool_id,
                        position=i,
                        query_id=it.query_id,
                        passage_id=it.passage_id,
                        doc_id=it.doc_id,
                        found_by=json.dumps(list(provenance.get((it.query_id, it.passage_id), ()))),
                    )
                    for i, it in enumerate(items)
                ],
            )
        return PoolInfo(pool_id, corpus, query_set, list(rankers), depth, now, list(items))

    def pool(self, pool_id: int) -> PoolInfo:
        """A stored pool; NotFoundError if there is none."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(pools_table).where(pools_table.c.id == pool_id)).first()
            if row is None:
                raise NotFoundError(f"no pool {pool_id}")
            items = conn.execute(
                sa.select(pool_items.c.query_id, pool_items.c.passage_id, pool_items.c.doc_id)
                .where(pool_items.c.pool_id == pool_id)
                .order_by(pool_items.c.position)
            ).all()
        return PoolInfo(
            row.id,
            row.corpus,
            row.query_set,
            json.loads(row.rankers),
            row.depth,
            row.created_at,
            [PoolItem(*r) for r in items],
        )

    def pools(self, corpus: str, query_set: str | None = None) -> list[PoolInfo]:
        """Stored pools of a corpus (newest last)."""
        conds = [pools_table.c.corpus == corpus]
        if query_set is not None:
            conds.append(pools_table.c.query_set == query_set)
        with self.db.read() as conn:
            ids = conn.execute(
                sa.select(pools_table.c.id).where(*conds).order_by(pools_table.c.id)
            ).scalars()
            ids = list(ids)
        return [self.pool(i) for i in ids]

    def pool_provenance(self, pool_id: int) -> dict[tuple[str, str], tuple[str, ...]]:
        """(query_id, passage_id) -> rankers that found it. For analysis; never for judges."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    pool_items.c.query_id, pool_items.c.passage_id, pool_items.c.found_by
                ).where(pool_items.c.pool_id == pool_id)
            ).all()
        return {(r.query_id, r.passage_id): tuple(json.loads(r.found_by)) for r in rows}

    def pool_seed(self, pool_id: int, annotator: str, seed: int | None = None) -> int:
        """The annotator's recorded shuffle seed for a pool; records `seed` (or a random one)
        the first time. A recorded seed always wins, so the order never changes under a judge."""
        annotator = check_name(annotator, "annotator")
        ps = pool_seeds.c
        with self.db.write() as conn:
            found = conn.execute(
                sa.select(ps.seed).where(ps.pool_id == pool_id, ps.annotator == annotator)
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
            value = int(seed) if seed is not None else secrets.randbits(31)
            conn.execute(
                sa.insert(pool_seeds).values(
                    pool_id=pool_id, annotator=annotator, seed=value, created_at=time.time()
                )
            )
            return value
