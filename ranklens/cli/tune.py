"""CLI command `tune`: sweep fusion recipes against labels, cross-validated by query.

Each input is ranked once (ranklens.evaluation.tune); the report names the per-fold choices, the recipe
chosen overall and its held-out score beside each input and plain rrf(...), with Holm p-values.
"""

from __future__ import annotations

import argparse
import sys

from ranklens.cli import options
from ranklens.cli.common import print_json
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.evaluation import tune


def _fmt_ci(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"


def print_result(result: tune.TuneResult) -> None:
    """The human-readable report of a tune run."""
    m = result.measure
    print(
        f"{m}, {result.n_queries} labelled queries, {len(result.folds)} folds, level {result.level}"
    )
    print("per fold (chosen on the other folds, scored on this one):")
    for f in result.folds:
        print(
            f"  fold {f.fold}: {f.recipe}  train {f.train_mean:.4f}  "
            f"held-out {f.test_mean:.4f} ({len(f.test_queries)} queries)"
        )
    print(
        f"chosen overall (best on all queries): {result.chosen}  in-sample {result.chosen_mean:.4f}"
    )
    low, high = result.heldout_ci
    print(f"held-out {m} of the tuning: {result.heldout_mean:.4f} {_fmt_ci(low, high)}")
    print("against (paired, Holm-corrected):")
    for row in result.comparisons.itertuples(index=False):
        mark = "significant" if row.significant else "not significant"
        print(
            f"  {row.baseline}: {row.mean:.4f} {_fmt_ci(row.ci_low, row.ci_high)}  "
            f"gain {row.diff:+.4f} {_fmt_ci(row.diff_low, row.diff_high)}  "
            f"raw p={row.p:.4g} Holm-adjusted p={row.p_holm:.4g} {mark}"
        )


def cmd_tune(args: argparse.Namespace) -> int:
    corpus = index.open_corpus(args.corpus, get_settings())
    query_set, queries, labels, level = options.labels_from_args(corpus, args)
    for note in labels.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in labels.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    result = tune.tune(
        corpus,
        args.rankers,
        queries,
        labels.qrels,
        args.measure,
        folds=args.folds,
        seed=args.seed,
        level=level,
        depth=args.depth,
        test=args.test,
        alpha=args.alpha,
    )
    if args.json:
        data = result.as_dict()
        data["query_set"] = query_set
        data["labels"] = labels.source
        print_json(data)
    else:
        print_result(result)
    return 0


def add_commands(subparsers) -> None:
    """Add `tune` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "tune",
        help="tune fusion (RRF k, weighted sums under min-max and z-score) on held-out queries",
        description=(
            "Rank the labelled queries once with each input, sweep rrf(k in 1 5 10 20 60 100) and "
            "wsum(weights 0..1 step 0.1, norm minmax or z), choose per fold on the other folds, and "
            "report the held-out score beside each input and plain rrf(...), with paired tests "
            "(Holm)."
        ),
    )
    p.add_argument("--corpus", required=True)
    options.add_labels_options(p)  # --queries --qrels --labels --rule --level
    p.add_argument(
        "--rankers", nargs="+", required=True, metavar="RANKER", help="two or more inputs to fuse"
    )
    p.add_argument("--measure", default="nDCG@10", help="the measure to tune for (ir_measures)")
    p.add_argument("--folds", type=int, default=tune.DEFAULT_FOLDS)
    p.add_argument("--seed", type=int, default=0, help="seeds the folds and the randomization test")
    p.add_argument(
        "--depth", type=int, default=tune.DEFAULT_DEPTH, help="how deep each input is ranked"
    )
    p.add_argument("--test", choices=("randomization", "t"), default="randomization")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_tune)
