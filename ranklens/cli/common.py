"""What every CLI command group shares: JSON printing, the one error line, the progress bar.

Errors are printed in exactly one place (ranklens.cli.main) through error_line().
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from tqdm import tqdm

from ranklens.errors import RankLensError

if TYPE_CHECKING:  # the index pulls in Chroma, which most commands never need
    from ranklens.corpus.index import Progress


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def error_line(exc: BaseException) -> str:
    """One line for stderr: the project's own message, or the error's type and message."""
    if isinstance(exc, RankLensError | ValueError):
        return f"error: {exc}"
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"error: cannot use{where}: {exc.strerror or exc}"
    message = " ".join(str(exc).split())[:500]
    return f"error: {type(exc).__name__}: {message}"


class TqdmProgress:
    """An ingestion progress callback: one tqdm bar per stage on stderr (passages/s, time left)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None
        self.stage: str | None = None

    def __call__(self, p: Progress) -> None:
        if p.stage != self.stage:
            self.close()
            self.stage = p.stage
            self.bar = tqdm(
                total=p.total or None,
                desc=f"{p.stage:<24}",
                unit=" passages",
                file=self.stream,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        assert self.bar is not None
        if p.total and self.bar.total != p.total:
            self.bar.total = p.total
        self.bar.update(max(0, p.done - self.bar.n))
        if p.total and p.done >= p.total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.stage = None, None


def pairs_progress():
    """A tqdm bar on stderr for judging pairs, and the (done, total) callback that moves it."""
    bar = tqdm(total=0, desc="judging", unit=" pairs", file=sys.stderr, mininterval=0.5)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, update
