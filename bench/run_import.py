"""Benchmark: importing a run file (ranklens.ranking.imported_runs.import_run) against reading the same
file with the raw libraries, and ranking from the imported run (run:NAME).

A small corpus (2,000 one-passage documents, BM25 only) and a generated TREC run of
1,000 queries x 1,000 hits = 1,000,000 lines (5% of the ids are not in the corpus, scores with
ties). Each measurement runs in a fresh process (so peak memory is that of the import alone):

    raw split    a bare Python loop: split each line, float() the score (the floor)
    ir_measures  ir_measures.read_trec_run(path), every ScoredDoc consumed
    import       import_run: checked lines -> SQLite (duplicates refused) -> level, missing ids

Printed: the median of --repeats runs of each, lines/s, the ratios, and from one more run
under tracemalloc the peak of Python allocations during the work and the process's peak
resident memory (ru_maxrss, the interpreter and imports included); then the
run:NAME ranking latency per query at k=1000 (doc level). And the load average.

    .venv/bin/python bench/run_import.py [--lines 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_DOCS = 2_000


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_files(folder: Path, n_queries: int, per_query: int) -> tuple[Path, Path, Path]:
    rng = random.Random(0)
    docs = folder / "docs.jsonl"
    with open(docs, "w") as fh:
        for d in range(N_DOCS):
            words = " ".join(
                rng.choice(["tea", "moon", "bread", "rust", "sea", "sky"]) for _ in range(30)
            )
            fh.write(json.dumps({"_id": f"d{d}", "title": f"doc {d}", "text": words}) + "\n")
    queries = folder / "queries.jsonl"
    with open(queries, "w") as fh:
        for q in range(n_queries):
            fh.write(json.dumps({"_id": f"q{q}", "text": f"query {q}"}) + "\n")
    run = folder / "big.trec"
    with open(run, "w") as fh:
        for q in range(n_queries):
            ids = [f"d{i}" for i in rng.sample(range(N_DOCS), per_query)]
            for r, doc in enumerate(ids, 1):
                if rng.random() < 0.05:
                    doc = f"x{q}_{r}"  # an id the corpus lacks
                score = round(per_query - r + rng.choice([0, 0, 0.5]), 1)  # some ties
                fh.write(f"q{q} Q0 {doc} {r} {score} bench\n")
    return docs, queries, run


def child(kind: str, home: str, run: str, name: str) -> dict:
    """One measurement in this (fresh) process: seconds, or (kind "mem-...") the peak of Python
    allocations (tracemalloc, which slows the work down: never timed) and the peak RSS."""
    traced = kind.startswith("mem-")
    kind = kind.removeprefix("mem-")
    os.environ["RANKLENS_HOME"] = home
    from ranklens.config import get_settings
    from ranklens.corpus.index import open_corpus
    from ranklens.ranking import imported_runs, rankers
    from ranklens.ranking.recipes import make_rankers

    corpus = open_corpus("bench", get_settings())
    import ir_measures  # noqa: F401 - loaded before the baseline is taken

    if traced:
        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "raw":
        n = 0
        with open(run, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                float(parts[4])
                n += 1
    elif kind == "ir_measures":
        n = sum(1 for _ in ir_measures.read_trec_run(run))
    elif kind == "import":
        info = imported_runs.import_run(corpus, run, name, "trec", "q", replace=True)
        n = info["lines"]
    else:  # rank: every query of the set at k=1000, document level
        (r,) = make_rankers([f"run:{name}"], corpus)
        queries = corpus.query_sets()["q"]
        got = rankers.rank_all([r], queries, 1000, level="doc").runs[r.name]
        n = sum(len(h) for h in got.values())
        return {"seconds": time.perf_counter() - t0, "n": n, "queries": len(queries)}
    out = {"seconds": time.perf_counter() - t0, "n": n, "rss_mb": _maxrss_mb()}
    if traced:
        out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    return out


def measure(kind: str, home: Path, run: Path, repeats: int) -> list[dict]:
    out = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(home), str(run)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=3, metavar=("KIND", "HOME", "RUN"))
    args = ap.parse_args()
    if args.child:
        kind, home, run = args.child
        print(json.dumps(child(kind, home, run, "big")))
        return
    per_query = 1000
    n_queries = max(1, args.lines // per_query)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        home = folder / "home"
        os.environ["RANKLENS_HOME"] = str(home)
        from ranklens.config import get_settings
        from ranklens.corpus.ingest import ingest
        from ranklens.corpus.trec_files import read_queries

        docs, queries, run = make_files(folder, n_queries, per_query)
        corpus = ingest(docs, "bench", ["bm25"], get_settings())
        corpus.add_query_set("q", read_queries(queries))
        lines = n_queries * per_query
        size = run.stat().st_size / 1e6
        print(
            f"run file: {lines:,} lines ({size:.0f} MB), {n_queries:,} queries; corpus of {N_DOCS:,} documents"
        )
        results = {}
        for kind in ("raw", "ir_measures", "import"):
            got = measure(kind, home, run, args.repeats)
            secs = statistics.median(g["seconds"] for g in got)
            (mem,) = measure(f"mem-{kind}", home, run, 1)
            results[kind] = secs
            each = ", ".join(f"{g['seconds']:.2f}" for g in got)
            print(
                f"{kind:<12} median {secs:6.2f} s {lines / secs:>10,.0f} lines/s  peak Python "
                f"memory {mem['peak_mb']:6.1f} MB, process peak RSS {mem['rss_mb']:6.0f} MB "
                f"(runs: {each})"
            )
        print(
            f"ratio import/raw split {results['import'] / results['raw']:.1f}x, "
            f"import/ir_measures {results['import'] / results['ir_measures']:.2f}x"
        )
        got = measure("rank", home, run, args.repeats)
        secs = statistics.median(g["seconds"] for g in got)
        print(
            f"run:NAME ranking, k=1000 by document: median {secs * 1000 / got[0]['queries']:.2f} "
            f"ms/query ({got[0]['n']:,} hits for {got[0]['queries']:,} queries)"
        )
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
