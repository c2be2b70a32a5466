"""Tests of ranklens/judging/session.py: a judging session's queue, skip, can't judge, undo and
progress with several annotators per passage.
"""

from __future__ import annotations

from pathlib import Path

from ranklens.types import Query

from .judging_data import hits

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_judging_session_queue_skip_cant_judge_undo_and_progress(store):
    store.set_judging_settings(
        "c", "dev", guidelines="# Judge\nRead the passage.", annotators_per_passage=2
    )
    texts = [Query("q1", "how to sort"), Query("q2", "read a file")]
    runs = {
        "bm25": {"q1": hits("q1", ["a#0", "b#0"]), "q2": hits("q2", ["c#0"])},
        "dense": {"q1": hits("q1", ["b#0", "d#0"])},
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
    # alice is through her queue, yet the pool is not: most passages have one label of two
    assert alice.progress().overall.pool_fraction < 1.0
    assert alice.progress().overall.complete == bob.progress().overall.complete
