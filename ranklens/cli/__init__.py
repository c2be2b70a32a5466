"""`python -m ranklens ...`: the headless face of the core, one thin module per command group.

main() is the one place errors are printed: a RankLensError (or a bad setting) becomes one line
on stderr naming file, line and what was expected, with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ranklens.cli import (
    annotators,
    classes,
    corpus,
    endpoints,
    evaluate,
    jobs,
    judgments,
    preferences,
    runs,
    search,
    snapshots,
    tune,
)
from ranklens.cli.common import error_line
from ranklens.errors import RankLensError

GROUPS = (
    corpus,
    search,
    judgments,
    evaluate,
    annotators,
    tune,
    snapshots,
    preferences,
    jobs,
    runs,
    endpoints,
    classes,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ranklens",
        description="RankLens: compare retrieval models, collect relevance labels, evaluate.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in GROUPS:
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    except (RankLensError, ValueError, OSError) as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except Exception as exc:  # the database, or a bug: still one line, with its type
        print(error_line(exc), file=sys.stderr)
        return 2
