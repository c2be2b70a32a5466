"""Faults in team mode's judgment store: the PostgreSQL server stops mid-session and comes back.

Each test starts its own throwaway cluster (tests/pg.py), since it stops it; skips, saying why,
where PostgreSQL cannot start.
"""

from __future__ import annotations

import time

import pytest

from ranklens.errors import StoreUnavailable
from ranklens.judging import JudgmentStore

from .conftest import own_pg_cluster, spawn_python


@pytest.fixture
def own_cluster():
    with own_pg_cluster() as cluster:
        yield cluster


def test_store_says_the_server_is_gone_and_recovers_when_it_returns(own_cluster):
    url = own_cluster.create_database()
    store = JudgmentStore(url)
    ids = [
        store.add_label("c", "ann", f"q{i}", f"d{i}#0", i % 4, doc_id=f"d{i}") for i in range(20)
    ]
    own_cluster.stop("immediate")  # the server dies; the store's pooled connections are dead
    with pytest.raises(StoreUnavailable, match="not reachable") as info:
        store.add_label("c", "ann", "q99", "d99#0", 1, doc_id="d99")
    message = str(info.value)
    assert "labels saved before are kept" in message and "postgresql" in message
    with pytest.raises(StoreUnavailable):
        store.current_labels("c")
    own_cluster.restart()
    late = store.add_label("c", "ann", "q99", "d99#0", 1, doc_id="d99")  # the same store object
    events = {e.id for e in store.history("c")}
    assert set(ids) | {late} == events
    store.close()


WRITER = """
import sys, time
from ranklens.errors import StoreUnavailable
from ranklens.judging import JudgmentStore
store = JudgmentStore(sys.argv[1])
print("ready", flush=True)
i, failures = 0, 0
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        event_id = store.add_label("c", "w", f"q{i % 7}", f"d{i}#0", i % 4, doc_id=f"d{i}")
    except StoreUnavailable:
        failures += 1
        print("down", i, flush=True)
        time.sleep(0.05)
        continue  # the same label again: it was not saved
    print("saved", event_id, i, flush=True)
    i += 1
print("end", failures, flush=True)
"""


def test_no_label_reported_saved_is_lost_when_the_server_stops_and_returns(own_cluster):
    url = own_cluster.create_database()
    JudgmentStore(url).close()
    proc = spawn_python(WRITER, url, "8")
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(2)
        own_cluster.stop("immediate")  # mid-stream, the writer's next add_label is under way
        time.sleep(2)
        own_cluster.restart()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    lines = [ln.split() for ln in out.splitlines()]
    saved = {int(ln[1]): int(ln[2]) for ln in lines if ln[0] == "saved"}
    downs = [ln for ln in lines if ln[0] == "down"]
    assert downs, "the writer never saw the server stopped"
    assert saved, "the writer saved nothing"
    assert max(saved.values()) >= int(downs[-1][1])  # the label refused last, saved once back
    store = JudgmentStore(url)
    events = {e.id: e for e in store.history("c", annotator="w")}
    for event_id, i in saved.items():
        e = events.get(event_id)
        assert e is not None, f"label {event_id} was reported saved and is gone"
        assert (e.passage_id, e.grade) == (f"d{i}#0", i % 4)
    # every label i was saved exactly once, save perhaps the one in flight at the stop
    by_i: dict[str, int] = {}
    for e in events.values():
        by_i[e.passage_id] = by_i.get(e.passage_id, 0) + 1
    assert sum(n - 1 for n in by_i.values()) <= 1
    assert len(events) <= len(saved) + 1
    store.close()
