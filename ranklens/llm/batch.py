"""Many LLM requests at a time: a throttle (halved by timeouts and 429s, grown back by successes)
and run_batch, which retries an item a few times and stops after a run of final failures.

See ranklens.llm.judge's decisions; the errors it acts on are llm_http's.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import NamedTuple

from ranklens.llm.http import Cancelled, Failed, Fatal


class Throttle:
    """How many requests may be in flight: halved by each timeout or 429 (down to 1), one more
    after a run of successes (up to the configured concurrency)."""

    def __init__(self, most: int) -> None:
        self.most = self.limit = most
        self.lowest: int | None = None
        self._streak = 0
        self._lock = threading.Lock()

    def slow_down(self) -> None:
        with self._lock:
            self.limit = max(1, self.limit // 2)
            self.lowest = self.limit if self.lowest is None else min(self.lowest, self.limit)
            self._streak = 0

    def success(self) -> None:
        with self._lock:
            self._streak += 1
            if self.limit < self.most and self._streak >= 4 * self.limit:
                self.limit += 1
                self._streak = 0


class BatchRun(NamedTuple):
    """What run_batch did: results and final errors by item index, and why it stopped early."""

    results: dict[int, object]
    errors: dict[int, str]
    gave_up: str | None
    retried: int
    lowest_concurrency: int | None


def run_batch(
    n: int,
    work: Callable[[int], object],
    *,
    throttle: Throttle,
    pair_attempts: int,
    max_failures: int,
    stop: threading.Event,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BatchRun:
    """Call work(i) for i in 0..n-1, at most throttle.limit at a time. work raises Failed for a
    try that failed (the item goes back in the queue until it was tried pair_attempts times; a
    timeout halves the throttle) or Fatal (the batch stops). progress(done, n) is called in this
    thread each time an item is done for good; cancelled() is polled, and a cancel (or a Fatal)
    sets `stop`, which closes the requests under way (llm_http.stream_chat)."""
    stop.clear()
    queue = deque(range(n))
    tries: Counter[int] = Counter()
    results: dict[int, object] = {}
    errors: dict[int, str] = {}
    gave_up: str | None = None
    retried = in_a_row = 0
    with ThreadPoolExecutor(max_workers=throttle.most) as pool:
        running: dict[Future, int] = {}

        def fill() -> None:
            while queue and gave_up is None and len(running) < throttle.limit:
                i = queue.popleft()
                tries[i] += 1
                running[pool.submit(work, i)] = i

        fill()
        while running:
            finished, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = running.pop(fut)
                try:
                    results[i] = fut.result()
                except Cancelled:
                    continue
                except Fatal as exc:
                    gave_up = gave_up or str(exc)
                    stop.set()
                    continue
                except Failed as exc:
                    if exc.timeout:
                        throttle.slow_down()
                    if tries[i] < pair_attempts and gave_up is None:
                        queue.append(i)
                        retried += 1
                        continue
                    errors[i] = str(exc)
                    in_a_row += 1
                    if in_a_row >= max_failures and gave_up is None:
                        gave_up = (
                            f"{in_a_row} pairs in a row failed (the last: {exc}); what was "
                            "judged is cached: run again to resume"
                        )
                else:
                    in_a_row = 0
                    throttle.success()
                if progress is not None:
                    progress(len(results) + len(errors), n)
            if cancelled is not None and gave_up is None and cancelled():
                gave_up = "cancelled; what was judged is cached: run again to resume"
                stop.set()
            fill()
    stop.clear()
    return BatchRun(results, errors, gave_up, retried, throttle.lowest)
