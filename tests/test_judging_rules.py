"""Tests of ranklens/judging/rules.py (pure): pools, per-annotator order, grades from scores,
combining grades, reading qrels ids (looked up, never taken apart). Oracles by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ranklens.errors import InputError
from ranklens.judging import (
    PoolItem,
    build_pool,
    combine_grades,
    grades_from_scores,
    pool_order,
    pool_provenance,
    resolve_doc_id,
    round_half_up,
)

from .judging_data import DOCS, PASSAGES, hits

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_build_pool_is_the_union_of_top_depth_deduplicated():
    runs = {
        "bm25": {"q1": hits("q1", ["a#0", "b#0", "c#0"]), "q2": hits("q2", ["x#0"])},
        "dense": {"q1": hits("q1", ["b#0", "d#0", "a#0"])},
    }
    pool = build_pool(runs, depth=2)
    assert pool == [
        PoolItem("q1", "a#0", "a"),  # rank 1 in bm25
        PoolItem("q1", "b#0", "b"),  # rank 1 in dense
        PoolItem("q1", "d#0", "d"),  # rank 2 in dense; c#0 is rank 3 only
        PoolItem("q2", "x#0", "x"),
    ]
    prov = pool_provenance(runs, 2)
    assert prov[("q1", "b#0")] == ("bm25", "dense") and prov[("q1", "d#0")] == ("dense",)
    assert build_pool(runs, depth=1, query_ids=["q2", "q1"])[0].query_id == "q2"
    with pytest.raises(InputError):
        build_pool(runs, depth=0)


def test_pool_order_is_a_per_annotator_shuffle_within_each_query():
    pool = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(12)] + [
        PoolItem("q2", f"e{i}#0", f"e{i}") for i in range(12)
    ]
    a1, a2 = pool_order(pool, "alice", 7), pool_order(pool, "alice", 7)
    b = pool_order(pool, "bob", 7)
    assert a1 == a2  # reproducible from the recorded seed
    assert sorted(a1) == sorted(pool) and a1 != pool and a1 != b
    assert [it.query_id for it in a1] == ["q1"] * 12 + ["q2"] * 12  # queries stay together


def test_grades_from_scores_by_thresholds():
    assert grades_from_scores([-3.0, 0.2, 0.49, 0.5, 0.8, 9.0], [0.2, 0.5, 0.8]) == [
        0,
        1,
        1,
        2,
        3,
        3,
    ]
    for bad in ([], [0.5, 0.5], [0.8, 0.2], [float("nan")]):
        with pytest.raises(InputError):
            grades_from_scores([0.1], bad)


def test_combination_rules_by_hand():
    assert combine_grades([2, 2, 3]) == 2  # majority
    assert combine_grades([1, 2]) == 2  # tie -> mean 1.5 rounded half up
    assert combine_grades([0, 1, 1, 3]) == 1
    assert combine_grades([0, 0, 3, 3]) == 2  # tie -> mean 1.5 -> 2
    assert combine_grades([0, 1, 3], "mean") == 1  # 4/3
    assert combine_grades([1, 2, 2, 3], "mean") == 2
    assert combine_grades([0, 3, 3], "mean") == 2
    assert combine_grades([0, 1, 3], "max") == 3 and combine_grades([0, 1, 3], "min") == 0
    assert round_half_up(2.5) == 3 and round_half_up(0.5) == 1 and round_half_up(1.49) == 1
    with pytest.raises(InputError):
        combine_grades([1], "median")


def test_resolve_doc_id_looks_ids_up_and_never_takes_them_apart():
    assert resolve_doc_id("d1", DOCS, PASSAGES) == ("d1", "", True)
    assert resolve_doc_id("d1#1", DOCS, PASSAGES) == ("d1", "d1#1", True)
    assert resolve_doc_id("x#7", DOCS, PASSAGES) == ("x#7", "", True)  # a doc id with '#'
    assert resolve_doc_id("report#2", DOCS, PASSAGES) == ("report#2", "", True)
    assert resolve_doc_id("report#2#0", DOCS, PASSAGES) == ("report#2", "report#2#0", True)
    assert resolve_doc_id("memo-3", DOCS, PASSAGES) == ("d3", "memo-3", True)
    assert resolve_doc_id("d1#9", DOCS, PASSAGES) == ("d1#9", "", False)
    assert resolve_doc_id("zz", DOCS, PASSAGES) == ("zz", "", False)
    assert resolve_doc_id("zz#2", None) == ("zz#2", "", True)  # no corpus: a document id
