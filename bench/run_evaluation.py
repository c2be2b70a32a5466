"""Benchmark: evaluating run files without a corpus against bare pytrec_eval on the same files.

A generated TREC run of --queries x --depth lines (default 1,000 x 1,000 = 1,000,000 lines, scores
with ties) and graded qrels (40 labels per query). Two paths, each from the file on disk:

* "ours": ranklens.evaluation.run_evaluation: read_run_scores (checked, line-numbered errors, duplicates
  refused) + evaluate_run_files with trec_eval's summary measures (28 values per query);
* "bare": pytrec_eval.parse_run + RelevanceEvaluator.evaluate with the same trec_eval measures.

Each is timed --repeats times; medians, the ratio ours/bare, lines/s and the load average print.

    .venv/bin/python bench/run_evaluation.py [--queries 1000] [--depth 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytrec_eval

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranklens.evaluation import run_evaluation as re_  # noqa: E402
from ranklens.ranking.runfiles import read_run_scores  # noqa: E402
from ranklens.types import Qrel  # noqa: E402

PTE = {"num_ret", "num_rel", "num_rel_ret", "map", "Rprec", "bpref", "recip_rank",
       "iprec_at_recall", "P", "ndcg"}  # fmt: skip


def make_files(folder: Path, n_queries: int, depth: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_docs = 20_000
    qrels: list[Qrel] = []
    qd: dict[str, dict[str, int]] = {}
    with open(folder / "run.txt", "w") as fh:
        for q in range(n_queries):
            qid = f"q{q}"
            judged = rng.choice(n_docs, 40, replace=False)
            grades = rng.choice([0, 0, 1, 1, 2, 3], 40)
            qd[qid] = {f"d{d}": int(g) for d, g in zip(judged, grades, strict=True)}
            qrels += [Qrel(qid, d, g) for d, g in qd[qid].items()]
            docs = rng.choice(n_docs, depth, replace=False)
            scores = np.round(rng.random(depth) * 50) / 10  # few distinct values: ties
            fh.writelines(
                f"{qid} Q0 d{d} {i} {s:.1f} bench\n"
                for i, (d, s) in enumerate(zip(docs, scores, strict=True), 1)
            )
    return folder / "run.txt", qrels, qd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, qrels, qd = make_files(Path(tmp), args.queries, args.depth)
        lines = args.queries * args.depth

        times: dict[str, list[float]] = {k: [] for k in ("ours", "bare", "ours read", "bare read")}

        def ours():
            t0 = time.perf_counter()
            runs = {"bench": read_run_scores(path, "trec")}
            times["ours read"].append(time.perf_counter() - t0)
            return re_.evaluate_run_files(runs, qrels).summary["bench"]

        def bare():
            t0 = time.perf_counter()
            with open(path) as fh:
                run = pytrec_eval.parse_run(fh)
            times["bare read"].append(time.perf_counter() - t0)
            return pytrec_eval.RelevanceEvaluator(qd, PTE).evaluate(run)

        got, want = ours(), bare()  # warm-up, and the same numbers
        assert abs(got["MAP"] - np.mean([v["map"] for v in want.values()])) < 1e-12
        for k in times:
            times[k].clear()
        for _ in range(args.repeats):
            for name, fn in (("ours", ours), ("bare", bare)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{lines:,} run lines, {args.queries} queries, trec_eval's summary measures")
    for k in ("ours", "bare"):
        read = med[f"{k} read"]
        print(
            f"  {k}: median {med[k]:.2f} s ({lines / med[k]:,.0f} lines/s): reading {read:.2f} s, "
            f"scoring {med[k] - read:.2f} s"
        )
    print(f"  ratio ours/bare: {med['ours'] / med['bare']:.2f}")
    score_ratio = (med["ours"] - med["ours read"]) / (med["bare"] - med["bare read"])
    print(f"  ratio of scoring alone: {score_ratio:.2f}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
