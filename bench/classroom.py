"""Benchmark: a class of N students as sessions of ONE app process (threads, as Streamlit runs
browser sessions), each judging at a human pace, while the teacher's board refreshes.

Each student joins by code and saves a label every 2-6 s (seeded) through ClassStore.save_label,
the call the class page makes; a save that raises is retried with the same nonce (stored once).
The board (ranklens.teaching.classroom.board, with three rankers' runs over the class's documents)
is recomputed every --board-every seconds, as the page's fragment does (as the page opens: without
the per-student re-scoring, which --per-student adds). Printed per class size
and store: saves/s, save latency p50 / p95 / max, board refresh median / max, and labels lost
(acknowledged, not stored) or duplicated (stored twice) - both must be 0. Ratio: the p95 save
against one save alone (the raw store call with no other writer).

PostgreSQL: --pg-url URL, or a throwaway cluster started as the tests do (tests/pg.py).

    .venv/bin/python bench/classroom.py [--students 10 30 60] [--pairs 10]
        [--stores sqlite postgresql] [--pace 2 6] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store_urls import StoreUrls  # noqa: E402
from ranklens.judging import JudgmentStore, Scale  # noqa: E402
from ranklens.judging.classes import ClassStore  # noqa: E402
from ranklens.teaching.classroom import board  # noqa: E402
from ranklens.types import Hit  # noqa: E402

QUERIES = 5


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _runs(pairs: list[tuple[str, str, str, str]], seed: int) -> dict:
    """Three rankers' document rankings of the class's documents (random but fixed orders)."""
    rng = random.Random(seed)
    by_query: dict[str, list[tuple[str, str]]] = {}
    for q, p, d, _ in pairs:
        by_query.setdefault(q, []).append((p, d))
    runs = {}
    for name in ("bm25", "dense", "rrf"):
        run = {}
        for q, items in by_query.items():
            items = items[:]
            rng.shuffle(items)
            run[q] = [Hit(q, p, d, 1.0 / i, i) for i, (p, d) in enumerate(items, 1)]
        runs[name] = run
    return runs


def one_class(
    url: str,
    students: int,
    pairs: int,
    pace: tuple[float, float],
    seed: int,
    board_every: float,
    per_student: bool = False,
) -> dict:
    store = JudgmentStore(url)
    classes = ClassStore(store)
    items = [(f"q{i % QUERIES}", f"d{i}#0", f"d{i}", "likely") for i in range(pairs)]
    info = classes.create("bench", "class", items, scale=Scale.default(), seed=seed)
    runs = _runs(items, seed)
    # one save alone, nobody else writing: the raw store call the ratio is taken against
    classes.join(info.code, "solo")
    alone = []
    for i in range(20):
        t0 = time.perf_counter()
        classes.save_label(info.id, "solo", i % pairs, 1, nonce=f"solo-{i}")
        alone.append((time.perf_counter() - t0) * 1000)
    latencies: list[float] = []
    acked: list[tuple[str, int, str]] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    board_ms: list[float] = []

    def student(k: int) -> None:
        name = f"student{k:02d}"
        rng = random.Random(seed * 1000 + k)
        classes.join(info.code, name)
        order = list(range(pairs))
        rng.shuffle(order)
        for pos in order:
            time.sleep(rng.uniform(*pace))
            nonce = f"{name}-{pos}"
            for _attempt in range(5):
                t0 = time.perf_counter()
                try:
                    classes.save_label(info.id, name, pos, rng.randrange(4), reason="", nonce=nonce)
                except Exception as exc:  # noqa: BLE001 - counted, then retried
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    acked.append((name, pos, nonce))
                break

    def teacher() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            board(classes, info, runs, [], per_student=per_student)
            board_ms.append((time.perf_counter() - t0) * 1000)
            stop.wait(board_every)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(students)]
    watcher = threading.Thread(target=teacher)
    t_start = time.perf_counter()
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t_start
    stop.set()
    watcher.join()
    stored = [lab for lab in classes.labels(info.id) if lab.student != "solo"]
    rows = classes.label_rows(info.id) - len(alone)
    keys = {(lab.student, lab.position) for lab in stored}
    lost = sum(1 for name, pos, _ in acked if (name, pos) not in keys)
    duplicated = rows - len(acked)
    store.close()
    return {
        "students": students,
        "saves": len(acked),
        "saves_per_s": len(acked) / wall,
        "save_p50_ms": statistics.median(latencies),
        "save_p95_ms": _pct(latencies, 0.95),
        "save_max_ms": max(latencies),
        "alone_median_ms": statistics.median(alone),
        "p95_ratio_to_alone": _pct(latencies, 0.95) / statistics.median(alone),
        "board_median_ms": statistics.median(board_ms),
        "board_max_ms": max(board_ms),
        "boards": len(board_ms),
        "lost": lost,
        "duplicated": duplicated,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "wall_s": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, nargs="+", default=[10, 30, 60])
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--pace", type=float, nargs=2, default=[2.0, 6.0], metavar=("MIN", "MAX"))
    ap.add_argument("--board-every", type=float, default=3.0)
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--per-student",
        action="store_true",
        help="the board re-scores with each student's labels too (the page's toggle; off by default)",
    )
    args = ap.parse_args()
    results = []
    with StoreUrls(args.pg_url) as urls:
        for store in args.stores:
            for n in args.students:
                url = urls.url(store, f"class-{n}")
                r = one_class(
                    url,
                    n,
                    args.pairs,
                    tuple(args.pace),
                    args.seed,
                    args.board_every,
                    args.per_student,
                )
                r["store"] = store
                results.append(r)
                print(
                    f"{store:<10} {n:>3} students: {r['saves_per_s']:.1f} saves/s, save p50 "
                    f"{r['save_p50_ms']:.1f} ms, p95 {r['save_p95_ms']:.1f} ms "
                    f"({r['p95_ratio_to_alone']:.1f}x one save alone, "
                    f"{r['alone_median_ms']:.1f} ms), max {r['save_max_ms']:.1f} ms; board "
                    f"median {r['board_median_ms']:.0f} ms, max {r['board_max_ms']:.0f} ms "
                    f"({r['boards']} refreshes); lost {r['lost']}, duplicated "
                    f"{r['duplicated']}, errors {r['errors']}",
                    flush=True,
                )
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["lost"] == 0 and r["duplicated"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
