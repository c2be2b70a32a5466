"""Time and reasons per label: how long a passage was shown before its label (stored beside the
label event), median and p90 per annotator and per query, and the JSONL export of labels.

Decisions: a label's time is `label event's created_at - shown_at`, where shown_at is when the
page (or any client) first showed that passage to that annotator; it lives in the table
`label_timings`, keyed by the label's event id (the event itself is never changed). A reason
is the note of the label: typed with the label, it is stored on the label event; typed after
it, as a note event on the same passage (store.record("note", ...)), the latest note winning,
as for any note. Statistics are over current labels only (an undone label's time no longer counts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import sqlalchemy as sa

from ranklens.errors import InputError
from ranklens.schema import label_timings

if TYPE_CHECKING:
    from ranklens.judging.store import JudgmentStore


MAX_SECONDS = 24 * 3600.0  # a passage left open overnight is not a judging time


class TimeStats(NamedTuple):
    n: int
    median: float | None  # seconds
    p90: float | None


def record_time(store: JudgmentStore, event_id: int, shown_at: float) -> float:
    """Keep how long the passage was shown before label event `event_id`; returns the seconds.
    A label with a time already keeps it (the first record wins)."""
    ev = store.event(event_id)
    if ev.kind not in ("label", "cant_judge"):
        raise InputError(None, f"event {event_id} is a {ev.kind}, not a label")
    if not math.isfinite(shown_at):
        raise InputError(None, f"shown_at must be a time in seconds, got {shown_at!r}")
    seconds = ev.created_at - float(shown_at)
    if not 0.0 <= seconds <= MAX_SECONDS:
        raise InputError(
            None,
            f"event {event_id}: shown {seconds:.1f} s before its label; expected 0 to "
            f"{MAX_SECONDS:.0f} s (was shown_at taken when the passage appeared?)",
        )
    with store.write() as conn:
        exists = conn.execute(
            sa.select(label_timings.c.event_id).where(label_timings.c.event_id == event_id)
        ).first()
        if exists is None:
            conn.execute(
                sa.insert(label_timings).values(
                    event_id=event_id, corpus=ev.corpus, shown_at=float(shown_at), seconds=seconds
                )
            )
    return seconds


def times(store: JudgmentStore, corpus: str) -> dict[int, float]:
    """Seconds per label event id (every timed event of the corpus)."""
    c = label_timings.c
    with store.read() as conn:
        rows = conn.execute(sa.select(c.event_id, c.seconds).where(c.corpus == corpus)).all()
    return {int(e): float(s) for e, s in rows}


def stats(values: Iterable[float]) -> TimeStats:
    """n, median and 90th percentile (linear interpolation, as numpy's default)."""
    v = np.asarray(list(values), dtype=float)
    if not v.size:
        return TimeStats(0, None, None)
    return TimeStats(int(v.size), float(np.median(v)), float(np.quantile(v, 0.9)))


def time_stats(
    store: JudgmentStore, corpus: str, *, query_ids: Collection[str] | None = None
) -> dict[str, dict[str, TimeStats]]:
    """{"annotator": {name: stats}, "query": {query_id: stats}} over current, timed labels."""
    timed = times(store, corpus)
    by_annotator: dict[str, list[float]] = {}
    by_query: dict[str, list[float]] = {}
    for lab in store.current_labels(corpus, query_ids=query_ids):
        s = timed.get(lab.event_id)
        if s is None:
            continue
        by_annotator.setdefault(lab.annotator, []).append(s)
        by_query.setdefault(lab.query_id, []).append(s)
    return {
        "annotator": {k: stats(v) for k, v in sorted(by_annotator.items())},
        "query": {k: stats(v) for k, v in by_query.items()},
    }


def label_records(
    store: JudgmentStore, corpus: str, *, query_ids: Collection[str] | None = None
) -> list[dict]:
    """Current labels as export records: who, what, grade (None: can't judge), reason, when,
    and the seconds the passage was shown before it (None when not timed)."""
    timed = times(store, corpus)
    out = []
    for lab in store.current_labels(corpus, query_ids=query_ids):
        out.append(
            {
                "query_id": lab.query_id,
                "doc_id": lab.doc_id,
                "passage_id": lab.passage_id,
                "annotator": lab.annotator,
                "grade": lab.grade,
                "reason": lab.note,
                "source": lab.source,
                "query_set": lab.query_set,
                "labelled_at": lab.created_at,
                "seconds": timed.get(lab.event_id),
                "event_id": lab.event_id,
            }
        )
    return out


def export_jsonl(
    store: JudgmentStore,
    corpus: str,
    path: str | Path,
    *,
    query_ids: Collection[str] | None = None,
) -> int:
    """Write label_records as JSON lines; returns how many."""
    records = label_records(store, corpus, query_ids=query_ids)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    Path(path).write_text(text, encoding="utf-8")
    return len(records)
