"""The cross-encoder as a judge, checked against the Cranfield labels (../shared/datasets/cranfield):
weighted kappa, confusion, and Kendall's tau of the ranking of rankers when its grades replace people's.

    .venv/bin/python bench/judge_cranfield.py [--home DIR] [--queries 50] [--seed 0]

Method: judged queries are shuffled (seed); the first --queries are the test queries, the next
--queries the training queries. Every ranker's top 10 documents (doc level) for the test queries
is pooled; the training pool is BM25's top 10. The cross-encoder (ms-marco-MiniLM-L-12-v2) scores
every pooled (query, document) pair; thresholds fitted on the training pool
(judge_agreement.fit_thresholds: the humans' grade distribution) turn scores into grades 0-4.
A pooled document without a Cranfield label counts as grade 0 (not relevant), as in evaluation.
Kappa, the confusion matrix and the ranker changes come from ranklens.judges.judge_agreement.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cranfield_corpus import DATA, ensure_corpus  # noqa: E402
from ranklens import models  # noqa: E402
from ranklens.corpus.chunking import index_text  # noqa: E402
from ranklens.evaluation.measures import evaluate_runs, mean_scores  # noqa: E402
from ranklens.judges.judge_agreement import fit_thresholds, judge_agreement  # noqa: E402
from ranklens.judging.rules import build_pool, grades_from_scores  # noqa: E402
from ranklens.ranking import rankers  # noqa: E402
from ranklens.ranking.recipes import make_rankers  # noqa: E402

RANKERS = [
    "bm25",
    "all-MiniLM-L6-v2",
    "bge-small-en-v1.5",
    "rrf(bm25,all-MiniLM-L6-v2)",
    "rrf(bm25,bge-small-en-v1.5)",
    "rrf(all-MiniLM-L6-v2,bge-small-en-v1.5)",
    "rrf(bm25,all-MiniLM-L6-v2,bge-small-en-v1.5)",
    "wsum(bm25:0.3,all-MiniLM-L6-v2:0.7)",
]
GRADES = (0, 1, 2, 3, 4)


def score_pool(corpus, scorer, pool, query_text):
    texts = corpus.get_passages([it.passage_id for it in pool])
    by_query: dict[str, list] = {}
    for it in pool:
        by_query.setdefault(it.query_id, []).append(it)
    scores = {}
    for qid, items in by_query.items():
        s = scorer.score(query_text[qid], [index_text(texts[it.passage_id]) for it in items])
        for it, v in zip(items, s, strict=True):
            scores[(qid, it.doc_id)] = float(v)
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default="/tmp/rl-cran/home")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rankers", nargs="+", default=RANKERS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    t0 = time.perf_counter()
    corpus = ensure_corpus(Path(args.home), ["bm25", "all-MiniLM-L6-v2", "bge-small-en-v1.5"])
    (queries,) = corpus.query_sets().values()
    qrels = [q for qs in corpus.shipped_qrels().values() for q in qs]
    labels: dict[str, dict[str, int]] = {}
    for q in qrels:
        labels.setdefault(q.query_id, {})[q.doc_id] = int(q.relevance)
    judged = [q for q in queries if q.query_id in labels]
    random.Random(args.seed).shuffle(judged)
    test, train = judged[: args.queries], judged[args.queries : 2 * args.queries]
    text = {q.query_id: q.text for q in queries}

    rs = make_rankers(args.rankers, corpus)
    ranked = rankers.rank_all(
        rs, test + train, 10, level="doc", passages_per_doc=rankers.passages_per_doc(corpus)
    )
    test_ids = {q.query_id for q in test}
    train_ids = {q.query_id for q in train}
    test_runs = {
        name: {q: hits for q, hits in run.items() if q in test_ids}
        for name, run in ranked.runs.items()
    }
    test_pool = build_pool(test_runs, 10)
    train_pool = build_pool(
        {"bm25": {q: h for q, h in ranked.runs["bm25"].items() if q in train_ids}}, 10
    )
    scorer = models.load_reranker("ms-marco-MiniLM-L-12-v2")
    t1 = time.perf_counter()
    train_scores = score_pool(corpus, scorer, train_pool, text)
    test_scores = score_pool(corpus, scorer, test_pool, text)
    scoring_s = time.perf_counter() - t1

    def human(q, d):
        return labels.get(q, {}).get(d, 0)

    tr_keys = list(train_scores)
    thresholds = fit_thresholds(
        [train_scores[k] for k in tr_keys], [human(*k) for k in tr_keys], max(GRADES)
    )
    te_keys = list(test_scores)
    grades = grades_from_scores([test_scores[k] for k in te_keys], thresholds)
    judge_q: dict[str, dict[str, int]] = {}
    human_q: dict[str, dict[str, int]] = {}
    for (q, d), g in zip(te_keys, grades, strict=True):
        judge_q.setdefault(q, {})[d] = g
        human_q.setdefault(q, {})[d] = human(q, d)
    bm25_docs = {(q, h.doc_id) for q, hits in test_runs["bm25"].items() for h in hits}

    def subset(qd, keep):
        out: dict[str, dict[str, int]] = {}
        for q, docs in qd.items():
            for d, g in docs.items():
                if keep(q, d):
                    out.setdefault(q, {})[d] = g
        return out

    judged_only = lambda q, d: d in labels.get(q, {})  # noqa: E731
    results = {}
    for name, keep in (
        ("pool of all rankers' top 10", lambda q, d: True),
        ("BM25 top 10", lambda q, d: (q, d) in bm25_docs),
        ("documents with a Cranfield label", judged_only),
    ):
        h, j = subset(human_q, keep), subset(judge_q, keep)
        reps = {
            w: judge_agreement("ms-marco-MiniLM-L-12-v2", h, j, GRADES, weights=w, runs=test_runs)
            for w in ("linear", "quadratic", None)
        }
        binary = judge_agreement(
            "binary",
            {q: {d: int(g >= 1) for d, g in docs.items()} for q, docs in h.items()},
            {q: {d: int(g >= 1) for d, g in docs.items()} for q, docs in j.items()},
            (0, 1),
            weights=None,
        )
        lin = reps["linear"]
        results[name] = {
            "units": lin.n,
            "kappa_linear": lin.kappa,
            "kappa_quadratic": reps["quadratic"].kappa,
            "kappa_unweighted": reps[None].kappa,
            "kappa_binary(grade>=1)": binary.kappa,
            "exact": lin.exact,
            "confusion(rows human 0-4, cols judge 0-4)": lin.confusion,
            "kendall_tau": lin.tau,
            "kendall_tau_p": lin.tau_p,
            "rankers": [
                (r.ranker, round(r.human, 4), round(r.judge, 4), r.human_rank, r.judge_rank)
                for r in lin.rankers
            ],
        }
    test_qrels = [q for q in qrels if q.query_id in test_ids]  # else the others count as 0
    full = mean_scores(evaluate_runs(test_runs, test_qrels, ["nDCG@10"], level="doc"))
    out = {
        "test_queries": len(test),
        "train_queries": len(train),
        "train_pairs": len(train_scores),
        "test_pairs": len(test_scores),
        "thresholds": [round(t, 4) for t in thresholds],
        "cross_encoder_pairs_per_s": round((len(train_scores) + len(test_scores)) / scoring_s, 1),
        "nDCG@10 with the full Cranfield qrels (test queries)": {
            r: round(v["nDCG@10"], 4) for r, v in full.items()
        },
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(
        f"{out['test_queries']} test queries ({out['test_pairs']} pooled pairs), thresholds "
        f"fitted on {out['train_queries']} other queries ({out['train_pairs']} pairs): "
        f"{out['thresholds']}; cross-encoder {out['cross_encoder_pairs_per_s']} pairs/s"
    )
    for name, r in results.items():
        f = {
            k: ("n/a" if v is None else f"{v:.3f}")
            for k, v in r.items()
            if not isinstance(v, (list, int))
        }
        print(
            f"\n[{name}] {r['units']} pairs: kappa linear {f['kappa_linear']}, quadratic "
            f"{f['kappa_quadratic']}, unweighted {f['kappa_unweighted']}, binary (grade>=1) "
            f"{f['kappa_binary(grade>=1)']}; exact {f['exact']}; Kendall's tau {f['kendall_tau']} "
            f"(p {f['kendall_tau_p']})"
        )
        print("  confusion (rows: Cranfield 0-4, columns: cross-encoder 0-4):")
        for row in r["confusion(rows human 0-4, cols judge 0-4)"]:
            print("   ", " ".join(f"{c:4d}" for c in row))
        print("  nDCG@10 on the pool: ranker, humans, judge, rank humans, rank judge")
        for row in r["rankers"]:
            print("   ", *row)
    print("\nnDCG@10 with the full Cranfield qrels on the test queries:")
    for rk, v in out["nDCG@10 with the full Cranfield qrels (test queries)"].items():
        print(f"  {rk}: {v}")
    print(f"({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
