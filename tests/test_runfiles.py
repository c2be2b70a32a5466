"""Tests of ranklens.ranking.runfiles (TREC/JSON/CSV run readers, trec_eval's order) and
ranklens.corpus.external_docs (texts an outside system returned for documents the corpus lacks)."""

from __future__ import annotations

import functools
import json

import ir_measures
import pytest

from ranklens.corpus import external_docs
from ranklens.errors import InputError
from ranklens.ranking.runfiles import (
    detect_run_format,
    read_run_scores,
    scores_to_run,
    trec_order,
)
from ranklens.types import Doc

from .conftest import assert_input_error


def test_trec_order_is_score_then_doc_id_descending():
    docs = {"a": 1.0, "c": 1.0, "b": 2.0, "d": 0.5}
    assert [d for d, _ in trec_order(docs)] == ["b", "c", "a", "d"]


def test_tied_run_ranks_as_trec_eval(tmp_path):
    # the file's rank column says a first, but trec_eval ignores it: c (> a) comes first on a tie
    run = tmp_path / "r.txt"
    run.write_text("q1 Q0 a 1 1.0 t\nq1 Q0 c 2 1.0 t\nq1 Q0 b 3 0.5 t\n")
    qrels = [ir_measures.Qrel("q1", "a", 1)]
    scores = read_run_scores(run)
    ours = scores_to_run(scores)
    assert [h.doc_id for h in ours["q1"]] == ["c", "a", "b"]
    # P@1 from ir_measures on the raw scores is 0: trec_eval put c first too
    assert ir_measures.calc_aggregate([ir_measures.P @ 1], qrels, scores)[ir_measures.P @ 1] == 0


def test_three_formats_read_the_same(tmp_path):
    trec = tmp_path / "r.trec"
    trec.write_text("q1 Q0 d1 1 2.5 x\nq1 Q0 d2 2 1 x\nq2 Q0 d1 1 -3e-1 x\n")
    js = tmp_path / "r.json"
    js.write_text(json.dumps({"q1": {"d1": 2.5, "d2": 1}, "q2": {"d1": -0.3}}))
    csv_ = tmp_path / "r.csv"
    csv_.write_text("qid,docno,score,rank\nq1,d1,2.5,1\nq1,d2,1,2\nq2,d1,-0.3,1\n")
    assert [detect_run_format(p) for p in (trec, js, csv_)] == ["trec", "json", "csv"]
    assert read_run_scores(trec) == read_run_scores(js) == read_run_scores(csv_)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 1.0\n", 2, "expected 6 columns"),
        ("q1 Q0 d1 1 high t\n", 1, "score must be a number"),
        ("q1 Q0 d1 1 nan t\n", 1, "finite"),
        ("q1 Q0 d1 1 1 t\n\nq1 Q0 d1 2 0.5 t\n", 3, "appears twice (first at line 1)"),
    ],
)
def test_bad_trec_lines_name_file_and_line(tmp_path, text, line, words):
    read = functools.partial(read_run_scores, fmt="trec")
    assert_input_error(read, tmp_path / "bad.run", text, line, words)


def test_query_id_outside_the_set_is_refused(tmp_path):
    path = tmp_path / "r.run"
    path.write_text("q1 Q0 d1 1 1 t\nq9 Q0 d1 1 1 t\n")
    with pytest.raises(InputError, match="'q9' is not in the query set") as err:
        read_run_scores(path, query_ids={"q1"})
    assert err.value.line == 2


def test_csv_without_a_score_column_is_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("qid,docno\nq1,d1\n")
    with pytest.raises(InputError, match="no score column"):
        read_run_scores(path)


def test_scores_to_run_cuts_at_k(tmp_path):
    run = scores_to_run({"q": {"a": 3, "b": 2, "c": 1}}, k=2)
    assert [(h.doc_id, h.rank) for h in run["q"]] == [("a", 1), ("b", 2)]


def test_external_docs_round_trip(tmp_path):
    assert external_docs.get(tmp_path, ["x"]) == {}
    external_docs.put(tmp_path, "endpoint:prod", [Doc("x", "text of x", "X"), Doc("y", "", "")])
    got = external_docs.get(tmp_path, ["x", "y", "z"])
    assert list(got) == ["x"] and got["x"].text == "text of x" and got["x"].title == "X"
    external_docs.put(tmp_path, "endpoint:prod", [Doc("x", "new text", "X")])
    assert external_docs.get(tmp_path, ["x"])["x"].text == "new text"
    assert external_docs.get(tmp_path, ["x"], source="run:other") == {}
    assert external_docs.delete_source(tmp_path, "endpoint:prod") == 2
    assert external_docs.get(tmp_path, ["x"]) == {}
