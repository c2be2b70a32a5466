"""The LLM judge's prompts and replies: UMBRELA's prompt, few-shot examples, the JSON schema of a
structured reply, reply parsing (never guessed), a score mapped onto a scale, the judge's name.

Decisions (read before changing anything here):

- A reply counts only when it holds exactly one final score (`##final score: N`, 0..top);
  anything else is "unparseable": counted and shown with its text, never guessed.
- In a JSON mode a reply counts when it is an object with an integer grade in 0..top, or (cut at
  the reply limit) starts `{"grade": N`; a reply that ignored the schema still counts when it
  holds exactly one `##final score: N`.
- Few-shot examples (FewShot) are part of a Prompt: rendered before the template, in the reply
  format of the mode, and part of its hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from ranklens.errors import RankLensError
from ranklens.scale import Scale

# The zero-shot "bing" prompt of UMBRELA (Upadhyay et al. 2024, "UMBRELA: UMbrela is the
# (Open-Source Reproduction of the) Bing RELevance Assessor", arXiv:2406.06519;
# github.com/castorini/umbrela, Apache-2.0), as published, with its {query} and {passage} slots.
UMBRELA_PROMPT = """\
Given a query and a passage, you must provide a score on an integer scale of 0 to 3 with the \
following meanings:
0 = represent that the passage has nothing to do with the query,
1 = represents that the passage seems related to the query but does not answer it,
2 = represents that the passage has some answer for the query, but the answer may be a bit \
unclear, or hidden amongst extraneous information and
3 = represents that the passage is dedicated to the query and contains the exact answer.

Important Instruction: Assign category 1 if the passage is somewhat related to the topic but not \
completely, category 2 if passage presents something very important related to the entire topic \
but also has some extra information and category 3 if the passage only and entirely refers to the \
topic. If none of the above satisfies give it category 0.

Query: {query}
Passage: {passage}

Split this problem into steps:
Consider the underlying intent of the search.
Measure how well the content matches a likely intent of the query (M).
Measure how trustworthy the passage is (T).
Consider the aspects above and the relative importance of each, and decide on a final score (O). \
Final score must be an integer value only.
Do not provide any code in result. Provide each score in the format of: ##final score: score \
without providing any reasoning."""

UMBRELA_TOP = 3
JUDGE_PREFIX = "llm:"
_SLOTS = ("{query}", "{passage}")
_FINAL = re.compile(r"##\s*final\s*score\s*:\s*\**\s*(-?\d+)", re.IGNORECASE)
_JSON_GRADE = re.compile(r'^\s*\{\s*"grade"\s*:\s*(-?\d+)\s*[,}]')
JSON_INSTRUCTION = (
    '\n\nAnswer in JSON with the keys "grade" (the final score, an integer from 0 to {top}) and '
    '"reason" (one short sentence).'
)


class LLMError(RankLensError):
    """An LLM judge cannot be used: its endpoint (not configured, refused, wrong URL or model) or
    its prompt (a slot missing, a score outside 0..top)."""


class FewShot(NamedTuple):
    """One example shown before the template: a pair people graded (on the prompt's 0..top
    scale) and, where they gave one, their reason."""

    query: str
    passage: str
    score: int
    reason: str = ""


@dataclass(frozen=True)
class Prompt:
    """A prompt template with {query} and {passage} slots whose reply ends in
    `##final score: N`, N in 0..top; optionally few-shot examples shown before it."""

    text: str = UMBRELA_PROMPT
    top: int = UMBRELA_TOP
    examples: tuple[FewShot, ...] = ()

    def __post_init__(self) -> None:
        missing = [s for s in _SLOTS if s not in self.text]
        if missing:
            raise LLMError(f"the prompt needs the slot(s) {', '.join(missing)} (none found)")
        if not 1 <= self.top <= 100:
            raise LLMError(f"a prompt's top score must be 1..100, got {self.top}")
        bad = [e for e in self.examples if not 0 <= e.score <= self.top]
        if bad:
            raise LLMError(f"a few-shot example's score must be 0..{self.top}, got {bad[0].score}")

    @property
    def hash(self) -> str:
        """A short, stable id of the template (text and top score) and its examples."""
        if not self.examples:
            return prompt_hash(self.text, self.top)
        shots = json.dumps([list(e) for e in self.examples], ensure_ascii=False)
        return prompt_hash(f"{self.text}\n{shots}", self.top)

    def with_examples(self, examples: Sequence[FewShot]) -> Prompt:
        """The same template with these few-shot examples (none: the bare template)."""
        return replace(self, examples=tuple(FewShot(*e) for e in examples))

    def render(self, query: str, passage: str, mode: str = "text") -> str:
        """The prompt for one pair. Slots are replaced literally: braces in the template or in
        the texts are left alone. In a JSON mode the examples answer in JSON and one line asks
        for it."""
        body = self.text.replace("{query}", query).replace("{passage}", passage)
        if mode != "text":
            body += JSON_INSTRUCTION.replace("{top}", str(self.top))
        if not self.examples:
            return body
        shots = []
        for e in self.examples:
            if mode == "text":
                answer = (f"Reason: {e.reason}\n" if e.reason else "") + f"##final score: {e.score}"
            else:
                answer = json.dumps({"grade": e.score, "reason": e.reason}, ensure_ascii=False)
            shots.append(f"Query: {e.query}\nPassage: {e.passage}\n{answer}")
        return "Examples graded by people:\n\n" + "\n\n".join(shots) + "\n\n---\n\n" + body

    def schema(self) -> dict:
        """The JSON schema of a structured reply: {grade: 0..top, reason}."""
        return {
            "type": "object",
            "properties": {
                "grade": {"type": "integer", "enum": list(range(self.top + 1))},
                "reason": {"type": "string"},
            },
            "required": ["grade", "reason"],
            "additionalProperties": False,
        }


def prompt_hash(text: str, top: int = UMBRELA_TOP) -> str:
    """The first 16 hex digits of SHA-256 over the template and its top score."""
    return hashlib.sha256(f"{top}\n{text}".encode()).hexdigest()[:16]


def parse_final_score(reply: str, top: int = UMBRELA_TOP) -> int | None:
    """The N of `##final score: N` in a reply, or None when there is none, several that
    differ, or one outside 0..top (never guessed)."""
    found = {int(m) for m in _FINAL.findall(reply or "")}
    if len(found) != 1:
        return None
    (score,) = found
    return score if 0 <= score <= top else None


def parse_reply(reply: str, top: int = UMBRELA_TOP, mode: str = "text") -> int | None:
    """The score of a reply in `mode`: in text mode the final score; in a JSON mode the integer
    `grade` of the object (or of its start, when the reply was cut at the limit), else the final
    score of a reply that ignored the schema. None when there is none (never guessed)."""
    if mode != "text":
        grade: object = None
        try:
            data = json.loads(reply or "")
        except ValueError:
            m = _JSON_GRADE.match(reply or "")
            grade = int(m.group(1)) if m else None
        else:
            grade = data.get("grade") if isinstance(data, dict) else None
        if isinstance(grade, int) and not isinstance(grade, bool):
            return grade if 0 <= grade <= top else None
    return parse_final_score(reply, top)


def reply_reason(reply: str | None) -> str | None:
    """The `reason` of a JSON reply, if it has one."""
    try:
        data = json.loads(reply or "")
    except ValueError:
        return None
    reason = data.get("reason") if isinstance(data, dict) else None
    return reason if isinstance(reason, str) else None


def to_scale(score: int, scale: Scale, top: int = UMBRELA_TOP) -> int:
    """A 0..top score mapped linearly onto the scale's 0..max, rounded half up: on a binary
    scale UMBRELA's 2 and 3 are relevant; on 0-4, 0 1 2 3 become 0 1 3 4."""
    if not 0 <= score <= top:
        raise LLMError(f"score {score} is outside 0..{top}")
    return int((2 * score * scale.max + top) // (2 * top))


def judge_name(model: str) -> str:
    """The annotator name suggestions of an LLM judge are attributed to."""
    return JUDGE_PREFIX + model
