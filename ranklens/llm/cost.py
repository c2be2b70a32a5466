"""What an LLM batch costs: tokens estimated before it (from the prompts and the reply limit,
scaled by a dry run's reported counts when there are some) and counted after, priced per million.

Estimates say what they rest on; the count after a batch is the server's own (usage), and where
the server reported none the cost after is not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ranklens.errors import RankLensError
from ranklens.llm.judge import LLMJudge
from ranklens.llm.reports import BatchReport, DryRunItem, JudgePair

CHARS_PER_TOKEN = 4.0  # a rough rule for English text with BPE tokenisers


class Price(NamedTuple):
    """Dollars per million tokens, prompt (input) and completion (output)."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6

    def __str__(self) -> str:
        return f"${self.prompt:g} / ${self.completion:g} per million prompt / completion tokens"


def parse_price(text: str | None) -> Price | None:
    """ "0.15" (the same for prompt and completion tokens) or "0.15/0.60"; None for empty."""
    if text is None or not str(text).strip():
        return None
    parts = str(text).replace(",", ".").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or any(v < 0 for v in values):
        raise RankLensError(
            f"price {text!r}: expected dollars per million tokens, 'IN' or 'IN/OUT' (e.g. 0.15/0.60)"
        )
    return Price(values[0], values[-1])


class TokenEstimate(NamedTuple):
    """Tokens a batch will use: prompts (estimated) and replies (at most the reply limit)."""

    pairs: int  # pairs that will be sent (cached ones cost nothing)
    cached: int
    prompt_tokens: int
    completion_tokens: int  # the reply limit times the pairs: an upper bound
    basis: str  # what the prompt estimate rests on

    def text(self, price: Price | None = None) -> str:
        line = (
            f"Estimate before the batch: {self.pairs} pairs to send ({self.cached} cached), about "
            f"{self.prompt_tokens:,} prompt tokens ({self.basis}) and at most "
            f"{self.completion_tokens:,} completion tokens (the reply limit)"
        )
        if price is not None:
            line += f": at most about ${price.cost(self.prompt_tokens, self.completion_tokens):.4f}"
            line += f" at {price}"
        return line + "."


def estimate(
    judge: LLMJudge, pairs: Sequence[JudgePair], dry_run: Sequence[DryRunItem] = ()
) -> TokenEstimate:
    """Tokens for judging `pairs` with this judge; a dry run's reported prompt tokens (if any)
    set the characters per token, else CHARS_PER_TOKEN."""
    todo = [p for p in pairs if judge._cached(p) is None]
    chars = sum(len(judge.prompt.render(p.query, p.passage, "text")) for p in todo)
    measured = [
        (len(it.prompt), it.judgment.prompt_tokens)
        for it in dry_run
        if it.judgment.prompt_tokens and not it.judgment.cached
    ]
    if measured:
        per = sum(c for c, _ in measured) / sum(t for _, t in measured)
        basis = f"{per:.1f} characters a token, as the dry run's replies reported"
    else:
        per = CHARS_PER_TOKEN
        basis = f"about {CHARS_PER_TOKEN:g} characters a token; the server reported no counts"
    return TokenEstimate(
        len(todo),
        len(pairs) - len(todo),
        round(chars / per),
        len(todo) * judge.max_tokens(),
        basis,
    )


def spent_text(report: BatchReport, price: Price | None = None) -> str:
    """The tokens a batch used, as the server reported them, and their cost."""
    if not report.tokens_reported and report.judgments and report.cached == len(report.judgments):
        return "Used: no tokens, every reply came from the cache."
    if not report.tokens_reported:
        return "Used: the server reported no token counts, so the cost after is not known."
    line = (
        f"Used: {report.prompt_tokens:,} prompt and {report.completion_tokens:,} completion "
        "tokens (reported by the server)"
    )
    if price is not None:
        line += f" = ${price.cost(report.prompt_tokens, report.completion_tokens):.4f} at {price}"
    return line + "."
