"""CLI command `evaluate`: rank a query set with several rankers and score them against labels.

Labels come from a qrels file, the corpus's own (a BEIR folder's qrels), or the judgment store,
resolved by ranklens.evaluation.qrels_sources exactly as the Evaluate page resolves them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ranklens.cli import evaluate_runs, options
from ranklens.cli import snapshots as cli_snapshots
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.corpus.trec_files import write_run_files
from ranklens.errors import RankLensError
from ranklens.evaluation import circularity, stats
from ranklens.evaluation import measures as ev
from ranklens.evaluation import regression_gate as rg
from ranklens.evaluation.qrels_sources import Labels
from ranklens.files import write_atomic
from ranklens.ranking import rankers
from ranklens.ranking.recipes import default_rankers, rank_corpus
from ranklens.types import Query, Run

DEFAULT_MEASURES = ("nDCG@10", "R@100", "AP", "RR")


def _runs(
    corpus: index.Corpus,
    specs: Sequence[str],
    queries: Sequence[Query],
    k: int,
    level: str = "passage",
) -> dict[str, Run]:
    """Every ranker's run over the queries, through recipes.rank_corpus (the one ranking)."""
    return rank_corpus(corpus, specs, queries, k, level).runs


def _write_report(
    path: Path,
    per_query,
    runs: dict[str, Run],
    labels: Labels,
    args: argparse.Namespace,
    query_set: str,
    level: str,
) -> None:
    from ranklens.evaluation import report

    measures = list(dict.fromkeys(per_query["measure"]))
    significance = {}
    if len(runs) >= 2:
        significance = {
            m: stats.pairwise_significance(per_query, m, args.test, seed=args.seed)
            for m in measures
        }
    judged = ev.judged_fraction(runs, labels.qrels, 10, level)
    curve = ev.metric_at_k_curve(runs, labels.qrels, "nDCG", range(1, args.k + 1), level)
    names = list(runs)
    html_text = report.html_report(
        per_query,
        title=f"RankLens evaluation: {args.corpus} / {query_set}",
        context={
            "corpus": args.corpus,
            "query set": query_set,
            "labels": labels.source,
            "level": level,
            "k": args.k,
            "condensed lists": args.condensed,
        },
        significance=significance,
        test=args.test,
        judged=judged,
        curve=curve,
        differences=(measures[0], names[0], names[1]) if len(names) >= 2 else None,
    )
    write_atomic(path, html_text)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Rank, evaluate, print {ranker: {measure: mean}} (and per-query values)."""
    if args.run:
        return evaluate_runs.cmd_evaluate_runs(args)
    if not args.corpus:
        raise RankLensError("give --corpus C to rank a query set, or --run FILE to score run files")
    evaluate_runs.check_corpus_args(args)
    specs = ev.parse_measures(
        args.measures or DEFAULT_MEASURES
    )  # bad measure names fail before any ranking
    rankers.check_k(args.k)
    corpus = index.open_corpus(args.corpus, get_settings())
    query_set, queries, labels, level = options.labels_from_args(corpus, args)
    specs_rankers = args.rankers or default_rankers(corpus)
    if not specs_rankers:
        raise RankLensError(f"corpus {corpus.name!r} has no complete index to rank with")
    labelled = {q.query_id for q in labels.qrels}
    labelled_queries = [q for q in queries if q.query_id in labelled]
    if args.snapshot:  # a taken name fails before the ranking
        cli_snapshots.check_free(corpus, args.snapshot, args.replace_snapshot)
    runs = _runs(corpus, specs_rankers, labelled_queries, args.k, level)
    per_query = ev.evaluate_runs(runs, labels.qrels, specs, level, args.condensed)
    gate = None
    if args.against:
        gate = evaluate_runs.corpus_gate(args, corpus, query_set, runs, labels.qrels, level)
    if args.snapshot:
        cli_snapshots.save_from_args(args, corpus, query_set, runs, per_query, labels, level)
    try:
        if args.runs_dir:
            for path in write_run_files(runs, Path(args.runs_dir).expanduser(), level):
                print(f"wrote {path}", file=sys.stderr)
        if args.report:
            target = Path(args.report).expanduser()
            _write_report(target, per_query, runs, labels, args, query_set, level)
            print(f"wrote {target}", file=sys.stderr)
    except OSError as exc:
        raise RankLensError(f"cannot write: {exc}") from None
    for note in labels.notes:
        print(f"note: {note}", file=sys.stderr)
    for warning in labels.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for warning in ev.judged_warnings(ev.judged_fraction(runs, labels.qrels, 10, level)):
        print(f"warning: {warning}", file=sys.stderr)
    circular = circularity.for_labels(corpus, list(runs), labels.source, labelled)
    for warning in circular.values():
        print(f"warning: {warning}", file=sys.stderr)
    means = ev.mean_scores(per_query)
    failed = 1 if gate is not None and gate.failed else 0
    if args.json:
        data: object = means
        if args.per_query or gate is not None:
            data = {"mean": means}
            if args.per_query:
                data["per_query"] = ev.nested_per_query(per_query)
            if gate is not None:
                data["gate"] = gate.as_dict()
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return failed
    names = [s.name for s in specs]
    width = max([len(r) for r in means] + [6])
    print(f"{'ranker':<{width}}  " + "  ".join(f"{m:>10}" for m in names))
    for r, by_m in means.items():
        mark = "  (circular: judged by its own model, see the warning)" if r in circular else ""
        print(
            f"{r:<{width}}  "
            + "  ".join(f"{by_m.get(m, float('nan')):>10.4f}" for m in names)
            + mark
        )
    n = per_query["query_id"].nunique() if not per_query.empty else 0
    print(f"({n} labelled queries of {query_set!r}; labels: {labels.source}; level {level})")
    if args.per_query:
        print()
        print(per_query.to_string(index=False))
    if gate is not None:
        print()
        print("\n".join(rg.report_lines(gate, args.show)))
    return failed


def add_commands(subparsers) -> None:
    """Add `evaluate` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "evaluate",
        help="rank a query set with several rankers and score them against relevance labels",
        description=(
            "Rank the queries with every ranker and print {ranker: {measure: mean}} (with "
            '--json; --per-query adds per-query values: {"mean": ..., "per_query": '
            "{ranker: {measure: {query_id: value}}}}). Only queries with labels are evaluated; "
            "unjudged results count as not relevant unless --condensed."
        ),
    )
    p.add_argument("--corpus", help="the corpus whose rankers rank the queries (not with --run)")
    options.add_labels_options(p)  # --queries --qrels --labels --rule --level
    p.add_argument(
        "--without-accepted",
        action="store_true",
        help="store labels only: leave out labels accepted from a model's suggestions",
    )
    p.add_argument(
        "--rankers",
        nargs="+",
        metavar="RANKER",
        help="ranker recipes (bm25, a dense model, rrf(A,B), rerank(A,CE,50)); default: as "
        "the pages, the corpus's first two indexes and their fusion",
    )
    p.add_argument(
        "--measures",
        nargs="+",
        metavar="MEASURE",
        help="measures as ir_measures names, e.g. nDCG@10 P@5 R@100 AP RR Judged@10 P(rel=2)@10 "
        f"(default: {' '.join(DEFAULT_MEASURES)}; with --run, trec_eval's usual summary)",
    )
    p.add_argument("--k", type=int, default=100, help=f"depth of each ranking, 1-{rankers.MAX_K}")
    p.add_argument("--condensed", action="store_true", help="drop unjudged results before scoring")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--per-query", action="store_true", help="also print per-query values")
    p.add_argument("--runs-dir", metavar="DIR", help="also write one TREC run file per ranker")
    p.add_argument("--report", metavar="FILE", help="also write a self-contained HTML report")
    p.add_argument(
        "--test",
        choices=("randomization", "t"),
        default="randomization",
        help="significance test in the report (Holm-corrected across all pairs)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the randomization test")
    cli_snapshots.add_evaluate_options(p)
    evaluate_runs.add_options(p)
    p.set_defaults(func=cmd_evaluate)
