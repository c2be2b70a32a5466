"""Tests of ranklens.judging.timing (time and reasons per label, JSONL export) and
ranklens.judging.queue_order (blind shuffle, and likely relevant first)."""

from __future__ import annotations

import json

import pytest

from ranklens.errors import InputError
from ranklens.judging import JudgmentStore, PoolItem, pool_order, queue_order, timing

ITEMS = [PoolItem("q1", f"d{i}#0", f"d{i}") for i in range(6)] + [
    PoolItem("q2", f"e{i}#0", f"e{i}") for i in range(4)
]


@pytest.fixture
def store(tmp_path):
    s = JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    yield s
    s.close()


def _label(store, annotator, item, grade, seconds, note=None):
    eid = store.add_label(
        "c", annotator, item.query_id, item.passage_id, grade, doc_id=item.doc_id, note=note
    )
    shown = store.event(eid).created_at - seconds
    assert timing.record_time(store, eid, shown) == pytest.approx(seconds)
    return eid


def test_times_medians_p90_reasons_and_export(store, tmp_path) -> None:
    for item, s in zip(ITEMS[:5], [1.0, 2.0, 3.0, 4.0, 10.0], strict=True):
        _label(store, "alice", item, 1, s)
    _label(store, "bob", ITEMS[6], 2, 7.0, note="names the exact API")
    eid = _label(store, "bob", ITEMS[7], 0, 5.0)
    store.record(
        "note", "c", "bob", "q2", "e1#0", note="off topic", doc_id="e1"
    )  # reason typed after
    store.add_label("c", "bob", "q2", "e2#0", 3, doc_id="e2")  # not timed
    st = timing.time_stats(store, "c")
    # alice: 1 2 3 4 10 -> median 3, p90 = 4 + 0.6 * (10 - 4) = 7.6
    assert st["annotator"]["alice"] == (5, 3.0, pytest.approx(7.6))
    assert st["annotator"]["bob"] == (2, 6.0, pytest.approx(6.8))
    assert st["query"]["q2"].n == 2 and st["query"]["q1"].median == 3.0
    # the first record wins; a time must be plausible; only labels have times
    assert timing.record_time(store, eid, store.event(eid).created_at - 99) == pytest.approx(99)
    assert timing.times(store, "c")[eid] == pytest.approx(5.0)
    with pytest.raises(InputError, match="before its label"):
        timing.record_time(store, eid, store.event(eid).created_at + 5)
    note_id = store.history("c", annotator="bob")[-2].id
    with pytest.raises(InputError, match="not a label"):
        timing.record_time(store, note_id, 0.0)
    # an undone label's time no longer counts
    store.undo("c", "alice")
    assert timing.time_stats(store, "c")["annotator"]["alice"] == (4, 2.5, pytest.approx(3.7))
    n = timing.export_jsonl(store, "c", tmp_path / "labels.jsonl")
    rows = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert n == len(rows) == 7
    by = {r["passage_id"]: r for r in rows}
    assert by["e0#0"]["reason"] == "names the exact API" and by["e0#0"]["seconds"] == 7.0
    assert by["e1#0"]["reason"] == "off topic" and by["e1#0"]["grade"] == 0
    assert by["d3#0"]["seconds"] == pytest.approx(4.0) and by["d3#0"]["annotator"] == "alice"
    assert "d4#0" not in by and by["e2#0"]["seconds"] is None
    assert timing.stats([]) == (0, None, None)


def test_both_queue_orders(store) -> None:
    pool = store.save_pool("c", "set", ITEMS, ["bm25"], 10, {})
    session = store.start_session(pool.id, "alice", seed=7)
    # default: blind, shuffled per annotator, queries in pool order
    assert session.queue() == pool_order(ITEMS, "alice", 7)
    assert session.queue() != ITEMS  # shuffled (this seed moves q1's passages)
    # likely relevant first by the pool's rank
    queue_order.apply_order(session, "pool-rank", items=pool.items)
    assert session.queue() == ITEMS
    # likely relevant first by the cross-encoder: scores from its suggestions
    scores = [0.1, 3.0, -1.0, 2.0, 2.0, 0.5, 1.0, 4.0, -2.0, 0.0]
    store.add_suggestions("c", "ce", ITEMS, scores, [0.0, 1.0, 2.0])
    ce = queue_order.suggestion_scores(store, "c", "ce")
    assert ce[ITEMS[1].unit] == 3.0
    queue_order.apply_order(session, "cross-encoder", items=pool.items, scores=ce)
    assert [it.passage_id for it in session.queue()] == [
        "d1#0",
        "d3#0",
        "d4#0",
        "d5#0",
        "d0#0",
        "d2#0",  # ties keep the pool's order
        "e1#0",
        "e0#0",
        "e3#0",
        "e2#0",
    ]
    # a labelled passage leaves the queue in any order
    session.label(session.next_item(), 3)
    assert session.next_item().passage_id == "d3#0"
    partial = {ITEMS[2].unit: 9.0}
    got = queue_order.order_items(ITEMS, "a", 1, "cross-encoder", partial)
    assert got[0] == ITEMS[2] and got[1:6] == [ITEMS[i] for i in (0, 1, 3, 4, 5)]
    with pytest.raises(InputError, match="unknown queue order"):
        queue_order.order_items(ITEMS, "a", 1, "random")
    with pytest.raises(InputError, match="suggestions first"):
        queue_order.order_items(ITEMS, "a", 1, "cross-encoder", {})
    assert "hints at" in queue_order.TRADE_OFF


def test_cli_labels_jsonl(tmp_path, monkeypatch, capsys) -> None:
    from ranklens.cli import main
    from ranklens.config import get_settings

    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RANKLENS_DB_URL", raising=False)
    with JudgmentStore(get_settings().db_url) as s:
        _label(s, "alice", ITEMS[0], 2, 3.0, note="why")
    out = tmp_path / "l.jsonl"
    assert main(["judgments", "labels", str(out), "--corpus", "c"]) == 0
    assert "alice: 1 timed labels, median 3.0 s" in capsys.readouterr().out
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert row["reason"] == "why" and row["seconds"] == pytest.approx(3.0)
