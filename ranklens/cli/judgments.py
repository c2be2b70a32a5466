"""`python -m ranklens judgments ...`: pools and suggestions, import, export, agreement and scale
of relevance labels.

Each handler returns an exit code; errors are raised and printed once, by ranklens.cli.main.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ranklens.cli import options
from ranklens.cli.common import print_json
from ranklens.config import Settings
from ranklens.corpus.trec_files import QRELS_FORMATS
from ranklens.errors import RankLensError
from ranklens.judging import (
    DEFAULT_IMPORT_ANNOTATOR,
    DEFAULT_POOL_DEPTH,
    EXPORT_FORMATS,
    RULES,
    JudgmentStore,
    Scale,
    check_rule,
)
from ranklens.ranking.recipes import default_rankers

ERROR = 2


def cmd_import(args: argparse.Namespace) -> int:
    """Import a qrels file into the judgment store, all or nothing."""
    from ranklens.judging import pooling

    settings = options.settings_of(args)
    corpus = options.open_corpus(args.corpus, settings)
    with JudgmentStore(settings.db_url) as store:
        report = pooling.import_labels(
            store,
            corpus,
            args.file,
            args.format,
            annotator=args.annotator,
            query_set=args.query_set,
            keep_unknown=args.keep_unknown,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def _check_corpus(store: JudgmentStore, name: str, settings: Settings) -> None:
    """A corpus with no labels in the store must at least exist (catches typos)."""
    if name not in store.corpora():
        options.open_corpus(name, settings)  # NotFoundError for an unknown name


def cmd_export(args: argparse.Namespace) -> int:
    """Export the final qrels of a corpus (TREC or BEIR, document or passage level)."""
    settings = options.settings_of(args)
    check_rule(args.rule)
    with JudgmentStore(settings.db_url) as store:
        _check_corpus(store, args.corpus, settings)
        query_ids = options.query_ids(args.corpus, args.query_set, settings)
        n = store.export_qrels(
            args.corpus,
            args.file,
            args.format,
            level=args.level,
            rule=args.rule,
            query_ids=query_ids,
            accepted=not args.without_accepted,
        )
    print(
        f"wrote {n} {args.level}-level qrels of corpus {args.corpus!r} to {args.file} "
        f"({args.format}, rule {args.rule})"
    )
    if n == 0:
        print(f"note: corpus {args.corpus!r} has no labels yet", file=sys.stderr)
    return 0


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def cmd_agreement(args: argparse.Namespace) -> int:
    """Inter-annotator agreement of a corpus's labels (kappa per pair, alpha)."""
    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        _check_corpus(store, args.corpus, settings)
        query_ids = options.query_ids(args.corpus, args.query_set, settings)
        report = store.agreement(
            args.corpus, query_ids=query_ids, accepted=not args.without_accepted
        )
        suggestions = store.suggestion_agreement(args.corpus)
        disagreements = store.disagreements(args.corpus, query_ids=query_ids)
    if args.json:
        data = report.to_dict()
        data["corpus"] = args.corpus
        data["disagreements"] = len(disagreements)
        data["suggestions"] = vars(suggestions)
        print_json(data)
        return 0
    print(
        f"corpus {args.corpus!r}: {report.labels} graded labels by {len(report.annotators)} "
        f"annotators; {report.units} units graded by two or more"
    )
    print(f"Krippendorff's alpha ({report.level}): {_fmt(report.alpha)}")
    kind = f"{report.weights}-weighted" if report.weights else "unweighted"
    for p in report.pairs:
        print(f"  {p.a} / {p.b}: n={p.n} exact={_fmt(p.exact)} kappa ({kind})={_fmt(p.kappa)}")
    print(f"{len(disagreements)} units with disagreement (not yet adjudicated)")
    if suggestions.n:
        print(
            f"suggestions vs humans: n={suggestions.n} exact={_fmt(suggestions.exact)} "
            f"kappa={_fmt(suggestions.kappa)}"
        )
    return 0


def cmd_pool(args: argparse.Namespace) -> int:
    """Build and store a judging pool, exactly as the Judge page's "Build pool" does."""
    from ranklens.judging import pooling
    from ranklens.ranking.recipes import make_rankers

    settings = options.settings_of(args)
    corpus = options.open_corpus(args.corpus, settings)
    specs = args.rankers or default_rankers(corpus)
    with JudgmentStore(settings.db_url) as store:
        pool = pooling.make_pool(
            store,
            corpus,
            args.queries,
            make_rankers(specs, corpus),
            args.depth,
            annotators_per_passage=args.annotators_per_passage,
            query_ids=args.query_ids,
            most_different=args.most_different,
        )
        per = store.judging_settings(corpus.name, args.queries).annotators_per_passage
    queries = len({it.query_id for it in pool.items})
    if args.json:
        data = {
            "pool": pool.id,
            "corpus": pool.corpus,
            "query_set": pool.query_set,
            "rankers": pool.rankers,
            "depth": pool.depth,
            "queries": queries,
            "passages": len(pool.items),
            "annotators_per_passage": per,
            "left_out": pool.left_out,
        }
        print_json(data)
    else:
        print(
            f"pool {pool.id}: {len(pool.items)} passages for {queries} queries of query set "
            f"{pool.query_set!r} (corpus {pool.corpus!r}), depth {pool.depth}, rankers "
            f"{', '.join(pool.rankers)}; {per} annotator{'s' * (per > 1)} per passage"
        )
        if pool.left_out:
            print(f"left out: {pool.left_out} ids the corpus lacks, with no text to judge them by")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """Pre-grade a pool with a cross-encoder, exactly as the Judge page's suggestions do."""
    from ranklens.judging import pooling

    settings = options.settings_of(args)
    corpus = options.open_corpus(args.corpus, settings)
    with JudgmentStore(settings.db_url) as store:
        pool = (
            store.pool(args.pool)
            if args.pool is not None
            else pooling.latest_pool(store, corpus.name, args.queries)
        )
        if pool.corpus != corpus.name or pool.query_set != args.queries:
            raise RankLensError(
                f"pool {pool.id} is of query set {pool.query_set!r} in corpus {pool.corpus!r}, "
                f"not {args.queries!r} in {corpus.name!r}"
            )
        from ranklens.cli import judges

        if args.judge == "llm" or args.dry_run is not None:
            return judges.suggest(args, store, corpus, pool, settings)
        scale = store.scale(corpus.name)
        model, thresholds = judges.cross_encoder_of(args, scale)
        grades = pooling.make_suggestions(store, corpus, pool, model, thresholds)
    counts = {g: grades.count(g) for g in scale.values}
    if args.json:
        data = {
            "pool": pool.id,
            "model": model,
            "thresholds": thresholds,
            "suggestions": len(grades),
            "grades": {str(g): n for g, n in counts.items()},
        }
        print_json(data)
    else:
        shown = ", ".join(f"{g}: {n}" for g, n in counts.items())
        print(
            f"stored {len(grades)} suggestions by {model} for pool {pool.id} "
            f"(thresholds {pooling.format_thresholds(thresholds)}; grades {shown})"
        )
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    """Show a corpus's grading scale, or set one of N grades (0..N-1)."""
    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        if args.grades is not None:
            _check_corpus(store, args.corpus, settings)
            store.set_scale(args.corpus, Scale.of(args.grades))
        scale = store.scale(args.corpus)
    if args.json:
        print_json([vars(g) for g in scale.grades])
    else:
        for g in scale.grades:
            print(f"{g.value}  {g.label:<16} {g.colour}  {g.guideline}")
    return 0


def _help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return ERROR

    return show


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `judgments` command group (pool, suggest, import, export, agreement, scale,
    prompt, judges, calibrate, ensemble, review)."""
    from ranklens.cli import calibrate, judges

    group = subparsers.add_parser(
        "judgments", help="pool, suggest, import, export and measure agreement of relevance labels"
    )
    group.set_defaults(func=_help(group))
    sub = group.add_subparsers(dest="judgments_command", metavar="COMMAND")

    p = sub.add_parser(
        "pool",
        help="build a judging pool from rankers (as the Judge page does)",
        description="Rank a query set of the corpus with each ranker and store the pool of "
        "their top passages (per query, the union without duplicates).",
    )
    options.add_corpus_options(p, set_required=True)
    p.add_argument(
        "--rankers",
        nargs="+",
        default=None,
        metavar="RECIPE",
        help="ranker recipes, e.g. bm25 minilm 'rrf(bm25,minilm)' (default: as the Judge page: "
        "the first two indexes and one fusion)",
    )
    p.add_argument(
        "--depth",
        type=int,
        default=DEFAULT_POOL_DEPTH,
        help=f"top passages per ranker (default {DEFAULT_POOL_DEPTH})",
    )
    p.add_argument(
        "--annotators-per-passage",
        type=int,
        default=None,
        metavar="N",
        help="how many annotators grade each passage (saved with the query set)",
    )
    subset = p.add_mutually_exclusive_group()
    subset.add_argument(
        "--query-ids", nargs="+", default=None, metavar="ID", help="pool only these queries"
    )
    subset.add_argument(
        "--most-different",
        type=int,
        default=None,
        metavar="N",
        help="pool only the N queries where the first two rankers' top passages are least alike "
        "(RBO, ties by tau-AP), as the Search page orders them",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pool)

    p = sub.add_parser(
        "suggest",
        help="pre-grade a pool with a cross-encoder or an LLM (as the Judge page does)",
        description="Score every passage of the query set's newest pool (or --pool) with a "
        "cross-encoder and store graded suggestions; they never count as human labels.",
    )
    options.add_corpus_options(p, set_required=True)
    p.add_argument("--pool", type=int, default=None, help="a pool id (default: the newest)")
    p.add_argument(
        "--model",
        default=None,
        help="the cross-encoder (default: the first installed, as on the Judge page)",
    )
    p.add_argument(
        "--thresholds",
        default=None,
        help="increasing score thresholds for grades 1..max, e.g. '-3, 1, 5' (default: spread "
        "over -3..5)",
    )
    judges.add_suggest_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser(
        "import",
        help="import qrels (all or nothing)",
        description="Import a qrels file as one annotator's labels. Any bad line stops the "
        "import with its line number and leaves the store as it was.",
    )
    p.add_argument("file", help="the qrels file")
    p.add_argument(
        "--format", choices=QRELS_FORMATS, default=None, help="default: from the file's name"
    )
    p.add_argument("--corpus", required=True)
    p.add_argument(
        "--annotator",
        default=DEFAULT_IMPORT_ANNOTATOR,
        help=f"who the labels are attributed to (default {DEFAULT_IMPORT_ANNOTATOR!r})",
    )
    p.add_argument("--query-set", default=None, help="record the labels under this query set")
    p.add_argument(
        "--keep-unknown",
        action="store_true",
        help="keep labels of document ids the corpus does not have (and list them)",
    )
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.set_defaults(func=(cmd_import))

    p = sub.add_parser(
        "export",
        help="export the final qrels",
        description="Write the final labels: adjudicated, else the rule. At document level a "
        "document's grade is its best passage's grade.",
    )
    p.add_argument("file", help="where to write")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="trec")
    p.add_argument("--corpus", required=True)
    options.add_level_option(p, help="doc (default) or passage")
    options.add_rule_option(
        p,
        help=f"{', '.join(RULES)} or annotator:NAME (default majority; ties fall to the mean "
        "rounded half up)",
    )
    p.add_argument("--query-set", default=None, help="only this query set's queries")
    options.add_without_accepted_option(p)
    p.set_defaults(func=(cmd_export))

    p = sub.add_parser("agreement", help="Cohen's kappa per pair and Krippendorff's alpha")
    p.add_argument("--corpus", required=True)
    p.add_argument("--query-set", default=None, help="only this query set's queries")
    options.add_without_accepted_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=(cmd_agreement))

    p = sub.add_parser("scale", help="show or set a corpus's grading scale")
    p.add_argument("--corpus", required=True)
    p.add_argument("--grades", type=int, default=None, help="set a scale of N grades, 0..N-1")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=(cmd_scale))

    judges.add_commands(sub)  # judgments prompt, judgments judges
    calibrate.add_commands(sub)  # judgments calibrate, ensemble, review
