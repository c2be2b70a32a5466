"""Tests of classes (ranklens/judging/classes.py, class_stats.py, classroom.py, `class` CLI) on a
small real corpus, on SQLite and PostgreSQL: sampling, join codes, labels, states, exports, the
board's agreement (oracles computed by hand here) and rankers, and the fair write queue.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from ranklens.cli import main as cli_main
from ranklens.corpus import ingest
from ranklens.errors import InputError
from ranklens.judging import JudgmentStore, Scale
from ranklens.judging.classes import (
    ClassError,
    ClassInfo,
    ClassLabel,
    ClassPair,
    ClassStore,
    JoinLimiter,
    normalise_code,
    sample_pairs,
    student_order,
)
from ranklens.schema import FairLock
from ranklens.teaching import class_stats as cs
from ranklens.teaching.classroom import board, class_runs, corpus_qrels, start_class
from ranklens.types import Qrel, Query

QUERIES = [
    Query("q1", "sort a python list"),
    Query("q2", "green tea temperature"),
    Query("q3", "moon tides orbit"),
]


@pytest.fixture
def corpus(home, fake_encoder, small_jsonl):
    c = ingest.ingest(small_jsonl, "k", ["bm25", "fake-encoder"], home)
    c.add_query_set("dev", QUERIES)
    return c


def _info(pairs: int, grades: int = 4) -> ClassInfo:
    return ClassInfo(
        id=1,
        code="ABCDEF",
        corpus="c",
        query_set="s",
        title="",
        guidelines="",
        scale=Scale.of(grades),
        state="open",
        seed=1,
        pool_id=None,
        created_by="",
        created_at=0.0,
        pairs=[ClassPair(i, f"q{i % 2}", f"d{i}#0", f"d{i}", "likely") for i in range(pairs)],
    )


def _labels(table: dict[str, list[int]]) -> list[ClassLabel]:
    return [
        ClassLabel(s, pos, g, "", None, 0.0)
        for s, grades in table.items()
        for pos, g in enumerate(grades)
    ]


# ---------------------------------------------------------------- pure rules


def test_sample_is_stratified_seeded_and_refuses_too_few():
    cands = [(f"q{i}", f"p{i}", f"d{i}", i < 4) for i in range(20)]  # 4 likely, 16 not
    a = sample_pairs(cands, 6, seed=3)
    assert a == sample_pairs(cands, 6, seed=3) and a != sample_pairs(cands, 6, seed=4)
    assert sum(s == "likely" for *_, s in a) == 3 and len({p for _, p, _, _ in a}) == 6
    b = sample_pairs(cands, 12, seed=3)  # 4 likely only: the rest from the other stratum
    assert sum(s == "likely" for *_, s in b) == 4 and len(b) == 12
    with pytest.raises(InputError, match="holds 20 pairs"):
        sample_pairs(cands, 21, seed=1)


def test_student_order_is_a_stable_per_student_shuffle():
    pairs = _info(12).pairs
    a, b = student_order(pairs, "ann", 7), student_order(pairs, "bob", 7)
    assert sorted(a) == sorted(pairs) and a == student_order(pairs, "ann", 7) and a != b


def test_code_normalisation_and_join_limiter():
    assert normalise_code(" abc-d2f ") == "ABCD2F"
    lim = JoinLimiter(free=2, base_wait=10)
    for _ in range(2):
        assert lim.wait_left("c1", now=0) == 0
        lim.failed("c1", now=0)
    assert lim.wait_left("c1", now=1) == pytest.approx(9)  # 10 s after the third failure
    lim.failed("c1", now=1)
    assert lim.wait_left("c1", now=2) == pytest.approx(19)  # doubles
    assert lim.wait_left("c2", now=2) == 0  # per client
    lim.succeeded("c1")
    assert lim.wait_left("c1", now=2) == 0


def _fleiss_by_hand(table: np.ndarray) -> float:
    """Fleiss (1971), written out: the oracle for statsmodels' value."""
    n = table.sum(1)[0]
    p_j = table.sum(0) / table.sum()
    p_i = ((table**2).sum(1) - n) / (n * (n - 1))
    pbar, pe = p_i.mean(), (p_j**2).sum()
    return (pbar - pe) / (1 - pe)


def test_fleiss_counts_finished_students_and_matches_the_formula():
    info = _info(5)
    table = {"a": [0, 1, 2, 3, 3], "b": [0, 1, 2, 2, 3], "c": [1, 1, 2, 3, 0], "late": [3]}
    est = cs.fleiss(info, _labels(table))
    counts = np.zeros((5, 4))
    for s in ("a", "b", "c"):
        for pos, g in enumerate(table[s]):
            counts[pos, g] += 1
    assert est.value == pytest.approx(_fleiss_by_hand(counts))
    assert est.raters == 3 and est.items == 5
    assert est.low is not None and est.low <= est.value <= est.high
    assert cs.fleiss(info, _labels({"a": table["a"], "late": [3]})).value is None


def test_alpha_uses_every_label_and_is_undefined_without_pairs():
    info = _info(4)
    labels = _labels({"a": [0, 1, 2, 3], "b": [0, 1, 2, 3]})
    assert cs.alpha(info, labels).value == pytest.approx(1.0)
    assert cs.alpha(info, _labels({"a": [0, 1, 2, 3]})).value is None


def test_widest_pairs_come_first_with_their_reasons():
    info = _info(3)
    labels = _labels({"a": [0, 0, 3], "b": [0, 2, 0]})
    labels.append(ClassLabel("c", 2, 1, "only half of it", None, 0.0))
    wide = cs.widest(info, labels)
    assert [w.position for w in wide] == [2, 1]  # spread 3, then 2; pair 0 agrees
    assert wide[0].reasons == {"c": "only half of it"} and wide[0].grades["a"] == 3


def test_kendall_tau_between_two_scorings():
    assert cs.kendall_tau({"x": 0.1, "y": 0.2, "z": 0.3}, {"x": 1, "y": 2, "z": 3}) == 1
    assert cs.kendall_tau({"x": 0.1, "y": 0.2}, {"x": 2, "y": 1}) == -1
    assert cs.kendall_tau({"x": 0.1}, {"x": 1}) is None


# ---------------------------------------------------------------- the store (both engines)


def test_class_lifecycle_on_the_store(corpus, store, tmp_path):
    info = start_class(store, corpus, "dev", 4, seed=5, rankers=["bm25", "fake-encoder"], depth=3)
    classes = ClassStore(store)
    assert len(info.pairs) == 4 and len(info.code) == 6 and info.state == "open"
    assert {p.query_id for p in info.pairs} <= {"q1", "q2", "q3"}
    with pytest.raises(ClassError, match="no open class has this code"):
        classes.join("ZZZZZZ", "ann")
    got, name = classes.join(info.code.lower(), "  ann ")
    assert got.id == info.id and name == "ann"
    classes.join(info.code, "bob")
    with pytest.raises(ClassError, match="has not joined"):
        classes.save_label(info.id, "eve", 0, 1)
    with pytest.raises(InputError, match="outside the scale"):
        classes.save_label(info.id, "ann", 0, 9)
    assert classes.save_label(info.id, "ann", 0, 1, reason="close", seconds=3.5, nonce="n1")
    assert not classes.save_label(info.id, "ann", 0, 1, nonce="n1")  # a retried save: one row
    classes.save_label(info.id, "ann", 0, 2)  # a changed mind: the latest counts
    classes.save_label(info.id, "bob", 0, 0, reason="off topic")
    assert classes.label_rows(info.id) == 3
    assert [(lab.student, lab.grade) for lab in classes.labels(info.id)] == [("ann", 2), ("bob", 0)]
    # before the reveal a student sees only their own labels
    assert {lab.student for lab in classes.visible_labels(info.id, "bob")} == {"bob"}
    classes.set_state(info.id, "paused")
    with pytest.raises(ClassError, match="paused"):
        classes.save_label(info.id, "bob", 1, 1)
    classes.set_state(info.id, "revealed")
    assert {lab.student for lab in classes.visible_labels(info.id, "bob")} == {"ann", "bob"}
    n = classes.export_jsonl(info.id, tmp_path / "class.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "class.jsonl").read_text().splitlines()]
    assert n == 2 and rows[0]["reason"] == "" and rows[1]["reason"] == "off topic"
    assert rows[0]["seconds"] is None and rows[0]["passage_id"] == info.pairs[0].passage_id
    assert classes.export_qrels(info.id, tmp_path / "class.qrels", "max") == 1
    assert (tmp_path / "class.qrels").read_text().split() == [
        info.pairs[0].query_id,
        "0",
        info.pairs[0].passage_id,
        "2",
    ]
    classes.set_state(info.id, "closed")
    with pytest.raises(ClassError, match="no open class"):
        classes.join(info.code, "carl")
    with pytest.raises(ClassError, match="closed"):
        classes.set_state(info.id, "open")


def test_board_scores_rankers_with_class_and_corpus_labels(corpus, store):
    info = start_class(store, corpus, "dev", 4, seed=2, rankers=["bm25", "fake-encoder"], depth=3)
    classes = ClassStore(store)
    for name, grades in (("ann", [3, 0, 3, 0]), ("bob", [3, 1, 2, 0]), ("cy", [0, 0, 3, 3])):
        classes.join(info.code, name)
        for pos, g in enumerate(grades):
            classes.save_label(info.id, name, pos, g)
    runs = class_runs(corpus, info, ["bm25", "fake-encoder"])
    assert corpus_qrels(corpus, info, store) == []  # the corpus came with no labels
    qrels = [Qrel(p.query_id, p.doc_id, 1) for p in info.pairs[:2]]
    b = board(classes, info, runs, qrels)
    assert [p[1] for p in b.progress] == [4, 4, 4] and b.fleiss.raters == 3
    assert set(b.rankers.class_scores) == {"bm25", "fake-encoder"}
    assert set(b.rankers.student_scores) == {"ann", "bob", "cy"}
    assert b.rankers.tau is None or -1 <= b.rankers.tau <= 1
    # the class's majority qrels hold one document grade per judged document
    qd = cs.class_qrels(b.info, b.labels)
    assert all(0 <= q.relevance <= 3 for q in qd)
    json.dumps(b.to_dict())  # the board serialises (CLI --json)


def test_class_cli_start_show_export_close(corpus, store, capsys, tmp_path):
    assert (
        cli_main(
            ["class", "start", "--corpus", "k", "--queries", "dev", "--pairs", "3"]
            + ["--seed", "1", "--rankers", "bm25", "--depth", "3", "--json"]
        )
        == 0
    )
    started = json.loads(capsys.readouterr().out)
    code = started["code"]
    ClassStore(store).join(code, "ann")
    ClassStore(store).save_label(started["id"], "ann", 0, 2, reason="yes")
    assert cli_main(["class", "show", code, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["labels"] == 1 and shown["progress"] == [{"student": "ann", "done": 1, "total": 3}]
    out = tmp_path / "x.jsonl"
    assert cli_main(["class", "export", code, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["reason"] == "yes"
    capsys.readouterr()
    guide = tmp_path / "guide.md"
    guide.write_text("Grade 1 when it *mentions* the topic.")
    argv = ["class", "start", "--corpus", "k", "--queries", "dev", "--pairs", "2", "--seed", "2"]
    argv += ["--rankers", "bm25", "--depth", "3", "--grades", "2", "--guidelines", str(guide)]
    assert cli_main(argv + ["--json"]) == 0
    second = ClassStore(store).get(json.loads(capsys.readouterr().out)["id"])
    assert second.scale.max == 1 and second.guidelines.startswith("Grade 1 when")
    assert cli_main(["class", "close", str(started["id"])]) == 0
    assert "closed" in capsys.readouterr().out
    assert cli_main(["class", "list", "--json"]) == 0
    assert [c["state"] for c in json.loads(capsys.readouterr().out)] == ["closed", "open"]


# ---------------------------------------------------------------- the fair write queue


def test_fair_lock_serves_threads_in_arrival_order():
    lock = FairLock()
    order: list[int] = []
    lock.acquire()
    threads = []
    for i in range(8):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        t.start()
        threads.append(t)
        while len(lock._waiters) < i + 1:  # each is queued before the next arrives
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == list(range(8))


def test_fair_lock_is_reentrant_and_times_out():
    lock = FairLock()
    with lock.held():
        with lock.held():  # the owner may re-enter (a write inside a write of the same thread)
            pass
        got: list[bool] = []
        t = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
        t.start()
        t.join(5)
        assert got == [False] and not lock._waiters
    assert lock.acquire(timeout=0.05)


def test_concurrent_saves_lose_and_duplicate_nothing(tmp_path):
    store = JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    classes = ClassStore(store)
    info = classes.create(
        "c",
        "s",
        [(f"q{i}", f"p{i}", f"d{i}", "likely") for i in range(10)],
        scale=Scale.default(),
        seed=1,
    )
    names = [f"s{i}" for i in range(12)]
    for n in names:
        classes.join(info.code, n)

    def judge(name: str) -> None:
        for pos in range(10):
            classes.save_label(info.id, name, pos, pos % 4, nonce=f"{name}-{pos}")
            classes.save_label(info.id, name, pos, pos % 4, nonce=f"{name}-{pos}")  # a retry

    threads = [threading.Thread(target=judge, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert classes.label_rows(info.id) == 120 and len(classes.labels(info.id)) == 120
    store.close()
