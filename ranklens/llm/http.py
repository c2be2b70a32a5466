"""One chat-completions request to an OpenAI-compatible endpoint: streamed, capped, timed out in
three ways (connect, first token, total), in one of three output modes; the errors a batch acts on.

Decisions (read before changing anything here):

- The reply is streamed (`"stream": true`) and the connection is closed as soon as the total time
  limit passes or the batch is cancelled: llama.cpp's server (and vLLM) stop generating when the
  client goes away; a non-streamed request would keep the server busy after the client gave up.
  A server that answers a streamed request with one JSON body is read as such.
- Output modes, tried in this order where the endpoint refuses one (HTTP 400, 422 or 500 whose
  body names response_format or the schema: llama-cpp-python answers json_schema with a 500;
  any other 400 stays fatal, so a prompt too long does not switch modes for good):
  `json_schema` (OpenAI, vLLM, Ollama: `response_format: {type: json_schema, json_schema}`),
  `json_object` with a `schema` (llama-cpp-python's server, Anyscale), then `text`.
- The key is only ever sent in a header built by the caller; nothing here logs or shows it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import NamedTuple

import httpx

MODES = ("json_schema", "json_object", "text")
STRUCTURED_CHOICES = ("auto", "json", "text")


class ChatResult(NamedTuple):
    """The text of a reply, its token counts where the server reported them, and why it ended."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None


class Retryable(Exception):
    """A 429 or 5xx worth another try; carries the server's Retry-After when it sent one."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


class Failed(Exception):
    """This request cannot be answered now (timeout, 5xx after retries, lost connection).
    `timeout` marks a timeout, which asks the batch to slow down."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class Fatal(Exception):
    """No request can be answered: stop the batch (bad URL, model or key)."""


class Refused(Exception):
    """The endpoint refused the output mode asked for (HTTP 400/422 with response_format)."""


class Cancelled(Exception):
    """The batch was cancelled while this request was under way; the connection is closed."""


def response_format(mode: str, schema: dict, name: str) -> dict | None:
    """The `response_format` of a request in `mode` (None for plain text)."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def result_of(data: object) -> ChatResult:
    """The text, token counts and finish reason of a (non-streamed) chat-completions body."""
    try:
        choice = data["choices"][0]  # type: ignore[index]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise Failed("the reply is not a chat completion (no choices[0].message.content)") from exc
    if not isinstance(text, str):
        text = "" if text is None else json.dumps(text)
    usage = data.get("usage") if isinstance(data, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return ChatResult(
        text,
        _int_or_none(usage.get("prompt_tokens")),
        _int_or_none(usage.get("completion_tokens")),
        finish if isinstance(finish, str) else None,
    )


_HINTS = {
    401: "check RANKLENS_LLM_KEY",
    403: "check RANKLENS_LLM_KEY",
    404: "check RANKLENS_LLM_URL (ending in /v1) and RANKLENS_LLM_MODEL",
}
_FATAL = {400: "bad request", 401: "unauthorised", 403: "forbidden", 404: "not found"}


def _names_format(body: str) -> bool:
    """Whether an error body is about the output format (not, say, a prompt too long)."""
    low = body.lower()
    return any(w in low for w in ("response_format", "json_schema", "json_object", "schema"))


def _check_status(response: httpx.Response, endpoint: str, model: str, structured: bool) -> None:
    status = response.status_code
    if status == 200:
        return
    if structured and status in (400, 422, 500) and _names_format(response.text[:4000]):
        # llama-cpp-python's server answers an unknown response_format type with HTTP 500
        raise Refused(f"HTTP {status}")
    if status == 429 or status >= 500:
        raise Retryable(status, retry_after(response))
    if 400 <= status < 500:
        what = _FATAL.get(status, "client error")
        hint = _HINTS.get(status, "check RANKLENS_LLM_MODEL and the server's log")
        raise Fatal(f"{endpoint} answered HTTP {status} ({what}) for model {model!r}: {hint}")
    raise Failed(f"HTTP {status}")


def stream_chat(
    client: httpx.Client,
    endpoint: str,
    body: dict,
    *,
    connect_s: float,
    first_token_s: float,
    total_s: float,
    stop: threading.Event | None = None,
) -> ChatResult:
    """POST a chat request with `"stream": true` and gather the reply. Raises Retryable, Failed,
    Fatal, Refused (the body's response_format was refused) or Cancelled (`stop` was set)."""
    body = dict(body, stream=True, stream_options={"include_usage": True})
    start = time.monotonic()
    deadline = start + total_s
    read_s = min(first_token_s, total_s)
    timeout = httpx.Timeout(connect=connect_s, read=read_s, write=connect_s, pool=total_s)
    structured = body.get("response_format") is not None
    model = str(body.get("model"))
    try:
        with client.stream("POST", endpoint, json=body, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                _check_status(response, endpoint, model, structured)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                try:
                    return result_of(json.loads(response.read()))
                except ValueError as exc:
                    raise Failed("the reply is not JSON") from exc
            return _gather(response, deadline, total_s, stop)
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout):
            raise Failed(
                f"no connection within {connect_s:g} s (RANKLENS_LLM_CONNECT_TIMEOUT)",
                timeout=True,
            ) from exc
        if read_s >= total_s or time.monotonic() >= deadline:
            raise Failed(
                f"timed out after {total_s:g} s (RANKLENS_LLM_TIMEOUT)", timeout=True
            ) from exc
        raise Failed(
            f"no reply within {read_s:g} s (RANKLENS_LLM_FIRST_TOKEN_TIMEOUT)", timeout=True
        ) from exc
    except httpx.TransportError as exc:
        raise Failed(f"cannot reach {endpoint}: {type(exc).__name__}") from exc


def _gather(
    response: httpx.Response, deadline: float, total_s: float, stop: threading.Event | None
) -> ChatResult:
    """Read server-sent events until [DONE], the deadline or `stop`; leaving early closes the
    connection (the caller's `with` block), which tells the server to stop generating."""
    parts: list[str] = []
    prompt_tokens = completion_tokens = None
    finish: str | None = None
    for line in response.iter_lines():
        if stop is not None and stop.is_set():
            raise Cancelled("cancelled")
        if time.monotonic() > deadline:
            raise Failed(
                f"timed out after {total_s:g} s (RANKLENS_LLM_TIMEOUT); the connection was "
                f"closed after {len(parts)} pieces of reply",
                timeout=True,
            )
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        if not isinstance(chunk, dict):
            continue
        if isinstance(chunk.get("error"), dict | str):
            raise Failed(f"the server reported an error mid-reply: {str(chunk['error'])[:200]}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            prompt_tokens = _int_or_none(usage.get("prompt_tokens"))
            completion_tokens = _int_or_none(usage.get("completion_tokens"))
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            piece = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(piece, str):
                parts.append(piece)
            if isinstance(choice.get("finish_reason"), str):
                finish = choice["finish_reason"]
    return ChatResult("".join(parts), prompt_tokens, completion_tokens, finish)
