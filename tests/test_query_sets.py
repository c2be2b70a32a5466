"""Query sets of a corpus: adding one, replacing one only when asked, never one that came with
the corpus with its labels; the same rule from the core and the CLI (`add-queries`)."""

from __future__ import annotations

import json

import pytest

from ranklens.cli import main as cli_main
from ranklens.corpus import ingest
from ranklens.errors import InputError
from ranklens.types import Query

from .conftest import write_jsonl


@pytest.fixture
def beir(home, tmp_path):
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    write_jsonl(
        folder / "corpus.jsonl",
        [{"_id": "d1", "text": "green tea"}, {"_id": "d2", "text": "the moon and tides"}],
    )
    write_jsonl(
        folder / "queries.jsonl", [{"_id": "1", "text": "tea"}, {"_id": "2", "text": "tides"}]
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n")
    return ingest.ingest(folder, "tiny", ["bm25"], home)


def ids(corpus, name):
    return [q.query_id for q in corpus.query_sets()[name]]


def test_a_set_is_replaced_only_when_asked(beir):
    beir.add_query_set("mine", [Query("a", "tea")])
    with pytest.raises(InputError, match="has a query set named 'mine'"):
        beir.add_query_set("mine", [Query("b", "moon")])
    assert ids(beir, "mine") == ["a"]
    beir.add_query_set("mine", [Query("b", "moon")], replace=True)
    assert ids(beir, "mine") == ["b"]


def test_a_set_that_came_with_its_labels_is_never_replaced(beir):
    assert "test" in beir.shipped_qrels()
    with pytest.raises(InputError, match="came with corpus 'tiny' with its relevance labels"):
        beir.add_query_set("test", [Query("x", "other")], replace=True)
    assert ids(beir, "test") == ["1"]


def test_the_cli_adds_and_refuses_as_the_core_does(beir, tmp_path, capsys):
    path = tmp_path / "asks.tsv"
    path.write_text("q1\tgreen tea\nq2\tmoon\n")
    assert cli_main(["add-queries", "--corpus", "tiny", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"corpus": "tiny", "query_set": "asks", "queries": 2, "replaced": False}
    path.write_text("q3\ttides\n")
    assert cli_main(["add-queries", "--corpus", "tiny", str(path)]) == 2
    assert "has a query set named 'asks'" in capsys.readouterr().err
    assert ids(beir, "asks") == ["q1", "q2"]
    assert cli_main(["add-queries", "--corpus", "tiny", str(path), "--replace"]) == 0
    assert "replaced query set asks (1 queries)" in capsys.readouterr().out
    assert ids(beir, "asks") == ["q3"]
    argv = ["add-queries", "--corpus", "tiny", str(path), "--name", "test", "--replace"]
    assert cli_main(argv) == 2
    assert "relevance labels" in capsys.readouterr().err
    assert ids(beir, "test") == ["1"]
