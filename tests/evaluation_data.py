"""Data the evaluation tests share: runs built from (id, score) lists, and a tiny per-query table
of three rankers on two queries and two measures (values written out beside it)."""

from __future__ import annotations

import pandas as pd

from ranklens.evaluation import measures as ev
from ranklens.types import Hit


def make_run(ranked: dict[str, list[tuple[str, float]]], passages: bool = False) -> dict:
    """A Run from {qid: [(id, score), ...]} in display order. ``passages``: id is "doc#n"."""
    run = {}
    for qid, items in ranked.items():
        hits = []
        for rank, (pid, score) in enumerate(items, 1):
            doc = pid.rpartition("#")[0] if passages else pid
            hits.append(Hit(qid, pid if passages else f"{pid}#0", doc, float(score), rank))
        run[qid] = hits
    return run


def tiny_table():
    # query  measure  A    B    C
    #   1      m     0.5  0.5  0.1
    #   2      m     0.2  0.9  0.4
    #   1      k     1.0  0.0  0.0
    #   2      k     0.3  0.2  0.1
    rows = []
    vals = {
        ("1", "m"): (0.5, 0.5, 0.1),
        ("2", "m"): (0.2, 0.9, 0.4),
        ("1", "k"): (1.0, 0.0, 0.0),
        ("2", "k"): (0.3, 0.2, 0.1),
    }
    for r_i, r in enumerate("ABC"):
        for (q, m), v in vals.items():
            rows.append((r, q, m, v[r_i]))
    return pd.DataFrame(rows, columns=ev.COLUMNS)
