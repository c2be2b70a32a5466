"""What an LLM judge hands back: the pairs it is given, each reply, each pair's judgment, a batch's
report (graded, unparseable, failed, tokens, modes, why it stopped) and a dry run's plain text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ranklens.llm.prompt import judge_name


class JudgePair(NamedTuple):
    """One (query, passage) to judge; texts are untrusted and only ever sent, never rendered."""

    query_id: str
    query: str
    passage_id: str
    doc_id: str
    passage: str


class Reply(NamedTuple):
    """What the endpoint said for one prompt."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None


class Judgment(NamedTuple):
    """The outcome for one pair: a grade on the scale, or why there is none."""

    pair: JudgePair
    score: int | None  # the prompt's own 0..top score
    grade: int | None  # mapped onto the corpus's scale
    reply: str | None  # None when the request failed
    error: str | None  # why the request failed (timeout, HTTP 500, ...)
    prompt_tokens: int | None
    completion_tokens: int | None
    cached: bool
    mode: str | None = None  # json_schema, json_object or text; None for a failed request

    @property
    def unparseable(self) -> bool:
        return self.reply is not None and self.score is None


@dataclass
class BatchReport:
    """What a batch did: judged, unparseable and failed pairs, tokens, and why it stopped early."""

    model: str
    prompt_hash: str
    total: int
    judgments: list[Judgment] = field(default_factory=list)
    gave_up: str | None = None  # set when the batch stopped before the end
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_reported: bool = False
    seconds: float = 0.0
    retried: int = 0  # requests sent again after a failure
    lowest_concurrency: int | None = None  # set when timeouts or 429s lowered it
    refused_modes: tuple[str, ...] = ()  # output modes the endpoint refused

    @property
    def modes(self) -> dict[str, int]:
        """How many replies came in each output mode (cached ones included)."""
        return dict(Counter(j.mode for j in self.judgments if j.mode is not None))

    def mode_note(self) -> str:
        """Which output mode(s) were used, and what the endpoint refused."""
        modes = self.modes
        if not modes:
            return ""
        names = {
            "json_schema": "structured output (JSON schema)",
            "json_object": "structured output (JSON object with a schema)",
            "text": "the text prompt",
        }
        used = ", ".join(f"{names.get(m, m)} for {n}" for m, n in modes.items())
        text = f"Mode: {used}"
        if self.refused_modes:
            text += f" (the endpoint refused {', '.join(self.refused_modes)})"
        return text + "."

    @property
    def graded(self) -> list[Judgment]:
        return [j for j in self.judgments if j.grade is not None]

    @property
    def unparseable(self) -> list[Judgment]:
        return [j for j in self.judgments if j.unparseable]

    @property
    def failed(self) -> list[Judgment]:
        return [j for j in self.judgments if j.error is not None]

    @property
    def cached(self) -> int:
        return sum(j.cached for j in self.judgments)

    @property
    def not_sent(self) -> int:
        return self.total - len(self.judgments)

    def summary(self) -> str:
        parts = [
            f"{judge_name(self.model)} (prompt {self.prompt_hash}): {len(self.graded)} of "
            f"{self.total} pairs graded ({self.cached} from the cache)",
            f"{len(self.unparseable)} replies without a final score",
            f"{len(self.failed)} failed",
        ]
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        text = "; ".join(parts) + "."
        if self.tokens_reported:
            text += f" Tokens: {self.prompt_tokens} prompt, {self.completion_tokens} completion."
        elif any(not j.cached for j in self.judgments if j.reply is not None):
            text += " The server reported no token counts."
        note = self.mode_note()
        if note:
            text += " " + note
        if self.retried:
            text += f" {self.retried} requests were sent again after a failure."
        if self.lowest_concurrency is not None:
            text += (
                f" Timeouts or 429s lowered the requests in flight to {self.lowest_concurrency}."
            )
        if self.gave_up:
            text += f" Stopped: {self.gave_up}"
        return text

    def to_dict(self) -> dict:
        return {
            "judge": judge_name(self.model),
            "model": self.model,
            "prompt_hash": self.prompt_hash,
            "total": self.total,
            "graded": len(self.graded),
            "cached": self.cached,
            "unparseable": [_judgment_dict(j) for j in self.unparseable],
            "failed": [_judgment_dict(j) for j in self.failed],
            "not_sent": self.not_sent,
            "gave_up": self.gave_up,
            "tokens": (
                {"prompt": self.prompt_tokens, "completion": self.completion_tokens}
                if self.tokens_reported
                else None
            ),
            "seconds": round(self.seconds, 3),
            "modes": self.modes,
            "refused_modes": list(self.refused_modes),
            "retried": self.retried,
            "lowest_concurrency": self.lowest_concurrency,
        }


def _judgment_dict(j: Judgment) -> dict:
    return {
        "query_id": j.pair.query_id,
        "passage_id": j.pair.passage_id,
        "score": j.score,
        "grade": j.grade,
        "reply": j.reply,
        "error": j.error,
        "mode": j.mode,
    }


class DryRunItem(NamedTuple):
    """A dry run's view of one pair: the exact prompt sent and what came back."""

    prompt: str
    judgment: Judgment

    def outcome(self) -> str:
        """What the dry run made of the reply: failed, no final score, or score and grade."""
        j = self.judgment
        if j.error:
            return f"failed: {j.error}"
        if j.score is None:
            return "no final score in the reply (counted as unparseable)"
        return f"score {j.score} -> grade {j.grade}"


def format_dry_run(items: Sequence[DryRunItem]) -> str:
    """Plain text of a dry run (prompt, reply, parsed score and grade per pair)."""
    blocks = []
    for n, item in enumerate(items, 1):
        j = item.judgment
        blocks.append(
            f"--- pair {n}: query {j.pair.query_id}, passage {j.pair.passage_id}\n"
            f"[prompt]\n{item.prompt}\n[reply]\n{j.reply if j.reply is not None else ''}\n"
            f"[parsed] {item.outcome()}"
        )
    return "\n\n".join(blocks)
