"""Statistics: intervals, paired tests, Holm, Borda, discriminative power against hand oracles.

The hand computations stay here as the oracles; ranklens.evaluation.stats computes them through scipy.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import stats
from ranklens.types import Qrel

from .evaluation_data import make_run, tiny_table

# --------------------------------------------------------------------------------------------
# summary, tables


def test_t_interval_hand_formula():
    # mean 0.5, sd 0.3, n 3: t_{0.975, 2}: t / sqrt(t^2 + 2) = 0.95 -> t^2 = 2 * .9025 / .0975
    t2 = math.sqrt(2 * 0.9025 / 0.0975)  # 4.302652729...
    half = t2 * 0.3 / math.sqrt(3)
    low, high = stats.t_interval(0.5, 0.3 / math.sqrt(3), 3)
    assert low == pytest.approx(0.5 - half, abs=1e-12) and high == pytest.approx(0.5 + half)


def test_summary_interval_is_the_seeded_bootstrap():
    df = pd.DataFrame(
        {
            "ranker": ["A"] * 3 + ["B"] * 2,
            "query_id": ["1", "2", "3", "1", "2"],
            "measure": ["m"] * 5,
            "value": [0.2, 0.5, 0.8, 0.1, 0.3],
        }
    )
    s = stats.summary(df).set_index("ranker")
    a = s.loc["A"]
    assert a["n"] == 3 and a["mean"] == pytest.approx(0.5) and a["std"] == pytest.approx(0.3)

    direct = sps.bootstrap(
        (np.array([0.2, 0.5, 0.8]),),
        np.mean,
        n_resamples=stats.BOOTSTRAP_RESAMPLES,
        method="BCa",
        random_state=np.random.default_rng(stats.BOOTSTRAP_SEED),
    ).confidence_interval
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((direct.low, direct.high), abs=1e-9)
    assert 0.2 <= a["ci_low"] < 0.5 < a["ci_high"] <= 0.8
    # seeded: the same numbers on every call
    assert stats.summary(df).equals(stats.summary(df))
    assert "bootstrap" in stats.interval_name() and "BCa" in stats.interval_name()


@pytest.mark.parametrize(
    "values",
    [[1, 1, 1, 1, 0.5], [1.0] * 9 + [0.9], [1, 0.5], [1, 1, 1, 0.5, 1, 1, 1, 1, 1, 1, 1 / 3]],
)
def test_bootstrap_interval_of_a_measure_near_one_stays_in_range(values):
    mean = float(np.mean(values))
    # the t interval runs past 1 for these (what the summary used to show) ...
    sem = float(np.std(values, ddof=1) / math.sqrt(len(values)))
    assert stats.t_interval(mean, sem, len(values))[1] > 1
    # ... the bootstrap interval never leaves what the measure can be
    for method in ("BCa", "percentile"):
        low, high = stats.bootstrap_interval(values, method=method)
        assert min(values) <= low <= mean <= high <= 1.0


def test_bootstrap_interval_degenerate_cases():
    assert stats.bootstrap_interval([0.7, 0.7, 0.7]) == (0.7, 0.7)
    assert all(math.isnan(v) for v in stats.bootstrap_interval([0.7]))
    with pytest.raises(RankLensError):
        stats.bootstrap_interval([0.1, 0.2], method="basic")


def test_summary_single_query_has_no_interval():
    df = pd.DataFrame({"ranker": ["A"], "query_id": ["1"], "measure": ["m"], "value": [0.4]})
    row = stats.summary(df).iloc[0]
    assert row["mean"] == 0.4 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


# --------------------------------------------------------------------------------------------
# significance


def test_paired_t_test_closed_forms():
    # n = 3, df = 2: two-sided p = 1 - |t| / sqrt(t^2 + 2)
    a, b = [0.9, 0.7, 0.65], [0.5, 0.6, 0.6]  # d = 0.4, 0.1, 0.05
    d = [0.4, 0.1, 0.05]
    mean = sum(d) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    t = mean / (sd / math.sqrt(3))
    assert stats.paired_t_test(a, b) == pytest.approx(1 - abs(t) / math.sqrt(t * t + 2), rel=1e-12)
    # n = 2, df = 1 (Cauchy): p = 1 - (2 / pi) atan |t|.  d = 0.3, 0.1: mean .2, sd .1414, t = 2
    t1 = 0.2 / (math.sqrt(0.02) / math.sqrt(2))
    assert t1 == pytest.approx(2.0)
    assert stats.paired_t_test([0.8, 0.3], [0.5, 0.2]) == pytest.approx(
        1 - 2 / math.pi * math.atan(2.0), rel=1e-9
    )
    # symmetric in a, b
    assert stats.paired_t_test(b, a) == pytest.approx(stats.paired_t_test(a, b))


def test_paired_t_test_degenerate():
    assert stats.paired_t_test([0.3, 0.4], [0.3, 0.4]) == 1.0  # no difference
    assert stats.paired_t_test([0.5, 0.6], [0.3, 0.4]) == 0.0  # constant difference
    assert stats.paired_t_test([0.5], [0.3]) == 1.0  # one pair: no test
    with pytest.raises(RankLensError):
        stats.paired_t_test([1, 2], [1])


def test_randomization_exact_hand_enumeration():
    # d = 1, 2, 3: the 8 signed sums are +-6, +-4, +-2, 0, 0; |sum| >= 6 twice -> p = 2/8
    assert stats.randomization_test([1, 2, 3], [0, 0, 0]) == 0.25
    # zero differences do not change the statistic: still 2/8
    assert stats.randomization_test([1, 2, 3, 5], [0, 0, 0, 5]) == 0.25
    # d = 1, 1, 1, 1: only all-plus / all-minus reach 4 -> 2/16
    assert stats.randomization_test([1, 1, 1, 1], [0, 0, 0, 0]) == 0.125
    # d = 1, -1: sums 0, 2, -2, 0; observed |0| -> every flip reaches it -> p = 1
    assert stats.randomization_test([1, 0], [0, 1]) == 1.0
    # d = 3, 1, 1: sums 5, 3, 3, 1, -1, -3, -3, -5 -> |sum| >= 5 twice -> 0.25
    assert stats.randomization_test([3, 1, 1], [0, 0, 0]) == 0.25
    assert stats.randomization_test([0.2, 0.2], [0.2, 0.2]) == 1.0


def brute_force_p(d):
    d = [x for x in d if x != 0]
    obs = abs(sum(d))
    hits = sum(
        abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= obs - 1e-12
        for signs in itertools.product([1, -1], repeat=len(d))
    )
    return hits / 2 ** len(d)


def test_randomization_exact_matches_brute_force():
    rng = np.random.default_rng(1)
    for n in (5, 9, 12):
        a, b = rng.random(n), rng.random(n)
        assert stats.randomization_test(a, b, n_permutations=10_000) == pytest.approx(
            brute_force_p(a - b), abs=1e-15
        )
    # 2^18 > 10,000 sign vectors but exact=True forces enumeration (crosses the 16-bit blocks)
    a, b = rng.random(18) + 0.05, rng.random(18)
    assert stats.randomization_test(a, b, exact=True) == pytest.approx(brute_force_p(a - b))


def test_randomization_monte_carlo():
    rng = np.random.default_rng(2)
    a, b = rng.random(14) + 0.15, rng.random(14)
    exact = brute_force_p(a - b)  # 2^14 = 16384 > 5000: the call below samples
    p = stats.randomization_test(a, b, n_permutations=5000, seed=0)
    sd = math.sqrt(exact * (1 - exact) / 5000)
    assert abs(p - exact) < 5 * sd + 1 / 5001
    assert p == stats.randomization_test(a, b, n_permutations=5000, seed=0)  # seeded
    # (count + 1) / (N + 1): with 20 equal differences only 2 of 2^20 vectors reach the observed
    # statistic, so 999 draws almost surely find none -> p = 1 / 1000, never 0
    assert stats.randomization_test([1.0] * 20, [0.0] * 20, n_permutations=999) == 1 / 1000


def test_holm_textbook():
    # m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04,
    # then running max -> 0.02, 0.03, 0.06, 0.06
    adj = stats.holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert adj == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})
    # capped at 1; NaN left out of m
    adj = stats.holm({"x": 0.4, "y": 0.6, "z": float("nan")})
    assert adj["x"] == pytest.approx(0.8) and adj["y"] == pytest.approx(0.8)
    assert math.isnan(adj["z"])
    assert stats.holm({"only": 0.03}) == {"only": 0.03}
    assert stats.holm({}) == {}


def test_pairwise_significance():
    rng = np.random.default_rng(4)
    n = 30
    base = rng.random(n)
    rows = []
    for r, shift in (("A", 0.0), ("B", 0.3), ("C", 0.01)):
        vals = np.clip(base + shift + rng.normal(0, 0.05, n), 0, 2)
        rows += [(r, str(q), "m", float(v)) for q, v in enumerate(vals)]
    df = pd.DataFrame(rows, columns=ev.COLUMNS)
    for test in ("t", "randomization"):
        sig = stats.pairwise_significance(df, "m", test=test, n_permutations=2000)
        assert list(zip(sig["ranker_a"], sig["ranker_b"], strict=True)) == [
            ("A", "B"),
            ("A", "C"),
            ("B", "C"),
        ]
        wide = ev.per_query_table(df, "m")
        for row in sig.itertuples():
            if test == "t":
                p = stats.paired_t_test(wide[row.ranker_a], wide[row.ranker_b])
            else:
                p = stats.randomization_test(wide[row.ranker_a], wide[row.ranker_b], 2000, 0)
            assert row.p == pytest.approx(p)
            assert row.diff == pytest.approx(row.mean_a - row.mean_b)
            assert row.n == n
        assert list(sig["p_holm"]) == pytest.approx(
            list(stats.holm(dict(enumerate(sig["p"]))).values())
        )
        assert sig.set_index(["ranker_a", "ranker_b"]).loc[("A", "B"), "significant"]
        assert (sig["significant"] == (sig["p_holm"] < 0.05)).all()
        mat = stats.significance_matrix(sig)
        assert mat.loc["A", "B"] == mat.loc["B", "A"] == sig.iloc[0]["p_holm"]
        assert math.isnan(mat.loc["C", "C"])
    with pytest.raises(RankLensError):
        stats.pairwise_significance(df, "m", test="wilcoxon")


# --------------------------------------------------------------------------------------------
# ranking the rankers


def test_borda_tiny_table_with_tie():
    df = tiny_table()
    # (1, m): A=B=0.5 tie for positions 1-2 -> (2 + 1) / 2 = 1.5 each, C 0
    # (2, m): B 2, C 1, A 0
    # (1, k): A 2, B=C tie for positions 2-3 -> (1 + 0) / 2 = 0.5 each
    # (2, k): A 2, B 1, C 0
    # totals: A 1.5 + 0 + 2 + 2 = 5.5; B 1.5 + 2 + .5 + 1 = 5; C 0 + 1 + .5 + 0 = 1.5
    b = stats.borda(df)
    assert list(b["ranker"]) == ["A", "B", "C"]
    assert list(b["points"]) == pytest.approx([5.5, 5.0, 1.5])
    assert list(b["rank"]) == [1, 2, 3]
    # measure m only: A 1.5, B 3.5, C 1
    bm = stats.borda(df, measures=["m"]).set_index("ranker")
    assert bm.loc["B", "points"] == 3.5 and bm.loc["A", "points"] == 1.5
    assert bm.loc["C", "points"] == 1.0 and bm.loc["B", "rank"] == 1
    # a full tie shares the rank
    tie = pd.DataFrame([("X", "1", "m", 0.3), ("Y", "1", "m", 0.3)], columns=ev.COLUMNS)
    assert list(stats.borda(tie)["rank"]) == [1, 1] and list(stats.borda(tie)["points"]) == [
        0.5,
        0.5,
    ]


def test_rank_by_mean():
    df = tiny_table()
    r = stats.rank_by_mean(df, "m")  # A .35, B .7, C .25
    assert list(r["ranker"]) == ["B", "A", "C"] and list(r["rank"]) == [1, 2, 3]
    assert list(r["mean"]) == pytest.approx([0.7, 0.35, 0.25])
    assert list(stats.rank_by_mean(df)["ranker"]) == ["B", "A", "C"]  # first measure in the table
    r = stats.rank_by_mean(df, "k")  # A .65, B .1, C .05
    assert list(r["ranker"]) == ["A", "B", "C"]


# --------------------------------------------------------------------------------------------
# discriminative power


def separated_runs(n_queries=40, seed=0):
    """Three rankers: 'good' puts a relevant document first on 90% of queries, 'bad' on 10%,
    'bad2' on 12%: good vs bad* differ clearly, bad vs bad2 do not."""
    rng = np.random.default_rng(seed)
    qrels = [Qrel(f"q{i}", "rel", 1) for i in range(n_queries)]
    qrels += [Qrel(f"q{i}", "non", 0) for i in range(n_queries)]
    runs = {}
    for name, share in (("good", 0.9), ("bad", 0.1), ("bad2", 0.12)):
        ranked = {}
        for i in range(n_queries):
            top = "rel" if rng.random() < share else "junk"
            ranked[f"q{i}"] = [(top, 2.0), ("non", 1.0)]
        runs[name] = make_run(ranked)
    return runs, qrels


def test_discriminative_power_query_subsampling():
    runs, qrels = separated_runs()
    full = stats.discriminative_power(runs, qrels, "RR", fraction=1.0, repeats=3, test="t")
    # all the queries: the same significant pairs every time
    assert full.significant_full >= 2
    assert full.survived_per_repeat == [full.significant_full] * 3
    assert full.survival_rate == 1.0
    half = stats.discriminative_power(runs, qrels, "RR", fraction=0.5, repeats=8, test="t", seed=1)
    pairs = half.pairs.set_index(["ranker_a", "ranker_b"])
    assert pairs.loc[("good", "bad"), "significant"]
    assert pairs.loc[("good", "bad"), "survival_rate"] == 1.0  # a big difference survives
    assert not pairs.loc[("bad", "bad2"), "significant"]
    assert math.isnan(pairs.loc[("bad", "bad2"), "survival_rate"])
    again = stats.discriminative_power(runs, qrels, "RR", fraction=0.5, repeats=8, test="t", seed=1)
    assert again.survived_per_repeat == half.survived_per_repeat
    d = half.as_dict()
    assert d["significant_full"] == half.significant_full and len(d["pairs"]) == 3
    # tiny subsamples lose significance: with 2 queries nothing can be significant
    tiny = stats.discriminative_power(runs, qrels, "RR", fraction=0.05, repeats=3, test="t")
    assert tiny.survival_rate < 1.0


def test_discriminative_power_label_subsampling():
    runs, qrels = separated_runs(n_queries=24)
    # keeping half of each query's two labels keeps one label per query: 'rel' or 'non'.
    dp = stats.discriminative_power(
        runs, qrels, "RR", fraction=0.5, repeats=4, unit="label", n_permutations=2000
    )
    assert dp.unit == "label" and len(dp.survived_per_repeat) == 4
    assert all(0 <= s <= dp.significant_full for s in dp.survived_per_repeat)
    one = stats.discriminative_power(
        runs, qrels, "RR", fraction=1.0, repeats=2, unit="label", n_permutations=2000
    )
    assert one.survival_rate == 1.0
    with pytest.raises(RankLensError):
        stats.discriminative_power(runs, qrels, "RR", fraction=0)
    with pytest.raises(RankLensError):
        stats.discriminative_power(runs, qrels, "RR", unit="topic")


@pytest.mark.parametrize("m", [27, 28, 29])
def test_randomization_many_differences_goes_monte_carlo(m):
    # 2^m sign vectors <= n_permutations used to choose exact enumeration and raise; now a
    # seeded Monte Carlo answers, with p = (count + 1) / (draws + 1)
    rng = np.random.default_rng(m)
    a, b = rng.random(m) + 0.4, rng.random(m)
    p = stats.randomization_test(a, b, n_permutations=2**m, seed=3)
    draws = min(2**m, stats.MAX_DRAWS)
    assert 0 < p <= 1 and round(p * (draws + 1)) == pytest.approx(p * (draws + 1))
    assert p == stats.randomization_test(a, b, n_permutations=2**m, seed=3)
    # a clear difference: the t-test and the randomization test agree it is small
    assert p < 0.05 and stats.paired_t_test(a, b) < 0.05
    with pytest.raises(RankLensError, match="too large"):
        stats.randomization_test(a, b, exact=True)


def test_randomization_single_difference_and_bad_count():
    assert stats.randomization_test([0.5, 0.2], [0.5, 0.1]) == 1.0  # 2 vectors, same |sum|
    with pytest.raises(RankLensError):
        stats.randomization_test([1, 2], [0, 0], n_permutations=0)


def test_paired_t_test_matches_hand_statistic():
    rng = np.random.default_rng(5)
    a, b = rng.random(30), rng.random(30)
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(30))
    # two-sided p from the t distribution's cdf, by hand: 2 * (1 - F(|t|))
    assert stats.paired_t_test(a, b) == pytest.approx(2 * sps.t.sf(abs(t), 29), rel=1e-12)


def test_paired_t_interval_hand_formula():
    # d = 0.3, 0.1, 0.2: mean 0.2, sd 0.1, sem 0.1 / sqrt(3), t_{0.975, 2} = sqrt(2 * .9025 / .0975)
    low, high = stats.paired_t_interval([0.5, 0.3, 0.4], [0.2, 0.2, 0.2])
    half = math.sqrt(2 * 0.9025 / 0.0975) * 0.1 / math.sqrt(3)
    assert low == pytest.approx(0.2 - half) and high == pytest.approx(0.2 + half)
    assert stats.paired_t_interval([0.5, 0.6], [0.3, 0.4]) == pytest.approx((0.2, 0.2))
    assert all(math.isnan(v) for v in stats.paired_t_interval([0.5], [0.3]))
    table = pd.DataFrame(
        [
            (r, q, "m", v)
            for r, vals in (("A", [0.5, 0.3, 0.4]), ("B", [0.2] * 3))
            for q, v in zip("123", vals, strict=True)
        ],
        columns=ev.COLUMNS,
    )
    row = stats.pairwise_significance(table, "m", "t").iloc[0]
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((0.2 - half, 0.2 + half))
