"""Benchmark: N simulated annotators, each a separate process, saving labels into one judgment
store at once (SQLite file, or PostgreSQL), and a run where a writer is SIGKILLed and restarted.

Each annotator saves labels back to back (no reading time: the store's worst case) through
JudgmentStore.add_label, for --seconds, and logs every label only after add_label returned
("reported saved"), with its save latency. Then the store is read back and compared with the
logs: labels/s, p50/p95 save latency, lost (reported saved, not stored) and duplicated (stored
twice, or one event id reported for two labels) - both must be 0. In the kill run one writer is
killed with SIGKILL half way and started again; "in flight" counts a label stored whose
acknowledgement the kill cut off (at most one per kill; it is not lost, and not a duplicate).

PostgreSQL: --pg-url URL, or a throwaway cluster started as the tests do (tests/pg.py).

    .venv/bin/python bench/annotators.py [--annotators 1 5 20] [--seconds 60]
        [--stores sqlite postgresql] [--no-kill] [--pg-url URL] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store_urls import StoreUrls  # noqa: E402

CORPUS = "bench"
RESTART_OFFSET = 10_000_000  # a restarted writer numbers its labels from here (never reused)


# ---------------------------------------------------------------- one annotator (a process)


def worker(url: str, name: str, go: str, first: int, log: str) -> None:
    from ranklens.judging import JudgmentStore

    store = JudgmentStore(url)
    store.count_events(CORPUS)  # connected
    Path(log + ".ready").touch()
    while not Path(go).exists():  # all start together, once every writer is ready
        time.sleep(0.01)
    start_at, end = (float(x) for x in Path(go).read_text().split())
    with open(log, "a", buffering=1, encoding="utf-8") as out:  # line-buffered: one write a label
        time.sleep(max(0.0, start_at - time.time()))
        i = first
        while time.time() < end:
            doc = f"{name}-d{i}"
            t0 = time.perf_counter()
            event_id = store.add_label(CORPUS, name, f"q{i % 50}", f"{doc}#0", i % 4, doc_id=doc)
            ms = (time.perf_counter() - t0) * 1000
            out.write(f"{event_id} {i} {ms:.3f}\n")  # "saved": only after add_label returned
            i += 1
    store.close()


def _spawn(url: str, name: str, go: Path, first: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", url, name, str(go), str(first), str(log)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip


def _wait_ready(logs: list[Path], procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + 300
    while not all(Path(f"{log}.ready").exists() for log in logs):
        failed = [n for n, p in procs.items() if p.poll() not in (None, 0)]
        if failed or time.monotonic() > deadline:
            raise SystemExit(f"writers did not start: {failed or 'timeout'}")
        time.sleep(0.05)


def _write_go(go: Path, start_at: float, end_at: float) -> None:
    tmp = go.with_suffix(".tmp")
    tmp.write_text(f"{start_at!r} {end_at!r}")
    os.replace(tmp, go)  # whole, at once: a writer never reads half of it


# ---------------------------------------------------------------- one run


def run(url: str, n: int, seconds: float, folder: Path, kill: bool) -> dict:
    from ranklens.judging import JudgmentStore

    JudgmentStore(url).close()  # schema first: the race is on labels, not on CREATE TABLE
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"ann{k:02d}" for k in range(n)]
    logs = {name: folder / f"{name}.log" for name in names}
    go = folder / "go"
    for path in [go, *logs.values(), *(Path(f"{p}.ready") for p in logs.values())]:
        path.unlink(missing_ok=True)
    procs = {name: _spawn(url, name, go, 0, logs[name]) for name in names}
    _wait_ready(list(logs.values()), procs)
    start_at = time.time() + 0.2
    end_at = start_at + seconds
    _write_go(go, start_at, end_at)
    killed = 0
    if kill:
        victim = names[0]
        time.sleep(max(0.0, start_at + seconds / 2 - time.time()))
        os.kill(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait()
        killed = 1
        Path(f"{logs[victim]}.ready").unlink()
        go2 = folder / "go2"
        go2.unlink(missing_ok=True)
        again = _spawn(url, victim, go2, RESTART_OFFSET, logs[victim])
        procs[victim + "'"] = again
        _wait_ready([logs[victim]], {victim: again})
        _write_go(go2, time.time(), end_at)  # the restarted writer runs to the common end
    for name, p in procs.items():
        p.wait(timeout=seconds + 120)
        if p.returncode != 0 and not (kill and name == names[0]):
            raise SystemExit(f"writer {name} failed with exit code {p.returncode}")

    acked: dict[int, tuple[str, int]] = {}
    latencies: list[float] = []
    reported_twice = 0
    for name, log in logs.items():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) != 3:  # a line cut by the kill is not an acknowledgement
                continue
            event_id, i, ms = int(parts[0]), int(parts[1]), float(parts[2])
            reported_twice += event_id in acked
            acked[event_id] = (name, i)
            latencies.append(ms)
    store = JudgmentStore(url)
    events = store.history(CORPUS)
    store.close()
    stored = {e.id: e for e in events}
    lost = sum(
        1
        for event_id, (name, i) in acked.items()
        if event_id not in stored
        or stored[event_id].annotator != name
        or stored[event_id].passage_id != f"{name}-d{i}#0"
        or stored[event_id].grade != i % 4
    )
    per_unit: dict[tuple[str, str], int] = {}
    for e in events:
        per_unit[(e.annotator, e.passage_id)] = per_unit.get((e.annotator, e.passage_id), 0) + 1
    duplicated = sum(c - 1 for c in per_unit.values() if c > 1) + reported_twice
    in_flight = len(set(stored) - set(acked))
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else None
    return {
        "annotators": n,
        "seconds": seconds,
        "killed": killed,
        "labels": len(acked),
        "labels_per_s": round(len(acked) / seconds, 1),
        "p50_ms": round(q[49], 2) if q else None,
        "p95_ms": round(q[94], 2) if q else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "lost": lost,
        "duplicated": duplicated,
        "in_flight_at_kill": in_flight,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, name, go, first, log = sys.argv[2:7]
        worker(url, name, go, int(first), log)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--annotators", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])  # fmt: skip
    ap.add_argument("--kill-annotators", type=int, default=5, help="N of the SIGKILL run")
    ap.add_argument("--no-kill", action="store_true", help="skip the SIGKILL run")
    ap.add_argument("--pg-url", help="a PostgreSQL database to use (default: a throwaway one)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args()

    results = []
    with StoreUrls(args.pg_url) as urls:
        for store in args.stores:
            plan = [(n, False) for n in args.annotators]
            if not args.no_kill:
                plan.append((args.kill_annotators, True))
            for n, kill in plan:
                if args.pg_url and store == "postgresql" and len(plan) > 1:
                    raise SystemExit("--pg-url holds one run's labels: give one --annotators")
                url = urls.url(store, f"{n}-{int(kill)}")
                r = {"store": store, **run(url, n, args.seconds, urls.dir / "logs", kill)}
                results.append(r)
                print(
                    f"{store:<10} N={n:<3}{' SIGKILL+restart' if kill else '':<16} "
                    f"{r['labels_per_s']:>8} labels/s  p50 {r['p50_ms']} ms  "
                    f"p95 {r['p95_ms']} ms  max {r['max_ms']} ms  labels {r['labels']}  "
                    f"lost {r['lost']}  duplicated {r['duplicated']}"
                    + (f"  in flight at kill {r['in_flight_at_kill']}" if kill else ""),
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    bad = [r for r in results if r["lost"] or r["duplicated"]]
    if bad:
        raise SystemExit(f"labels lost or duplicated: {bad}")


if __name__ == "__main__":
    main()
