"""`python -m ranklens ...`: the headless face of the core (models, ingest, corpora, delete, ...).

Every command returns an exit code; a RankLensError becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from . import cli_evaluate, cli_judgments, cli_search, index, models
from .chunking import ChunkSettings
from .config import get_settings
from .errors import RankLensError
from .formats import CORPUS_FORMATS, Fields


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def cmd_models(args: argparse.Namespace) -> int:
    rows = [m.as_dict() for m in models.list_models()]
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            dim = r["dim"] or "-"
            print(f"{r['name']:<26} {r['kind']:<9} dim={dim:<5} offline={r['offline']}")
    return 0


class TerminalProgress:
    """A one-line progress bar per stage on stderr: passages/s and time left."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.stage: str | None = None
        self.last = 0.0

    def __call__(self, p: index.Progress) -> None:
        now = time.monotonic()
        final = p.total and p.done >= p.total
        if p.stage == self.stage and not final and now - self.last < 0.5:
            return
        if self.stage is not None and p.stage != self.stage:
            self.stream.write("\n")
        self.stage, self.last = p.stage, now
        if p.total:
            width = 30
            filled = int(width * p.fraction)
            eta = f"{p.eta:5.0f}s left" if p.eta is not None else "          "
            line = (
                f"\r{p.stage:<24} [{'#' * filled}{'.' * (width - filled)}] "
                f"{p.done}/{p.total} {p.rate:6.1f} passages/s {eta}"
            )
        else:
            line = f"\r{p.stage:<24} {p.done} passages read"
        self.stream.write(line)
        if final:
            self.stream.write("\n")
            self.stage = None
        self.stream.flush()


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = get_settings()
    path = args.path
    if args.beir:
        path = f"beir:{args.beir}"
    fields = Fields(id=args.id_field, title=args.title_field, text=args.text_field)
    chunking = ChunkSettings(args.max_words, args.overlap)
    progress = None if args.quiet else TerminalProgress()
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
        _print_json(summary)
    else:
        print(
            f"{summary['name']}: {summary['documents']} documents, {summary['passages']} "
            f"passages, models {', '.join(summary['models'])}, {summary['status']}"
        )
    return 0


def cmd_corpora(args: argparse.Namespace) -> int:
    rows = index.list_corpora(get_settings())
    if args.json:
        _print_json(rows)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ranklens",
        description="RankLens: compare retrieval models, collect relevance labels, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    for module in (cli_search, cli_judgments, cli_evaluate):
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RankLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # settings that do not validate (e.g. chunk sizes)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
