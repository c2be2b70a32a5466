"""Comparing rankings side by side: Jaccard@k, rank-biased overlap, tau-AP, disagreement by
query (the "most different queries" order), overlap matrices, rank changes and cut-off counts.

Rankings are compared by passage (passage_key, the default) or by document (doc_key: two
passages of one document are the same item). RBO and tau-AP are hand-written, with tests
against hand-computed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ranklens.types import Hit, Run

RBO_P = 0.9

HitKey = Callable[[Hit], str]  # what identifies a hit when rankings are compared


def passage_key(hit: Hit) -> str:
    """Compare rankings by passage (the default)."""
    return hit.passage_id


def doc_key(hit: Hit) -> str:
    """Compare rankings by document: two different passages of one document are the same item."""
    return hit.doc_id


def ids_of(hits: Sequence[Hit], k: int | None = None, key: HitKey | None = None) -> list[str]:
    """The ids of the top k hits (passage ids, or key(hit)); a repeated id is kept once, first."""
    key = key or passage_key
    return list(dict.fromkeys(key(h) for h in (hits if k is None else hits[:k])))


def jaccard(a: Sequence[str], b: Sequence[str], k: int | None = None) -> float:
    """|A n B| / |A u B| of the top k of two rankings (1.0 when both are empty)."""
    sa, sb = set(a[:k] if k else a), set(b[:k] if k else b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def rbo(a: Sequence[str], b: Sequence[str], p: float = RBO_P) -> float:
    """Rank-biased overlap, extrapolated (Webber, Moffat & Zobel 2010, eq. 32).

    Handles lists of unequal length (the shorter is taken as ending where it ends); items must
    be unique within a list. 1.0 for identical lists, 0.0 for disjoint ones.
    """
    if not 0 < p < 1:
        raise ValueError("rbo: p must be between 0 and 1")
    if len(a) > len(b):
        a, b = b, a
    s, ell = len(a), len(b)
    if ell == 0:
        return 1.0
    if s == 0:
        return 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap = 0
    x = [0] * (ell + 1)  # x[d]: overlap of the two prefixes of depth d
    for d in range(1, ell + 1):
        item_b = b[d - 1]
        if d <= s:
            item_a = a[d - 1]
            if item_a == item_b:
                overlap += 1
            else:
                overlap += (item_a in seen_b) + (item_b in seen_a)
            seen_a.add(item_a)
        elif item_b in seen_a:
            overlap += 1
        seen_b.add(item_b)
        x[d] = overlap
    total = sum(x[d] / d * p**d for d in range(1, ell + 1))
    total += sum(x[s] * (d - s) / (s * d) * p**d for d in range(s + 1, ell + 1))
    return (1 - p) / p * total + ((x[ell] - x[s]) / ell + x[s] / s) * p**ell


def tau_ap(ranking: Sequence[str], truth: Sequence[str]) -> float | None:
    """AP rank correlation tau_AP of `ranking` against `truth` (Yilmaz, Aslam & Robertson 2008).

    Computed over the items both lists hold, in each list's order; None when fewer than two are
    shared. 1.0 for the same order, -1.0 for the reverse; swaps near the top cost more.
    """
    common = set(ranking) & set(truth)
    order = [x for x in ranking if x in common]
    n = len(order)
    if n < 2:
        return None
    pos = {x: i for i, x in enumerate(x for x in truth if x in common)}
    total = 0.0
    for i in range(1, n):
        above = sum(1 for j in range(i) if pos[order[j]] < pos[order[i]])
        total += above / i
    return 2.0 * total / (n - 1) - 1.0


def tau_ap_symmetric(a: Sequence[str], b: Sequence[str]) -> float | None:
    """The mean of tau_AP both ways round (tau_AP itself is not symmetric)."""
    x, y = tau_ap(a, b), tau_ap(b, a)
    return None if x is None or y is None else (x + y) / 2


DISAGREEMENT_MEASURES = ("rbo", "tau_ap")


def disagreement(a: Sequence[str], b: Sequence[str], measure: str = "rbo") -> float:
    """How much two rankings disagree, from 0 (same) to 1.

    rbo: 1 - RBO (p=0.9). tau_ap: (1 - symmetric tau_AP) / 2 over the shared items; two rankings
    sharing fewer than two items disagree fully (1.0).
    """
    if measure == "rbo":
        return 1.0 - rbo(a, b)
    if measure == "tau_ap":
        t = tau_ap_symmetric(a, b)
        return 1.0 if t is None else (1.0 - t) / 2
    raise ValueError(f"unknown disagreement measure {measure!r}; expected rbo or tau_ap")


def disagreement_by_query(
    run_a: Run, run_b: Run, k: int, measure: str = "rbo", key: HitKey | None = None
) -> list[tuple[str, float]]:
    """Queries with their disagreement at depth k, most disagreeing first (then by query id).

    key: what identifies a hit (default its passage id; doc_key compares documents)."""
    out = [
        (
            qid,
            disagreement(
                ids_of(run_a.get(qid, []), k, key), ids_of(run_b.get(qid, []), k, key), measure
            ),
        )
        for qid in dict.fromkeys([*run_a, *run_b])
    ]
    return sorted(out, key=lambda t: (-t[1], t[0]))


SIMILARITY_NAMES = {
    "rbo": "RBO (p=0.9; 1 = same ranking, 0 = nothing in common)",
    "tau_ap": "tau-AP (1 = same order, -1 = reversed)",
    "jaccard": "Jaccard@k (1 = same set, 0 = nothing in common)",
}


def most_different(
    run_a: Run, run_b: Run, k: int, measure: str = "rbo", key: HitKey | None = None
) -> pd.DataFrame:
    """Per query, how alike two rankings' top k are: ``query_id, rbo, tau_ap, jaccard``.

    Every column is a similarity (1 = the same), so a table never shows one measure running
    one way and another the other. Rows: least alike first by `measure` (rbo or tau_ap), ties
    broken by the other of the two, then by Jaccard@k, then by query id. tau_ap is NaN where the
    lists share fewer than two items (sorted as least alike).
    """
    if measure not in DISAGREEMENT_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; expected rbo or tau_ap")
    rows = []
    for qid in dict.fromkeys([*run_a, *run_b]):
        a = ids_of(run_a.get(qid, []), k, key)
        b = ids_of(run_b.get(qid, []), k, key)
        t = tau_ap_symmetric(a, b)
        rows.append((qid, rbo(a, b), float("nan") if t is None else t, jaccard(a, b)))
    table = pd.DataFrame(rows, columns=["query_id", "rbo", "tau_ap", "jaccard"])
    other = "tau_ap" if measure == "rbo" else "rbo"
    sort = table.assign(_m=table[measure].fillna(-2.0), _o=table[other].fillna(-2.0))
    sort = sort.sort_values(["_m", "_o", "jaccard", "query_id"], kind="stable")
    return sort.drop(columns=["_m", "_o"]).reset_index(drop=True)


def overlap_matrix(
    hit_lists: Mapping[str, Sequence[Hit]],
    k: int,
    measure: str = "jaccard",
    key: HitKey | None = None,
) -> tuple[list[str], np.ndarray]:
    """Pairwise Jaccard@k or RBO of the rankers' hit lists for one query: (names, matrix).

    key: what identifies a hit (default its passage id; doc_key compares documents)."""
    names = list(hit_lists)
    ids = {n: ids_of(hit_lists[n], k, key) for n in names}
    fn: Callable[[Sequence[str], Sequence[str]], float]
    if measure == "jaccard":
        fn = jaccard
    elif measure == "rbo":
        fn = rbo
    else:
        raise ValueError(f"unknown overlap measure {measure!r}; expected jaccard or rbo")
    m = np.ones((len(names), len(names)))
    for i, x in enumerate(names):
        for j, y in enumerate(names):
            if i < j:
                m[i, j] = m[j, i] = fn(ids[x], ids[y])
    return names, m


def rank_changes(
    hit_lists: Mapping[str, Sequence[Hit]], key: HitKey | None = None
) -> dict[str, dict[str, dict[str, int]]]:
    """For each ranker, each passage it returned, the passage's rank in every other ranker.

    out[ranker][passage_id][other] = rank in other (absent when other did not return it).
    key: what identifies a hit instead of its passage id (doc_key: out[ranker][doc_id][other]);
    an id returned more than once by a ranker has its best rank there.
    """
    key = key or passage_key
    ranks: dict[str, dict[str, int]] = {}
    for n, hits in hit_lists.items():
        ranks[n] = {}
        for h in hits:
            ident = key(h)
            ranks[n][ident] = min(ranks[n].get(ident, h.rank), h.rank)
    return {
        n: {
            pid: {o: ranks[o][pid] for o in hit_lists if o != n and pid in ranks[o]}
            for pid in ranks[n]
        }
        for n in hit_lists
    }


def count_at_or_above(hits: Iterable[Hit], threshold: float) -> int:
    """How many hits a score cut-off at `threshold` would keep."""
    return sum(1 for h in hits if h.score >= threshold)
