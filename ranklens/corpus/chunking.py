"""Documents -> passages: sentence-aware chunks with a word budget and an overlap.

Passage ids are stable ("doc_id#n") for the same document text and the same settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from ranklens.types import Doc, Passage, passage_id

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by white space and
# an upper-case letter, digit, quote or bracket; a blank line always ends one.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[>])|\n\s*\n")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Mr|Mrs|Dr|No|Fig)\.$", re.IGNORECASE)


@dataclass(frozen=True)
class ChunkSettings:
    max_words: int = 160
    overlap_words: int = 32

    def __post_init__(self) -> None:
        if self.max_words < 8:
            raise ValueError(f"max_words must be at least 8, got {self.max_words}")
        if not 0 <= self.overlap_words < self.max_words // 2 + 1:
            raise ValueError(
                f"overlap_words must be between 0 and half of max_words, got {self.overlap_words}"
            )

    def as_dict(self) -> dict:
        return asdict(self)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text; abbreviations such as 'e.g.' do not end one."""
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        candidate = text[start : m.start() + (len(m.group(0)) - len(m.group(0).lstrip("\"')]")))]
        if _ABBREV.search(candidate.rstrip()) and "\n" not in m.group(0):
            continue
        pieces.append(candidate)
        start = m.end()
    pieces.append(text[start:])
    return [" ".join(p.split()) for p in pieces if p.strip()]


def _windows(words: list[str], size: int, overlap: int) -> Iterator[list[str]]:
    step = size - overlap
    for i in range(0, max(1, len(words) - overlap), step):
        yield words[i : i + size]


def chunk_text(text: str, settings: ChunkSettings = ChunkSettings()) -> list[str]:
    """Pack whole sentences into chunks of at most max_words words.

    Each chunk after the first starts with the last sentences of the previous one, up to
    overlap_words words. A sentence longer than max_words is cut into word windows.
    """
    size, overlap = settings.max_words, settings.overlap_words
    units: list[list[str]] = []
    for sentence in split_sentences(text):
        words = sentence.split()
        if len(words) <= size:
            units.append(words)
        else:
            units.extend(_windows(words, size, overlap))
    chunks: list[str] = []
    current: list[list[str]] = []
    count = 0
    for unit in units:
        if current and count + len(unit) > size:
            chunks.append(" ".join(w for u in current for w in u))
            carried: list[list[str]] = []
            carried_count = 0
            for prev in reversed(current):
                if (
                    carried_count + len(prev) > overlap
                    or carried_count + len(prev) + len(unit) > size
                ):
                    break
                carried.insert(0, prev)
                carried_count += len(prev)
            current, count = carried, carried_count
        current.append(unit)
        count += len(unit)
    if current:
        chunks.append(" ".join(w for u in current for w in u))
    return chunks


def chunk_documents(
    docs: Iterable[Doc], settings: ChunkSettings = ChunkSettings()
) -> Iterator[Passage]:
    """Passages of each document in order; an empty document yields one empty passage.

    Empty documents are kept (as BEIR corpora have them) so that every document has a passage.
    """
    for doc in docs:
        chunks = chunk_text(doc.text, settings) or [""]
        for n, chunk in enumerate(chunks):
            yield Passage(passage_id(doc.doc_id, n), doc.doc_id, chunk, doc.title, doc.source, n)


def index_text(p: Passage) -> str:
    """The text a model sees for a passage: its document's title, then the passage."""
    return f"{p.title}\n{p.text}" if p.title else p.text
