"""A corpus's saved judge prompts, read: every version (table `llm_prompts`, oldest first), the
current one (the latest, else UMBRELA's) and one by hash. Saving a version is ranklens.judges.judges'.

Reading needs only the database (anything with `read()`: a schema.Database or a JudgmentStore), so
the LLM reranker finds the corpus's prompt without the judging stores above it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import NamedTuple, Protocol

import sqlalchemy as sa

from ranklens.errors import NotFoundError
from ranklens.llm.prompt import Prompt
from ranklens.schema import llm_prompts


class Readable(Protocol):
    """What reading prompt versions needs: a read transaction (schema.Database, JudgmentStore)."""

    def read(self) -> AbstractContextManager[sa.Connection]: ...


class PromptVersion(NamedTuple):
    corpus: str
    version: int
    prompt_hash: str
    text: str
    top: int
    author: str
    created_at: float

    @property
    def prompt(self) -> Prompt:
        return Prompt(self.text, self.top)


def prompt_versions(store: Readable, corpus: str) -> list[PromptVersion]:
    """Every saved prompt version of a corpus, oldest first."""
    c = llm_prompts.c
    with store.read() as conn:
        rows = conn.execute(
            sa.select(llm_prompts).where(c.corpus == corpus).order_by(c.version)
        ).all()
    return [PromptVersion(*r) for r in rows]


def current_prompt(store: Readable, corpus: str) -> Prompt:
    """The corpus's latest prompt version, or UMBRELA's when none was saved."""
    versions = prompt_versions(store, corpus)
    return versions[-1].prompt if versions else Prompt()


def prompt_by_hash(store: Readable, corpus: str, prompt_hash: str) -> PromptVersion:
    """The corpus's version with that hash; NotFoundError when it has none."""
    for v in prompt_versions(store, corpus):
        if v.prompt_hash == prompt_hash:
            return v
    raise NotFoundError(f"corpus {corpus!r} has no prompt version with hash {prompt_hash!r}")
