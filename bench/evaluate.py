"""Benchmark: ranklens.evaluation.measures.evaluate_runs against bare ir_measures on the same data.

1,000 synthetic queries x 5 rankers x 6 measures (nDCG@10, P@10, R@100, AP, RR, Judged@10),
100 hits per query (one passage per document, so doc level is 1:1), graded qrels (0-3).

"ours" is the whole path a user of RankLens takes: Run of Hits -> doc level -> ranks as scores ->
one ir_measures evaluator reused for all rankers -> long per-query DataFrame.
"bare" is ir_measures.iter_calc(measures, qrels, run) per ranker over prebuilt lists of
ir_measures.ScoredDoc and ir_measures.Qrel, consuming every per-query Metric.
Each is timed 5 times (after a warm-up); medians and the ratio ours/bare are printed.
Goal: ratio <= 1.2.

    .venv/bin/python bench/evaluate.py [--queries 1000] [--rankers 5] [--hits 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import ir_measures
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranklens.evaluation.measures import evaluate_runs  # noqa: E402
from ranklens.types import Hit, Qrel  # noqa: E402

MEASURES = ["nDCG@10", "P@10", "R@100", "AP", "RR", "Judged@10"]


def make_data(n_queries: int, n_rankers: int, n_hits: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_docs = 5_000
    qrels: list[Qrel] = []
    for q in range(n_queries):
        qid = f"q{q}"
        docs = rng.choice(n_docs, size=40, replace=False)
        grades = rng.choice([0, 0, 1, 1, 2, 3], size=40)
        qrels += [Qrel(qid, f"d{d}", int(g)) for d, g in zip(docs, grades, strict=True)]
    runs = {}
    for r in range(n_rankers):
        run = {}
        for q in range(n_queries):
            qid = f"q{q}"
            # bias towards the judged docs so the measures are not all zero
            judged = [int(x.doc_id[1:]) for x in qrels[q * 40 : (q + 1) * 40]]
            pool = np.unique(
                np.concatenate(
                    [rng.choice(judged, 30, replace=False), rng.choice(n_docs, 150, replace=False)]
                )
            )
            docs = rng.permutation(pool)[:n_hits]
            scores = np.sort(rng.random(n_hits))[::-1] * 10
            run[qid] = [
                Hit(qid, f"d{d}#0", f"d{d}", float(s), i + 1)
                for i, (d, s) in enumerate(zip(docs, scores, strict=True))
            ]
        runs[f"ranker{r}"] = run
    return runs, qrels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rankers", type=int, default=5)
    ap.add_argument("--hits", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    runs, qrels = make_data(args.queries, args.rankers, args.hits)
    ir_qrels = [ir_measures.Qrel(q.query_id, q.doc_id, q.relevance) for q in qrels]
    ir_runs = {
        name: [
            ir_measures.ScoredDoc(h.query_id, h.doc_id, h.score)
            for hits in run.values()
            for h in hits
        ]
        for name, run in runs.items()
    }
    measures = [ir_measures.parse_measure(m) for m in MEASURES]
    print(
        f"data: {args.queries} queries x {args.rankers} rankers x {len(MEASURES)} measures, "
        f"{args.hits} hits/query, {len(qrels)} qrels (built in {time.perf_counter() - t0:.1f} s)"
    )

    def ours():
        return evaluate_runs(runs, qrels, MEASURES, level="doc")

    def bare():
        out = []
        for run in ir_runs.values():
            out.extend(ir_measures.iter_calc(measures, ir_qrels, run))
        return out

    # same numbers? (scores are untied, so ranks-as-scores and raw scores give one ranking)
    df = ours()
    got = {(r, q, m): v for r, q, m, v in df.itertuples(index=False)}
    names = dict(zip(measures, MEASURES, strict=True))
    worst = 0.0
    for name, run in ir_runs.items():
        for metric in ir_measures.iter_calc(measures, ir_qrels, run):
            worst = max(
                worst, abs(got[(name, metric.query_id, names[metric.measure])] - metric.value)
            )
    print(f"max |ours - bare| over {len(df)} values: {worst:.1e}")

    ours()
    bare()  # warm-up
    t_ours, t_bare = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        bare()
        t_bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t)
    m_ours, m_bare = statistics.median(t_ours), statistics.median(t_bare)
    print(
        f"ours (evaluate_runs)      median {m_ours:.3f} s  runs {', '.join(f'{t:.3f}' for t in t_ours)}"
    )
    print(
        f"bare (ir_measures.iter_calc) median {m_bare:.3f} s  runs {', '.join(f'{t:.3f}' for t in t_bare)}"
    )
    ratio = m_ours / m_bare
    print(f"ratio ours/bare = {ratio:.2f} (goal <= 1.2): {'OK' if ratio <= 1.2 else 'OVER'}")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
