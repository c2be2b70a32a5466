"""Benchmark: the cost of checking a browser's sign-in on every run (ranklens.judging.sign_ins
.resolve: one indexed join of browser_sign_ins and annotator_keys) against the raw library's
cheapest round trip on the same engine (SQLAlchemy `SELECT 1` in a read transaction), and the
old check it replaced (annotators.get by name). Medians of --repeat calls, and the load average.

    .venv/bin/python bench/sign_in.py [--repeat 2000] [--stores sqlite postgresql] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.store_urls import StoreUrls  # noqa: E402


def _median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def run(url: str, repeat: int) -> dict:
    from ranklens.judging import JudgmentStore, sign_ins
    from ranklens.judging import annotators as accounts

    store = JudgmentStore(url)
    for i in range(50):  # a team: 50 annotators, each signed in twice
        who, _ = accounts.add(store, f"ann{i}")
        sign_ins.start(store, who)
        token = sign_ins.start(store, who)

    def select_one() -> None:
        with store.read() as conn:
            conn.execute(sa.text("SELECT 1")).scalar()

    out = {
        "raw SELECT 1": _median_us(select_one, repeat),
        "annotators.get (old check)": _median_us(lambda: accounts.get(store, "ann49"), repeat),
        "sign_ins.resolve (new check)": _median_us(lambda: sign_ins.resolve(store, token), repeat),
    }
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--pg-url")
    args = ap.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for kind in args.stores:
        with StoreUrls(args.pg_url) as urls:
            result = run(urls.url(kind, "j"), args.repeat)
        base = result["raw SELECT 1"]
        print(f"{kind}:")
        for name, us in result.items():
            print(f"  {name:30s} median {us:8.1f} µs   x{us / base:5.2f} of SELECT 1")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
