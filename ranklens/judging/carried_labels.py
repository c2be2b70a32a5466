"""Labels a new query set would carry: labels are keyed by query id, so a set that reuses ids
inherits the labels given to those ids before. Said when the set is made; refused when the text differs.

Same ids with the same text: the labels apply (said, with the offer to start clean: fresh ids).
Same ids with another text: refused, naming the ids, since a label of one question would be
counted for another in agreement, evaluation and the exported qrels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ranklens.errors import InputError
from ranklens.types import Query

__all__ = ["CarriedLabels", "carried_labels", "check_carried_labels", "fresh_ids", "add_query_set"]

SHOWN_IDS = 10  # ids named in a message before "and N more"


@dataclass
class CarriedLabels:
    """Labels already in the store for the ids of a new query set."""

    same_text: list[str] = field(default_factory=list)  # ids labelled with this very text
    different_text: list[tuple[str, str, str]] = field(default_factory=list)  # id, then, now
    unknown_text: list[str] = field(default_factory=list)  # ids whose earlier text is gone
    labels: Counter = field(default_factory=Counter)  # query id -> current labels

    @property
    def carried(self) -> int:
        return sum(self.labels.values())

    def message(self, name: str) -> str:
        """What the new set would inherit, in a sentence ('' when nothing)."""
        ids = [*self.same_text, *self.unknown_text]
        if not ids:
            return ""
        n = sum(self.labels[q] for q in ids)
        return (
            f"query set {name!r} reuses {len(ids)} query id(s) that already have {n} label(s) "
            f"({_ids(ids)}): those labels count for the new set in agreement, evaluation and "
            "the exported qrels. Start clean to give the set's queries new ids instead"
        )


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def carried_labels(corpus: Any, store: Any, name: str, queries: Sequence[Query]) -> CarriedLabels:
    """Which of `queries` (a set about to be stored as `name` in `corpus`) already have labels.

    The earlier text of an id is the text of the set the label was given under (read before the
    new set is written, so a replaced set is compared with its old version); for a label with no
    set (an import), any set of the corpus that holds the id.
    """
    wanted = {q.query_id: q.text for q in queries}
    if not wanted:
        return CarriedLabels()
    found = store.current_labels(corpus.name, query_ids=list(wanted))
    if not found:
        return CarriedLabels()
    sets = corpus.query_sets()
    texts = {s: {q.query_id: q.text for q in qs} for s, qs in sets.items()}
    out = CarriedLabels(labels=Counter(lab.query_id for lab in found))
    for qid in dict.fromkeys(lab.query_id for lab in found):
        named = {lab.query_set for lab in found if lab.query_id == qid}
        before = [texts[s][qid] for s in named if s in texts and qid in texts[s]]
        if not before and None in named:
            before = [t[qid] for t in texts.values() if qid in t]
        now = wanted[qid]
        if not before:
            out.unknown_text.append(qid)
        elif all(_same(b, now) for b in before):
            out.same_text.append(qid)
        else:
            then = next(b for b in before if not _same(b, now))
            out.different_text.append((qid, then, now))
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_carried_labels(
    corpus: Any, store: Any, name: str, queries: Sequence[Query]
) -> CarriedLabels:
    """carried_labels, refusing a set whose ids were labelled for another text (InputError)."""
    found = carried_labels(corpus, store, name, queries)
    if found.different_text:
        ids = [qid for qid, _, _ in found.different_text]
        qid, then, now = found.different_text[0]
        raise InputError(
            None,
            f"query set {name!r} reuses {len(ids)} query id(s) that were labelled for another "
            f"text ({_ids(ids)}; e.g. {qid!r} was {then[:80]!r}, now {now[:80]!r}): their labels "
            "would count for the new questions. Give these queries new ids, or start clean",
        )
    return found


def fresh_ids(queries: Sequence[Query], prefix: str) -> list[Query]:
    """The queries with new ids, ``PREFIX-ID`` (no earlier label applies to them)."""
    return [q._replace(query_id=f"{prefix}-{q.query_id}") for q in queries]


def add_query_set(
    corpus: Any,
    store: Any,
    name: str,
    queries: Sequence[Query],
    start_clean: bool = False,
    *,
    actor: Any = None,
    replace: bool = False,
) -> tuple[list[Query], CarriedLabels]:
    """Store a query set under the carried-labels rule: returns the stored queries and what
    they carry. start_clean gives every query a fresh id first (``NAME-ID``); otherwise a set
    whose ids were labelled for another text is refused (InputError), nothing stored. The
    corpus's own rules apply too (Corpus.add_query_set: replace, shipped sets, admin-only)."""
    if start_clean:
        queries = fresh_ids(queries, name)
    found = check_carried_labels(corpus, store, name, queries)
    corpus.add_query_set(name, list(queries), actor=actor, replace=replace)
    return list(queries), found
