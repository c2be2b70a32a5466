"""`python -m ranklens class start|list|show|pause|open|reveal|close|export`: classes for teaching.

A class is a stratified sample of a pool that students join with a short code (in the app).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ranklens.cli.common import print_json
from ranklens.config import get_settings
from ranklens.errors import InputError
from ranklens.judging import JudgmentStore, Scale
from ranklens.judging.classes import ClassStore


def _store() -> JudgmentStore:
    return JudgmentStore(get_settings().db_url)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text") from None


def cmd_start(args: argparse.Namespace) -> int:
    from ranklens.corpus.index import open_corpus
    from ranklens.teaching.classroom import start_class

    settings = get_settings()
    corpus = open_corpus(args.corpus, settings)
    with _store() as store:
        info = start_class(
            store,
            corpus,
            args.queries,
            args.pairs,
            pool_id=args.from_pool,
            seed=args.seed,
            rankers=args.rankers,
            depth=args.depth,
            title=args.title or "",
            guidelines=None if args.guidelines is None else _read(args.guidelines),
            scale=None if args.grades is None else Scale.of(args.grades),
        )
    if args.json:
        print_json(info.to_dict())
    else:
        print(
            f"class {info.id} started: {len(info.pairs)} pairs of {info.corpus}/{info.query_set} "
            f"(pool {info.pool_id}, seed {info.seed})\njoin code: {info.code}\n"
            "Students open the app, choose 'Join a class' and type the code."
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _store() as store:
        classes = ClassStore(store)
        rows = [(c, len(classes.students(c.id))) for c in classes.list(args.corpus)]
    if args.json:
        print_json([dict(c.to_dict(), students=n) for c, n in rows])
    elif not rows:
        print("no classes yet: python -m ranklens class start --corpus C --queries SET --pairs N")
    else:
        for c, n in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.created_at))
            print(
                f"{c.id:>4}  {c.code}  {c.state:<8} {c.corpus}/{c.query_set}  "
                f"{len(c.pairs)} pairs, {n} students  {when}  {c.title}"
            )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ranklens.teaching.classroom import board, class_runs, corpus_qrels

    with _store() as store:
        classes = ClassStore(store)
        info = classes.find(args.ref)
        runs, qrels = None, []
        if args.rankers is not None:
            from ranklens.corpus.index import open_corpus

            corpus = open_corpus(info.corpus, get_settings())
            runs = class_runs(corpus, info, args.rankers or None)
            qrels = corpus_qrels(corpus, info, store)
        b = board(classes, info, runs, qrels)
    data = b.to_dict()
    if args.json:
        print_json(data)
        return 0
    print(f"class {info.id} ({info.code}), {info.state}: {info.corpus}/{info.query_set}")
    print(f"{len(info.pairs)} pairs, {len(b.students)} students, {len(b.labels)} labels")
    for name, done, total in b.progress:
        print(f"  {name:<30} {done}/{total}")
    for label, est in (("Fleiss' kappa", b.fleiss), ("Krippendorff's alpha", b.alpha)):
        if est.value is None:
            print(f"{label}: not defined yet ({est.note})")
        else:
            ci = "" if est.low is None else f" [{est.low:.3f}, {est.high:.3f}]"
            print(f"{label}: {est.value:.3f}{ci} over {est.items} pairs, {est.raters} students")
    if b.rankers is not None:
        print("nDCG@10 with the class's labels / the corpus's labels:")
        for name, v in b.rankers.class_scores.items():
            w = b.rankers.corpus_scores.get(name)
            fmt = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
            print(f"  {name:<40} {fmt(v)}  {fmt(w)}")
        tau = b.rankers.tau
        print(f"Kendall's tau of the two orders: {'-' if tau is None else f'{tau:.3f}'}")
    return 0


def _state(state: str):
    def cmd(args: argparse.Namespace) -> int:
        with _store() as store:
            classes = ClassStore(store)
            info = classes.set_state(classes.find(args.ref).id, state)
        print(f"class {info.id} ({info.code}) is {info.state}")
        return 0

    return cmd


def cmd_export(args: argparse.Namespace) -> int:
    with _store() as store:
        classes = ClassStore(store)
        info = classes.find(args.ref)
        out = Path(args.out)
        if args.format == "jsonl":
            n = classes.export_jsonl(info.id, out)
            print(f"wrote {n} labels (with reasons and times) to {out}")
        else:
            n = classes.export_qrels(info.id, out, args.rule)
            print(f"wrote {n} qrels lines (rule {args.rule}) to {out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `class ...` to the CLI's subparsers."""
    group = sub.add_parser("class", help="classes: students judge sampled pairs together")
    cmds = group.add_subparsers(dest="class_command", required=True, metavar="COMMAND")

    p = cmds.add_parser("start", help="start a class; prints its join code")
    p.add_argument("--corpus", required=True)
    p.add_argument("--queries", required=True, help="query set")
    p.add_argument("--pairs", type=int, required=True, help="how many (query, passage) pairs")
    p.add_argument(
        "--from-pool", type=int, default=None, help="sample this pool (default: a new one)"
    )
    p.add_argument("--rankers", nargs="+", default=None, help="recipes of a new pool")
    p.add_argument("--depth", type=int, default=10, help="depth of a new pool")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--title", default="")
    p.add_argument("--guidelines", default=None, help="a Markdown file (default: the set's)")
    p.add_argument("--grades", type=int, default=None, help="grades 0..N-1 (default: the corpus's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_start)

    p = cmds.add_parser("list", help="every class")
    p.add_argument("--corpus", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("show", help="a class's board: progress, agreement, rankers")
    p.add_argument("ref", help="class id or join code")
    p.add_argument(
        "--rankers",
        nargs="*",
        default=None,
        help="also score these rankers (none named: the corpus's default rankers)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    for name, state, text in (
        ("pause", "paused", "stop taking labels for now"),
        ("open", "open", "take labels again"),
        ("reveal", "revealed", "show every student everyone's labels"),
        ("close", "closed", "close for good: the code no longer works"),
    ):
        p = cmds.add_parser(name, help=text)
        p.add_argument("ref", help="class id or join code")
        p.set_defaults(func=_state(state))

    p = cmds.add_parser("export", help="the class's labels: JSONL (with reasons) or TREC qrels")
    p.add_argument("ref", help="class id or join code")
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=("jsonl", "trec"), default="jsonl")
    p.add_argument("--rule", default="majority", help="qrels: majority, mean, max or min")
    p.set_defaults(func=cmd_export)
