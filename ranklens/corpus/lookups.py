"""Texts looked up across a corpus for a labelled unit: a query's text by id over all of its
query sets, and a whole document as one passage (the text of a document-level label).
"""

from __future__ import annotations

from typing import Any

from ranklens.types import Passage


def query_texts(corpus: Any, first: str | None = None) -> dict[str, str]:
    """Query id -> text over every query set of the corpus; where an id stands in several
    sets, the text of the set named `first` wins (else the last set's, by name)."""
    sets = corpus.query_sets()
    texts = {q.query_id: q.text for qs in sets.values() for q in qs}
    texts.update({q.query_id: q.text for q in sets.get(first or "", [])})
    return texts


def document_passage(corpus: Any, doc_id: str) -> Passage | None:
    """A whole document as one passage, for a label given to the document: its passages' texts
    in order, separated by a blank line, under its title; None when the corpus lacks it."""
    parts = corpus.passages_of_doc(doc_id)
    if not parts:
        return None
    first = parts[0]
    text = "\n\n".join(p.text for p in parts)
    return Passage(doc_id, doc_id, text, first.title, first.source, 0)
