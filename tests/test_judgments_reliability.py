"""Reliability of the judgment store on SQLite and PostgreSQL: concurrent writers, SIGKILL mid-stream.

Writers are separate processes (spawned, so nothing is shared but the database).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from ranklens.judging import JudgmentStore

from .conftest import spawn_python

N_LABELS = 1000
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork-free spawn")


def _writer(url: str, annotator: str, n: int, barrier, out: str) -> None:
    store = JudgmentStore(url)
    barrier.wait(timeout=60)
    ids, first, last = [], None, None
    for i in range(n):
        first = first or time.monotonic()  # when this writer began asking for the write lock
        ids.append(store.add_label("c", annotator, f"q{i % 25}", f"d{i}#0", i % 4, doc_id=f"d{i}"))
        last = time.monotonic()
    store.close()
    Path(out).write_text(json.dumps({"ids": ids, "first": first, "last": last}))


def test_two_writers_at_once_lose_and_duplicate_nothing(tmp_path, store_url):
    url = store_url  # SQLite and PostgreSQL (tests/conftest.py)
    JudgmentStore(url).close()  # schema in place; the race is on labels, not on CREATE TABLE
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    names = ("alice", "bob")
    procs = [
        ctx.Process(target=_writer, args=(url, name, N_LABELS, barrier, str(tmp_path / name)))
        for name in names
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    results = {name: json.loads((tmp_path / name).read_text()) for name in names}
    a, b = results["alice"], results["bob"]
    # they really competed: each began writing before the other had finished (SQLite serialises)
    assert a["first"] < b["last"] and b["first"] < a["last"]

    store = JudgmentStore(url)
    events = store.history("c")
    assert len(events) == 2 * N_LABELS
    assert len({e.id for e in events}) == 2 * N_LABELS
    assert {e.id for e in events} == set(a["ids"]) | set(b["ids"])
    assert not set(a["ids"]) & set(b["ids"])
    for name in names:
        mine = [e for e in events if e.annotator == name]
        assert sorted(e.passage_id for e in mine) == sorted(f"d{i}#0" for i in range(N_LABELS))
        assert all(e.grade == int(e.passage_id[1:-2]) % 4 for e in mine)
        ids = results[name]["ids"]
        assert ids == sorted(ids)  # each writer's labels in its own order
    assert len(store.current_labels("c")) == 2 * N_LABELS
    assert store.integrity_check() == "ok"
    store.close()


WRITER = """
import sys
from ranklens.judging import JudgmentStore
store = JudgmentStore(sys.argv[1])
start = int(sys.argv[2])
print("ready", flush=True)
i = start
while True:
    event_id = store.add_label(
        "c", "writer", f"q{i % 10}", f"d{i}#0", i % 4, doc_id=f"d{i}", note=f"n{i}"
    )
    print(event_id, i, flush=True)  # "saved": printed only after add_label returned
    i += 1
"""


def _run_and_kill(url: str, start: int, kill_after: int) -> list[tuple[int, int]]:
    proc = spawn_python(WRITER, url, str(start))
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        acked: list[tuple[int, int]] = []
        while len(acked) < kill_after:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            event_id, i = line.split()
            acked.append((int(event_id), int(i)))
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the next add_label is under way
        rest = proc.stdout.read()  # lines printed before the kill are acknowledged too
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines():
        event_id, i = line.split()
        acked.append((int(event_id), int(i)))
    return acked


def test_sigkilled_writer_loses_no_acknowledged_label(tmp_path, store_url):
    url = store_url  # SQLite and PostgreSQL (tests/conftest.py)
    acked: list[tuple[int, int]] = []
    for round_, kill_after in enumerate((40, 250, 117)):
        acked += _run_and_kill(url, start=round_ * 10_000, kill_after=kill_after)
        # "after restart": a fresh store on the same file
        store = JudgmentStore(url)
        assert store.integrity_check() == "ok"
        events = {e.id: e for e in store.history("c", annotator="writer")}
        for event_id, i in acked:
            e = events.get(event_id)
            assert e is not None, f"label {event_id} was acknowledged but is gone"
            assert (e.passage_id, e.grade, e.note) == (f"d{i}#0", i % 4, f"n{i}")
        # at most the one label in flight at the kill may be stored without an acknowledgement
        assert len(acked) <= len(events) <= len(acked) + round_ + 1
        store.add_label(
            "c", "after", "q1", "d1#0", 1, doc_id="d1"
        )  # and the store takes writes again
        store.close()


IMPORTER = """
import sys, time
import sqlalchemy as sa
from ranklens.judging import JudgmentStore
execute, chunks = sa.Connection.execute, []
def counting_execute(self, statement, *args, **kwargs):
    result = execute(self, statement, *args, **kwargs)
    if args and isinstance(args[0], list) and len(args[0]) > 1:  # a chunk of label rows
        chunks.append(len(args[0]))
        if len(chunks) == 3:
            print("inserted", sum(chunks), flush=True)
            time.sleep(60)  # hold the open transaction until the kill
    return result
sa.Connection.execute = counting_execute
JudgmentStore(sys.argv[1]).import_qrels("c", sys.argv[2], "trec")
print("done", flush=True)
"""


def test_kill_in_the_middle_of_an_import_leaves_nothing_half_written(tmp_path, store_url):
    url = store_url  # SQLite and PostgreSQL (tests/conftest.py)
    qrels = tmp_path / "big.trec"
    qrels.write_text("".join(f"q{i % 50} 0 d{i} {i % 4}\n" for i in range(30_000)))
    proc = spawn_python(IMPORTER, url, str(qrels))
    try:
        line = proc.stdout.readline()
        assert line.startswith("inserted 15000"), proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)  # 15,000 rows written, not committed
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    store = JudgmentStore(url)
    assert store.integrity_check() == "ok"
    assert store.count_events("c") == 0  # all or nothing
    assert store.import_qrels("c", qrels, "trec").labels == 30_000  # the lock is free again
    assert store.count_events("c") == 30_000
    store.close()
