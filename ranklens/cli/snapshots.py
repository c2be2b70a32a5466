"""CLI commands `snapshots list|show|compare|export|delete`, and saving one from `evaluate`.

Snapshots live in the judgment store (ranklens.evaluation.snapshots); `evaluate --snapshot NAME` saves one.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ranklens.cli.common import print_json
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.evaluation import snapshots, snapshots_store
from ranklens.judging import JudgmentStore
from ranklens.types import Run


def _absolute(path: str | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def check_free(corpus: index.Corpus, name: str, replace: bool = False) -> None:
    """Refuse, before any ranking, a snapshot name the corpus already uses (unless replace)."""
    with JudgmentStore.from_settings(corpus.settings) as store:
        snapshots_store.check_free(store, corpus.name, name, replace, how="add --replace-snapshot")


def save_from_args(
    args: argparse.Namespace,
    corpus: index.Corpus,
    query_set: str,
    runs: Mapping[str, Run],
    per_query,
    labels,
    level: str,
) -> None:
    """`evaluate --snapshot NAME`: keep this evaluation, with the settings it ran with."""
    settings = {
        "k": args.k,
        "level": level,
        "condensed": bool(args.condensed),
        "label_source": args.labels,
        "rule": args.rule,
        "qrels_file": _absolute(args.qrels),
        "queries": _absolute(args.queries)
        if args.queries and Path(args.queries).is_file()
        else args.queries,
    }
    snap = snapshots.make_snapshot(
        args.snapshot,
        corpus,
        query_set,
        runs,
        per_query,
        labels.qrels,
        level,
        {**settings, "labels": labels.source},
    )
    replace = bool(getattr(args, "replace_snapshot", False))
    with JudgmentStore.from_settings(corpus.settings) as store:
        snap = snapshots_store.save(store, snap, replace=replace)
    print(f"saved snapshot {snap.name!r} of corpus {snap.corpus!r}", file=sys.stderr)


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """`evaluate`'s --snapshot NAME and --replace-snapshot."""
    parser.add_argument(
        "--snapshot",
        "--save-snapshot",
        metavar="NAME",
        help="also keep this evaluation as a snapshot in the store (run files too)",
    )
    parser.add_argument(
        "--replace-snapshot", action="store_true", help="replace a snapshot of the same name"
    )


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def cmd_list(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        rows = snapshots_store.list_snapshots(store, args.corpus)
    if args.json:
        print_json(rows)
    elif not rows:
        print("no snapshots yet: python -m ranklens evaluate ... --snapshot NAME")
    else:
        for r in rows:
            print(
                f"{r['corpus']:<16} {r['name']:<24} {_when(r['created_at'])}  {r['query_set']:<12} "
                f"{r['queries']:>5} queries {r['labels']:>6} labels  {' '.join(r['rankers'])}"
            )
    return 0


def _load(
    corpus: str, names: Sequence[str], with_runs: bool = True
) -> list[snapshots_store.Snapshot]:
    with JudgmentStore.from_settings() as store:
        return [snapshots_store.load(store, corpus, n, with_runs) for n in names]


def cmd_show(args: argparse.Namespace) -> int:
    (snap,) = _load(args.corpus, [args.name], with_runs=False)
    warnings = snapshots.warnings_for(snap)
    if args.json:
        data = {**snap.summary(), "manifest": snap.manifest, "warnings": warnings}
        print_json(data)
        return 0
    print(f"snapshot {snap.name} of corpus {snap.corpus}, query set {snap.query_set}")
    print(f"made {_when(snap.created_at)}; level {snap.level}; {snap.labels_count} labels")
    for model, info in snap.manifest.get("models", {}).items():
        version = f"{info.get('package')} {info.get('version')}" if info.get("package") else "-"
        print(f"  model {model}: {info.get('kind')}, {version}")
    settings = snap.manifest.get("settings", {})
    if settings:
        print("  settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    means = snap.manifest.get("means", {})
    width = max([len(r) for r in means] + [6])
    print(f"{'ranker':<{width}}  " + "  ".join(f"{m:>10}" for m in snap.measures))
    for r, by_m in means.items():
        cells = "  ".join(f"{by_m.get(m, float('nan')):>10.4f}" for m in snap.measures)
        print(f"{r:<{width}}  {cells}")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    snaps = _load(args.corpus, args.names)
    result = snapshots.compare(snaps, args.measure, args.ranker)
    warnings = list(result.warnings)
    for s in snaps:
        warnings += snapshots.warnings_for(s)
    warnings = list(dict.fromkeys(warnings))
    table = result.table
    if args.changed:
        table = table[(table["status"] != "same") | table["moved"].fillna(False).astype(bool)]
    if args.json:
        print_json(
            {
                "measure": result.measure,
                "ranker": result.ranker,
                "snapshots": result.names,
                "means": result.means,
                "counts": result.counts(),
                "warnings": warnings,
                "settings_differ": result.settings_differ,
                "per_query": [
                    {k: (None if v != v else v) for k, v in row.items()}  # NaN -> null
                    for row in table.to_dict(orient="records")
                ],
            }
        )
        return 0
    print(f"{result.measure} of {result.ranker}: " + ", ".join(result.names))
    print("means: " + "  ".join(f"{n} {v:.4f}" for n, v in result.means.items()))
    c = result.counts()
    moved = int(result.table["moved"].fillna(False).astype(bool).sum())
    print(f"{c['better']} better, {c['worse']} worse, {c['same']} same; {moved} rankings moved")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    (snap,) = _load(args.corpus, [args.name])
    try:
        paths = snapshots.export(snap, args.out)
    except OSError as exc:
        raise RankLensError(f"cannot write {args.out}: {exc}") from None
    for p in paths:
        print(f"wrote {p}", file=sys.stderr)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        snapshots_store.delete(store, args.corpus, args.name)
    print(f"deleted snapshot {args.name!r} of corpus {args.corpus!r}")
    return 0


def add_commands(subparsers) -> None:
    """Add `snapshots` with its sub-commands to the CLI's subparsers."""
    p = subparsers.add_parser(
        "snapshots",
        help="evaluations kept in the judgment store: list, show, compare per query, export",
        description="Snapshots are saved by `evaluate --snapshot NAME` or the Evaluate page.",
    )
    sub = p.add_subparsers(dest="snapshots_command", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help="every snapshot (of one corpus)")
    ls.add_argument("--corpus")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one snapshot: models with versions, settings, means")
    show.add_argument("name")
    show.add_argument("--corpus", required=True)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    comp = sub.add_parser("compare", help="two or more snapshots per query: what moved, got worse")
    comp.add_argument("names", nargs="+", metavar="NAME")
    comp.add_argument("--corpus", required=True)
    comp.add_argument("--measure", help="default: the first measure all snapshots hold")
    comp.add_argument("--ranker", help="default: the first ranker all snapshots hold")
    comp.add_argument("--changed", action="store_true", help="only queries that changed or moved")
    comp.add_argument("--json", action="store_true")
    comp.set_defaults(func=cmd_compare)
    exp = sub.add_parser("export", help="a folder of TREC runs, manifest.json and per_query.csv")
    exp.add_argument("name")
    exp.add_argument("--corpus", required=True)
    exp.add_argument("--out", required=True, metavar="DIR")
    exp.set_defaults(func=cmd_export)
    rm = sub.add_parser("delete", help="remove one snapshot")
    rm.add_argument("name")
    rm.add_argument("--corpus", required=True)
    rm.set_defaults(func=cmd_delete)
