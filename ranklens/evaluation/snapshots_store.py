"""Snapshots as stored: one evaluation kept in the judgment store (so a team sees the same ones):
save, list, load, delete; the Snapshot record and how its values and runs are packed.

Tables `snapshots` and `snapshot_runs` are declared in ranklens.schema; runs are kept as
zlib-compressed JSON. Making a snapshot, comparing snapshots and exporting them live in
ranklens.evaluation.snapshots.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ranklens.errors import InputError, NotFoundError
from ranklens.evaluation.measures import COLUMNS, nested_per_query
from ranklens.judging.rules import check_name as _check_name
from ranklens.schema import Database, insert_row, snapshot_runs, snapshots_table
from ranklens.types import Hit, Run


def check_name(name: str, what: str = "snapshot") -> str:
    """A snapshot's name stripped, or InputError when empty or longer than 200 characters."""
    return _check_name(name, what)


def _pack(data: object) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


@dataclass
class Snapshot:
    """One stored evaluation."""

    corpus: str
    name: str
    query_set: str
    created_at: float
    labels_hash: str
    labels_count: int
    corpus_fingerprint: str
    manifest: dict[str, Any]  # rankers, models, measures, means, settings, level, format
    per_query: pd.DataFrame  # ranker, query_id, measure, value
    runs: dict[str, Run] = field(default_factory=dict)
    id: int | None = None

    @property
    def rankers(self) -> list[str]:
        return list(self.manifest.get("rankers", []))

    @property
    def measures(self) -> list[str]:
        return list(self.manifest.get("measures", []))

    @property
    def level(self) -> str:
        return str(self.manifest.get("level", "doc"))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "corpus": self.corpus,
            "query_set": self.query_set,
            "created_at": self.created_at,
            "rankers": self.rankers,
            "measures": self.measures,
            "means": self.manifest.get("means", {}),
            "labels": {"count": self.labels_count, "sha256": self.labels_hash},
            "corpus_fingerprint": self.corpus_fingerprint,
        }


def _flat(nested: Mapping[str, Mapping[str, Mapping[str, float]]]) -> pd.DataFrame:
    rows = [
        (r, q, m, float(v))
        for r, by_m in nested.items()
        for m, by_q in by_m.items()
        for q, v in by_q.items()
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


RUN_FILES = "(run files)"  # the corpus column of snapshots of run files (no corpus)


def name_taken(corpus: str, name: str, how: str = "replace it") -> InputError:
    """The error for a snapshot name already used: the one wording, from here alone."""
    whose = (
        "a snapshot of run files is already named"
        if corpus == RUN_FILES
        else f"corpus {corpus!r} already has a snapshot named"
    )
    return InputError(None, f"{whose} {name!r}: choose another name, or {how}")


def check_free(
    store: Database, corpus: str, name: str, replace: bool = False, how: str = "replace it"
) -> str:
    """The snapshot name, checked (check_name), refused when the corpus already has a snapshot so
    named, unless `replace`: asked before any ranking, so that nothing runs in vain."""
    name = check_name(name, "snapshot")
    if not replace and any(r["name"] == name for r in list_snapshots(store, corpus)):
        raise name_taken(corpus, name, how)
    return name


def save(store: Database, snap: Snapshot, replace: bool = False) -> Snapshot:
    """Store a snapshot under (corpus, name); an existing one is refused unless `replace`."""
    t = snapshots_table.c
    with store.write() as conn:
        old = conn.execute(
            sa.select(t.id).where(t.corpus == snap.corpus, t.name == snap.name)
        ).first()
        if old is not None:
            if not replace:
                raise name_taken(snap.corpus, snap.name)
            conn.execute(sa.delete(snapshot_runs).where(snapshot_runs.c.snapshot_id == old.id))
            conn.execute(sa.delete(snapshots_table).where(t.id == old.id))
        sid = insert_row(
            conn,
            snapshots_table,
            corpus=snap.corpus,
            name=snap.name,
            query_set=snap.query_set,
            created_at=snap.created_at,
            labels_hash=snap.labels_hash,
            labels_count=snap.labels_count,
            corpus_fingerprint=snap.corpus_fingerprint,
            manifest=json.dumps(snap.manifest, ensure_ascii=False, sort_keys=True),
            per_query=_pack(nested_per_query(snap.per_query)),
        )
        for pos, (ranker, run) in enumerate(snap.runs.items()):
            packed = {
                q: [[h.passage_id, h.doc_id, h.score] for h in hits] for q, hits in run.items()
            }
            conn.execute(
                sa.insert(snapshot_runs).values(
                    snapshot_id=sid, position=pos, ranker=ranker, run=_pack(packed)
                )
            )
    snap.id = int(sid)
    return snap


def _from_row(row, runs: dict[str, Run]) -> Snapshot:
    return Snapshot(
        corpus=row.corpus,
        name=row.name,
        query_set=row.query_set,
        created_at=float(row.created_at),
        labels_hash=row.labels_hash,
        labels_count=int(row.labels_count),
        corpus_fingerprint=row.corpus_fingerprint,
        manifest=json.loads(row.manifest),
        per_query=_flat(_unpack(row.per_query)),
        runs=runs,
        id=int(row.id),
    )


def list_snapshots(store: Database, corpus: str | None = None) -> list[dict[str, Any]]:
    """Every snapshot (of one corpus), oldest first, without runs or per-query values."""
    t = snapshots_table.c
    query = sa.select(
        t.id, t.corpus, t.name, t.query_set, t.created_at, t.labels_count, t.manifest
    ).order_by(t.created_at, t.id)
    if corpus is not None:
        query = query.where(t.corpus == corpus)
    with store.read() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        m = json.loads(r.manifest)
        out.append(
            {
                "name": r.name,
                "corpus": r.corpus,
                "query_set": r.query_set,
                "created_at": float(r.created_at),
                "rankers": m.get("rankers", []),
                "measures": m.get("measures", []),
                "queries": m.get("queries", 0),
                "labels": int(r.labels_count),
                "level": m.get("level"),
                "k": (m.get("settings") or {}).get("k"),
                "condensed": (m.get("settings") or {}).get("condensed"),
                "rule": (m.get("settings") or {}).get("rule"),
                "label_source": (m.get("settings") or {}).get(
                    "labels", (m.get("settings") or {}).get("label_source")
                ),
            }
        )
    return out


def load(store: Database, corpus: str, name: str, with_runs: bool = True) -> Snapshot:
    """The snapshot NAME of a corpus (NotFoundError naming the ones there are)."""
    t = snapshots_table.c
    with store.read() as conn:
        row = conn.execute(
            sa.select(snapshots_table).where(t.corpus == corpus, t.name == name)
        ).first()
        if row is None:
            have = conn.execute(sa.select(t.name).where(t.corpus == corpus).order_by(t.name))
            names = ", ".join(r.name for r in have) or "none"
            raise NotFoundError(
                f"corpus {corpus!r} has no snapshot named {name!r}; its snapshots: {names}"
            )
        runs: dict[str, Run] = {}
        if with_runs:
            rr = snapshot_runs.c
            for r in conn.execute(
                sa.select(rr.ranker, rr.run).where(rr.snapshot_id == row.id).order_by(rr.position)
            ):
                runs[r.ranker] = {
                    q: [Hit(q, p, d, float(s), i) for i, (p, d, s) in enumerate(hits, 1)]
                    for q, hits in _unpack(r.run).items()
                }
    return _from_row(row, runs)


def delete(store: Database, corpus: str, name: str) -> None:
    """Remove one snapshot and its runs."""
    snap = load(store, corpus, name, with_runs=False)
    with store.write() as conn:
        conn.execute(sa.delete(snapshot_runs).where(snapshot_runs.c.snapshot_id == snap.id))
        conn.execute(sa.delete(snapshots_table).where(snapshots_table.c.id == snap.id))
