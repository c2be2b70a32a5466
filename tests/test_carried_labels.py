"""Labels carried into a new query set: the same ids with the same text are said (with a clean
start offered), the same ids with another text are refused, naming the ids."""

from __future__ import annotations

import pytest

from ranklens.errors import InputError
from ranklens.judging import JudgmentStore
from ranklens.judging import carried_labels as cl
from ranklens.types import Query


class FakeCorpus:
    """What the rule reads of an index.Corpus: its name and its query sets."""

    name = "c"

    def __init__(self, sets: dict[str, list[Query]]) -> None:
        self.sets = dict(sets)

    def query_sets(self) -> dict[str, list[Query]]:
        return dict(self.sets)

    def add_query_set(
        self, name: str, queries: list[Query], actor: object = None, replace: bool = False
    ) -> None:
        if name in self.sets and not replace:  # the corpus's own rule (index.Corpus)
            raise InputError(None, f"query set {name!r} exists; replace it explicitly")
        self.sets[name] = list(queries)


OLD = [Query("q1", "how do I sort a dict"), Query("q2", "what is a tuple")]


@pytest.fixture
def labelled(tmp_path):
    with JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}") as store:
        store.add_label("c", "ann", "q1", "d1#0", 2, doc_id="d1", query_set="old")
        store.add_label("c", "bob", "q1", "d1#0", 1, doc_id="d1", query_set="old")
        store.add_label("c", "ann", "q2", "d2#0", 0, doc_id="d2", query_set="old")
        yield FakeCorpus({"old": OLD}), store


def test_nothing_carried_for_new_ids(labelled):
    corpus, store = labelled
    found = cl.carried_labels(corpus, store, "new", [Query("n1", "how do I sort a dict")])
    assert found.carried == 0 and found.message("new") == ""


def test_same_ids_same_text_are_said_and_stored(labelled):
    corpus, store = labelled
    queries = [Query("q1", "How do I  sort a dict"), Query("q9", "other")]  # case, spaces
    stored, found = cl.add_query_set(corpus, store, "new", queries)
    assert found.same_text == ["q1"] and found.carried == 2
    message = found.message("new")
    assert "reuses 1 query id(s) that already have 2 label(s) (q1)" in message
    assert "Start clean" in message and corpus.sets["new"] == queries


def test_same_ids_other_text_are_refused_naming_them(labelled):
    corpus, store = labelled
    queries = [Query("q1", "how do I sort a dict"), Query("q2", "what is a list")]
    with pytest.raises(InputError, match=r"reuses 1 query id\(s\) .*another text \(q2;"):
        cl.add_query_set(corpus, store, "new", queries)
    assert "new" not in corpus.sets  # nothing stored
    # starting clean gives fresh ids, which carry nothing
    stored, found = cl.add_query_set(corpus, store, "new", queries, start_clean=True)
    assert [q.query_id for q in stored] == ["new-q1", "new-q2"] and found.carried == 0


def test_replacing_a_set_compares_with_its_old_version(labelled):
    corpus, store = labelled
    with pytest.raises(InputError, match="q1"):
        cl.add_query_set(corpus, store, "old", [Query("q1", "a new question")])
    assert corpus.sets["old"] == OLD


def test_imported_labels_without_a_set_are_compared_with_any_set(labelled):
    corpus, store = labelled
    store.add_label("c", "imp", "q2", "", 1, doc_id="d2", source="import")
    found = cl.carried_labels(corpus, store, "new", [Query("q2", "what is a tuple")])
    assert found.same_text == ["q2"] and found.carried == 2
    gone = FakeCorpus({})
    assert cl.carried_labels(gone, store, "new", [Query("q2", "x")]).unknown_text == ["q2"]
