"""Side-by-side comparison: Jaccard, RBO and tau-AP against hand-computed values, disagreement
order, overlap matrices, rank changes (by passage and by document) and cut-off counts."""

from __future__ import annotations

import pytest

from ranklens.ranking import compare
from ranklens.types import Hit


def test_jaccard():
    assert compare.jaccard(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert compare.jaccard(["a", "b", "c"], ["b", "c", "d"], k=1) == 0.0
    assert compare.jaccard([], []) == 1.0


def test_rbo_by_hand():
    assert compare.rbo(list("abc"), list("abc")) == pytest.approx(1.0)
    assert compare.rbo(list("abc"), list("xyz")) == 0.0
    # X1=0, X2=2: (1/9)(2/2 * .81) + (2/2) * .81
    assert compare.rbo(["a", "b"], ["b", "a"]) == pytest.approx(0.09 + 0.81)
    # X1=1, X2=1, X3=3: (1/9)(.9 + .405 + .729) + .729
    assert compare.rbo(list("abc"), list("acb")) == pytest.approx(2.034 / 9 + 0.729)
    # uneven lengths (s=1, l=2): S=[b], L=[a, b]: X1=0, X2=1 -> (1/9)(.405) + (1/2) * .81
    assert compare.rbo(["b"], ["a", "b"]) == pytest.approx(0.045 + 0.405)
    assert compare.rbo(["a", "b"], ["b"]) == pytest.approx(0.45)
    # a prefix agrees fully under extrapolation
    assert compare.rbo(["a"], ["a", "b"]) == pytest.approx(1.0)
    assert compare.rbo([], ["a"]) == 0.0 and compare.rbo([], []) == 1.0
    with pytest.raises(ValueError):
        compare.rbo(["a"], ["a"], p=1.0)


def test_tau_ap_by_hand():
    truth = list("abc")
    assert compare.tau_ap(list("abc"), truth) == pytest.approx(1.0)
    assert compare.tau_ap(list("cba"), truth) == pytest.approx(-1.0)
    # i=2: c has a above, right (1/1); i=3: b has a, c above, a right (1/2): 2/2 * 1.5 - 1
    assert compare.tau_ap(list("acb"), truth) == pytest.approx(0.5)
    # a swap at the top costs more than one at the bottom (Kendall's tau would say 1/3 both)
    assert compare.tau_ap(list("bac"), truth) == pytest.approx(0.0)
    # only shared items count; fewer than two shared: undefined
    assert compare.tau_ap(list("axcb"), list("abcy")) == pytest.approx(0.5)
    assert compare.tau_ap(list("ab"), list("cd")) is None
    assert compare.tau_ap_symmetric(list("acb"), truth) == pytest.approx(
        (compare.tau_ap(list("acb"), truth) + compare.tau_ap(truth, list("acb"))) / 2
    )


def test_disagreement_orders_queries():
    run_a = {
        "same": [Hit("same", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "swap": [Hit("swap", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "none": [Hit("none", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
    }
    run_b = {
        "same": [Hit("same", p, p, 1.0, i) for i, p in enumerate("abc", 1)],
        "swap": [Hit("swap", p, p, 1.0, i) for i, p in enumerate("bac", 1)],
        "none": [Hit("none", p, p, 1.0, i) for i, p in enumerate("xyz", 1)],
    }
    for measure in compare.DISAGREEMENT_MEASURES:
        order = compare.disagreement_by_query(run_a, run_b, 3, measure)
        assert [q for q, _ in order] == ["none", "swap", "same"]
        assert order[0][1] == pytest.approx(1.0) and order[-1][1] == pytest.approx(0.0)
    assert dict(compare.disagreement_by_query(run_a, run_b, 3, "tau_ap"))["swap"] == 0.5
    with pytest.raises(ValueError):
        compare.disagreement(["a"], ["a"], "kendall")


def test_overlap_matrix_rank_changes_and_thresholds():
    lists = {
        "A": [
            Hit("q", p, p, s, i) for i, (p, s) in enumerate([("a", 3.0), ("b", 2.0), ("c", 1.0)], 1)
        ],
        "B": [Hit("q", p, p, s, i) for i, (p, s) in enumerate([("c", 0.9), ("a", 0.5)], 1)],
    }
    names, m = compare.overlap_matrix(lists, 3, "jaccard")
    assert names == ["A", "B"] and m.tolist() == [[1.0, 2 / 3], [2 / 3, 1.0]]
    _, m = compare.overlap_matrix(lists, 3, "rbo")
    assert m[0, 1] == pytest.approx(compare.rbo(list("abc"), list("ca")))
    changes = compare.rank_changes(lists)
    assert changes["A"] == {"a": {"B": 2}, "b": {}, "c": {"B": 1}}
    assert changes["B"] == {"c": {"A": 3}, "a": {"A": 1}}
    assert compare.count_at_or_above(lists["A"], 2.0) == 2
    assert compare.count_at_or_above(lists["B"], 1.0) == 0


def test_rank_changes_and_overlap_keyed_by_document():
    a = [
        Hit("q", "d1#0", "d1", 3.0, 1),
        Hit("q", "d2#0", "d2", 2.0, 2),
        Hit("q", "d3#1", "d3", 1.0, 3),
    ]
    b = [
        Hit("q", "d2#4", "d2", 0.9, 1),
        Hit("q", "d1#2", "d1", 0.8, 2),
        Hit("q", "d1#0", "d1", 0.1, 3),
    ]
    lists = {"A": a, "B": b}
    assert compare.rank_changes(lists)["A"] == {"d1#0": {"B": 3}, "d2#0": {}, "d3#1": {}}
    by_doc = compare.rank_changes(lists, compare.doc_key)
    assert by_doc["A"] == {"d1": {"B": 2}, "d2": {"B": 1}, "d3": {}}  # best rank of d1 in B
    assert by_doc["B"] == {"d2": {"A": 2}, "d1": {"A": 1}}
    assert compare.ids_of(b, key=compare.doc_key) == ["d2", "d1"]  # once, first
    _, m = compare.overlap_matrix(lists, 3, "jaccard", compare.doc_key)
    assert m[0, 1] == pytest.approx(2 / 3)  # {d1,d2,d3} vs {d2,d1}
    _, m = compare.overlap_matrix(lists, 3, "jaccard")
    assert m[0, 1] == pytest.approx(1 / 5)  # only d1#0 shared among 5 passages
    order = compare.disagreement_by_query(
        {"q": a[:2]}, {"q": b[:2][::-1]}, 2, "rbo", compare.doc_key
    )
    assert order == [("q", pytest.approx(0.0))]


def test_most_different_is_similarities_least_alike_first_with_ties_broken():
    def run(order):
        return [Hit("q", p, p, 1.0 / (i + 1), i + 1) for i, p in enumerate(order)]

    run_a = {"same": run("abc"), "swap": run("abc"), "none1": run("abc"), "none2": run("abc")}
    run_b = {"same": run("abc"), "swap": run("bac"), "none1": run("xyz"), "none2": run("xya")}
    table = compare.most_different(run_a, run_b, 3, "rbo")
    assert list(table.columns) == ["query_id", "rbo", "tau_ap", "jaccard"]
    assert table.set_index("query_id").loc["same", "rbo"] == pytest.approx(1.0)
    # none1 shares nothing, none2 shares "a" (at rank 3): the order runs up from RBO 0
    assert list(table["query_id"]) == ["none1", "none2", "swap", "same"]
    assert table["rbo"].is_monotonic_increasing
    # a tie on the first measure is broken by the second (tau-AP), then Jaccard
    # the shared items keep their order in both (tau-AP 1 = a tie), RBO breaks the tie
    tie_a = {"a-same": run("abcd"), "b-other": run("abcd")}
    tie_b = {"a-same": run("abcd"), "b-other": run("abce")}
    tied = compare.most_different(tie_a, tie_b, 4, "tau_ap")
    assert list(tied["tau_ap"]) == pytest.approx([1.0, 1.0])
    assert list(tied["query_id"]) == ["b-other", "a-same"]
    with pytest.raises(ValueError):
        compare.most_different(run_a, run_b, 3, "jaccard")
