"""The rules of judging, pure (no storage): pools from runs and each annotator's order, grades
from model scores, combining annotators' grades, final qrels, reading a qrels id, names.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from fractions import Fraction

from ranklens.errors import InputError
from ranklens.judging.agreement import Unit
from ranklens.judging.records import DOC_LEVEL, RULES, CurrentLabel, PoolItem
from ranklens.types import Qrel, Run, check_level


def build_pool(
    runs: Mapping[str, Run], depth: int, query_ids: Sequence[str] | None = None
) -> list[PoolItem]:
    """The pool: per query, the union of each ranker's top-`depth` passages, deduplicated.

    Queries come in `query_ids` order (default: first seen across the runs); within a query,
    by best rank over the rankers, then by ranker order. The list carries no provenance.
    """
    if depth < 1:
        raise InputError(None, f"pool depth must be at least 1, got {depth}")
    best: dict[str, dict[str, tuple[int, int, str]]] = defaultdict(dict)
    order: list[str] = []
    for r_index, run in enumerate(runs.values()):
        for qid, hits in run.items():
            if qid not in best:
                order.append(qid)
            seen = best[qid]
            for h in sorted(hits, key=lambda h: h.rank)[:depth]:
                key = (h.rank, r_index, h.doc_id)
                if h.passage_id not in seen or key < seen[h.passage_id]:
                    seen[h.passage_id] = key
    if query_ids is not None:
        order = [q for q in query_ids if q in best]
    out: list[PoolItem] = []
    for qid in order:
        for pid, (_, _, did) in sorted(best[qid].items(), key=lambda kv: (kv[1][:2], kv[0])):
            out.append(PoolItem(qid, pid, did))
    return out


def drop_unshown(
    runs: Mapping[str, Run], depth: int, shown: Collection[str]
) -> tuple[dict[str, Run], int]:
    """The runs without hits whose passage id is not in `shown` (ids the corpus lacks with no
    text from the system that returned them: nothing to judge), and how many distinct (query,
    id) pairs of the top `depth` were left out."""
    dropped: set[tuple[str, str]] = set()
    out: dict[str, Run] = {}
    for name, run in runs.items():
        out[name] = {}
        for qid, hits in run.items():
            for h in sorted(hits, key=lambda h: h.rank)[:depth]:
                if h.passage_id not in shown:
                    dropped.add((qid, h.passage_id))
            out[name][qid] = [h for h in hits if h.passage_id in shown]
    return out, len(dropped)


def pool_provenance(runs: Mapping[str, Run], depth: int) -> dict[tuple[str, str], tuple[str, ...]]:
    """(query_id, passage_id) -> the rankers that put it in their top `depth` (for analysis only)."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, run in runs.items():
        for qid, hits in run.items():
            for h in sorted(hits, key=lambda h: h.rank)[:depth]:
                if name not in found[(qid, h.passage_id)]:
                    found[(qid, h.passage_id)].append(name)
    return {k: tuple(v) for k, v in found.items()}


def pool_order(pool: Sequence[PoolItem], annotator: str, seed: int) -> list[PoolItem]:
    """The order one annotator sees: queries in pool order, each query's passages shuffled.

    Deterministic for (annotator, seed, query): reloading the page gives the same order, and
    two annotators with the same seed still see different orders.
    """
    by_query: dict[str, list[PoolItem]] = {}
    for item in pool:
        by_query.setdefault(item.query_id, []).append(item)
    out: list[PoolItem] = []
    for qid, items in by_query.items():
        rng = random.Random(f"{seed}\x1f{annotator}\x1f{qid}")
        items = list(items)
        rng.shuffle(items)
        out.extend(items)
    return out


def grades_from_scores(scores: Sequence[float], thresholds: Sequence[float]) -> list[int]:
    """Grades from model scores: a score's grade is how many thresholds it reaches (score >= t).

    thresholds must be strictly increasing: with (0.2, 0.5, 0.8), a score of 0.5 is grade 2.
    """
    ts = [float(t) for t in thresholds]
    if not ts or any(math.isnan(t) for t in ts) or any(b <= a for a, b in itertools.pairwise(ts)):
        raise InputError(None, f"thresholds must be strictly increasing numbers, got {ts}")
    out = []
    for s in scores:
        if math.isnan(float(s)):
            raise InputError(None, "a score is NaN; expected numbers")
        out.append(bisect.bisect_right(ts, float(s)))
    return out


def round_half_up(value: Fraction | float) -> int:
    """Round to the nearest integer, halves up (1.5 -> 2, 2.5 -> 3), exactly for fractions."""
    return math.floor(Fraction(value) + Fraction(1, 2))


def combine_grades(grades: Sequence[int], rule: str = "majority") -> int:
    """One grade from several annotators' grades by a rule.

    majority: the grade given most often, if one grade is; otherwise the rounded mean.
    mean: the mean, rounded half up. max / min: the highest / lowest grade.
    """
    if not grades:
        raise ValueError("no grades to combine")
    if len(grades) == 1 and rule in RULES:
        return grades[0]
    if rule == "majority":
        counts = Counter(grades).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            return counts[0][0]
        return round_half_up(Fraction(sum(grades), len(grades)))
    if rule == "mean":
        return round_half_up(Fraction(sum(grades), len(grades)))
    if rule == "max":
        return max(grades)
    if rule == "min":
        return min(grades)
    raise InputError(None, f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")


def check_rule(rule: str) -> str:
    """The rule, or InputError: majority, mean, max, min, or annotator:NAME."""
    if rule in RULES or (rule.startswith("annotator:") and rule[len("annotator:") :].strip()):
        return rule
    raise InputError(
        None, f"unknown rule {rule!r}; expected one of {', '.join(RULES)} or annotator:NAME"
    )


def final_qrels_from(
    labels: Iterable[CurrentLabel],
    adjudicated: Mapping[Unit, tuple[int, int]] | None = None,
    rule: str = "majority",
    level: str = "doc",
) -> list[Qrel]:
    """Final qrels from current graded labels and adjudications (unit -> (grade, event id)).

    A unit's grade: its adjudicated grade if any, else `rule` over its annotators' grades
    ("annotator:NAME": exactly that annotator's labels, no adjudication). At level "doc" a
    document's grade is the best grade among its units. Qrels come in the order their first
    label was stored (so an imported file comes back in its own order).
    """
    check_rule(rule)
    level = check_level(level)
    adjudicated = dict(adjudicated or {})
    only = rule[len("annotator:") :] if rule.startswith("annotator:") else None
    grades: dict[Unit, list[int]] = defaultdict(list)
    first: dict[Unit, int] = {}
    for lab in labels:
        if lab.grade is None or (only is not None and lab.annotator != only):
            continue
        unit = (lab.query_id, lab.doc_id, lab.passage_id)
        grades[unit].append(lab.grade)
        if unit not in first or lab.event_id < first[unit]:
            first[unit] = lab.event_id
    final: dict[Unit, int] = {}
    if only is None:
        for unit, (grade, event_id) in adjudicated.items():
            final[unit] = grade
            first[unit] = min(first.get(unit, event_id), event_id)
    for unit, gs in grades.items():
        if unit not in final:
            final[unit] = combine_grades(gs, "majority" if only else rule)
    if level == "passage":
        units = sorted(final, key=lambda u: first[u])
        return [Qrel(q, p or d, final[(q, d, p)]) for q, d, p in units]
    docs: dict[tuple[str, str], int] = {}
    doc_first: dict[tuple[str, str], int] = {}
    for (q, d, _p), grade in final.items():
        docs[(q, d)] = max(docs.get((q, d), grade), grade)
        doc_first[(q, d)] = min(doc_first.get((q, d), first[(q, d, _p)]), first[(q, d, _p)])
    return [Qrel(q, d, docs[(q, d)]) for q, d in sorted(docs, key=lambda k: doc_first[k])]


def resolve_doc_id(
    raw: str,
    known_doc_ids: Collection[str] | None,
    known_passages: Mapping[str, str] | None = None,
) -> tuple[str, str, bool]:
    """(doc_id, passage_id, known) for an id from a qrels file.

    A corpus document id gives a document-level label (passage_id ""); a corpus passage id
    (known_passages: passage id -> its document id) a passage-level one. An id is never taken
    apart: a document id may itself hold '#' ("report#2"). Without known ids, and for an id the
    corpus does not have, the id is read as a document id.
    """
    if known_doc_ids is None:
        return raw, DOC_LEVEL, True
    if raw in known_doc_ids:
        return raw, DOC_LEVEL, True
    if known_passages is not None and raw in known_passages:
        return known_passages[raw], raw, True
    return raw, DOC_LEVEL, False


def check_name(name: str, what: str) -> str:
    """The name stripped, or InputError when it is empty or longer than 200 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(None, f"the {what} name is empty; say who you are")
    name = name.strip()
    if len(name) > 200:
        raise InputError(None, f"the {what} name is longer than 200 characters")
    return name


def natural_key(text: str) -> tuple:
    """Sort key: numeric ids in numeric order, before the others."""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
