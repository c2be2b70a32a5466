"""The regression gate: each ranker against the ranker of the same name in a saved snapshot,
query by query on one measure, with a verdict a CI job can exit on.

The caller scores both sides with today's labels (the snapshot's kept runs are scored again), so
a change comes from the ranker, not from the labels; tests come from ranklens.evaluation.stats (paired test
per ranker, Holm across the rankers compared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ranklens.errors import RankLensError
from ranklens.evaluation import stats

FAIL_ON = ("worse", "significant")
TOLERANCE = 1e-12  # a per-query or mean change smaller than this is "same"
THEN, NOW = "snapshot", "now"


@dataclass
class RankerChange:
    """One ranker, then (in the snapshot) and now, on one measure."""

    ranker: str
    n: int
    then: float
    now: float
    diff: float  # now - then
    better: int
    worse: int
    same: int
    p: float
    p_holm: float = math.nan
    failed: bool = False
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # query_id, then, now, delta

    def as_dict(self, changed_only: bool = True) -> dict[str, Any]:
        rows = self.table
        if changed_only:
            rows = rows[rows["delta"].abs() > TOLERANCE]
        return {
            "ranker": self.ranker,
            "queries": self.n,
            "then": self.then,
            "now": self.now,
            "diff": self.diff,
            "better": self.better,
            "worse": self.worse,
            "same": self.same,
            "p": _none_if_nan(self.p),
            "p_holm": _none_if_nan(self.p_holm),
            "failed": self.failed,
            "changed": [
                {"query_id": r.query_id, "then": r.then, "now": r.now, "delta": r.delta}
                for r in rows.itertuples(index=False)
            ],
        }


@dataclass
class GateResult:
    """Every compared ranker's change, and whether the gate fails."""

    snapshot: str
    measure: str
    fail_on: str
    test: str
    alpha: float
    changes: list[RankerChange]
    only_now: list[str]  # rankers the snapshot does not hold: not compared
    only_then: list[str]  # rankers of the snapshot not evaluated now
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "measure": self.measure,
            "fail_on": self.fail_on,
            "test": self.test,
            "alpha": self.alpha,
            "failed": self.failed,
            "rankers": [c.as_dict() for c in self.changes],
            "not_in_snapshot": self.only_now,
            "not_evaluated_now": self.only_then,
            "notes": self.notes,
        }


def _none_if_nan(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _values(per_query: pd.DataFrame, ranker: str, measure: str) -> pd.Series:
    sub = per_query[(per_query["ranker"] == ranker) & (per_query["measure"] == measure)]
    return sub.set_index("query_id")["value"].astype(float)


def check_fail_on(fail_on: str) -> str:
    if fail_on not in FAIL_ON:
        raise RankLensError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    return fail_on


def gate(
    then: pd.DataFrame,
    now: pd.DataFrame,
    measure: str,
    snapshot: str = "",
    fail_on: str = "worse",
    test: str = "randomization",
    alpha: float = 0.05,
    seed: int = 0,
) -> GateResult:
    """Compare per-query values (columns ranker, query_id, measure, value) of the same measure.

    Rankers are matched by name. Queries are paired on the union of both sides; a query one side
    lacks counts 0 there (as a labelled query a ranker did not answer scores 0). ``fail_on``:
    "worse" fails a ranker whose mean dropped; "significant" only one whose mean dropped with a
    Holm-adjusted p < alpha (paired ``test`` per ranker, Holm across the rankers compared).
    Raises RankLensError when no ranker is on both sides: a gate that compared nothing must not pass.
    """
    check_fail_on(fail_on)
    then_r = list(dict.fromkeys(then["ranker"])) if not then.empty else []
    now_r = list(dict.fromkeys(now["ranker"])) if not now.empty else []
    shared = [r for r in now_r if r in then_r]
    if not shared:
        raise RankLensError(
            f"no ranker is in both the snapshot {snapshot!r} ({', '.join(then_r) or 'none'}) and "
            f"this evaluation ({', '.join(now_r) or 'none'}): name the rankers as they were saved"
        )
    changes = []
    for ranker in shared:
        a, b = _values(then, ranker, measure), _values(now, ranker, measure)
        order = list(dict.fromkeys([*a.index, *b.index]))
        table = pd.DataFrame(
            {
                "query_id": order,
                "then": a.reindex(order).fillna(0.0).to_numpy(),
                "now": b.reindex(order).fillna(0.0).to_numpy(),
            }
        )
        table["delta"] = table["now"] - table["then"]
        long = pd.concat(
            [
                pd.DataFrame(
                    {"ranker": NOW, "query_id": order, "measure": measure, "value": table["now"]}
                ),
                pd.DataFrame(
                    {"ranker": THEN, "query_id": order, "measure": measure, "value": table["then"]}
                ),
            ],
            ignore_index=True,
        )
        pair = stats.pairwise_significance(long, measure, test, alpha=alpha, seed=seed)
        p = float(pair["p"].iloc[0]) if len(order) else math.nan
        diff = float(table["delta"].mean()) if len(order) else 0.0
        changes.append(
            RankerChange(
                ranker=ranker,
                n=len(order),
                then=float(table["then"].mean()) if len(order) else math.nan,
                now=float(table["now"].mean()) if len(order) else math.nan,
                diff=diff,
                better=int((table["delta"] > TOLERANCE).sum()),
                worse=int((table["delta"] < -TOLERANCE).sum()),
                same=int((table["delta"].abs() <= TOLERANCE).sum()),
                p=p,
                table=table.sort_values("delta", kind="stable").reset_index(drop=True),
            )
        )
    adjusted = stats.holm({c.ranker: c.p for c in changes})
    for c in changes:
        c.p_holm = float(adjusted[c.ranker])
        dropped = c.diff < -TOLERANCE
        if fail_on == "worse":
            c.failed = dropped
        else:
            c.failed = dropped and not math.isnan(c.p_holm) and c.p_holm < alpha
    return GateResult(
        snapshot=snapshot,
        measure=measure,
        fail_on=fail_on,
        test=test,
        alpha=alpha,
        changes=changes,
        only_now=[r for r in now_r if r not in then_r],
        only_then=[r for r in then_r if r not in now_r],
    )


def report_lines(result: GateResult, show: int = 10) -> list[str]:
    """What changed, as lines for a terminal or a CI log: one block per ranker, the verdict last."""
    out = [
        f"regression gate: {result.measure} against snapshot {result.snapshot!r} "
        f"(fail on {result.fail_on}"
        + (
            f", {result.test} test, Holm-corrected, alpha {result.alpha:g}"
            if result.fail_on == "significant"
            else ""
        )
        + ")"
    ]
    for c in result.changes:
        verdict = "FAIL" if c.failed else "ok"
        p = "" if math.isnan(c.p_holm) else f"; p = {c.p:.4f}, Holm {c.p_holm:.4f}"
        out.append(
            f"  {verdict:<4} {c.ranker}: {c.then:.4f} -> {c.now:.4f} ({c.diff:+.4f}) over "
            f"{c.n} queries; {c.worse} worse, {c.better} better, {c.same} same{p}"
        )
        changed = c.table[c.table["delta"].abs() > TOLERANCE]
        worst = changed[changed["delta"] < 0].head(show)
        best = changed[changed["delta"] > 0].sort_values("delta", ascending=False).head(show)
        for label, rows in (("worse", worst), ("better", best)):
            for r in rows.itertuples(index=False):
                out.append(
                    f"       {label:<6} {r.query_id}: {r.then:.4f} -> {r.now:.4f} ({r.delta:+.4f})"
                )
        hidden = len(changed) - len(worst) - len(best)
        if hidden > 0:
            out.append(f"       ... and {hidden} more changed queries (--json lists all)")
    for r in result.only_now:
        out.append(f"  new  {r}: not in the snapshot, not compared")
    for r in result.only_then:
        out.append(f"  gone {r}: in the snapshot, not evaluated now")
    for note in result.notes:
        out.append(f"  note: {note}")
    failed = [c.ranker for c in result.changes if c.failed]
    if failed:
        out.append(f"FAILED: {', '.join(failed)} got worse on {result.measure}")
    else:
        out.append(
            f"PASSED: no compared ranker got {'significantly ' if result.fail_on == 'significant' else ''}worse on {result.measure}"
        )
    return out
