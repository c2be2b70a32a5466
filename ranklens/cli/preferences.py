"""CLI commands `preferences arena|passages|agreement`: what pairwise preferences add up to.

Preferences are made on the Judge page (passages side by side, the blind ranker arena) and
aggregated by ranklens.evaluation.preferences (Bradley-Terry, agreement with graded labels).
"""

from __future__ import annotations

import argparse

from ranklens.cli.common import print_json
from ranklens.errors import NotFoundError
from ranklens.evaluation import preferences as prefs
from ranklens.evaluation import preferences_store as pref_store
from ranklens.judging import JudgmentStore


def _records(df) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


def _print_fit(table) -> None:
    width = max([len(str(i)) for i in table["item"]] + [6])
    print(f"{'rank':>4}  {'item':<{width}}  strength  95% interval       wins losses ties")
    for r in table.itertuples(index=False):
        print(
            f"{r.rank:>4}  {r.item:<{width}}  {r.strength:+8.3f}  [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
            f"  {r.wins:>4} {r.losses:>6} {r.ties:>4}"
        )


def cmd_arena(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        events = pref_store.preferences(store, args.corpus, kind="ranker")
    if not events:
        raise NotFoundError(f"no arena preferences for corpus {args.corpus!r} yet (Judge page)")
    fit = prefs.arena_ranking(events, confidence=args.confidence)
    if args.json:
        print_json({"comparisons": fit.n_comparisons, "ranking": _records(fit.table)})
    else:
        print(f"Bradley-Terry ranking of rankers from {fit.n_comparisons} blind comparisons")
        _print_fit(fit.table)
    return 0


def cmd_passages(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        events = pref_store.preferences(store, args.corpus, query_ids=args.query)
    if not events:
        raise NotFoundError(f"no passage preferences for corpus {args.corpus!r} yet (Judge page)")
    table = prefs.per_query_strengths(events, confidence=args.confidence)
    if args.json:
        print_json(_records(table))
        return 0
    for qid, group in table.groupby("query_id", sort=False):
        print(f"query {qid}")
        _print_fit(group)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    with JudgmentStore.from_settings() as store:
        events = pref_store.preferences(store, args.corpus)
        qrels = store.final_qrels(args.corpus, rule=args.rule, level="passage")
    result = prefs.label_agreement(events, qrels)
    data = {
        "preferences": len(events),
        "with_labels": result.n,
        "without_labels": result.unlabelled,
        "agreement": result.agreement,
        "strict_agreement": result.strict,
        "kappa": result.kappa,
    }
    if args.json:
        print_json({k: (None if isinstance(v, float) and v != v else v) for k, v in data.items()})
        return 0
    print(
        f"{result.n} of {len(events)} preferences have graded labels on both passages; "
        f"agreement {result.agreement:.3f}, on pairs with different grades and a winner "
        f"{result.strict:.3f}, Cohen's kappa {result.kappa:.3f}"
    )
    return 0


def add_commands(subparsers) -> None:
    """Add `preferences` with its sub-commands to the CLI's subparsers."""
    p = subparsers.add_parser(
        "preferences",
        help="pairwise preferences: Bradley-Terry rankings, agreement with graded labels",
    )
    sub = p.add_subparsers(dest="preferences_command", required=True, metavar="ACTION")
    arena = sub.add_parser("arena", help="rank rankers from blind arena preferences")
    passages = sub.add_parser("passages", help="rank passages per query from preferences")
    passages.add_argument("--query", nargs="+", metavar="QUERY_ID", help="only these queries")
    agreement = sub.add_parser("agreement", help="how preferences agree with graded labels")
    agreement.add_argument("--rule", default="majority", help="how labels become one grade")
    for cmd, fn in ((arena, cmd_arena), (passages, cmd_passages), (agreement, cmd_agreement)):
        cmd.add_argument("--corpus", required=True)
        cmd.add_argument("--json", action="store_true")
        if cmd is not agreement:
            cmd.add_argument("--confidence", type=float, default=0.95)
        cmd.set_defaults(func=fn)
