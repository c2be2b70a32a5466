"""CLI commands about corpora: `models`, `ingest`, `corpora`, `delete`, `add-queries` and
embeddings in and out.

Handlers raise RankLensError on bad input; ranklens.cli.main prints it as one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ranklens import models
from ranklens.cli.common import TqdmProgress, print_json
from ranklens.config import get_settings
from ranklens.corpus import embeddings, index, ingest
from ranklens.corpus.chunking import ChunkSettings
from ranklens.corpus.formats import CORPUS_FORMATS, Fields
from ranklens.errors import RankLensError


def cmd_models(args: argparse.Namespace) -> int:
    rows = [m.as_dict() for m in models.list_models()]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            dim = r["dim"] or "-"
            print(f"{r['name']:<26} {r['kind']:<9} dim={dim:<5} offline={r['offline']}")
    return 0


def _print_corpus(corpus: index.Corpus, as_json: bool, extra: dict | None = None) -> None:
    summary = corpus.summary() | (extra or {})
    if as_json:
        print_json(summary)
    else:
        print(
            f"{summary['name']}: {summary['documents']} documents, {summary['passages']} "
            f"passages, models {', '.join(summary['models'])}, {summary['status']}"
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = get_settings()
    path = args.path
    if args.beir:
        path = f"beir:{args.beir}"
    fields = Fields(id=args.id_field, title=args.title_field, text=args.text_field)
    progress = None if args.quiet else TqdmProgress()
    if args.embeddings:
        if path or args.append:
            raise RankLensError("--embeddings loads vectors into an existing corpus: give no PATH")
        if not args.model:
            raise RankLensError("--embeddings needs --model NAME (the model that encodes queries)")
        corpus = embeddings.import_embeddings(
            args.corpus, args.model, args.embeddings, args.ids, settings, args.normalise, progress
        )
        _print_corpus(corpus, args.json)
        return 0
    if args.append or args.replace:
        if not path:
            raise RankLensError("--append needs a PATH: the file of documents to add")
        added = ingest.add_documents(
            path, args.corpus, settings, args.format, fields, args.replace, progress
        )
        extra = {
            "added": len(added.added),
            "replaced": len(added.replaced),
            "unchanged": added.unchanged,
            "new_passages": added.passages,
        }
        if not args.json:
            print(
                f"added {extra['added']} documents, replaced {extra['replaced']}, "
                f"{extra['unchanged']} already there ({extra['new_passages']} passages embedded)"
            )
        _print_corpus(added.corpus, args.json, extra)
        return 0
    chunking = ChunkSettings(args.max_words, args.overlap)
    corpus = ingest.ingest(
        path,
        args.corpus,
        args.models,
        settings,
        fmt=args.format,
        fields=fields,
        chunking=chunking,
        progress=progress,
    )
    _print_corpus(corpus, args.json)
    return 0


def cmd_export_embeddings(args: argparse.Namespace) -> int:
    n = embeddings.export_embeddings(args.corpus, args.model, args.file, get_settings())
    print(f"wrote {n} {args.model} vectors of {args.corpus} to {args.file}")
    return 0


def cmd_export_passages(args: argparse.Namespace) -> int:
    n = embeddings.export_passages(args.corpus, args.file, get_settings())
    print(f"wrote {n} passages of {args.corpus} to {args.file}")
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


def cmd_add_queries(args: argparse.Namespace) -> int:
    from ranklens.corpus.trec_files import read_queries

    corpus = index.open_corpus(args.corpus, get_settings())
    queries = read_queries(args.file)
    name = args.name or Path(args.file).stem
    existed = name in corpus.query_sets()
    corpus.add_query_set(name, queries, replace=args.replace)
    row = {"corpus": corpus.name, "query_set": name, "queries": len(queries), "replaced": existed}
    if args.json:
        print_json(row)
    else:
        print(f"{'replaced' if existed else 'added'} query set {name} ({len(queries)} queries)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `models`, `ingest`, `add-queries`, `corpora`, `delete`, `export-embeddings` and
    `export-passages`."""

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
    p.add_argument(
        "--append", action="store_true", help="add the documents of PATH to an existing corpus"
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="with --append: replace documents whose id is already there (else refused)",
    )
    p.add_argument("--embeddings", metavar="FILE", help="vectors made elsewhere (.parquet, .npy)")
    p.add_argument("--model", help="with --embeddings: the model that made them")
    p.add_argument("--ids", metavar="FILE", help="with a .npy: its id list (default FILE.ids.txt)")
    p.add_argument("--normalise", action="store_true", help="with --embeddings: unit-length them")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("export-embeddings", help="write a corpus's vectors to .parquet or .npy")
    p.add_argument("--corpus", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("file", help="FILE.parquet, or FILE.npy (ids in FILE.ids.txt beside it)")
    p.set_defaults(func=cmd_export_embeddings)

    p = sub.add_parser("export-passages", help="write a corpus's passages as JSONL (to embed)")
    p.add_argument("--corpus", required=True)
    p.add_argument("file")
    p.set_defaults(func=cmd_export_passages)

    p = sub.add_parser("add-queries", help="add a query set (TSV or JSONL) to a corpus")
    p.add_argument("--corpus", required=True)
    p.add_argument("file", help="TSV (id<TAB>text) or JSONL (_id, text)")
    p.add_argument("--name", help="the set's name (default: the file's name)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace a set of that name (never one that came with the corpus's labels)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add_queries)

    p = sub.add_parser("corpora", help="list corpora")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_corpora)

    p = sub.add_parser("delete", help="delete a corpus and its indexes")
    p.add_argument("--corpus", required=True)
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_delete)
