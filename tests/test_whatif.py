"""What if one label changed: the values equal a fresh evaluate_runs with that label changed."""

from __future__ import annotations

import math

import pytest

from ranklens.errors import RankLensError
from ranklens.evaluation.measures import evaluate_runs
from ranklens.teaching import whatif
from ranklens.types import Hit, Qrel


def _run(order: dict[str, list[str]]) -> dict:
    return {
        q: [Hit(q, f"{d}#0", d, 10.0 - i, i + 1) for i, d in enumerate(docs)]
        for q, docs in order.items()
    }


RUNS = {
    "a": _run({"q1": ["d1", "d2", "d3", "d4"], "q2": ["d5", "d6", "d7"], "q3": ["d8", "d9"]}),
    "b": _run({"q1": ["d3", "d1", "d9", "d2"], "q2": ["d7", "d5"], "q3": ["d9", "d8"]}),
}
QRELS = [Qrel("q1", "d2", 3), Qrel("q1", "d4", 1), Qrel("q2", "d7", 2)]
MEASURES = ["nDCG@10", "AP", "RR", "P@3"]


def _expected(qrels: list[Qrel], ranker: str, measure: str, query: str):
    df = evaluate_runs(RUNS, qrels, MEASURES)
    sub = df[(df["ranker"] == ranker) & (df["measure"] == measure)]
    one = sub[sub["query_id"] == query]["value"]
    return (float(one.iloc[0]) if len(one) else None), float(sub["value"].mean()), len(sub)


@pytest.mark.parametrize(
    ("query", "doc", "grade", "after"),
    [
        # a grade changes
        ("q1", "d2", 1, [Qrel("q1", "d2", 1), Qrel("q1", "d4", 1), Qrel("q2", "d7", 2)]),
        # an unjudged document gets a label
        ("q1", "d3", 2, QRELS + [Qrel("q1", "d3", 2)]),
        # a label goes: the query keeps its other one
        ("q1", "d4", None, [Qrel("q1", "d2", 3), Qrel("q2", "d7", 2)]),
        # the query's only label goes: it leaves the set
        ("q2", "d7", None, [Qrel("q1", "d2", 3), Qrel("q1", "d4", 1)]),
        # a query without labels gets one: it joins the set
        ("q3", "d9", 3, QRELS + [Qrel("q3", "d9", 3)]),
        # a relevant label turned to 0: judged, not relevant
        ("q2", "d7", 0, [Qrel("q1", "d2", 3), Qrel("q1", "d4", 1), Qrel("q2", "d7", 0)]),
    ],
)
def test_what_if_equals_evaluate_with_the_changed_label(query, doc, grade, after):
    table = whatif.what_if(RUNS, QRELS, query, doc, grade, MEASURES)
    assert sorted(whatif.changed_qrels(QRELS, query, doc, grade)) == sorted(after)
    assert len(table) == len(RUNS) * len(MEASURES)
    for row in table.to_dict("records"):
        before_q, before_mean, before_n = _expected(QRELS, row["ranker"], row["measure"], query)
        after_q, after_mean, after_n = _expected(after, row["ranker"], row["measure"], query)
        assert row["query before"] == before_q or math.isclose(row["query before"], before_q)
        assert (row["query after"] is None) == (after_q is None)
        if after_q is not None:
            assert math.isclose(row["query after"], after_q)
        assert math.isclose(row["mean before"], before_mean)
        assert math.isclose(row["mean after"], after_mean)
        assert (row["queries before"], row["queries after"]) == (before_n, after_n)
        assert math.isclose(row["change"], after_mean - before_mean, abs_tol=1e-12)


def test_a_given_evaluation_is_reused_and_nothing_is_saved():
    before = evaluate_runs(RUNS, QRELS, MEASURES)
    snapshot = list(QRELS)
    table = whatif.what_if(RUNS, QRELS, "q1", "d1", 3, MEASURES, before=before)
    assert QRELS == snapshot
    row = table[(table["ranker"] == "a") & (table["measure"] == "RR")].iloc[0]
    assert row["query before"] == 0.5 and row["query after"] == 1.0


def test_removing_a_label_no_query_has_is_refused():
    with pytest.raises(RankLensError, match="no labels"):
        whatif.what_if(RUNS, QRELS, "q3", "d8", None)
