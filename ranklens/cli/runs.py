"""CLI command group `runs`: import a run file made by another system as the ranker run:NAME of a
corpus (ranklens.ranking.imported_runs), list, show and delete imported runs.
"""

from __future__ import annotations

import argparse

from ranklens.cli.common import print_json
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.ranking import imported_runs
from ranklens.ranking.runfiles import RUN_FORMATS


def _summary(info: dict) -> str:
    missing = f"{info['missing']:,} of {info['ids']:,} ids the corpus lacks"
    return (
        f"{info['ranker']}\tv{info['version']}\t{info['level']} ids\t{info['lines']:,} lines\t"
        f"{info['queries']:,} queries of {info['query_set']!r}\t{missing}\t{info['imported_at']}"
    )


def cmd_import(args: argparse.Namespace) -> int:
    corpus = index.open_corpus(args.corpus, get_settings())
    info = imported_runs.import_run(
        corpus, args.file, args.name, args.format, args.queries, replace=args.replace
    )
    if args.json:
        print_json(info)
        return 0
    print(_summary(info))
    level = "document ids" if info["level"] == "doc" else "passage ids"
    print(
        f"imported {info['lines']:,} lines as {info['ranker']} (version {info['version']}): "
        f"{level} of corpus {corpus.name!r}; {info['missing']:,} of its {info['ids']:,} ids are "
        "not in the corpus (shown as 'not in the corpus', unjudged in evaluation, left out of "
        "pools)"
    )
    if info["missing_sample"]:
        print("  e.g. " + ", ".join(info["missing_sample"][:10]))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    corpus = index.open_corpus(args.corpus, get_settings())
    runs = imported_runs.list_runs(corpus)
    if args.json:
        print_json(runs)
        return 0
    if not runs:
        print(f"corpus {corpus.name!r} has no imported run")
    for info in runs:
        print(_summary(info))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    corpus = index.open_corpus(args.corpus, get_settings())
    print_json(imported_runs.show_run(corpus, args.name))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    corpus = index.open_corpus(args.corpus, get_settings())
    imported_runs.delete_run(corpus, args.name)
    print(f"deleted {imported_runs.ranker_name(args.name)} of corpus {corpus.name!r}")
    return 0


def add_commands(subparsers) -> None:
    """Add `runs import|list|show|delete` to the CLI's subparsers."""
    group = subparsers.add_parser(
        "runs", help="run files of your own system as rankers (run:NAME)"
    ).add_subparsers(dest="runs_command", required=True, metavar="ACTION")

    p = group.add_parser(
        "import",
        help="import a run file (TREC six columns, JSON {qid: {doc: score}}, CSV with a header)",
    )
    p.add_argument("file", help="the run file")
    p.add_argument("--corpus", required=True)
    p.add_argument("--name", required=True, help="the run's name: it ranks as run:NAME")
    p.add_argument("--format", choices=RUN_FORMATS, help="default: from the file's suffix/content")
    p.add_argument(
        "--queries",
        help="the query set the run answers (default: the set holding every query id of the "
        "run), or a queries file (JSONL or TSV) to add as the set named after the file",
    )
    p.add_argument(
        "--replace", action="store_true", help="load a new version of an existing run NAME"
    )
    p.add_argument("--json", action="store_true", help="print the run's manifest as JSON")
    p.set_defaults(func=cmd_import)

    p = group.add_parser("list", help="the corpus's imported runs")
    p.add_argument("--corpus", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = group.add_parser("show", help="one imported run's manifest (JSON)")
    p.add_argument("name")
    p.add_argument("--corpus", required=True)
    p.set_defaults(func=cmd_show)

    p = group.add_parser("delete", help="delete an imported run")
    p.add_argument("name")
    p.add_argument("--corpus", required=True)
    p.set_defaults(func=cmd_delete)
