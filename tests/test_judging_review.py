"""Tests of ranklens.judges.review, accepted and ensembles: the review table (disagreement,
cross-encoder score, only the reviewer's own label), bulk accepting with provenance, agreement
and final qrels with and without accepted labels, and ensembles of judges against people."""

from __future__ import annotations

import pytest

from ranklens.errors import InputError, NotFoundError
from ranklens.judges import ensembles, judges, review
from ranklens.judging import JudgmentStore, PoolItem, accepted
from ranklens.llm.prompt import Prompt
from ranklens.llm.reports import BatchReport, JudgePair, Judgment
from ranklens.types import Hit

H = Prompt().hash
ITEMS = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(4)] + [
    PoolItem("q2", f"d{i}#0", f"d{i}") for i in range(4)
]
PEOPLE = [0, 1, 2, 3, 3, 2, 1, 0]  # alice's grades of ITEMS
LLM_A = [0, 1, 2, 3, 3, 2, 0, 0]  # one miss
LLM_B = [0, 1, 3, 3, 3, 1, 1, 0]  # two misses
CE = [0, 2, 2, 3, 2, 2, 1, 0]  # two misses; scores below


def llm_batch(model: str, grades: list[int], prompt_hash: str = H) -> BatchReport:
    report = BatchReport(model, prompt_hash, len(ITEMS))
    report.judgments = [
        Judgment(
            JudgePair(it.query_id, "q", it.passage_id, it.doc_id, "p"), g, g, "r", None, 1, 1, False
        )
        for it, g in zip(ITEMS, grades, strict=True)
    ]
    return report


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL (tests/conftest.py)
    s = JudgmentStore(store_url)
    for it, g in zip(ITEMS, PEOPLE, strict=True):
        s.add_label("c", "alice", it.query_id, it.passage_id, g, doc_id=it.doc_id)
    judges.save_prompt(s, "c", Prompt(), "alice")
    judges.store_llm_suggestions(s, "c", llm_batch("m-a", LLM_A))
    judges.store_llm_suggestions(s, "c", llm_batch("m-b", LLM_B))
    s.add_suggestions("c", "ce", ITEMS, [-9, 1.5, 2, 8, 2.5, 1.2, 0.5, -4], [0, 1, 5])
    yield s
    s.close()


A, B = f"llm:m-a prompt v1 ({H})", f"llm:m-b prompt v1 ({H})"


def test_rows_show_disagreement_scores_and_only_my_label(store) -> None:
    rows = review.review_rows(store, "c", annotator="bob")
    assert len(rows) == 3 * len(ITEMS) and {r.judge for r in rows} == {A, B, "ce"}
    first = [r for r in rows if r.passage_id == "d1#0" and r.query_id == "q1"]
    assert {r.judge: r.grade for r in first} == {A: 1, B: 1, "ce": 2}
    assert {r.disagreement for r in first} == {1} and first[0].cross_encoder == 1.5
    assert all(r.mine is None for r in rows)  # alice's labels are never shown to bob
    mine = review.review_rows(store, "c", annotator="alice")
    assert {r.mine for r in mine if r.query_id == "q1" and r.passage_id == "d3#0"} == {3}
    shown = review.filter_rows(rows, judges=[A], min_disagreement=1)
    assert [(r.query_id, r.passage_id) for r in shown] == [
        ("q1", "d1#0"), ("q1", "d2#0"), ("q2", "d0#0"), ("q2", "d1#0"), ("q2", "d2#0")
    ]  # fmt: skip
    assert [r.grade for r in review.filter_rows(rows, judges=[A], grades=[3])] == [3, 3]
    by_ce = review.sort_rows(review.filter_rows(rows, judges=["ce"]), "cross-encoder")
    assert [r.cross_encoder for r in by_ce][:2] == [8, 2.5]
    by_grade = review.sort_rows(shown, "grade", descending=False)
    assert [r.grade for r in by_grade] == sorted(r.grade for r in shown)
    spread = [r.disagreement for r in review.sort_rows(rows, "disagreement")]
    assert spread == sorted(spread, reverse=True) and spread[0] == 1 and spread[-1] == 0
    with pytest.raises(InputError, match="unknown sort"):
        review.sort_rows(rows, "name")


def test_bulk_accept_keeps_provenance_and_skips_my_own_labels(store) -> None:
    store.add_label("c", "bob", "q1", "d0#0", 2, doc_id="d0")  # bob's own, kept
    rows = review.filter_rows(review.review_rows(store, "c", annotator="bob"), judges=[A])
    result = review.accept_rows(store, "c", "bob", rows, query_set="set")
    assert result.skipped == 1 and len(result.accepted) == len(ITEMS) - 1
    labels = {lab.unit: lab for lab in store.current_labels("c", annotator="bob")}
    assert labels[("q1", "d0", "d0#0")].grade == 2 and labels[("q1", "d0", "d0#0")].note is None
    lab = labels[("q2", "d2", "d2#0")]
    assert (lab.grade, lab.source, lab.query_set) == (0, "human", "set")
    assert lab.note == f"accepted from llm:m-a prompt {H}"
    prov = accepted.provenance(store, "c")[lab.event_id]
    assert (prov.judge, prov.prompt_hash) == ("llm:m-a", H)
    assert store.event(prov.suggestion_event_id).source == "suggestion"
    # a later reason does not hide where the label came from
    store.record("note", "c", "bob", "q2", "d2#0", note="looks right", doc_id="d2")
    assert lab.event_id in accepted.accepted_event_ids(store, "c")
    again = review.review_rows(store, "c", annotator="bob")
    assert all(r.mine_accepted for r in again if r.unit != ("q1", "d0", "d0#0"))
    # one row on purpose overwrites; a non-suggestion is refused, nothing written
    ce_row = next(r for r in again if r.judge == "ce" and r.unit == ("q1", "d0", "d0#0"))
    assert review.accept_rows(store, "c", "bob", [ce_row], overwrite=True).skipped == 0
    assert store.label_of("c", "bob", "q1", "d0#0").note == "accepted from ce"
    n = store.count_events("c")
    with pytest.raises(InputError, match="not a graded suggestion"):
        accepted.accept(store, "c", "bob", [ce_row.suggestion, labels[("q1", "d0", "d0#0")]])
    assert store.count_events("c") == n


def test_agreement_and_final_qrels_with_and_without_accepted(store) -> None:
    rows = review.filter_rows(review.review_rows(store, "c", annotator="bob"), judges=[B])
    review.accept_rows(store, "c", "bob", rows)
    with_acc = store.agreement("c")
    without = store.agreement("c", accepted=False)
    assert with_acc.units == len(ITEMS) and without.units == 0
    assert set(with_acc.annotators) == {"alice", "bob"}
    both = {(q.query_id, q.doc_id): q.relevance for q in store.final_qrels("c", rule="max")}
    only_people = {
        (q.query_id, q.doc_id): q.relevance
        for q in store.final_qrels("c", rule="max", accepted=False)
    }
    assert both[("q1", "d2")] == 3 and only_people[("q1", "d2")] == 2  # B said 3, alice 2
    assert only_people == {(it.query_id, it.doc_id): g for it, g in zip(ITEMS, PEOPLE, strict=True)}
    # labels accepted before provenance was recorded (note "accepted <judge>") count too
    legacy = store.add_label("c", "carol", "q1", "d0#0", 1, doc_id="d0", note="accepted ce")
    assert legacy in accepted.accepted_event_ids(store, "c")
    people = judges.judges_vs_people(store, "c", accepted=False, level="passage")
    assert {r.judge: r.exact for r in people}[A] == pytest.approx(7 / 8)


def test_ensemble_against_people_side_by_side(store) -> None:
    reps = ensembles.ensemble_vs_people(store, "c", [A, B, "ce"], "majority", level="passage")
    assert [r.judge for r in reps[:3]] == [A, B, "ce"]
    ens = reps[3]
    assert ens.judge == ensembles.ensemble_name([A, B, "ce"], "majority")
    assert all(r.n == len(ITEMS) for r in reps)
    # majority per pair: [0,1,2,3,3,2,1,0] == the people's grades
    assert ens.exact == 1.0 and ens.kappa == pytest.approx(1.0)
    assert max(r.exact for r in reps[:3]) < 1.0
    mean = ensembles.ensemble_vs_people(store, "c", [A, B], "mean", level="passage")[-1]
    assert mean.n == len(ITEMS)
    labs = judges.judge_labels(store, "c")
    combined = ensembles.combine({A: labs[A], B: labs[B]}, "mean")
    assert [lab.grade for lab in combined] == [0, 1, 3, 3, 3, 2, 1, 0]  # 2.5 rounds half up
    runs = {
        "good": {"q1": [Hit("q1", "d3#0", "d3", 1.0, 1)], "q2": [Hit("q2", "d0#0", "d0", 1.0, 1)]},
        "bad": {"q1": [Hit("q1", "d0#0", "d0", 1.0, 1)], "q2": [Hit("q2", "d3#0", "d3", 1.0, 1)]},
    }
    with_runs = ensembles.ensemble_vs_people(store, "c", [A, B, "ce"], runs=runs)
    assert with_runs[-1].tau == pytest.approx(1.0)
    with pytest.raises(NotFoundError, match="no judge named 'nope'"):
        ensembles.ensemble_vs_people(store, "c", [A, "nope"])
    with pytest.raises(InputError, match="two or more"):
        ensembles.combine({A: labs[A]})
    with pytest.raises(InputError, match="majority or mean"):
        ensembles.combine({A: labs[A], B: labs[B]}, "median")
    partial = ensembles.combine({A: labs[A], B: labs[B][:3]}, quorum=1)
    assert len(partial) == len(ITEMS)
    assert len(ensembles.combine({A: labs[A], B: labs[B][:3]})) == 3
