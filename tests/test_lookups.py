"""ranklens.corpus.lookups: a query's text by id over all query sets (the named set wins), and a
whole document as one passage (its passages in order, a blank line between them)."""

from __future__ import annotations

from ranklens.corpus.chunking import index_text
from ranklens.corpus.lookups import document_passage, query_texts
from ranklens.types import Passage, Query


class _Corpus:
    def query_sets(self):
        return {
            "a": [Query("1", "old text"), Query("2", "only in a")],
            "b": [Query("1", "new text")],
        }

    def passages_of_doc(self, doc_id):
        parts = {
            "d": [
                Passage("d#0", "d", "first part", "Title", "src", 0),
                Passage("d#1", "d", "second part", "Title", "src", 1),
            ]
        }
        return parts.get(doc_id, [])


def test_query_texts_cover_every_set_and_the_named_set_wins():
    assert query_texts(_Corpus()) == {"1": "new text", "2": "only in a"}
    assert query_texts(_Corpus(), first="a") == {"1": "old text", "2": "only in a"}


def test_a_document_is_its_passages_joined_by_a_blank_line_under_its_title():
    d = document_passage(_Corpus(), "d")
    assert (d.doc_id, d.title, d.text) == ("d", "Title", "first part\n\nsecond part")
    assert index_text(d) == "Title\nfirst part\n\nsecond part"
    assert document_passage(_Corpus(), "gone") is None
