"""Few-shot examples from the team's labels: a seeded split of labelled queries by query, the
labelled pairs with people's reasons, examples stratified by grade within a token budget, and a
prompt with the examples written into it.

Decisions (read before changing anything here):

- The split is by query, never by pair: the labelled queries (those with a human final label)
  are shuffled with the seed and cut at `fraction`; both sides keep at least one query.
- Labelled pairs are the humans' final labels (adjudicated first, else the rule); labels
  accepted from a model's suggestion never count as human here. A pair's reason is a note that
  someone who gave the final grade wrote.
- Examples are stratified by grade (round robin over the grades, lowest first, a seeded order
  within a grade, pairs with a reason before pairs without) and kept within a token budget
  (estimate_tokens: about 4 characters a token).
- A calibrated prompt is the prompt's text with the examples written into it (at an `{examples}`
  slot, else just before the line holding `{query}`, so that a server's prefix cache keeps the
  shared part), so its hash differs and it is an ordinary prompt: cached, stored, versioned.
  Braces of the slots inside example texts are spaced out (`{ query }`), never filled in.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Collection, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

from ranklens.corpus.chunking import index_text
from ranklens.corpus.lookups import document_passage, query_texts
from ranklens.errors import InputError
from ranklens.judging.accepted import accepted_event_ids, without_accepted
from ranklens.judging.rules import final_qrels_from, natural_key, round_half_up
from ranklens.llm.prompt import Prompt
from ranklens.llm.reports import JudgePair
from ranklens.scale import Scale

if TYPE_CHECKING:
    from ranklens.corpus.index import Corpus
    from ranklens.judging.store import JudgmentStore

DEFAULT_FRACTION = 0.5
DEFAULT_EXAMPLES = 6
DEFAULT_TOKEN_BUDGET = 2000
EXAMPLES_SLOT = "{examples}"
_SLOT_TOKENS = ("{query}", "{passage}", EXAMPLES_SLOT)


def estimate_tokens(text: str) -> int:
    """A rough token count (about 4 characters a token, as for English with common BPE
    tokenizers); used for the examples' budget and to show what examples add to each prompt."""
    return math.ceil(len(text) / 4)


# ---------------------------------------------------------------- the split


class Split(NamedTuple):
    """Labelled queries cut into calibration and held-out queries (each in natural order)."""

    calibration: tuple[str, ...]
    held_out: tuple[str, ...]
    seed: int


def split_queries(
    query_ids: Collection[str], *, fraction: float = DEFAULT_FRACTION, seed: int = 0
) -> Split:
    """A seeded split of query ids: `fraction` of them (at least one, never all) calibrate."""
    if not 0 < fraction < 1:
        raise InputError(None, f"the calibration fraction must be between 0 and 1, got {fraction}")
    ids = sorted(set(query_ids), key=natural_key)
    if len(ids) < 2:
        raise InputError(
            None,
            f"calibration needs at least two labelled queries (one to take examples from, one "
            f"to measure on); found {len(ids)}",
        )
    random.Random(seed).shuffle(ids)
    n = min(len(ids) - 1, max(1, round_half_up(len(ids) * fraction)))
    return Split(
        tuple(sorted(ids[:n], key=natural_key)), tuple(sorted(ids[n:], key=natural_key)), seed
    )


# ---------------------------------------------------------------- labelled pairs


class LabelledPair(NamedTuple):
    """A pair people labelled: its texts, the humans' final grade, and a reason if one was given."""

    query_id: str
    passage_id: str  # "" for a label on a whole document
    doc_id: str
    query: str
    passage: str
    grade: int
    reason: str | None

    @property
    def judge_pair(self) -> JudgePair:
        return JudgePair(self.query_id, self.query, self.passage_id, self.doc_id, self.passage)


def labelled_pairs(
    store: JudgmentStore,
    corpus: Corpus,
    query_ids: Collection[str],
    *,
    rule: str = "majority",
) -> list[LabelledPair]:
    """The humans' final label of every labelled unit of these queries (adjudicated first, else
    `rule`; accepted suggestions left out), with the corpus's texts; units whose query or
    passage the corpus no longer has are left out."""
    wanted = set(query_ids)
    accepted = accepted_event_ids(store, corpus.name)
    labels = without_accepted(store.current_labels(corpus.name, query_ids=wanted), accepted)
    adjudicated = {
        u: (lab.grade, lab.event_id)
        for u, lab in store.adjudicated(corpus.name, query_ids=wanted).items()
        if lab.grade is not None
    }
    final = final_qrels_from(labels, adjudicated, rule, "passage")
    units: dict[tuple[str, str], tuple[str, str]] = {}  # (query, qrel id) -> (doc, passage)
    reasons: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
    for lab in labels:
        units[(lab.query_id, lab.passage_id or lab.doc_id)] = (lab.doc_id, lab.passage_id)
        if lab.grade is not None and lab.note and not lab.note.startswith("accepted "):
            reasons[lab.unit].append((lab.grade, lab.note))
    for u, lab in store.adjudicated(corpus.name, query_ids=wanted).items():
        units[(u[0], u[2] or u[1])] = (u[1], u[2])
        if lab.grade is not None and lab.note:
            reasons[u].insert(0, (lab.grade, lab.note))
    texts = query_texts(corpus)
    passage_ids = sorted({p for d, p in units.values() if p})
    passages = corpus.get_passages(passage_ids) if passage_ids else {}
    out = []
    for q in final:
        doc_id, passage_id = units[(q.query_id, q.doc_id)]
        if q.query_id not in texts:
            continue
        if passage_id:
            p = passages.get(passage_id)
            text = index_text(p) if p is not None else None
        else:
            d = document_passage(corpus, doc_id)
            text = index_text(d) if d is not None else None
        if text is None:
            continue
        unit = (q.query_id, doc_id, passage_id)
        reason = next((r for g, r in reasons.get(unit, []) if g == q.relevance), None)
        out.append(
            LabelledPair(
                q.query_id, passage_id, doc_id, texts[q.query_id], text, q.relevance, reason
            )
        )
    return out


# ---------------------------------------------------------------- examples


class Example(NamedTuple):
    """One few-shot example: a labelled pair from a calibration query, as shown to the judge."""

    query_id: str
    passage_id: str
    doc_id: str
    query: str
    passage: str
    grade: int  # the humans' grade on the corpus's scale
    score: int  # the same grade on the prompt's 0..top scale
    reason: str | None


def to_prompt_score(grade: int, scale: Scale, top: int) -> int:
    """A grade on the scale as the prompt's 0..top score (the inverse of llm_prompt.to_scale, rounded
    half up where the scales do not line up)."""
    return round_half_up(Fraction(grade * top, scale.max))


def _neutral(text: str) -> str:
    for token in _SLOT_TOKENS:
        text = text.replace(token, "{ " + token[1:-1] + " }")
    return text


def format_example(n: int, ex: Example) -> str:
    reason = f"Reason: {_neutral(ex.reason)}\n" if ex.reason else ""
    return (
        f"Example {n}\nQuery: {_neutral(ex.query)}\nPassage: {_neutral(ex.passage)}\n{reason}"
        f"##final score: {ex.score}\n"
    )


def examples_block(examples: Sequence[Example]) -> str:
    """The examples as written into a calibrated prompt."""
    if not examples:
        return ""
    body = "\n".join(format_example(n, ex) for n, ex in enumerate(examples, 1))
    return (
        "Examples graded by the people of this team (their score, and their reason when they "
        f"gave one):\n\n{body}\nEnd of the examples. Now grade this pair.\n\n"
    )


def pick_examples(
    pairs: Sequence[LabelledPair],
    n: int,
    scale: Scale,
    top: int,
    *,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    seed: int = 0,
) -> list[Example]:
    """Up to n examples, stratified by grade (round robin, lowest grade first), pairs with a
    reason first within a grade, in a seeded order; an example that would pass the token budget
    is left out."""
    if n < 0 or token_budget < 0:
        raise InputError(None, "the number of examples and the token budget cannot be negative")
    rng = random.Random(seed)
    by_grade: dict[int, list[LabelledPair]] = defaultdict(list)
    for p in sorted(pairs, key=lambda p: (natural_key(p.query_id), p.doc_id, p.passage_id)):
        by_grade[p.grade].append(p)
    for grade in sorted(by_grade):
        found = by_grade[grade]
        rng.shuffle(found)
        found.sort(key=lambda p: p.reason is None)  # stable: the seeded order stays within
    chosen: list[Example] = []
    used = 0
    while len(chosen) < n and any(by_grade.values()):
        for grade in sorted(by_grade):
            if len(chosen) >= n:
                break
            found = by_grade[grade]
            while found:
                p = found.pop(0)
                ex = Example(
                    p.query_id,
                    p.passage_id,
                    p.doc_id,
                    p.query,
                    p.passage,
                    p.grade,
                    to_prompt_score(p.grade, scale, top),
                    p.reason,
                )
                cost = estimate_tokens(format_example(len(chosen) + 1, ex))
                if used + cost <= token_budget:
                    chosen.append(ex)
                    used += cost
                    break
    return chosen


def calibrated_prompt(prompt: Prompt, examples: Sequence[Example]) -> Prompt:
    """The prompt with the examples written into its text (see the module's notes)."""
    block = examples_block(examples)
    text = prompt.text
    if EXAMPLES_SLOT in text:
        return Prompt(text.replace(EXAMPLES_SLOT, block), prompt.top)
    if not block:
        return prompt
    at = text.index("{query}")
    line_start = text.rfind("\n", 0, at) + 1
    return Prompt(text[:line_start] + block + text[line_start:], prompt.top)
