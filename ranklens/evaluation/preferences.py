"""Pairwise preference statistics: Bradley-Terry fits of passages (per query) and of rankers
(the arena), agreement with graded labels, and the choice of what to compare next.

Stored preferences come from ranklens.evaluation.preferences_store (events, undo, standing preferences).
Passage preferences are fitted per query (which passage is better, with intervals) and checked
against graded labels where both exist (share of agreeing pairs, Cohen's kappa via
scikit-learn). Arena preferences (ranker A's top 5 against ranker B's, shown in random order)
become a Bradley-Terry ranking of rankers with confidence intervals. The fit is a maximum of the
Bradley-Terry likelihood (scipy L-BFGS) with a weak Gaussian prior on the log-strengths (it keeps
a ranker that never lost finite), intervals from the inverse Hessian (Laplace approximation).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ranklens.errors import RankLensError
from ranklens.evaluation.preferences_store import CHOICES, ArenaRound, Preference, check_choice
from ranklens.judging.agreement import cohen_kappa
from ranklens.types import Qrel, Run

ARENA_K = 5
PRIOR_SD = 2.0  # of the log-strengths (a win probability of 0.98 between two items is 2 sd)


# ---------------------------------------------------------------- Bradley-Terry


@dataclass
class BradleyTerry:
    """Log-strengths (centred at 0) with Laplace intervals, and the comparisons behind them."""

    table: (
        pd.DataFrame
    )  # item, strength, se, ci_low, ci_high, wins, losses, ties, comparisons, rank
    n_comparisons: int

    def win_probability(self, a: str, b: str) -> float:
        s = self.table.set_index("item")["strength"]
        return float(1.0 / (1.0 + math.exp(s[b] - s[a])))


def bradley_terry(
    comparisons: Sequence[tuple[str, str, str]],
    items: Sequence[str] | None = None,
    confidence: float = 0.95,
    prior_sd: float = PRIOR_SD,
) -> BradleyTerry:
    """Fit P(i beats j) = 1 / (1 + exp(s_j - s_i)) to (left, right, choice) comparisons.

    A tie counts as half a win for each side. The log-likelihood plus a Gaussian prior N(0,
    prior_sd^2) on each s is maximised by scipy's L-BFGS-B with the exact gradient; the interval
    is s -/+ z * se with se from the inverse of the Hessian at the maximum. Strengths are shifted
    to mean 0 (the intervals of the shifted values use the covariance of the shift).
    Rank 1 is the strongest.
    """
    if not 0 < confidence < 1:
        raise RankLensError("confidence must be between 0 and 1")
    names = list(dict.fromkeys([*(items or []), *(x for a, b, _ in comparisons for x in (a, b))]))
    cols = [
        "item",
        "strength",
        "se",
        "ci_low",
        "ci_high",
        "wins",
        "losses",
        "ties",
        "comparisons",
        "rank",
    ]
    if not names:
        return BradleyTerry(pd.DataFrame(columns=cols), 0)
    pos = {n: i for i, n in enumerate(names)}
    n = len(names)
    # w[i, j]: wins of i over j (ties add 0.5 to both)
    w = np.zeros((n, n))
    wins, losses, ties = np.zeros(n), np.zeros(n), np.zeros(n)
    for a, b, choice in comparisons:
        i, j = pos[a], pos[b]
        if i == j:
            raise RankLensError(f"{a!r} is compared with itself")
        choice = check_choice(choice)
        if choice == "left":
            w[i, j] += 1
            wins[i] += 1
            losses[j] += 1
        elif choice == "right":
            w[j, i] += 1
            wins[j] += 1
            losses[i] += 1
        else:
            w[i, j] += 0.5
            w[j, i] += 0.5
            ties[i] += 1
            ties[j] += 1
    games = w + w.T  # comparisons between i and j
    inv_var = 1.0 / prior_sd**2

    def objective(s: np.ndarray) -> tuple[float, np.ndarray]:
        diff = s[:, None] - s[None, :]
        # -log P(i beats j) = log(1 + exp(s_j - s_i)) = logaddexp(0, -diff)
        nll = float(np.sum(w * np.logaddexp(0.0, -diff))) + 0.5 * inv_var * float(s @ s)
        p = 1.0 / (1.0 + np.exp(-diff))  # P(i beats j)
        grad = -(w - games * p).sum(axis=1) + inv_var * s
        return nll, grad

    res = optimize.minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B")
    if not res.success and not np.isfinite(res.fun):
        raise RankLensError(f"the Bradley-Terry fit did not converge: {res.message}")
    s = res.x
    diff = s[:, None] - s[None, :]
    p = 1.0 / (1.0 + np.exp(-diff))
    info = games * p * (1 - p)
    hessian = np.diag(info.sum(axis=1)) - info + inv_var * np.eye(n)
    cov = np.linalg.inv(hessian)
    centre = np.eye(n) - 1.0 / n
    s_c = centre @ s
    cov_c = centre @ cov @ centre.T
    se = np.sqrt(np.clip(np.diag(cov_c), 0, None))
    z = float(stats.norm.ppf((1 + confidence) / 2))
    table = pd.DataFrame(
        {
            "item": names,
            "strength": s_c,
            "se": se,
            "ci_low": s_c - z * se,
            "ci_high": s_c + z * se,
            "wins": wins.astype(int),
            "losses": losses.astype(int),
            "ties": ties.astype(int),
            "comparisons": (wins + losses + ties).astype(int),
        }
    )
    table["rank"] = table["strength"].rank(ascending=False, method="min").astype(int)
    table = table.sort_values(["rank", "item"], kind="stable").reset_index(drop=True)
    return BradleyTerry(table[cols], len(comparisons))


def per_query_strengths(prefs: Sequence[Preference], confidence: float = 0.95) -> pd.DataFrame:
    """Passage preferences fitted query by query: the BT table of each with a query_id column."""
    frames = []
    by_query: dict[str, list[Preference]] = {}
    for p in prefs:
        by_query.setdefault(p.query_id, []).append(p)
    for qid, group in by_query.items():
        fit = bradley_terry([(p.left, p.right, p.choice) for p in group], confidence=confidence)
        frames.append(fit.table.assign(query_id=qid))
    if not frames:
        return pd.DataFrame(columns=["query_id", "item", "strength", "ci_low", "ci_high", "rank"])
    out = pd.concat(frames, ignore_index=True)
    return out[["query_id", *[c for c in out.columns if c != "query_id"]]]


# ---------------------------------------------------------------- against graded labels


@dataclass
class LabelAgreement:
    """How passage preferences agree with graded labels where both passages have one."""

    pairs: pd.DataFrame  # query_id, left, right, choice, left_grade, right_grade, by_grades, agrees
    n: int
    agreement: float  # share of preferences that the grades imply (tie = equal grades)
    strict: float  # among pairs with different grades and a non-tie preference
    kappa: float  # Cohen's kappa between preference and grade order (left/right/tie)
    unlabelled: int  # preferences with a passage lacking a label


def label_agreement(prefs: Sequence[Preference], qrels: Sequence[Qrel]) -> LabelAgreement:
    """Compare each preference with what the graded labels say (higher grade = better).

    A passage's grade is looked up by its passage id, else by its document (document-level
    labels). kappa is agreement.cohen_kappa over the three outcomes (NaN when one
    outcome alone occurs on both sides).
    """
    grades: dict[tuple[str, str], int] = {}
    for q in qrels:
        grades[(str(q.query_id), str(q.doc_id))] = int(q.relevance)

    def grade(qid: str, pid: str, doc: str | None) -> int | None:
        g = grades.get((qid, pid))
        if g is None and doc is not None:
            g = grades.get((qid, doc))
        return g

    rows, unlabelled = [], 0
    for p in prefs:
        gl, gr = grade(p.query_id, p.left, p.left_doc), grade(p.query_id, p.right, p.right_doc)
        if gl is None or gr is None:
            unlabelled += 1
            continue
        by = "left" if gl > gr else "right" if gr > gl else "tie"
        rows.append([p.query_id, p.left, p.right, p.choice, gl, gr, by, p.choice == by])
    cols = [
        "query_id",
        "left",
        "right",
        "choice",
        "left_grade",
        "right_grade",
        "by_grades",
        "agrees",
    ]
    pairs = pd.DataFrame(rows, columns=cols)
    n = len(pairs)
    if not n:
        return LabelAgreement(pairs, 0, float("nan"), float("nan"), float("nan"), unlabelled)
    decided = pairs[(pairs["by_grades"] != "tie") & (pairs["choice"] != "tie")]
    strict = float(decided["agrees"].mean()) if len(decided) else float("nan")
    value = cohen_kappa(list(pairs["choice"]), list(pairs["by_grades"]), categories=CHOICES)
    kappa = float("nan") if value is None else value
    return LabelAgreement(pairs, n, float(pairs["agrees"].mean()), strict, kappa, unlabelled)


# ---------------------------------------------------------------- choosing what to show


def passage_pairs(
    passage_ids: Sequence[str],
    done: Iterable[tuple[str, str]] = (),
    seed: int = 0,
    limit: int | None = None,
) -> list[tuple[str, str]]:
    """Pairs of passages still to compare for one query, in a seeded random order, each with a
    random side for either passage; pairs already done (either order) are left out."""
    seen = {frozenset(p) for p in done}
    ids = list(dict.fromkeys(passage_ids))
    rng = random.Random(seed)
    pairs = [p for p in itertools.combinations(ids, 2) if frozenset(p) not in seen]
    rng.shuffle(pairs)
    pairs = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in pairs]
    return pairs[:limit] if limit is not None else pairs


def arena_round(
    runs: Mapping[str, Run],
    query_id: str,
    done: Iterable[tuple[str, str]] = (),
    seed: int | None = None,
    k: int = ARENA_K,
) -> ArenaRound | None:
    """Two rankers' top k for a query, in random order: the pair this annotator has compared
    least often on this query (ties broken at random); None when fewer than two rankers answer."""
    names = [n for n, run in runs.items() if run.get(query_id)]
    if len(names) < 2:
        return None
    rng = random.Random(seed)
    counts: dict[frozenset, int] = {}
    for a, b in done:
        counts[frozenset((a, b))] = counts.get(frozenset((a, b)), 0) + 1
    pairs = list(itertools.combinations(names, 2))
    rng.shuffle(pairs)
    a, b = min(pairs, key=lambda p: counts.get(frozenset(p), 0))
    if rng.random() < 0.5:
        a, b = b, a
    return ArenaRound(query_id, a, b, runs[a][query_id][:k], runs[b][query_id][:k])


def arena_ranking(
    prefs: Sequence[Preference], rankers: Sequence[str] | None = None, confidence: float = 0.95
) -> BradleyTerry:
    """A Bradley-Terry ranking of rankers from arena preferences (all queries together)."""
    if any(p.kind != "ranker" for p in prefs):
        raise RankLensError("arena_ranking takes ranker preferences (kind 'ranker') only")
    return bradley_terry([(p.left, p.right, p.choice) for p in prefs], rankers, confidence)


def beside_measure(fit: BradleyTerry, means: Mapping[str, float], measure: str) -> pd.DataFrame:
    """The arena ranking next to a measure's ranking: ranker, arena strength with interval and
    rank, the measure's mean and rank (rank 1 best; NaN where a ranker has no value)."""
    table = fit.table.rename(columns={"item": "ranker", "rank": "arena_rank"})
    table = table[["ranker", "strength", "ci_low", "ci_high", "comparisons", "arena_rank"]]
    extra = [r for r in means if r not in set(table["ranker"])]
    if extra:
        table = pd.concat([table, pd.DataFrame({"ranker": extra})], ignore_index=True)
    table[measure] = [means.get(r, float("nan")) for r in table["ranker"]]
    table[f"{measure}_rank"] = table[measure].rank(ascending=False, method="min")
    return table
