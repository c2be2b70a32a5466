"""Fusion tuning: the grid, z-score fusion by hand, a planted best weighting found, held-out
scores computed only on queries left out of each choice, the same numbers as the recipe, the CLI.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ranklens.cli import main
from ranklens.corpus import ingest
from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import tune
from ranklens.ranking import composites, rankers
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Hit, Qrel, Query

from .conftest import write_topics

# ---------------------------------------------------------------- the grid and z-scores


def test_weight_grid_sums_to_one():
    two = tune.weight_grid(2)
    assert len(two) == 11 and two[0] == (1.0, 0.0) and two[-1] == (0.0, 1.0)
    assert (0.7, 0.3) in two
    three = tune.weight_grid(3)
    assert len(three) == 66 and len(set(three)) == 66
    assert all(math.isclose(sum(w), 1.0) for w in three)
    with pytest.raises(RankLensError, match="at least two"):
        tune.weight_grid(1)
    with pytest.raises(RankLensError, match="must divide 1"):
        tune.weight_grid(2, 0.3)


def test_candidates_cover_rrf_ks_and_both_norms():
    grid = tune.candidates(["A", "B"])
    recipes = [c.recipe for c in grid]
    assert recipes[:6] == [
        "rrf(A,B,k=1)",
        "rrf(A,B,k=5)",
        "rrf(A,B,k=10)",
        "rrf(A,B,k=20)",
        "rrf(A,B)",
        "rrf(A,B,k=100)",
    ]
    assert len(recipes) == 6 + 11 * 2 == len(set(recipes))
    assert "wsum(A:0.3,B:0.7)" in recipes and "wsum(A:0.3,B:0.7,norm=z)" in recipes


def test_zscore_wsum_by_hand():
    assert composites.zscore([1.0, 2.0, 3.0]) == pytest.approx([-1.224744871, 0.0, 1.224744871])
    assert composites.zscore([4.0, 4.0]) == [0.0, 0.0]
    # list A: a=3, b=1 -> z = +1, -1; list B: b=2, c=0 -> z = +1, -1; c is missing from A and a
    # from B, so each gets that list's lowest z (-1): a = .5*1 + .5*-1 = 0, b = .5*-1 + .5*1 = 0,
    # c = .5*-1 + .5*-1 = -1
    scores = composites.wsum_scores(
        [[("a", 3.0), ("b", 1.0)], [("b", 2.0), ("c", 0.0)]], [0.5, 0.5], "z"
    )
    assert scores == pytest.approx({"a": 0.0, "b": 0.0, "c": -1.0})
    # min-max unchanged: a missing item gets 0
    mm = composites.wsum_scores([[("a", 3.0), ("b", 1.0)], [("b", 2.0), ("c", 0.0)]], [0.5, 0.5])
    assert mm == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})


def test_fold_assignment_is_seeded_and_balanced():
    ids = [f"q{i}" for i in range(23)]
    a, b = tune.fold_of(ids, 5, seed=3), tune.fold_of(ids, 5, seed=3)
    assert a == b and set(a) == set(ids)
    sizes = np.bincount(list(a.values()))
    assert sizes.max() - sizes.min() <= 1 and len(sizes) == 5
    assert tune.fold_of(ids, 5, seed=4) != a
    with pytest.raises(RankLensError, match="folds must be from 2"):
        tune.fold_of(ids[:3], 5)


# ---------------------------------------------------------------- planted runs

# L-type query: A ranks rel first (1.0) above cmp (6/13), B ranks cmp first (1.0), rel last (0).
# Under min-max, rel = wA and cmp = wA * 6/13 + (1 - wA): rel wins iff wA > 13/20 = 0.65.
# U-type query: A ranks cmp (1.0) above rel (2/3), B ranks rel first: rel wins iff wA < 0.75.
# H-type (like L, cmp at 14/17 in A): rel wins iff wA > 0.85.
# So on L and U queries together only wsum(A:0.7,B:0.3) puts every relevant document first.
CMP_IN_A = {"L": 6 / 13, "H": 14 / 17}


def _hits(qid: str, scored: list[tuple[str, float]]) -> list[Hit]:
    scored = sorted(scored, key=lambda t: -t[1])
    return [Hit(qid, f"{d}#0", d, s, i) for i, (d, s) in enumerate(scored, 1)]


def planted(types: dict[str, str]) -> tuple[dict, list[Query], list[Qrel]]:
    a, b, queries, qrels = {}, {}, [], []
    for q, kind in types.items():
        rel, cmp = f"{q}-rel", f"{q}-cmp"
        fillers = [(f"{q}-fa{j}", 0.0) for j in range(3)]
        if kind in CMP_IN_A:
            a[q] = _hits(q, [(rel, 1.0), (cmp, CMP_IN_A[kind]), *fillers])
            b[q] = _hits(q, [(cmp, 1.0), (f"{q}-fb", 0.5), (rel, 0.0)])
        else:
            a[q] = _hits(q, [(cmp, 1.0), (rel, 2 / 3), *fillers])
            b[q] = _hits(q, [(rel, 1.0), (f"{q}-fb", 0.5), (cmp, 0.0)])
        queries.append(Query(q, "planted"))
        qrels.append(Qrel(q, rel, 1))
    return {"A": a, "B": b}, queries, qrels


SECOND = 1 / math.log2(3)  # nDCG@10 with the one relevant document at rank 2


def test_tune_finds_the_planted_weighting():
    runs, queries, qrels = planted({f"q{i:02d}": "LU"[i % 2] for i in range(40)})
    result = tune.tune_runs(runs, queries, qrels, "nDCG@10", folds=5, seed=1)
    assert [f.recipe for f in result.folds] == ["wsum(A:0.7,B:0.3)"] * 5
    assert result.chosen == "wsum(A:0.7,B:0.3)"
    assert result.heldout_mean == pytest.approx(1.0)
    grid = result.grid.set_index("recipe")["mean"]
    minmax = {r: v for r, v in grid.items() if r.startswith("wsum") and "norm" not in r}
    assert [r for r, v in minmax.items() if v == pytest.approx(1.0)] == ["wsum(A:0.7,B:0.3)"]
    # every input alone and every rrf put half of the relevant documents second
    cmp = result.comparisons.set_index("baseline")
    assert list(cmp.index) == ["A", "B", "rrf(A,B)"]
    assert cmp.loc["A", "mean"] == pytest.approx((1 + SECOND) / 2)
    assert cmp.loc["rrf(A,B)", "mean"] == pytest.approx((1 + SECOND) / 2)
    assert all(v < 1 for r, v in grid.items() if r.startswith("rrf"))
    assert cmp["significant"].all() and (cmp["p_holm"] >= cmp["p"]).all()
    assert (cmp["diff"] > 0).all() and (cmp["diff_low"] > 0).all()
    data = json.loads(json.dumps(result.as_dict()))
    assert data["chosen"] == "wsum(A:0.7,B:0.3)" and len(data["folds"]) == 5


def test_heldout_scores_only_queries_left_out_of_the_choice():
    ids = [f"q{i:02d}" for i in range(40)]
    fold = tune.fold_of(ids, 2, seed=0)
    # fold 0's queries are H-type (best at wA >= 0.9), fold 1's alternate L and U (best at 0.7)
    types = {}
    for i, q in enumerate(ids):
        types[q] = "H" if fold[q] == 0 else "LU"[i % 2]
    runs, queries, qrels = planted(types)
    result = tune.tune_runs(runs, queries, qrels, "nDCG@10", folds=2, seed=0)
    f0, f1 = result.folds
    assert set(f0.test_queries) == {q for q in ids if fold[q] == 0}
    assert not set(f0.test_queries) & set(f0.train_queries)
    assert set(f0.test_queries) | set(f0.train_queries) == set(ids)
    # fold 0 is chosen on fold 1 alone: 0.7, although 0.9 or 1 would have been perfect on it
    assert f0.recipe == "wsum(A:0.7,B:0.3)"
    assert f0.test_mean == pytest.approx(SECOND)
    assert result.heldout[f0.test_queries].to_numpy() == pytest.approx([SECOND] * 20)
    # with every query in view the choice is another one: had fold 0 seen its own queries, it
    # would not have chosen 0.7
    assert result.chosen != f0.recipe
    assert result.grid.set_index("recipe").loc[result.chosen, "mean"] > result.chosen_mean - 1e-12
    # fold 1 is chosen on the H queries: a weight of A above 0.85, which fails the U queries
    w_a = float(f1.recipe.split("A:")[1].split(",")[0])
    assert w_a > 0.85 and f1.test_mean < 1
    assert result.heldout_mean == pytest.approx((f0.test_mean * 20 + f1.test_mean * 20) / 40)


def test_cross_validate_never_looks_at_the_fold_it_scores():
    # c1 is perfect on fold 0's queries and useless elsewhere; c0 is steady: fold 0 must pick c0
    values = pd.DataFrame(
        {"c0": [0.4] * 6, "c1": [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]},
        index=[f"q{i}" for i in range(6)],
    )
    fold = {"q0": 0, "q1": 0, "q2": 1, "q3": 1, "q4": 2, "q5": 2}
    cv = tune.cross_validate(values, fold)
    assert [f.recipe for f in cv.folds] == ["c0", "c1", "c1"]
    # folds 1 and 2 see q0 and q1 in training, where c1 shines (mean 0.5 > 0.4)
    assert cv.heldout.tolist() == [0.4, 0.4, 0.0, 0.0, 0.0, 0.0]
    assert cv.folds[0].train_mean == pytest.approx(0.4)
    assert cv.folds[1].train_mean == pytest.approx(0.5)
    assert cv.chosen_by.tolist() == ["c0", "c0", "c1", "c1", "c1", "c1"]
    with pytest.raises(RankLensError, match="without a fold"):
        tune.cross_validate(values, {"q0": 0})


def test_bad_input_is_refused():
    runs, queries, qrels = planted({f"q{i}": "LU"[i % 2] for i in range(4)})
    with pytest.raises(RankLensError, match="too few for 5 folds"):
        tune.tune_runs(runs, queries, qrels, folds=5)
    with pytest.raises(RankLensError, match="at least two"):
        tune.tune_runs({"A": runs["A"]}, queries, qrels, folds=2)
    with pytest.raises(RankLensError, match="norm must be"):
        tune.tune_runs(runs, queries, qrels, folds=2, norms=("l2",))


# ---------------------------------------------------------------- on a real corpus

QUERIES = [
    ("q1", "python list append sort"),
    ("q2", "memory safety ownership borrowing"),
    ("q3", "green tea temperature"),
    ("q4", "moon orbit tides"),
    ("q5", "bread yeast"),
]
QRELS = [("q1", "py", 2), ("q2", "rust", 3), ("q3", "tea", 1), ("q4", "moon", 2), ("q5", "tea", 1)]


@pytest.fixture
def tiny(home, small_jsonl, fake_encoder, tmp_path):
    corpus = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    return (corpus, *write_topics(tmp_path, QUERIES, QRELS))


def test_grid_points_score_as_their_recipes_do(tiny, fake_encoder):
    corpus, _, _ = tiny
    queries = [Query(q, t) for q, t in QUERIES]
    qrels = [Qrel(q, d, g) for q, d, g in QRELS]
    result = tune.tune(corpus, ["bm25", fake_encoder.name], queries, qrels, "nDCG@10", folds=2)
    recipes = [
        result.chosen,
        f"wsum(bm25:0.3,{fake_encoder.name}:0.7,norm=z)",
        f"rrf(bm25,{fake_encoder.name},k=5)",
    ]
    made = make_rankers(recipes, corpus)
    assert [r.name for r in made] == recipes  # every grid point is a recipe Search can use
    ranked = rankers.rank_all(
        made, queries, 100, level="doc", passages_per_doc=rankers.passages_per_doc(corpus)
    )
    means = ev.mean_scores(ev.evaluate_runs(ranked.runs, qrels, ["nDCG@10"], "doc"))
    grid = result.grid.set_index("recipe")["mean"]
    for recipe in recipes:
        assert grid[recipe] == pytest.approx(means[recipe]["nDCG@10"])
    assert result.chosen_mean == pytest.approx(grid.max())


def test_cli_tune_json_and_text(tiny, capsys, fake_encoder):
    _, queries, qrels = tiny
    argv = ["tune", "--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels)]
    argv += ["--rankers", "bm25", fake_encoder.name, "--folds", "2"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_queries"] == 5 and len(data["folds"]) == 2
    assert [c["baseline"] for c in data["comparisons"]] == [
        "bm25",
        fake_encoder.name,
        f"rrf(bm25,{fake_encoder.name})",
    ]
    assert data["chosen"] in {g["recipe"] for g in data["grid"]}
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "chosen overall" in out and "held-out nDCG@10" in out and "Holm-adjusted p=" in out
    assert main([*argv[:-2], "--folds", "9"]) == 2
    assert "too few for 9 folds" in capsys.readouterr().err


def test_three_inputs_sweep_the_simplex():
    runs, queries, qrels = planted({f"q{i:02d}": "LU"[i % 2] for i in range(20)})
    noise = {q: list(reversed(hits)) for q, hits in runs["B"].items()}
    noise = {
        q: [h._replace(rank=i, score=-float(i)) for i, h in enumerate(hits, 1)]
        for q, hits in noise.items()
    }
    result = tune.tune_runs({**runs, "C": noise}, queries, qrels, folds=4)
    assert len(result.grid) == 6 + 66 * 2
    assert result.chosen == "wsum(A:0.7,B:0.3,C:0)"  # the noise gets no weight
    assert result.heldout_mean == pytest.approx(1.0)
    assert list(result.comparisons["baseline"]) == ["A", "B", "C", "rrf(A,B,C)"]
