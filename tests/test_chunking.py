"""Chunking: sentence-aware passages within the word budget, with overlap and stable ids."""

from __future__ import annotations

import pytest

from ranklens.corpus.chunking import (
    ChunkSettings,
    chunk_documents,
    chunk_text,
    index_text,
    split_sentences,
)
from ranklens.types import Doc


def numbered_sentences(n: int, words: int = 10) -> str:
    return " ".join(
        " ".join([f"S{i}"] + [f"w{i}x{j}" for j in range(words - 1)]) + "." for i in range(n)
    )


def test_split_sentences_keeps_abbreviations():
    text = "Use a list, e.g. [1, 2]. It grows! Does it shrink? Yes.\n\nA new paragraph"
    assert split_sentences(text) == [
        "Use a list, e.g. [1, 2].",
        "It grows!",
        "Does it shrink?",
        "Yes.",
        "A new paragraph",
    ]


def test_chunks_hold_whole_sentences_within_budget():
    text = numbered_sentences(30)  # 300 words
    chunks = chunk_text(text, ChunkSettings(max_words=50, overlap_words=10))
    for c in chunks:
        assert len(c.split()) <= 50
        assert c.startswith("S") and c.endswith(".")
    # every sentence appears, in order
    starts = [w for c in chunks for w in c.split() if w.startswith("S")]
    assert sorted(set(starts), key=lambda s: int(s[1:])) == [f"S{i}" for i in range(30)]


def test_overlap_repeats_last_sentence():
    chunks = chunk_text(numbered_sentences(12), ChunkSettings(max_words=40, overlap_words=10))
    first, second = chunks[0].split(), chunks[1].split()
    assert second[:10] == first[-10:]  # one 10-word sentence carried over
    no_overlap = chunk_text(numbered_sentences(12), ChunkSettings(max_words=40, overlap_words=0))
    assert len(no_overlap) == 3 and len(chunks) > len(no_overlap)


def test_long_sentence_is_cut_into_windows():
    text = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_text(text, ChunkSettings(max_words=30, overlap_words=5))
    assert all(len(c.split()) <= 30 for c in chunks)
    assert chunks[0].split()[-5:] == chunks[1].split()[:5]
    assert chunks[-1].split()[-1] == "w99"


def test_passage_ids_stable_and_metadata_kept():
    doc = Doc("guide#v2", numbered_sentences(20), "Guide", "g.md")
    first = list(chunk_documents([doc], ChunkSettings(40, 10)))
    again = list(chunk_documents([doc], ChunkSettings(40, 10)))
    assert first == again
    assert [p.passage_id for p in first][:2] == ["guide#v2#0", "guide#v2#1"]
    assert all(p.doc_id == "guide#v2" and p.title == "Guide" and p.source == "g.md" for p in first)
    assert [p.position for p in first] == list(range(len(first)))
    # a document id that looks like a passage id stays the passage's doc_id field
    (p,) = chunk_documents([Doc("report#2", "Short.")])
    assert (p.passage_id, p.doc_id) == ("report#2#0", "report#2")
    assert index_text(first[0]).startswith("Guide\nS0")


def test_empty_document_keeps_one_passage():
    (p,) = chunk_documents([Doc("e", "", "Empty")])
    assert p.passage_id == "e#0" and p.text == ""


@pytest.mark.parametrize("size, overlap", [(4, 0), (100, 80), (100, -1)])
def test_bad_settings_rejected(size, overlap):
    with pytest.raises(ValueError):
        ChunkSettings(size, overlap)
