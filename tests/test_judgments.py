"""Tests of the judgment store, agreement measures, pools, import/export and the judgments CLI.

Oracles are computed by hand (in the comments) or published (Krippendorff 2011).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ranklens.agreement import (
    agreement_report,
    cohen_kappa,
    disagreements,
    krippendorff_alpha,
)
from ranklens.cli import judgments as cli_judgments
from ranklens.cli import main as cli_main
from ranklens.config import get_settings
from ranklens.errors import InputError, NotFoundError
from ranklens.formats import read_qrels
from ranklens.judging import (
    DOC_LEVEL,
    JudgmentStore,
    PoolItem,
    Scale,
    build_pool,
    combine_grades,
    final_qrels_from,
    grades_from_scores,
    pool_order,
    pool_provenance,
    resolve_doc_id,
    round_half_up,
)
from ranklens.types import Hit, Passage, Qrel, Query

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RANKLENS_DB_URL", raising=False)
    s = JudgmentStore(get_settings().db_url)
    yield s
    s.close()


def _hits(qid: str, pids: list[str]) -> list[Hit]:
    return [Hit(qid, p, p.split("#")[0], 1.0 / r, r) for r, p in enumerate(pids, 1)]


# ---------------------------------------------------------------- scale


def test_default_scale_is_0_to_3_with_colours_and_guidelines():
    s = Scale.default()
    assert s.values == (0, 1, 2, 3)
    assert [g.label for g in s.grades] == ["Not relevant", "Related", "Relevant", "Highly relevant"]
    assert all(g.colour.startswith("#") and g.guideline for g in s.grades)
    assert 3 in s and 4 not in s and -1 not in s and True not in s


@pytest.mark.parametrize("n", range(2, 11))
def test_scales_from_binary_to_ten_grades(n):
    s = Scale.of(n)
    assert s.values == tuple(range(n))
    assert Scale.from_json(s.to_json()) == s


@pytest.mark.parametrize("n", [1, 11])
def test_scale_size_out_of_range_is_refused(n):
    with pytest.raises(InputError, match="2 to 10 grades"):
        Scale.of(n)


def test_grades_are_validated_against_the_corpus_scale(store):
    with pytest.raises(InputError, match="outside the scale"):
        store.add_label("c", "alice", "q1", "d1#0", 4, doc_id="d1")
    assert store.count_events() == 0
    store.set_scale("c", Scale.of(5))
    store.add_label("c", "alice", "q1", "d1#0", 4, doc_id="d1")
    with pytest.raises(InputError, match="already holds grade 4"):
        store.set_scale("c", Scale.binary())
    assert store.scale("c") == Scale.of(5)
    assert store.scale("other") == Scale.default()


# ---------------------------------------------------------------- events, undo


def test_current_label_is_the_latest_and_undo_brings_back_the_previous(store):
    first = store.add_label("c", "alice", "q1", "d1#0", 1, doc_id="d1")
    second = store.add_label("c", "alice", "q1", "d1#0", 3, note="on reflection", doc_id="d1")
    store.add_label("c", "bob", "q1", "d1#0", 2, doc_id="d1")
    [a] = store.current_labels("c", annotator="alice")
    assert (a.grade, a.event_id, a.note, a.doc_id) == (3, second, "on reflection", "d1")

    undone = store.undo("c", "alice")
    assert undone is not None and undone.id == second
    [a] = store.current_labels("c", annotator="alice")
    assert (a.grade, a.event_id) == (1, first)
    assert store.undo("c", "alice").id == first
    assert store.current_labels("c", annotator="alice") == []
    assert store.undo("c", "alice") is None
    # bob is untouched, and the history keeps everything, undos included
    assert [lab.grade for lab in store.current_labels("c")] == [2]
    kinds = [(e.kind, e.target_id) for e in store.history("c", annotator="alice")]
    assert kinds == [("label", None), ("label", None), ("undo", second), ("undo", first)]


def test_undo_event_is_idempotent(store):
    e = store.add_label("c", "alice", "q1", "d1#0", 2, doc_id="d1")
    store.undo_event(e)
    store.undo_event(e)
    assert store.count_events("c") == 2
    assert store.current_labels("c") == []
    with pytest.raises(NotFoundError):
        store.undo_event(999)


def test_cant_judge_notes_and_document_level_labels(store):
    store.cant_judge("c", "alice", "q1", "d1#0", note="passage is cut off", doc_id="d1")
    store.add_note("c", "alice", "q2", "d2#1", "mentions the API", doc_id="d2")
    store.add_label("c", "alice", "q2", "d2#1", 2, doc_id="d2")
    store.add_label("c", "alice", "q3", DOC_LEVEL, 1, doc_id="d3")
    labels = {lab.query_id: lab for lab in store.current_labels("c")}
    assert labels["q1"].grade is None and labels["q1"].note == "passage is cut off"
    assert labels["q2"].grade == 2 and labels["q2"].note == "mentions the API"
    assert (labels["q3"].doc_id, labels["q3"].passage_id) == ("d3", "")
    assert {lab.query_id for lab in store.current_labels("c", include_cant_judge=False)} == {
        "q2",
        "q3",
    }
    with pytest.raises(InputError, match="has no doc_id"):
        store.add_label("c", "alice", "q3", DOC_LEVEL, 1)
    with pytest.raises(InputError, match="has no doc_id"):  # never parsed out of "d3#0"
        store.add_label("c", "alice", "q3", "d3#0", 1)
    with pytest.raises(InputError, match="say who you are"):
        store.add_label("c", "  ", "q3", "d3#0", 1, doc_id="d3")


def test_adjudication_is_kept_apart_from_the_adjudicators_own_label(store):
    store.add_label("c", "alice", "q1", "d1#0", 0, doc_id="d1")
    store.add_label("c", "bob", "q1", "d1#0", 3, doc_id="d1")
    store.adjudicate("c", "q1", "d1#0", 2, "alice", note="partial answer", doc_id="d1")
    assert sorted(lab.grade for lab in store.current_labels("c")) == [0, 3]
    [adj] = store.adjudicated("c").values()
    assert adj.grade == 2 and adj.source == "adjudication"
    assert store.final_qrels("c", level="passage") == [Qrel("q1", "d1#0", 2)]
    assert store.disagreements("c") == []
    [d] = store.disagreements("c", include_adjudicated=True)
    assert (d.spread, d.adjudicated) == (3, 2)


def test_a_write_transaction_takes_the_sqlite_write_lock_at_once(store, tmp_path):
    path = tmp_path / "home" / "judgments.sqlite3"
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with store.write():
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    assert other is not None
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


# ---------------------------------------------------------------- pools and sessions


def test_build_pool_is_the_union_of_top_depth_deduplicated():
    runs = {
        "bm25": {"q1": _hits("q1", ["a#0", "b#0", "c#0"]), "q2": _hits("q2", ["x#0"])},
        "dense": {"q1": _hits("q1", ["b#0", "d#0", "a#0"])},
    }
    pool = build_pool(runs, depth=2)
    assert pool == [
        PoolItem("q1", "a#0", "a"),  # rank 1 in bm25
        PoolItem("q1", "b#0", "b"),  # rank 1 in dense
        PoolItem("q1", "d#0", "d"),  # rank 2 in dense; c#0 is rank 3 only
        PoolItem("q2", "x#0", "x"),
    ]
    prov = pool_provenance(runs, 2)
    assert prov[("q1", "b#0")] == ("bm25", "dense") and prov[("q1", "d#0")] == ("dense",)
    assert build_pool(runs, depth=1, query_ids=["q2", "q1"])[0].query_id == "q2"
    with pytest.raises(InputError):
        build_pool(runs, depth=0)


def test_pool_order_is_a_per_annotator_shuffle_within_each_query():
    pool = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(12)] + [
        PoolItem("q2", f"e{i}#0", f"e{i}") for i in range(12)
    ]
    a1, a2 = pool_order(pool, "alice", 7), pool_order(pool, "alice", 7)
    b = pool_order(pool, "bob", 7)
    assert a1 == a2  # reproducible from the recorded seed
    assert sorted(a1) == sorted(pool) and a1 != pool and a1 != b
    assert [it.query_id for it in a1] == ["q1"] * 12 + ["q2"] * 12  # queries stay together


def test_judging_session_queue_skip_cant_judge_undo_and_progress(store):
    store.set_judging_settings(
        "c", "dev", guidelines="# Judge\nRead the passage.", annotators_per_passage=2
    )
    texts = [Query("q1", "how to sort"), Query("q2", "read a file")]
    runs = {
        "bm25": {"q1": _hits("q1", ["a#0", "b#0"]), "q2": _hits("q2", ["c#0"])},
        "dense": {"q1": _hits("q1", ["b#0", "d#0"])},
    }
    pool = store.create_pool("c", "dev", runs, depth=2)
    alice = store.start_session(pool.id, "alice", seed=1, queries=texts)
    assert alice.guidelines.startswith("# Judge") and alice.queries["q1"] == "how to sort"
    assert store.start_session(pool.id, "alice", seed=99).seed == 1  # the recorded seed wins
    assert not any(hasattr(it, "rankers") for it in alice.items)
    assert len(alice.queue()) == 4

    first = alice.next_item()
    alice.skip(first)
    assert alice.queue()[-1] == first and alice.next_item() != first
    second = alice.next_item()
    alice.label(second, 2)
    alice.cant_judge(alice.next_item())
    p = alice.progress()
    assert p.overall.total == 4 and p.overall.judged == 2 and p.overall.remaining == 2

    bob = store.start_session(pool.id, "bob")
    assert len(bob.queue()) == 4  # one label (and a can't-judge) is not yet two labels
    bob.label(second, 3)
    assert second not in bob.queue()
    assert bob.progress().overall.complete == 1

    carol = store.start_session(pool.id, "carol")
    assert second not in carol.queue() and len(carol.queue()) == 3  # second has 2 grades
    undone = bob.undo()
    assert undone.passage_id == second.passage_id
    assert second in carol.queue() and second in bob.queue()
    assert bob.label_of(second) is None and alice.label_of(second).grade == 2

    for item in alice.queue():
        alice.label(item, 1)
    assert alice.next_item() is None
    assert alice.progress().overall.fraction == 1.0
    assert set(alice.progress().per_query) == {"q1", "q2"}


# ---------------------------------------------------------------- suggestions


def test_grades_from_scores_by_thresholds():
    assert grades_from_scores([-3.0, 0.2, 0.49, 0.5, 0.8, 9.0], [0.2, 0.5, 0.8]) == [
        0,
        1,
        1,
        2,
        3,
        3,
    ]
    for bad in ([], [0.5, 0.5], [0.8, 0.2], [float("nan")]):
        with pytest.raises(InputError):
            grades_from_scores([0.1], bad)


def test_suggestions_never_count_as_human_labels(store):
    items = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(4)]
    grades = store.add_suggestions("c", "cross-encoder", items, [0.1, 0.6, 0.9, 0.3], [0.5, 0.8])
    assert grades == [0, 1, 2, 0]
    assert store.current_labels("c") == [] and store.final_qrels("c") == []
    assert store.agreement("c").labels == 0
    assert [s.grade for s in store.suggestions("c")] == grades
    # humans: alice agrees on d0, d1, disagrees on d2 (3 vs 2); d3 unlabelled
    for i, g in enumerate([0, 1, 3]):
        store.add_label("c", "alice", "q1", f"d{i}#0", g, doc_id=f"d{i}")
    sa = store.suggestion_agreement("c")
    assert sa.n == 3 and sa.exact == pytest.approx(2 / 3)
    assert sa.kappa == pytest.approx(cohen_kappa([0, 1, 2], [0, 1, 3], range(4), "quadratic"))
    with pytest.raises(InputError, match="at most 3"):
        store.add_suggestions("c", "ce", items[:1], [0.1], [0.1, 0.2, 0.3, 0.4])


# ---------------------------------------------------------------- agreement oracles


def test_cohen_kappa_2x2_by_hand():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # po = 35/50 = 0.7; pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b, [0, 1]) == pytest.approx(0.4)


def test_cohen_kappa_3x3_weighted_by_hand():
    a = [0, 0, 1, 1, 2, 2]
    b = [0, 1, 1, 2, 2, 2]
    # Unweighted: po = 4/6, pe = 1/3*(1/6 + 2/6 + 3/6) = 1/3, kappa = (2/3-1/3)/(2/3) = 0.5.
    assert cohen_kappa(a, b, [0, 1, 2]) == pytest.approx(0.5)
    # Quadratic: observed weighted disagreement = (1 + 1)/6 = 1/3; expected, with A uniform
    # and B = (1/6, 2/6, 3/6): 1/3 * (1/6*5 + 2/6*2 + 3/6*5) = 4/3; kappa = 1 - (1/3)/(4/3).
    assert cohen_kappa(a, b, [0, 1, 2], "quadratic") == pytest.approx(0.75)
    # Linear: observed 2/6; expected 1/3 * (1/6*3 + 2/6*2 + 3/6*3) = 1/3 * 16/6 = 8/9.
    assert cohen_kappa(a, b, [0, 1, 2], "linear") == pytest.approx(1 - (1 / 3) / (8 / 9))


def test_cohen_kappa_matches_sklearn_and_is_none_when_undefined():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 40).tolist()
    b = [min(3, max(0, x + int(d))) for x, d in zip(a, rng.integers(-1, 2, 40), strict=True)]
    for w in (None, "linear", "quadratic"):
        want = sklearn_metrics.cohen_kappa_score(a, b, labels=[0, 1, 2, 3], weights=w)
        assert cohen_kappa(a, b, [0, 1, 2, 3], w) == pytest.approx(want)
    assert cohen_kappa([2, 2, 2], [2, 2, 2], [0, 1, 2, 3]) is None
    assert cohen_kappa([], [], [0, 1]) is None


KRIPPENDORFF_2011 = {  # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", C.
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def _units(shift: int = 0) -> dict[int, dict[str, int]]:
    units: dict[int, dict[str, int]] = {}
    for name, values in KRIPPENDORFF_2011.items():
        for u, v in enumerate(values):
            if v is not None:
                units.setdefault(u, {})[name] = v + shift
    return units


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_alpha_on_krippendorffs_own_example(level, published):
    assert krippendorff_alpha(_units(), level) == pytest.approx(published, abs=5e-4)


def test_alpha_through_the_store_matches_the_published_example(store):
    store.set_scale("k", Scale.of(5))
    for name, values in KRIPPENDORFF_2011.items():
        for u, v in enumerate(values):
            if v is not None:
                store.add_label("k", name, f"q{u % 3}", f"doc{u}#0", v - 1, doc_id=f"doc{u}")  # 1-5 -> 0-4
    report = store.agreement("k")
    assert report.alpha == pytest.approx(0.815, abs=5e-4)
    assert report.units == 11  # unit 12 has a single value
    assert report.weights == "quadratic" and len(report.pairs) == 6
    assert set(report.per_query) == {"q0", "q1", "q2"}
    json.dumps(report.to_dict())  # JSON-ready


def test_alpha_is_none_when_undefined():
    assert krippendorff_alpha({1: {"a": 2, "b": 2}, 2: {"a": 2, "b": 2}}) is None
    assert krippendorff_alpha({1: {"a": 2}}) is None


def test_disagreements_widest_spread_first():
    triples = [
        (("q1", "a", "a#0"), "x", 1),
        (("q1", "a", "a#0"), "y", 2),
        (("q2", "b", "b#0"), "x", 0),
        (("q2", "b", "b#0"), "y", 3),
        (("q3", "c", "c#0"), "x", 2),
        (("q3", "c", "c#0"), "y", 2),
    ]
    found = disagreements(triples)
    assert [(d.query_id, d.spread) for d in found] == [("q2", 3), ("q1", 1)]
    report = agreement_report(triples, [0, 1, 2, 3])
    [pair] = report.pairs
    assert pair.n == 3 and pair.exact == pytest.approx(1 / 3)


# ---------------------------------------------------------------- final labels


def test_combination_rules_by_hand():
    assert combine_grades([2, 2, 3]) == 2  # majority
    assert combine_grades([1, 2]) == 2  # tie -> mean 1.5 rounded half up
    assert combine_grades([0, 1, 1, 3]) == 1
    assert combine_grades([0, 0, 3, 3]) == 2  # tie -> mean 1.5 -> 2
    assert combine_grades([0, 1, 3], "mean") == 1  # 4/3
    assert combine_grades([1, 2, 2, 3], "mean") == 2
    assert combine_grades([0, 3, 3], "mean") == 2
    assert combine_grades([0, 1, 3], "max") == 3 and combine_grades([0, 1, 3], "min") == 0
    assert round_half_up(2.5) == 3 and round_half_up(0.5) == 1 and round_half_up(1.49) == 1
    with pytest.raises(InputError):
        combine_grades([1], "median")


def test_final_qrels_rules_and_levels(store):
    for who, grades in {"a": [3, 0, 1], "b": [2, 0, 2], "c": [2, 1, None]}.items():
        for i, g in enumerate(grades):
            if g is not None:
                store.add_label("c", who, "q1", f"d{i // 2}#{i % 2}", g, doc_id=f"d{i // 2}")
    # units: d0#0 {3,2,2}, d0#1 {0,0,1}, d1#0 {1,2}
    assert store.final_qrels("c", level="passage") == [
        Qrel("q1", "d0#0", 2),
        Qrel("q1", "d0#1", 0),
        Qrel("q1", "d1#0", 2),
    ]
    assert store.final_qrels("c", rule="max", level="passage")[1] == Qrel("q1", "d0#1", 1)
    assert store.final_qrels("c", rule="mean", level="passage")[0] == Qrel("q1", "d0#0", 2)
    assert store.final_qrels("c", rule="annotator:a", level="passage") == [
        Qrel("q1", "d0#0", 3),
        Qrel("q1", "d0#1", 0),
        Qrel("q1", "d1#0", 1),
    ]
    # document level: best passage
    assert store.final_qrels("c", rule="annotator:a") == [Qrel("q1", "d0", 3), Qrel("q1", "d1", 1)]
    store.adjudicate("c", "q1", "d1#0", 0, "lead", doc_id="d1")
    assert store.final_qrels("c")[1] == Qrel("q1", "d1", 0)
    with pytest.raises(InputError):
        store.final_qrels("c", rule="annotator:")
    with pytest.raises(InputError):
        final_qrels_from([], level="sentence")


# ---------------------------------------------------------------- import and export


DOCS = {"d1", "d2", "d3", "x#7", "report#2"}
PASSAGES = {  # passage id -> its document id, as the corpus stores it
    "d1#0": "d1",
    "d1#1": "d1",
    "d2#0": "d2",
    "d3#0": "d3",
    "x#7#0": "x#7",
    "report#2#0": "report#2",
    "memo-3": "d3",  # a passage id that does not even name its document
}


def test_resolve_doc_id_looks_ids_up_and_never_takes_them_apart():
    assert resolve_doc_id("d1", DOCS, PASSAGES) == ("d1", "", True)
    assert resolve_doc_id("d1#1", DOCS, PASSAGES) == ("d1", "d1#1", True)
    assert resolve_doc_id("x#7", DOCS, PASSAGES) == ("x#7", "", True)  # a doc id with '#'
    assert resolve_doc_id("report#2", DOCS, PASSAGES) == ("report#2", "", True)
    assert resolve_doc_id("report#2#0", DOCS, PASSAGES) == ("report#2", "report#2#0", True)
    assert resolve_doc_id("memo-3", DOCS, PASSAGES) == ("d3", "memo-3", True)
    assert resolve_doc_id("d1#9", DOCS, PASSAGES) == ("d1#9", "", False)
    assert resolve_doc_id("zz", DOCS, PASSAGES) == ("zz", "", False)
    assert resolve_doc_id("zz#2", None) == ("zz#2", "", True)  # no corpus: a document id


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("q1 0 d1 1\nq1 0 d2 2\nq2 0 d3\n", 3, "3 columns, expected 4"),
        ("q1 0 d1 1\nq1 0 d2 two\n", 2, "not an integer"),
        ("q1 0 d1 1\n\nq1 0 d2 7\n", 3, "outside the scale"),
        ("q1 0 d1 1\nq1 0 nope 2\n", 2, "not in corpus"),
        ("q1 0 d1 1\nq1 0 d1#9 2\n", 2, "not in corpus"),
        ("q1 0 d1 1\nq1 0 d2 1\nq1 0 d1 2\n", 3, "but 1 on line 1"),
    ],
)
def test_import_errors_name_the_line_and_leave_the_store_unchanged(
    store, tmp_path, text, line, message
):
    store.add_label("c", "alice", "q1", "d1#0", 2, doc_id="d1")
    before = store.history("c")
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(InputError, match=message) as err:
        store.import_qrels("c", path, "trec", known_doc_ids=DOCS, known_passages=PASSAGES)
    assert err.value.line == line and err.value.path == str(path)
    assert f"line {line}" in str(err.value)
    assert store.history("c") == before


def test_import_keep_unknown_and_unknown_queries(store, tmp_path):
    path = _write(tmp_path / "q.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\tnope\t2\n")
    report = store.import_qrels(
        "c",
        path,
        "beir",
        known_doc_ids=DOCS,
        known_query_ids={"q1"},
        keep_unknown=True,
    )
    assert report.labels == 2 and report.unknown_docs == [(3, "nope")]
    assert report.unknown_queries == ["q9"]
    assert "q9" in report.summary() and "nope (line 3)" in report.summary()
    assert store.annotators("c") == ["imported"]


def test_doc_level_import_round_trips_exactly(store, tmp_path):
    text = "q2 0 d3 1\nq1 0 d1 2\nq1 0 d2 0\nq10 0 x#7 3\n"
    src = _write(tmp_path / "in.trec", text)
    report = store.import_qrels("c", src, "trec", known_doc_ids=DOCS, known_passages=PASSAGES)
    assert (report.document_level, report.passage_level) == (4, 0)
    out = tmp_path / "out.trec"
    assert store.export_qrels("c", out, "trec", level="doc") == 4
    assert out.read_text() == text
    beir = tmp_path / "out.tsv"
    store.export_qrels("c", beir, "beir", level="passage")
    assert [q for _, q in read_qrels(beir, "beir")] == [q for _, q in read_qrels(src, "trec")]


def test_passage_level_import_exports_both_levels(store, tmp_path):
    text = "query-id\tcorpus-id\tscore\nq1\td1#0\t1\nq1\td1#1\t3\nq1\td2#0\t0\n"
    src = _write(tmp_path / "in.tsv", text)
    store.import_qrels("c", src, known_doc_ids=DOCS, known_passages=PASSAGES)
    out = tmp_path / "p.tsv"
    store.export_qrels("c", out, "beir", level="passage")
    assert out.read_text() == text
    store.export_qrels("c", out, "beir", level="doc")
    assert out.read_text() == "query-id\tcorpus-id\tscore\nq1\td1\t3\nq1\td2\t0\n"
    with pytest.raises(InputError):
        store.export_qrels("c", out, "csv")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("l.csv", "query_id,doc_id,relevance\nq1,d1,2\nq1,d2#0,1\n"),
        ("l.jsonl", '{"query_id": "q1", "doc_id": "d1", "relevance": 2}\n'
         '{"query_id": "q1", "doc_id": "d2#0", "relevance": 1}\n'),
    ],
)  # fmt: skip
def test_import_csv_and_jsonl(store, tmp_path, name, text):
    src = _write(tmp_path / name, text)
    report = store.import_qrels(
        "c", src, None, annotator="tutor", known_doc_ids=DOCS, known_passages=PASSAGES
    )
    assert (report.document_level, report.passage_level) == (1, 1)
    assert store.final_qrels("c") == [Qrel("q1", "d1", 2), Qrel("q1", "d2", 1)]


def test_duplicate_lines_are_stored_once(store, tmp_path):
    src = _write(tmp_path / "d.trec", "q1 0 d1 1\nq1 0 d1 1\n")
    report = store.import_qrels("c", src, "trec")
    assert (report.labels, report.duplicates) == (1, 1)


CRANFIELD = DATASETS / "cranfield"


@pytest.mark.skipif(not CRANFIELD.is_dir(), reason="shared Cranfield dataset absent")
def test_cranfield_qrels_round_trip(store, tmp_path):
    docs = {json.loads(line)["_id"] for line in open(CRANFIELD / "corpus.jsonl", encoding="utf-8")}
    src = CRANFIELD / "qrels" / "test.tsv"
    with pytest.raises(InputError, match="outside the scale"):
        store.import_qrels("cranfield", src, "beir", known_doc_ids=docs)
    store.set_scale("cranfield", Scale.of(5))
    report = store.import_qrels("cranfield", src, "beir", known_doc_ids=docs)
    want = [q for _, q in read_qrels(src, "beir")]
    assert report.labels == len(want) and report.unknown_docs == []
    out = tmp_path / "cran.tsv"
    store.export_qrels("cranfield", out, "beir")
    assert [q for _, q in read_qrels(out, "beir")] == want


# ---------------------------------------------------------------- CLI


class FakeCorpus:
    name = "demo"

    def doc_ids(self) -> set[str]:
        return set(DOCS)

    def passage_ids(self) -> list[str]:
        return sorted(PASSAGES)

    def get_passages(self, ids):
        return {i: Passage(i, PASSAGES[i], "") for i in ids if i in PASSAGES}

    def query_sets(self) -> dict[str, list[Query]]:
        return {"dev": [Query("q1", "one"), Query("q2", "two")]}


def _fake_open(name, settings):
    if name != "demo":
        raise NotFoundError(f"no corpus named {name!r}")
    return FakeCorpus()


def _cli(argv: list[str]) -> int:
    return cli_main(argv)  # the real entry point: errors are printed once, by main()


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RANKLENS_DB_URL", raising=False)
    monkeypatch.setattr(cli_judgments, "_open_corpus", _fake_open)
    return tmp_path


def test_cli_import_export_agreement(cli_env, capsys):
    a = _write(cli_env / "a.trec", "q1 0 d1 2\nq1 0 d2 0\nq7 0 d3 1\n")
    b = _write(cli_env / "b.trec", "q1 0 d1 3\nq1 0 d2 0\nq7 0 d3 1\n")
    assert _cli(["judgments", "import", str(a), "--corpus", "demo", "--annotator", "ann"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 labels" in out and "q7" in out
    assert _cli(["judgments", "import", str(b), "--format", "trec", "--corpus", "demo",
                 "--annotator", "ben", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["unknown_queries"] == ["q7"]

    assert _cli(["judgments", "agreement", "--corpus", "demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["annotators"] == ["ann", "ben"] and data["units"] == 3
    assert data["pairs"][0]["n"] == 3 and data["disagreements"] == 1
    assert _cli(["judgments", "agreement", "--corpus", "demo"]) == 0
    assert "ann / ben" in capsys.readouterr().out

    out_file = cli_env / "final.trec"
    argv = ["judgments", "export", str(out_file), "--corpus", "demo", "--rule", "max"]
    assert _cli(argv) == 0
    assert out_file.read_text() == "q1 0 d1 3\nq1 0 d2 0\nq7 0 d3 1\n"
    argv += ["--query-set", "dev", "--format", "beir", "--level", "passage"]
    assert _cli(argv) == 0
    assert out_file.read_text() == "query-id\tcorpus-id\tscore\nq1\td1\t3\nq1\td2\t0\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["import", "{bad}", "--corpus", "demo"], "line 2"),
        (["import", "{bad}", "--corpus", "nosuch"], "no corpus named 'nosuch'"),
        (["import", "{missing}", "--corpus", "demo", "--format", "trec"], "no such file"),
        (["export", "{out}", "--corpus", "nosuch"], "no corpus named"),
        (["export", "{out}", "--corpus", "demo", "--rule", "median"], "unknown rule"),
        (["export", "{nodir}", "--corpus", "demo"], "does not exist"),
        (["agreement", "--corpus", "nosuch"], "no corpus named"),
        (["scale", "--corpus", "demo", "--grades", "11"], "2 to 10 grades"),
    ],
)
def test_cli_errors_are_one_line_on_stderr(cli_env, capsys, argv, expected):
    bad = _write(cli_env / "bad.trec", "q1 0 d1 1\nq1 0 d2 x\n")
    paths = {
        "{bad}": str(bad),
        "{missing}": str(cli_env / "missing.trec"),
        "{out}": str(cli_env / "o.trec"),
        "{nodir}": str(cli_env / "no" / "such" / "dir" / "o.trec"),
    }
    argv = ["judgments"] + [paths.get(a, a) for a in argv]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with JudgmentStore(get_settings().db_url) as store:
        assert store.count_events() == 0


def test_cli_scale(cli_env, capsys):
    assert _cli(["judgments", "scale", "--corpus", "demo", "--grades", "5", "--json"]) == 0
    assert [g["value"] for g in json.loads(capsys.readouterr().out)] == [0, 1, 2, 3, 4]
    assert _cli(["judgments", "scale", "--corpus", "demo"]) == 0
    assert "Highly relevant" in capsys.readouterr().out
    assert _cli(["judgments"]) == 2
