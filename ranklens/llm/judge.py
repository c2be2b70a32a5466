"""LLM judges over any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, OpenAI):
the endpoint's configuration, the reply cache, and LLMJudge (requests, retries, batches).

Prompts and reply parsing are ranklens.llm.prompt'; judgments and batch reports
ranklens.llm.reports'; one streamed request llm_http's; many at a time llm_batch's.

Decisions (read before changing anything here):

- The key comes from RANKLENS_LLM_KEY only. It is sent as `Authorization: Bearer ...` and is
  never stored (not in the cache, not in the judgment store), logged, or put in a repr or an
  error message.
- Every request carries a reply limit (`max_tokens`: RANKLENS_LLM_MAX_TOKENS, else one that fits
  the answer asked for) and, in text mode, stop sequences: a small model that repeats the passage
  would otherwise generate until its context is full. Replies are streamed and the connection is
  closed at the total time limit or on cancel, so the server stops generating (llm_http).
- Structured output where the endpoint takes it: a JSON schema {grade, reason}; where the endpoint
  refuses it (HTTP 400/422), the text prompt. Each judgment records the mode it was asked in, and
  the report says which modes were used (how replies are parsed: llm_prompt).
- 429 and 5xx are retried with exponential backoff (Retry-After is honoured, capped). A pair whose
  request failed (timeout, 5xx after retries, lost connection) goes back in the queue until it has
  been tried `pair_attempts` times; each timeout or 429 halves the number of requests in flight
  (down to 1), and it grows back by one after a run of successes. The batch stops, saying why,
  after `max_failures` pairs in a row failed for good; a 401/403/404/400 stops it at once. What
  was judged before stays cached: running the batch again resumes where it stopped.
- Cache key: (prompt hash, model, query text, passage text), the hash marked with the output mode
  for the JSON modes. Replies, parsed or not, are cached; failed requests are not.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ranklens.config import Settings
from ranklens.llm import http as llm_http
from ranklens.llm.batch import BatchRun, Throttle, run_batch
from ranklens.llm.http import STRUCTURED_CHOICES, ChatResult, Failed, Fatal, Refused, Retryable
from ranklens.llm.prompt import LLMError, Prompt, judge_name, parse_reply, to_scale
from ranklens.llm.reports import BatchReport, DryRunItem, JudgePair, Judgment, Reply
from ranklens.scale import Scale

DEFAULT_MAX_TOKENS = 128  # UMBRELA's M, T, O and final score, or {grade, reason}, fit easily
TEXT_STOP = ("\nQuery:", "\nPassage:")  # a small model repeating the prompt stops here


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to ask. The key is excluded from repr and comparisons."""

    url: str  # ending in /v1
    model: str
    key: str | None = field(default=None, repr=False, compare=False)
    timeout_s: float = 60.0
    concurrency: int = 4
    attempts: int = 4  # per request, for 429 and 5xx
    backoff_s: float = 1.0  # first wait; doubles each retry
    max_backoff_s: float = 30.0
    max_failures: int = 3  # pairs in a row that failed for good before a batch stops
    temperature: float = 0.0
    max_tokens: int | None = None  # None: DEFAULT_MAX_TOKENS (or the task's own)
    stop: tuple[str, ...] | None = None  # None: TEXT_STOP in text mode
    structured: str = "auto"  # auto: JSON schema, the text prompt where refused; json; text
    connect_timeout_s: float = 10.0
    first_token_timeout_s: float = 30.0
    pair_attempts: int = 2  # tries per pair before it counts as failed

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise LLMError(f"RANKLENS_LLM_URL must start with http:// or https://: {self.url!r}")
        if not self.model.strip():
            raise LLMError("RANKLENS_LLM_MODEL is empty")
        if self.concurrency < 1 or self.attempts < 1 or self.timeout_s <= 0:
            raise LLMError("concurrency and attempts must be at least 1, the timeout positive")
        if self.pair_attempts < 1 or self.connect_timeout_s <= 0 or self.first_token_timeout_s <= 0:
            raise LLMError("pair attempts must be at least 1, the timeouts positive")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise LLMError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.structured not in STRUCTURED_CHOICES:
            raise LLMError(
                f"structured output must be one of {', '.join(STRUCTURED_CHOICES)}, "
                f"got {self.structured!r}"
            )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> LLMConfig:
        """The endpoint from RANKLENS_LLM_URL / _MODEL / _KEY; LLMError saying what is missing."""
        missing = [
            name
            for name, value in (
                ("RANKLENS_LLM_URL", settings.llm_url),
                ("RANKLENS_LLM_MODEL", settings.llm_model),
            )
            if not value
        ]
        if missing:
            raise LLMError(
                f"set {' and '.join(missing)} to use an LLM judge (an OpenAI-compatible "
                "endpoint such as http://127.0.0.1:11434/v1 for Ollama; the key, if the server "
                "needs one, goes in RANKLENS_LLM_KEY)"
            )
        values: dict = dict(
            url=str(settings.llm_url).rstrip("/"),
            model=str(settings.llm_model),
            key=settings.llm_key,
            timeout_s=settings.llm_timeout_s,
            concurrency=settings.llm_concurrency,
            max_tokens=settings.llm_max_tokens,
            structured=settings.llm_structured,
            connect_timeout_s=settings.llm_connect_timeout_s,
            first_token_timeout_s=settings.llm_first_token_timeout_s,
            pair_attempts=settings.llm_pair_attempts,
        )
        values.update(overrides)
        return cls(**values)

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


# ---------------------------------------------------------------- cache


class ReplyCache:
    """Replies by (prompt hash, model, query, passage) in a small SQLite file (":memory:" for
    none). Holds replies and token counts only, never the key."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, prompt_hash TEXT, "
                "model TEXT, reply TEXT NOT NULL, prompt_tokens INTEGER, "
                "completion_tokens INTEGER, created_at REAL)"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ReplyCache:
        return cls(settings.cache_dir / "llm_replies.sqlite3")

    @staticmethod
    def key(prompt_hash_: str, model: str, query: str, passage: str) -> str:
        blob = json.dumps([prompt_hash_, model, query, passage], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Reply | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
            ).fetchone()
        return Reply(*row) if row else None

    def put(self, key: str, prompt_hash_: str, model: str, reply: Reply) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, prompt_hash_, model, *reply, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ---------------------------------------------------------------- requests

# Output modes an endpoint refused, by (url, model): a new judge on the same endpoint does not ask
# again in a mode it was already refused (one wasted request per batch otherwise).
_REFUSED: dict[tuple[str, str], set[str]] = {}
_REFUSED_LOCK = threading.Lock()


class LLMJudge:
    """Grades (query, passage) pairs with a chat model, cached, a few requests at a time."""

    def __init__(
        self,
        config: LLMConfig,
        scale: Scale,
        prompt: Prompt | None = None,
        *,
        cache: ReplyCache | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config, self.scale = config, scale
        self.prompt = prompt or Prompt()
        self.cache = cache if cache is not None else ReplyCache()
        headers = {"Content-Type": "application/json"}
        if config.key:
            headers["Authorization"] = f"Bearer {config.key}"
        self._client = httpx.Client(
            timeout=httpx.Timeout(config.timeout_s),
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=config.concurrency),
        )
        self._stop = threading.Event()
        self._throttle: Throttle | None = None
        self._refused_now: set[str] = set()

    @property
    def name(self) -> str:
        return judge_name(self.config.model)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LLMJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- output modes

    def _refused(self) -> set[str]:
        with _REFUSED_LOCK:
            return set(_REFUSED.get((self.config.url, self.config.model), ()))

    def _refuse(self, mode: str) -> None:
        with _REFUSED_LOCK:
            _REFUSED.setdefault((self.config.url, self.config.model), set()).add(mode)
        self._refused_now.add(mode)

    def modes(self) -> tuple[str, ...]:
        """The output modes this judge may use, best first (structured: auto, json or text)."""
        if self.config.structured == "text":
            return ("text",)
        if self.config.structured == "json":
            return ("json_schema", "json_object")
        return llm_http.MODES

    @property
    def mode(self) -> str:
        """The output mode the next request is sent in."""
        refused = self._refused()
        for m in self.modes():
            if m not in refused:
                return m
        raise Fatal(
            f"{self.config.endpoint} refuses structured output (response_format) for model "
            f"{self.config.model!r}; set RANKLENS_LLM_STRUCTURED=auto or text to use the text prompt"
        )

    # -- one request

    def max_tokens(self, default: int = DEFAULT_MAX_TOKENS) -> int:
        return self.config.max_tokens or default

    def _send(
        self, text: str, mode: str, schema: dict | None, name: str, max_tokens: int
    ) -> ChatResult:
        body: dict = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": text}],
            "temperature": self.config.temperature,
            "max_tokens": max_tokens,
        }
        fmt = llm_http.response_format(mode, schema, name) if schema is not None else None
        if fmt is not None:
            body["response_format"] = fmt
        else:
            stop = self.config.stop if self.config.stop is not None else TEXT_STOP
            if stop:
                body["stop"] = list(stop)
        return llm_http.stream_chat(
            self._client,
            self.config.endpoint,
            body,
            connect_s=self.config.connect_timeout_s,
            first_token_s=self.config.first_token_timeout_s,
            total_s=self.config.timeout_s,
            stop=self._stop,
        )

    def _wait(self, state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.status == 429 and self._throttle is not None:
            self._throttle.slow_down()
        base = min(
            self.config.max_backoff_s, self.config.backoff_s * 2 ** (state.attempt_number - 1)
        )
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(self.config.max_backoff_s, max(base, exc.retry_after))
        return base

    def _retrying(self, fn: Callable[[], ChatResult]) -> ChatResult:
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, Retryable)),
            stop=stop_after_attempt(self.config.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(fn)
        except Retryable as exc:
            raise Failed(
                f"{exc} after {self.config.attempts} attempts", timeout=exc.status == 429
            ) from exc

    def complete(
        self,
        text: str | Callable[[str], str],
        *,
        schema: dict | None = None,
        name: str = "reply",
        max_tokens: int | None = None,
        mode: str | None = None,
    ) -> tuple[Reply, str]:
        """Send one prompt (a text, or a function of the output mode giving it) and return the
        reply and the mode it was asked in. With a schema, structured output is asked for where
        the endpoint takes it, else the text prompt (see modes()). 429 and 5xx are retried with
        backoff. Raises llm_http.Failed, Fatal or Cancelled."""
        limit = max_tokens or self.max_tokens()
        while True:
            use = mode or (self.mode if schema is not None else "text")
            prompt = text(use) if callable(text) else text
            try:
                result = self._retrying(
                    lambda u=use, p=prompt: self._send(p, u, schema, name, limit)
                )
            except Refused as exc:
                if use == "text" or mode is not None:
                    raise Fatal(
                        f"{self.config.endpoint} answered {exc} (bad request) for model "
                        f"{self.config.model!r}: check RANKLENS_LLM_MODEL and the server's log"
                    ) from exc
                self._refuse(use)
                continue
            return Reply(result.text, result.prompt_tokens, result.completion_tokens), use

    def ask(self, text: str) -> Reply:
        """Send one prompt as text (no response_format); 429 and 5xx retried with backoff."""
        return self.complete(text)[0]

    # -- batches

    def run_batch(
        self,
        n: int,
        work: Callable[[int], object],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> BatchRun:
        """Call work(i) for i in 0..n-1 at this judge's concurrency, retries and stop rule
        (llm_batch.run_batch); a cancel closes the requests under way."""
        self._throttle = Throttle(self.config.concurrency)
        return run_batch(
            n,
            work,
            throttle=self._throttle,
            pair_attempts=self.config.pair_attempts,
            max_failures=self.config.max_failures,
            stop=self._stop,
            progress=progress,
            cancelled=cancelled,
        )

    # -- pairs

    def _cache_key(self, pair: JudgePair, mode: str = "text") -> str:
        mark = self.prompt.hash if mode == "text" else f"{self.prompt.hash}+{mode}"
        return ReplyCache.key(mark, self.config.model, pair.query, pair.passage)

    def _judgment(self, pair: JudgePair, reply: Reply, cached: bool, mode: str) -> Judgment:
        score = parse_reply(reply.text, self.prompt.top, mode)
        grade = None if score is None else to_scale(score, self.scale, self.prompt.top)
        return Judgment(
            pair,
            score,
            grade,
            reply.text,
            None,
            reply.prompt_tokens,
            reply.completion_tokens,
            cached,
            mode,
        )

    def _cached(self, pair: JudgePair) -> Judgment | None:
        for mode in self.modes():
            hit = self.cache.get(self._cache_key(pair, mode))
            if hit is not None:
                return self._judgment(pair, hit, True, mode)
        return None

    def _judge_one(self, pair: JudgePair) -> Judgment:
        """One pair: from the cache, else asked. Raises Failed, Fatal or Cancelled."""
        hit = self._cached(pair)
        if hit is not None:
            return hit
        reply, mode = self.complete(
            lambda m: self.prompt.render(pair.query, pair.passage, m),
            schema=self.prompt.schema(),
            name="relevance",
        )
        self.cache.put(self._cache_key(pair, mode), self.prompt.hash, self.config.model, reply)
        return self._judgment(pair, reply, False, mode)

    def judge(
        self,
        pairs: Sequence[JudgePair],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> BatchReport:
        """Judge pairs, a few requests at a time; cached pairs are not sent again, so a stopped
        batch resumes when run again. Judgments come back in the order of `pairs`;
        progress(done, total) is called in this thread."""
        report = BatchReport(self.config.model, self.prompt.hash, len(pairs))
        start = time.perf_counter()
        self._refused_now = set()
        run = self.run_batch(
            len(pairs),
            lambda i: self._judge_one(pairs[i]),
            progress=progress,
            cancelled=cancelled,
        )
        done: dict[int, Judgment] = {i: j for i, j in run.results.items()}  # type: ignore[misc]
        for i, error in run.errors.items():
            done[i] = Judgment(pairs[i], None, None, None, error, None, None, False)
        report.judgments = [done[i] for i in sorted(done)]
        report.gave_up = run.gave_up
        report.retried = run.retried
        report.lowest_concurrency = run.lowest_concurrency
        report.refused_modes = tuple(m for m in llm_http.MODES if m in self._refused_now)
        for j in report.judgments:
            if j.cached:
                continue
            for attr in ("prompt_tokens", "completion_tokens"):
                value = getattr(j, attr)
                if value is not None:
                    report.tokens_reported = True
                    setattr(report, attr, getattr(report, attr) + value)
        report.seconds = time.perf_counter() - start
        return report

    def dry_run(self, pairs: Sequence[JudgePair], n: int = 5) -> list[DryRunItem]:
        """The prompts and replies of the first n pairs, to read before a batch starts."""
        report = self.judge(pairs[:n])
        if report.gave_up and not report.judgments:
            raise LLMError(report.gave_up)
        return [
            DryRunItem(self.prompt.render(j.pair.query, j.pair.passage, j.mode or "text"), j)
            for j in report.judgments
        ]
