"""The HTTP side of an endpoint: one request per query, within the endpoint's rate limit and
concurrency bound, retried on 429 and 5xx (Retry-After honoured), and its answer read by the
JMESPath mapping into hits.

Every message names the endpoint and its URL and is scrubbed of the secrets its headers were
given (a server that echoes a header cannot put the key in an error, a log or a page).
"""

from __future__ import annotations

import email.utils
import json
import math
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx
import jmespath

from ranklens.errors import RankLensError
from ranklens.ranking.endpoints.spec import EndpointSpec


class EndpointError(RankLensError):
    """An endpoint that did not answer usefully (status, timeout, unreachable, not JSON)."""


class MappingError(EndpointError):
    """An answer that the response mapping cannot read: names the path that did not match."""


class RawHit(NamedTuple):
    """One hit as the engine returned it: its id, score, and the title and text it sent."""

    id: str
    score: float
    title: str
    text: str


# ---------------------------------------------------------------- per-endpoint limits (process-wide)


class _Limits:
    """An endpoint's rate limit (request starts at least 1/rate apart) and concurrency bound."""

    def __init__(self, rate: float, concurrency: int) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._next = 0.0

    def wait_turn(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


_limits: dict[tuple[str, float, int], _Limits] = {}
_clients: dict[tuple[str, float, int], httpx.Client] = {}
_registry_lock = threading.Lock()


def _limits_of(spec: EndpointSpec) -> _Limits:
    key = (spec.hash, spec.rate_limit, spec.concurrency)
    with _registry_lock:
        if key not in _limits:
            _limits[key] = _Limits(spec.rate_limit, spec.concurrency)
        return _limits[key]


def _client_of(spec: EndpointSpec) -> httpx.Client:
    """One pooled client per endpoint and process (kept-alive connections, no headers: those
    are rendered per request, so a changed secret is read at once)."""
    key = (spec.hash, spec.timeout_s, spec.concurrency)
    with _registry_lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(spec.timeout_s),
                limits=httpx.Limits(max_connections=spec.concurrency),
                follow_redirects=False,
                trust_env=False,  # no proxy or .netrc credentials picked up silently
            )
            _clients[key] = client
        return client


# ---------------------------------------------------------------- one request


def scrub(text: str, secrets: Sequence[str]) -> str:
    """The text with every secret value replaced by ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait (Retry-After: seconds or an HTTP date), else None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def request_json(spec: EndpointSpec, who: str, query: str, k: int) -> Any:
    """The endpoint's JSON answer to one query asking for k hits; EndpointError when it gives up
    (naming the endpoint and the status)."""
    headers, secrets = spec.render_headers(who)
    where = f"{who} ({spec.url})"
    limits, client = _limits_of(spec), _client_of(spec)
    kwargs: dict[str, Any] = {"headers": headers}
    params = spec.render_params(query, k)
    if params:
        kwargs["params"] = params
    body = spec.render_body(query, k)
    if body is not None:
        kwargs["json"] = body
    attempts = spec.retries + 1
    for attempt in range(1, attempts + 1):
        with limits.slots:
            limits.wait_turn()
            try:
                response = client.request(spec.method, spec.url, **kwargs)
            except httpx.TimeoutException:
                raise EndpointError(
                    f"{where} did not answer within {spec.timeout_s:g} s (timeout_s)"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # the connection dropped mid-request (a proxy closed a kept-alive connection):
                # a search can be asked again
                if attempt < attempts:
                    time.sleep(min(spec.max_backoff_s, spec.backoff_s * 2 ** (attempt - 1)))
                    continue
                raise EndpointError(
                    f"{where} dropped the connection {attempts} times ({type(exc).__name__})"
                ) from None
            except httpx.HTTPError as exc:
                raise EndpointError(
                    f"cannot reach {where}: {type(exc).__name__}; is the server running?"
                ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            if attempt < attempts:
                base = spec.backoff_s * 2 ** (attempt - 1)
                wait = max(base, retry_after(response) or 0.0)
                time.sleep(min(spec.max_backoff_s, wait))
                continue
            raise EndpointError(
                scrub(
                    f"{where} answered HTTP {status} after {attempts} attempt"
                    f"{'s' if attempts > 1 else ''} ({_snippet(response)})",
                    secrets,
                )
            )
        if not 200 <= status < 300:
            hint = {401: " check the key", 403: " check the key", 404: " check the url"}
            raise EndpointError(
                scrub(
                    f"{where} answered HTTP {status} ({_snippet(response)});"
                    f"{hint.get(status, ' check the request templates')}",
                    secrets,
                )
            )
        try:
            return response.json()
        except ValueError:
            raise EndpointError(
                scrub(f"{where} answered something that is not JSON: {_snippet(response)}", secrets)
            ) from None
    raise AssertionError("unreachable")  # the loop returns or raises


# ---------------------------------------------------------------- reading the answer


def _keys(node: Any) -> str:
    if isinstance(node, dict):
        keys = list(node)[:12]
        return "its keys: " + (", ".join(map(str, keys)) or "none")
    return f"it is a {type(node).__name__}"


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if math.isfinite(score) else None


def parse_hits(spec: EndpointSpec, who: str, data: Any) -> list[RawHit]:
    """The hits of one answer, in the engine's order (a repeated id keeps its first place).

    MappingError names the expression (response.hits, response.id, ...) that did not match and
    what the response holds there instead."""
    m = spec.response
    if m.require and jmespath.search(m.require, data) is None:
        raise MappingError(
            f"{who}: the answer has nothing at response.require = {m.require!r} ({_keys(data)})"
        )
    hits = jmespath.search(m.hits, data)
    if hits is None:
        raise MappingError(
            f"{who}: response.hits = {m.hits!r} matched nothing in the answer ({_keys(data)})"
        )
    if not isinstance(hits, list):
        raise MappingError(
            f"{who}: response.hits = {m.hits!r} matched a {type(hits).__name__}, not a list"
        )
    out: list[RawHit] = []
    seen: set[str] = set()
    for i, hit in enumerate(hits, 1):
        raw_id = jmespath.search(m.id, hit)
        if raw_id is None or isinstance(raw_id, bool | list | dict) or str(raw_id) == "":
            raise MappingError(
                f"{who}: hit {i}: response.id = {m.id!r} matched "
                f"{'nothing' if raw_id is None else repr(raw_id)[:60]} ({_keys(hit)})"
            )
        doc_id = str(raw_id)
        if m.id_after and m.id_after in doc_id:
            doc_id = doc_id.rsplit(m.id_after, 1)[1]
        if m.score:
            score = _score(jmespath.search(m.score, hit))
            if score is None:
                raise MappingError(
                    f"{who}: hit {i} ({doc_id}): response.score = {m.score!r} matched no "
                    f"finite number ({_keys(hit)})"
                )
        else:
            score = float(len(hits) - i + 1)  # no score mapped: the engine's order
        if doc_id in seen:
            continue
        seen.add(doc_id)
        title = _as_text(jmespath.search(m.title, hit)) if m.title else ""
        text = _as_text(jmespath.search(m.text, hit)) if m.text else ""
        out.append(RawHit(doc_id, score, title, text))
    return out


def fetch(spec: EndpointSpec, who: str, query: str, k: int) -> list[RawHit]:
    """Ask the endpoint for k hits for one query (no cache): its parsed hits, at most k."""
    return parse_hits(spec, who, request_json(spec, who, query, k))[:k]
