"""LLM judges over any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, OpenAI):
prompts (UMBRELA's by default), reply parsing, grade mapping, batches with retries, a reply cache.

Decisions (read before changing anything here):

- The key comes from RANKLENS_LLM_KEY only. It is sent as `Authorization: Bearer ...` and is
  never stored (not in the cache, not in the judgment store), logged, or put in a repr or an
  error message.
- A reply counts only when it holds exactly one final score (`##final score: N`, 0..top);
  anything else is "unparseable": counted and shown with its text, never guessed.
- 429 and 5xx are retried with exponential backoff (Retry-After is honoured, capped). A timeout is
  not retried: a server too slow for one request is as slow for the next. After `max_failures`
  pairs failed (timeouts, 5xx after retries, lost connections) the batch stops and says why; a
  401/403/404/400 stops it at once. What was judged before stays cached: running the batch again
  resumes where it stopped.
- Cache key: (prompt hash, model, query text, passage text). Replies, parsed or not, are cached;
  failed requests are not.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ..config import Settings
from ..errors import RankLensError
from .scale import Scale

# The zero-shot "bing" prompt of UMBRELA (Upadhyay et al. 2024, "UMBRELA: UMbrela is the
# (Open-Source Reproduction of the) Bing RELevance Assessor", arXiv:2406.06519;
# github.com/castorini/umbrela, Apache-2.0), as published, with its {query} and {passage} slots.
UMBRELA_PROMPT = """\
Given a query and a passage, you must provide a score on an integer scale of 0 to 3 with the \
following meanings:
0 = represent that the passage has nothing to do with the query,
1 = represents that the passage seems related to the query but does not answer it,
2 = represents that the passage has some answer for the query, but the answer may be a bit \
unclear, or hidden amongst extraneous information and
3 = represents that the passage is dedicated to the query and contains the exact answer.

Important Instruction: Assign category 1 if the passage is somewhat related to the topic but not \
completely, category 2 if passage presents something very important related to the entire topic \
but also has some extra information and category 3 if the passage only and entirely refers to the \
topic. If none of the above satisfies give it category 0.

Query: {query}
Passage: {passage}

Split this problem into steps:
Consider the underlying intent of the search.
Measure how well the content matches a likely intent of the query (M).
Measure how trustworthy the passage is (T).
Consider the aspects above and the relative importance of each, and decide on a final score (O). \
Final score must be an integer value only.
Do not provide any code in result. Provide each score in the format of: ##final score: score \
without providing any reasoning."""

UMBRELA_TOP = 3
JUDGE_PREFIX = "llm:"
_SLOTS = ("{query}", "{passage}")
_FINAL = re.compile(r"##\s*final\s*score\s*:\s*\**\s*(-?\d+)", re.IGNORECASE)
_FATAL = {400: "bad request", 401: "unauthorised", 403: "forbidden", 404: "not found"}


class LLMError(RankLensError):
    """The endpoint cannot be used (not configured, refused, wrong URL or model)."""


# ---------------------------------------------------------------- prompts and replies


@dataclass(frozen=True)
class Prompt:
    """A prompt template with {query} and {passage} slots whose reply ends in
    `##final score: N`, N in 0..top."""

    text: str = UMBRELA_PROMPT
    top: int = UMBRELA_TOP

    def __post_init__(self) -> None:
        missing = [s for s in _SLOTS if s not in self.text]
        if missing:
            raise LLMError(f"the prompt needs the slot(s) {', '.join(missing)} (none found)")
        if not 1 <= self.top <= 100:
            raise LLMError(f"a prompt's top score must be 1..100, got {self.top}")

    @property
    def hash(self) -> str:
        """A short, stable id of the template (text and top score)."""
        return prompt_hash(self.text, self.top)

    def render(self, query: str, passage: str) -> str:
        """The prompt for one pair. Slots are replaced literally: braces in the template or in
        the texts are left alone."""
        return self.text.replace("{query}", query).replace("{passage}", passage)


def prompt_hash(text: str, top: int = UMBRELA_TOP) -> str:
    """The first 16 hex digits of SHA-256 over the template and its top score."""
    return hashlib.sha256(f"{top}\n{text}".encode()).hexdigest()[:16]


def parse_final_score(reply: str, top: int = UMBRELA_TOP) -> int | None:
    """The N of `##final score: N` in a reply, or None when there is none, several that
    differ, or one outside 0..top (never guessed)."""
    found = {int(m) for m in _FINAL.findall(reply or "")}
    if len(found) != 1:
        return None
    (score,) = found
    return score if 0 <= score <= top else None


def to_scale(score: int, scale: Scale, top: int = UMBRELA_TOP) -> int:
    """A 0..top score mapped linearly onto the scale's 0..max, rounded half up: on a binary
    scale UMBRELA's 2 and 3 are relevant; on 0-4, 0 1 2 3 become 0 1 3 4."""
    if not 0 <= score <= top:
        raise LLMError(f"score {score} is outside 0..{top}")
    return int((2 * score * scale.max + top) // (2 * top))


def judge_name(model: str) -> str:
    """The annotator name suggestions of an LLM judge are attributed to."""
    return JUDGE_PREFIX + model


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
    max_failures: int = 3  # failed pairs before a batch stops
    temperature: float = 0.0
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise LLMError(f"RANKLENS_LLM_URL must start with http:// or https://: {self.url!r}")
        if not self.model.strip():
            raise LLMError("RANKLENS_LLM_MODEL is empty")
        if self.concurrency < 1 or self.attempts < 1 or self.timeout_s <= 0:
            raise LLMError("concurrency and attempts must be at least 1, the timeout positive")

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
        )
        values.update(overrides)
        return cls(**values)

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/chat/completions"


# ---------------------------------------------------------------- records


class JudgePair(NamedTuple):
    """One (query, passage) to judge; texts are untrusted and only ever sent, never rendered."""

    query_id: str
    query: str
    passage_id: str
    doc_id: str
    passage: str


class Reply(NamedTuple):
    """What the endpoint said for one prompt."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None


class Judgment(NamedTuple):
    """The outcome for one pair: a grade on the scale, or why there is none."""

    pair: JudgePair
    score: int | None  # the prompt's own 0..top score
    grade: int | None  # mapped onto the corpus's scale
    reply: str | None  # None when the request failed
    error: str | None  # why the request failed (timeout, HTTP 500, ...)
    prompt_tokens: int | None
    completion_tokens: int | None
    cached: bool

    @property
    def unparseable(self) -> bool:
        return self.reply is not None and self.score is None


@dataclass
class BatchReport:
    """What a batch did: judged, unparseable and failed pairs, tokens, and why it stopped early."""

    model: str
    prompt_hash: str
    total: int
    judgments: list[Judgment] = field(default_factory=list)
    gave_up: str | None = None  # set when the batch stopped before the end
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_reported: bool = False
    seconds: float = 0.0

    @property
    def graded(self) -> list[Judgment]:
        return [j for j in self.judgments if j.grade is not None]

    @property
    def unparseable(self) -> list[Judgment]:
        return [j for j in self.judgments if j.unparseable]

    @property
    def failed(self) -> list[Judgment]:
        return [j for j in self.judgments if j.error is not None]

    @property
    def cached(self) -> int:
        return sum(j.cached for j in self.judgments)

    @property
    def not_sent(self) -> int:
        return self.total - len(self.judgments)

    def summary(self) -> str:
        parts = [
            f"{judge_name(self.model)} (prompt {self.prompt_hash}): {len(self.graded)} of "
            f"{self.total} pairs graded ({self.cached} from the cache)",
            f"{len(self.unparseable)} replies without a final score",
            f"{len(self.failed)} failed",
        ]
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent")
        text = "; ".join(parts) + "."
        if self.tokens_reported:
            text += f" Tokens: {self.prompt_tokens} prompt, {self.completion_tokens} completion."
        elif any(not j.cached for j in self.judgments if j.reply is not None):
            text += " The server reported no token counts."
        if self.gave_up:
            text += f" Stopped: {self.gave_up}"
        return text

    def to_dict(self) -> dict:
        return {
            "judge": judge_name(self.model),
            "model": self.model,
            "prompt_hash": self.prompt_hash,
            "total": self.total,
            "graded": len(self.graded),
            "cached": self.cached,
            "unparseable": [_judgment_dict(j) for j in self.unparseable],
            "failed": [_judgment_dict(j) for j in self.failed],
            "not_sent": self.not_sent,
            "gave_up": self.gave_up,
            "tokens": (
                {"prompt": self.prompt_tokens, "completion": self.completion_tokens}
                if self.tokens_reported
                else None
            ),
            "seconds": round(self.seconds, 3),
        }


def _judgment_dict(j: Judgment) -> dict:
    return {
        "query_id": j.pair.query_id,
        "passage_id": j.pair.passage_id,
        "score": j.score,
        "grade": j.grade,
        "reply": j.reply,
        "error": j.error,
    }


class DryRunItem(NamedTuple):
    """A dry run's view of one pair: the exact prompt sent and what came back."""

    prompt: str
    judgment: Judgment


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


class _Retryable(Exception):
    """A 429 or 5xx worth another try; carries the server's Retry-After when it sent one."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


class _Failed(Exception):
    """This pair cannot be judged now (timeout, 5xx after retries, lost connection)."""


class _Fatal(Exception):
    """No pair can be judged: stop the batch (bad URL, model or key)."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _reply_of(data: object) -> Reply:
    """The text and token counts of a chat-completions response body."""
    try:
        text = data["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise _Failed("the reply is not a chat completion (no choices[0].message.content)") from exc
    if not isinstance(text, str):
        text = "" if text is None else json.dumps(text)
    usage = data.get("usage") if isinstance(data, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return Reply(text, pt if isinstance(pt, int) else None, ct if isinstance(ct, int) else None)


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

    @property
    def name(self) -> str:
        return judge_name(self.config.model)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LLMJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request

    def _post(self, text: str) -> Reply:
        body: dict = {
            "model": self.config.model,
            "messages": [{"role": "user", "content": text}],
            "temperature": self.config.temperature,
        }
        if self.config.max_tokens:
            body["max_tokens"] = self.config.max_tokens
        try:
            response = self._client.post(self.config.endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise _Failed(
                f"timed out after {self.config.timeout_s:g} s (RANKLENS_LLM_TIMEOUT)"
            ) from exc
        except httpx.TransportError as exc:
            raise _Failed(f"cannot reach {self.config.endpoint}: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(status, _retry_after(response))
        if status in _FATAL or 400 <= status < 500:
            what = _FATAL.get(status, "client error")
            hint = {
                401: "check RANKLENS_LLM_KEY",
                403: "check RANKLENS_LLM_KEY",
                404: "check RANKLENS_LLM_URL (ending in /v1) and RANKLENS_LLM_MODEL",
            }.get(status, "check RANKLENS_LLM_MODEL and the server's log")
            raise _Fatal(
                f"{self.config.endpoint} answered HTTP {status} ({what}) for model "
                f"{self.config.model!r}: {hint}"
            )
        if status != 200:
            raise _Failed(f"HTTP {status}")
        try:
            data = response.json()
        except ValueError as exc:
            raise _Failed("the reply is not JSON") from exc
        return _reply_of(data)

    def _wait(self, state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        base = min(
            self.config.max_backoff_s, self.config.backoff_s * 2 ** (state.attempt_number - 1)
        )
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(self.config.max_backoff_s, max(base, exc.retry_after))
        return base

    def ask(self, text: str) -> Reply:
        """Send one prompt; 429 and 5xx retried with backoff. Raises _Failed or _Fatal."""
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(self.config.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(self._post, text)
        except _Retryable as exc:
            raise _Failed(f"{exc} after {self.config.attempts} attempts") from exc

    # -- pairs

    def _cache_key(self, pair: JudgePair) -> str:
        return ReplyCache.key(self.prompt.hash, self.config.model, pair.query, pair.passage)

    def _judgment(self, pair: JudgePair, reply: Reply, cached: bool) -> Judgment:
        score = parse_final_score(reply.text, self.prompt.top)
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
        )

    def _judge_one(self, pair: JudgePair) -> Judgment:
        key = self._cache_key(pair)
        hit = self.cache.get(key)
        if hit is not None:
            return self._judgment(pair, hit, True)
        try:
            reply = self.ask(self.prompt.render(pair.query, pair.passage))
        except _Failed as exc:
            return Judgment(pair, None, None, None, str(exc), None, None, False)
        self.cache.put(key, self.prompt.hash, self.config.model, reply)
        return self._judgment(pair, reply, False)

    def judge(
        self,
        pairs: Sequence[JudgePair],
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> BatchReport:
        """Judge pairs, at most config.concurrency requests at a time; cached pairs are not
        sent again, so a stopped batch resumes when run again. Judgments come back in the
        order of `pairs`; progress(done, total) is called in this thread."""
        report = BatchReport(self.config.model, self.prompt.hash, len(pairs))
        start = time.perf_counter()
        done: dict[int, Judgment] = {}
        failures = 0
        todo = iter(enumerate(pairs))
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            running: dict[Future, int] = {}

            def fill() -> None:
                while len(running) < self.config.concurrency and report.gave_up is None:
                    nxt = next(todo, None)
                    if nxt is None:
                        return
                    running[pool.submit(self._judge_one, nxt[1])] = nxt[0]

            fill()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = running.pop(fut)
                    try:
                        done[i] = fut.result()
                    except _Fatal as exc:
                        report.gave_up = str(exc)
                        continue
                    if done[i].error is not None:
                        failures += 1
                        if failures >= self.config.max_failures and report.gave_up is None:
                            report.gave_up = (
                                f"{failures} requests failed (the last: {done[i].error}); "
                                "what was judged is cached: run again to resume"
                            )
                    if progress is not None:
                        progress(len(done), len(pairs))
                if cancelled is not None and cancelled() and report.gave_up is None:
                    report.gave_up = "cancelled; what was judged is cached: run again to resume"
                fill()
        report.judgments = [done[i] for i in sorted(done)]
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
            DryRunItem(self.prompt.render(j.pair.query, j.pair.passage), j)
            for j in report.judgments
        ]


def format_dry_run(items: Sequence[DryRunItem]) -> str:
    """Plain text of a dry run (prompt, reply, parsed score and grade per pair)."""
    blocks = []
    for n, item in enumerate(items, 1):
        j = item.judgment
        outcome = (
            f"failed: {j.error}"
            if j.error
            else "no final score in the reply (counted as unparseable)"
            if j.score is None
            else f"score {j.score} -> grade {j.grade}"
        )
        blocks.append(
            f"--- pair {n}: query {j.pair.query_id}, passage {j.pair.passage_id}\n"
            f"[prompt]\n{item.prompt}\n[reply]\n{j.reply if j.reply is not None else ''}\n"
            f"[parsed] {outcome}"
        )
    return "\n\n".join(blocks)
