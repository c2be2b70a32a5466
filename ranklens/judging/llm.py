"""LLM judges over any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, OpenAI):
prompts (UMBRELA's by default), reply parsing, grade mapping, batches with retries, a reply cache.

Decisions (read before changing anything here):

- The key comes from RANKLENS_LLM_KEY only. It is sent as `Authorization: Bearer ...` and is
  never stored (not in the cache, not in the judgment store), logged, or put in a repr or an
  error message.
- A reply counts only when it holds exactly one final score (`##final score: N`, 0..top);
  anything else is "unparseable": counted and shown with its text, never guessed.
- Every request carries a reply limit (`max_tokens`: RANKLENS_LLM_MAX_TOKENS, else one that fits
  the answer asked for) and, in text mode, stop sequences: a small model that repeats the passage
  would otherwise generate until its context is full. Replies are streamed and the connection is
  closed at the total time limit or on cancel, so the server stops generating (llm_http).
- Structured output where the endpoint takes it: a JSON schema {grade, reason}; where the endpoint
  refuses it (HTTP 400/422), the text prompt. Each judgment records the mode it was asked in, and
  the report says which modes were used. In a JSON mode a reply counts when it is an object with
  an integer grade in 0..top, or (cut at the reply limit) starts `{"grade": N`; a reply that
  ignored the schema still counts when it holds exactly one `##final score: N`.
- 429 and 5xx are retried with exponential backoff (Retry-After is honoured, capped). A pair whose
  request failed (timeout, 5xx after retries, lost connection) goes back in the queue until it has
  been tried `pair_attempts` times; each timeout or 429 halves the number of requests in flight
  (down to 1), and it grows back by one after a run of successes. The batch stops, saying why,
  after `max_failures` pairs in a row failed for good; a 401/403/404/400 stops it at once. What
  was judged before stays cached: running the batch again resumes where it stopped.
- Cache key: (prompt hash, model, query text, passage text), the hash marked with the output mode
  for the JSON modes. Replies, parsed or not, are cached; failed requests are not.
- Few-shot examples (FewShot) are part of a Prompt: rendered before the template, in the reply
  format of the mode, and part of its hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ranklens.config import Settings
from ranklens.errors import RankLensError
from ranklens.judging import llm_http
from ranklens.judging.llm_batch import BatchRun, Throttle, run_batch
from ranklens.judging.llm_http import (
    STRUCTURED_CHOICES,
    ChatResult,
    Failed,
    Fatal,
    Refused,
    Retryable,
)
from ranklens.judging.scale import Scale

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
_JSON_GRADE = re.compile(r'^\s*\{\s*"grade"\s*:\s*(-?\d+)\s*[,}]')
DEFAULT_MAX_TOKENS = 128  # UMBRELA's M, T, O and final score, or {grade, reason}, fit easily
TEXT_STOP = ("\nQuery:", "\nPassage:")  # a small model repeating the prompt stops here
JSON_INSTRUCTION = (
    '\n\nAnswer in JSON with the keys "grade" (the final score, an integer from 0 to {top}) and '
    '"reason" (one short sentence).'
)


class LLMError(RankLensError):
    """The endpoint cannot be used (not configured, refused, wrong URL or model)."""


# ---------------------------------------------------------------- prompts and replies


class FewShot(NamedTuple):
    """One example shown before the template: a pair people graded (on the prompt's 0..top
    scale) and, where they gave one, their reason."""

    query: str
    passage: str
    score: int
    reason: str = ""


@dataclass(frozen=True)
class Prompt:
    """A prompt template with {query} and {passage} slots whose reply ends in
    `##final score: N`, N in 0..top; optionally few-shot examples shown before it."""

    text: str = UMBRELA_PROMPT
    top: int = UMBRELA_TOP
    examples: tuple[FewShot, ...] = ()

    def __post_init__(self) -> None:
        missing = [s for s in _SLOTS if s not in self.text]
        if missing:
            raise LLMError(f"the prompt needs the slot(s) {', '.join(missing)} (none found)")
        if not 1 <= self.top <= 100:
            raise LLMError(f"a prompt's top score must be 1..100, got {self.top}")
        bad = [e for e in self.examples if not 0 <= e.score <= self.top]
        if bad:
            raise LLMError(f"a few-shot example's score must be 0..{self.top}, got {bad[0].score}")

    @property
    def hash(self) -> str:
        """A short, stable id of the template (text and top score) and its examples."""
        if not self.examples:
            return prompt_hash(self.text, self.top)
        shots = json.dumps([list(e) for e in self.examples], ensure_ascii=False)
        return prompt_hash(f"{self.text}\n{shots}", self.top)

    def with_examples(self, examples: Sequence[FewShot]) -> Prompt:
        """The same template with these few-shot examples (none: the bare template)."""
        return replace(self, examples=tuple(FewShot(*e) for e in examples))

    def render(self, query: str, passage: str, mode: str = "text") -> str:
        """The prompt for one pair. Slots are replaced literally: braces in the template or in
        the texts are left alone. In a JSON mode the examples answer in JSON and one line asks
        for it."""
        body = self.text.replace("{query}", query).replace("{passage}", passage)
        if mode != "text":
            body += JSON_INSTRUCTION.replace("{top}", str(self.top))
        if not self.examples:
            return body
        shots = []
        for e in self.examples:
            if mode == "text":
                answer = (f"Reason: {e.reason}\n" if e.reason else "") + f"##final score: {e.score}"
            else:
                answer = json.dumps({"grade": e.score, "reason": e.reason}, ensure_ascii=False)
            shots.append(f"Query: {e.query}\nPassage: {e.passage}\n{answer}")
        return "Examples graded by people:\n\n" + "\n\n".join(shots) + "\n\n---\n\n" + body

    def schema(self) -> dict:
        """The JSON schema of a structured reply: {grade: 0..top, reason}."""
        return {
            "type": "object",
            "properties": {
                "grade": {"type": "integer", "enum": list(range(self.top + 1))},
                "reason": {"type": "string"},
            },
            "required": ["grade", "reason"],
            "additionalProperties": False,
        }


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


def parse_reply(reply: str, top: int = UMBRELA_TOP, mode: str = "text") -> int | None:
    """The score of a reply in `mode`: in text mode the final score; in a JSON mode the integer
    `grade` of the object (or of its start, when the reply was cut at the limit), else the final
    score of a reply that ignored the schema. None when there is none (never guessed)."""
    if mode != "text":
        grade: object = None
        try:
            data = json.loads(reply or "")
        except ValueError:
            m = _JSON_GRADE.match(reply or "")
            grade = int(m.group(1)) if m else None
        else:
            grade = data.get("grade") if isinstance(data, dict) else None
        if isinstance(grade, int) and not isinstance(grade, bool):
            return grade if 0 <= grade <= top else None
    return parse_final_score(reply, top)


def reply_reason(reply: str | None) -> str | None:
    """The `reason` of a JSON reply, if it has one."""
    try:
        data = json.loads(reply or "")
    except ValueError:
        return None
    reason = data.get("reason") if isinstance(data, dict) else None
    return reason if isinstance(reason, str) else None


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
    mode: str | None = None  # json_schema, json_object or text; None for a failed request

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
    retried: int = 0  # requests sent again after a failure
    lowest_concurrency: int | None = None  # set when timeouts or 429s lowered it
    refused_modes: tuple[str, ...] = ()  # output modes the endpoint refused

    @property
    def modes(self) -> dict[str, int]:
        """How many replies came in each output mode (cached ones included)."""
        return dict(Counter(j.mode for j in self.judgments if j.mode is not None))

    def mode_note(self) -> str:
        """Which output mode(s) were used, and what the endpoint refused."""
        modes = self.modes
        if not modes:
            return ""
        names = {
            "json_schema": "structured output (JSON schema)",
            "json_object": "structured output (JSON object with a schema)",
            "text": "the text prompt",
        }
        used = ", ".join(f"{names.get(m, m)} for {n}" for m, n in modes.items())
        text = f"Mode: {used}"
        if self.refused_modes:
            text += f" (the endpoint refused {', '.join(self.refused_modes)})"
        return text + "."

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
        note = self.mode_note()
        if note:
            text += " " + note
        if self.retried:
            text += f" {self.retried} requests were sent again after a failure."
        if self.lowest_concurrency is not None:
            text += (
                f" Timeouts or 429s lowered the requests in flight to {self.lowest_concurrency}."
            )
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
            "modes": self.modes,
            "refused_modes": list(self.refused_modes),
            "retried": self.retried,
            "lowest_concurrency": self.lowest_concurrency,
        }


def _judgment_dict(j: Judgment) -> dict:
    return {
        "query_id": j.pair.query_id,
        "passage_id": j.pair.passage_id,
        "score": j.score,
        "grade": j.grade,
        "reply": j.reply,
        "error": j.error,
        "mode": j.mode,
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
