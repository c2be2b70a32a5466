"""Ensembles of judges: two or more judges (LLM prompt versions, LLM models, cross-encoders)
combined per pair by majority or mean, and each judge and the ensemble against people, side by side.

Decisions (read before changing anything here):

- Members are judges as ranklens.judges.judges.judge_labels names them (a cross-encoder by its
  model name, an LLM as `llm:<model> prompt v<N> (<hash>)`, one per prompt version).
- A unit gets an ensemble grade when at least `quorum` members graded it (default: all of
  them). Majority: the grade most members gave, a tie falls to the mean rounded half up; mean:
  the mean rounded half up (rules.combine_grades, as for annotators).
- Side by side means on the same units: every member is measured on the units the ensemble
  graded, so the numbers compare; agreement through judge_agreement (scikit-learn, scipy,
  ir_measures), against the humans' final labels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Unpack

from ranklens.errors import InputError, NotFoundError
from ranklens.judges.judge_agreement import JudgeAgreement
from ranklens.judging.agreement import Unit
from ranklens.judging.records import CurrentLabel
from ranklens.judging.rules import combine_grades

if TYPE_CHECKING:
    from ranklens.judges.judges import VersusPeople
    from ranklens.judging.store import JudgmentStore

HOW = ("majority", "mean")


def ensemble_name(members: Sequence[str], how: str = "majority") -> str:
    return f"{how} of {len(members)}: " + " + ".join(members)


def unit_grades(members: Mapping[str, Sequence[CurrentLabel]]) -> dict[Unit, dict[str, int]]:
    """Unit -> {member: its grade} over the members' graded labels."""
    out: dict[Unit, dict[str, int]] = defaultdict(dict)
    for name, labels in members.items():
        for lab in labels:
            if lab.grade is not None:
                out[lab.unit][name] = lab.grade
    return dict(out)


def combine(
    members: Mapping[str, Sequence[CurrentLabel]],
    how: str = "majority",
    *,
    quorum: int | None = None,
    name: str | None = None,
) -> list[CurrentLabel]:
    """One label per unit that at least `quorum` members (default all) graded, combined by
    `how` (majority or mean); attributed to `name` (default ensemble_name)."""
    if how not in HOW:
        raise InputError(None, f"unknown way to combine judges {how!r}; expected majority or mean")
    if len(members) < 2:
        raise InputError(None, f"an ensemble needs two or more judges; got {len(members)}")
    quorum = len(members) if quorum is None else quorum
    if not 1 <= quorum <= len(members):
        raise InputError(None, f"the quorum must be between 1 and {len(members)}, got {quorum}")
    name = name or ensemble_name(list(members), how)
    first: dict[Unit, CurrentLabel] = {}
    for labels in members.values():
        for lab in labels:
            if lab.grade is not None and (
                lab.unit not in first or lab.event_id < first[lab.unit].event_id
            ):
                first[lab.unit] = lab
    out = []
    for unit, grades in unit_grades(members).items():
        if len(grades) < quorum:
            continue
        lab = first[unit]
        out.append(
            lab._replace(
                annotator=name,
                grade=combine_grades(list(grades.values()), how),
                note=None,
                source="suggestion",
            )
        )
    return sorted(out, key=lambda lab: lab.event_id)


def ensemble_vs_people(
    store: JudgmentStore,
    corpus: str,
    members: Sequence[str],
    how: str = "majority",
    *,
    quorum: int | None = None,
    **versus: Unpack[VersusPeople],
) -> list[JudgeAgreement]:
    """Each member, then the ensemble, against the humans' final labels (judges.labels_vs_people
    and its options), all on the units the ensemble graded."""
    from ranklens.judges.judges import judge_labels, labels_vs_people

    found = judge_labels(store, corpus, query_ids=versus.get("query_ids"))
    unknown = [m for m in members if m not in found]
    if unknown:
        raise NotFoundError(
            f"no judge named {', '.join(map(repr, unknown))} in corpus {corpus!r}; its judges: "
            f"{', '.join(map(repr, found)) or 'none'}"
        )
    if len(set(members)) != len(members):
        raise InputError(None, "a judge is named twice in the ensemble")
    chosen = {m: found[m] for m in members}
    ensemble = combine(chosen, how, quorum=quorum)
    units = {lab.unit for lab in ensemble}
    judged = {name: [lab for lab in labels if lab.unit in units] for name, labels in chosen.items()}
    judged[ensemble_name(members, how)] = ensemble
    return labels_vs_people(store, corpus, judged, **versus)
