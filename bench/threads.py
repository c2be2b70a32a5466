"""Benchmark: query latency while a second process embeds a corpus, by query-time thread count.

For each dense model and each RANKLENS_QUERY_THREADS value, a fresh process encodes one query at
a time (after warm-up), first on its own, then while another process runs encode_documents in a
loop (every core, as ingestion does; at the niceness given, as a job's worker runs). Prints p50, p95 and p95/p50 (goal under load: p95 <= 2x p50)
with the load average beside each line. The machine is shared: other load shows there too.

    .venv/bin/python bench/threads.py [--models all-MiniLM-L6-v2 bge-small-en-v1.5] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES = [
    "what is the boiling point of water at altitude",
    "how do I sort a list in python",
    "effects of heat transfer on a supersonic wing",
    "why does the moon cause tides",
    "best way to brew green tea",
]
PASSAGE = " ".join(["The boundary layer over a flat plate thickens downstream as heat flows."] * 12)


def child_query(model: str, n: int) -> None:
    from ranklens import models

    enc = models.load_encoder(model)
    for q in QUERIES * 2:
        enc.encode_queries([q])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        enc.encode_queries([QUERIES[i % len(QUERIES)] + f" {i}"])
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(times))


def child_load(model: str) -> None:
    from ranklens import models

    enc = models.load_encoder(model)
    print("ready", flush=True)
    while True:
        enc.encode_documents([PASSAGE] * 32)


def measure(
    model: str, threads: int, n: int, loaded: bool, nice: int = 0
) -> tuple[list[float], str]:
    env = {**os.environ, "RANKLENS_QUERY_THREADS": str(threads), "RANKLENS_DEVICE": "cpu"}
    load_proc = None
    if loaded:
        load_proc = subprocess.Popen(
            ["nice", "-n", str(nice), sys.executable, __file__, "--child-load", model],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "RANKLENS_DEVICE": "cpu"},
        )
        load_proc.stdout.readline()  # the model is loaded and encoding
        time.sleep(2)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child-query", model, str(n)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    finally:
        if load_proc is not None:
            load_proc.kill()
            load_proc.wait()
    avg = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return json.loads(out.strip().splitlines()[-1]), avg


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-query":
        child_query(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) > 2 and sys.argv[1] == "--child-load":
        child_load(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["all-MiniLM-L6-v2", "bge-small-en-v1.5"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument(
        "--nice",
        type=int,
        nargs="+",
        default=[0],
        help="niceness of the encoding process (jobs run ingestion at 10)",
    )
    args = ap.parse_args()
    print(f"{'model':<24}{'threads':>8}{'load':>10}{'p50 ms':>9}{'p95 ms':>9}{'p95/p50':>9}")
    for model in args.models:
        for threads in args.threads:
            for loaded, nice in [(False, 0)] + [(True, n) for n in args.nice]:
                times, avg = measure(model, threads, args.queries, loaded, nice)
                p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
                tag = f"encode/{nice}" if loaded else "-"
                print(
                    f"{model:<24}{threads:>8}{tag:>10}{p50:9.1f}{p95:9.1f}{p95 / p50:9.2f}  ({avg})",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
