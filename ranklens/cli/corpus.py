"""CLI commands about corpora: `models`, `ingest`, `corpora` and `delete`.

Handlers raise RankLensError on bad input; ranklens.cli.main prints it as one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys

from .. import index, models
from ..chunking import ChunkSettings
from ..config import get_settings
from ..formats import CORPUS_FORMATS, Fields
from .common import TqdmProgress, print_json


def cmd_models(args: argparse.Namespace) -> int:
    rows = [m.as_dict() for m in models.list_models()]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            dim = r["dim"] or "-"
            print(f"{r['name']:<26} {r['kind']:<9} dim={dim:<5} offline={r['offline']}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = get_settings()
    path = args.path
    if args.beir:
        path = f"beir:{args.beir}"
    fields = Fields(id=args.id_field, title=args.title_field, text=args.text_field)
    chunking = ChunkSettings(args.max_words, args.overlap)
    progress = None if args.quiet else TqdmProgress()
    corpus = index.ingest(
        path,
        args.corpus,
        args.models,
        settings,
        fmt=args.format,
        fields=fields,
        chunking=chunking,
        progress=progress,
    )
    summary = corpus.summary()
    if args.json:
        print_json(summary)
    else:
        print(
            f"{summary['name']}: {summary['documents']} documents, {summary['passages']} "
            f"passages, models {', '.join(summary['models'])}, {summary['status']}"
        )
    return 0


def cmd_corpora(args: argparse.Namespace) -> int:
    rows = index.list_corpora(get_settings())
    if args.json:
        print_json(rows)
    elif not rows:
        print("no corpora yet: python -m ranklens ingest PATH --corpus NAME")
    else:
        for r in rows:
            print(
                f"{r['name']:<24} {r['documents']:>7} docs {r['passages']:>8} passages  "
                f"{r['status']:<9} {' '.join(r['models'])}"
            )
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    settings = get_settings()
    index.open_corpus(args.corpus, settings)  # NotFoundError before asking
    if not args.yes and sys.stdin.isatty():
        answer = input(
            f"Delete corpus {args.corpus!r} and all its indexes? Its relevance labels stay in the "
            "judgment store (a new corpus of the same name shows them). [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return 1
    index.delete_corpus(args.corpus, settings)
    print(f"deleted {args.corpus}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `models`, `ingest`, `corpora` and `delete` to the CLI's subparsers."""

    p = sub.add_parser("models", help="list the models RankLens can use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("ingest", help="load a corpus and index it (or add models to one)")
    p.add_argument("path", nargs="?", help="file, folder or BEIR zip; omit to add models")
    p.add_argument("--corpus", required=True)
    p.add_argument("--beir", metavar="NAME", help="download a BEIR dataset by name")
    p.add_argument("--models", nargs="+", default=["bm25", models.DEFAULT_DENSE], metavar="MODEL")
    p.add_argument("--format", choices=CORPUS_FORMATS)
    p.add_argument("--id-field", default=None)
    p.add_argument("--title-field", default="title")
    p.add_argument("--text-field", default="text")
    p.add_argument("--max-words", type=int, default=ChunkSettings.max_words)
    p.add_argument("--overlap", type=int, default=ChunkSettings.overlap_words)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("corpora", help="list corpora")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_corpora)

    p = sub.add_parser("delete", help="delete a corpus and its indexes")
    p.add_argument("--corpus", required=True)
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_delete)
