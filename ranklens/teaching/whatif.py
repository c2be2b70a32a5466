"""What if one label were different: each ranker's measures on that query and over the set,
before and after, without saving anything. Only the changed query is evaluated again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ranklens.errors import RankLensError
from ranklens.evaluation.measures import evaluate_runs, parse_measures, qrels_dict
from ranklens.types import Qrel, Run

MEASURES = ("nDCG@10", "AP", "RR", "P@10")
REMOVE = None  # the grade that makes a document unjudged again


def changed_qrels(
    qrels: Sequence[Qrel], query_id: str, doc_id: str, grade: int | None
) -> list[Qrel]:
    """The labels with one changed: (query, doc) gets `grade`, or loses its label when None."""
    out = [q for q in qrels if not (q.query_id == query_id and q.doc_id == doc_id)]
    if grade is not None:
        out.append(Qrel(query_id, doc_id, int(grade)))
    return out


def what_if(
    runs: Mapping[str, Run],
    qrels: Sequence[Qrel],
    query_id: str,
    doc_id: str,
    grade: int | None,
    measures: Sequence[str] = MEASURES,
    level: str = "doc",
    before: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per ranker x measure: the query's value and the set's mean, before and after.

    before: evaluate_runs(runs, qrels, measures, level) when already at hand (the page keeps
    it); only the changed query is evaluated again, and the means are updated from it. A query
    that loses its last label leaves the set (it is no longer evaluated); one that gains its
    first label joins it. Equal to evaluate_runs with changed_qrels (tests check it).
    """
    names = [s.name for s in parse_measures(list(measures))]
    if before is None:
        before = evaluate_runs(runs, qrels, names, level)
    after_labels = changed_qrels(qrels, query_id, doc_id, grade)
    mine = [q for q in after_labels if q.query_id == query_id]
    if not mine and query_id not in qrels_dict(qrels):
        raise RankLensError(f"query {query_id!r} has no labels to change")
    after_one = evaluate_runs(runs, mine, names, level) if mine else before.iloc[0:0]
    rows = []
    for ranker in runs:
        for m in names:
            b = before[(before["ranker"] == ranker) & (before["measure"] == m)]
            values = dict(zip(b["query_id"], b["value"], strict=True))
            q_before = values.get(query_id)
            a = after_one[(after_one["ranker"] == ranker) & (after_one["measure"] == m)]
            q_after = float(a["value"].iloc[0]) if len(a) else None
            new = dict(values)
            new.pop(query_id, None)
            if q_after is not None:
                new[query_id] = q_after
            rows.append(
                {
                    "ranker": ranker,
                    "measure": m,
                    "query before": q_before,
                    "query after": q_after,
                    "mean before": sum(values.values()) / len(values) if values else None,
                    "mean after": sum(new.values()) / len(new) if new else None,
                    "queries before": len(values),
                    "queries after": len(new),
                }
            )
    out = pd.DataFrame(rows)
    out["change"] = out["mean after"] - out["mean before"]
    return out
