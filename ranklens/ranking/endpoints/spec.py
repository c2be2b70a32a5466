"""An endpoint's configuration: read from TOML over a preset (elasticsearch, opensearch, solr,
vespa, json), checked once (URL scheme, templates, JMESPath), rendered per query, hashed.

Templates hold {{query}} and {{k}}. In a JSON body they must be whole JSON values ("query":
{{query}}): the body is parsed once and the query is put in as a string value, so no text a user
types can change the query DSL or YQL around it. URL parameters are URL-encoded by the client.
Header values may name environment variables (${SEARCH_KEY}); they are read at request time
only, so the configuration (and its hash, the cache, a snapshot) holds the name, never the value.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jmespath
from jmespath.exceptions import JMESPathError

from ranklens.errors import InputError, RankLensError

PREFIX = "endpoint:"
PRESETS = ("elasticsearch", "opensearch", "solr", "vespa", "json")
METHODS = ("GET", "POST")
MAX_K_LIMIT = 1000  # the most hits one request may ask for (rankers.MAX_K)
QUERY, K = "{{query}}", "{{k}}"
_SENTINEL = {QUERY: "\x00rl:query\x00", K: "\x00rl:k\x00"}
_PLACEHOLDER = re.compile(r"\{\{(?:query|k)\}\}")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# header names whose value is a credential: a literal value there would be written to disk
_SECRET_HEADER = re.compile(r"(?i)authori[sz]ation|cookie|token|secret|api[-_]?key|password")
TOP_KEYS = {
    "preset",
    "url",
    "method",
    "params",
    "body",
    "headers",
    "response",
    "title_field",
    "text_field",
    "timeout_s",
    "rate_limit",
    "concurrency",
    "retries",
    "backoff_s",
    "max_backoff_s",
    "max_k",
}
RESPONSE_KEYS = ("hits", "id", "score", "title", "text", "require", "id_after")


class SpecError(InputError):
    """A configuration that cannot be used: names the file (and line) and what was expected."""


def _quoted(field_name: str) -> str:
    """A field name as a JMESPath identifier, quoted (a field may hold '-', '.' or spaces)."""
    return json.dumps(field_name)


def preset_defaults(preset: str, title_field: str, text_field: str) -> dict[str, Any]:
    """What a preset fills in: method, parameters or body, and the response mapping."""
    t, x = _quoted(title_field), _quoted(text_field)
    if preset in ("elasticsearch", "opensearch"):
        body = {
            "query": {"multi_match": {"query": QUERY, "fields": [title_field, text_field]}},
            "size": K,
            "_source": [title_field, text_field],
        }
        return {
            "method": "POST",
            "params": {},
            "body": body,
            "response": {
                "hits": "hits.hits",
                "id": "_id",
                "score": "_score",
                "title": f"_source.{t}",
                "text": f"_source.{x}",
            },
        }
    if preset == "solr":
        return {
            "method": "GET",
            "params": {
                "q": QUERY,
                "rows": K,
                "fl": f"id,score,{title_field},{text_field}",
                "defType": "dismax",  # plain user text: no field queries, no local params
                "qf": f"{title_field} {text_field}",
                "wt": "json",
            },
            "body": None,
            "response": {
                "hits": "response.docs",
                "id": "id",
                "score": "score",
                "title": t,
                "text": x,
            },
        }
    if preset == "vespa":
        body = {
            "yql": "select * from sources * where userQuery()",
            "query": QUERY,  # the user's text goes in `query`, never into the YQL
            "hits": K,
        }
        return {
            "method": "POST",
            "params": {},
            "body": body,
            "response": {
                # Vespa leaves `children` out when nothing matched: an empty list then, but
                # the answer must still be a Vespa result (`root`)
                "hits": "root.children || `[]`",
                "require": "root",
                "id": "id",
                "id_after": "::",  # id:namespace:doctype::ID -> ID
                "score": "relevance",
                "title": f"fields.{t}",
                "text": f"fields.{x}",
            },
        }
    return {"method": "POST", "params": {}, "body": None, "response": {}}


@dataclass(frozen=True)
class ResponseMap:
    """JMESPath expressions that read hits out of a response."""

    hits: str
    id: str
    score: str = ""  # "" : no score; the engine's order gives one (n, n-1, ...)
    title: str = ""
    text: str = ""
    require: str = ""  # must match for the response to count as an answer
    id_after: str = ""  # keep the part of an id after the last occurrence of this


@dataclass(frozen=True)
class EndpointSpec:
    """A checked configuration. `source` is the TOML text it was read from (stored as given)."""

    preset: str
    url: str
    method: str
    params: dict[str, str]
    body: Any  # a JSON structure whose placeholder values are sentinels, or None
    headers: dict[str, str]  # values may hold ${ENV_VAR}
    response: ResponseMap
    timeout_s: float = 10.0
    rate_limit: float = 0.0  # requests per second; 0: no limit
    concurrency: int = 4
    retries: int = 3  # further attempts after a 429 or 5xx
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_k: int = 100
    source: str = field(default="", compare=False, repr=False)

    def canonical(self) -> dict[str, Any]:
        """Everything that decides what the engine answers (and how it is read), as JSON."""
        return {
            "preset": self.preset,
            "url": self.url,
            "method": self.method,
            "params": self.params,
            "body": self.body,
            "headers": self.headers,  # templates: environment variable names, no values
            "response": self.response.__dict__,
            "max_k": self.max_k,
        }

    @functools.cached_property
    def hash(self) -> str:
        """sha256 of the canonical configuration (16 hex digits): the cache's key."""
        blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def env_names(self) -> list[str]:
        """The environment variables the headers name."""
        return sorted({n for v in self.headers.values() for n in _ENV.findall(v)})

    def request_size(self, k: int) -> int:
        """Hits to ask for when k are wanted: 10, 100 or 1000 (the first that holds k), never
        above max_k, so that a few sizes serve every page, pool and evaluation from the cache."""
        for size in (10, 100, MAX_K_LIMIT):
            if size >= k:
                return min(size, self.max_k)
        return self.max_k

    def render_params(self, query: str, k: int) -> dict[str, str]:
        """URL parameters for one query (one pass: "{{k}}" typed in a query stays text)."""
        values = {QUERY: query, K: str(k)}
        return {
            key: _PLACEHOLDER.sub(lambda m: values[m.group(0)], value)
            for key, value in self.params.items()
        }

    def render_body(self, query: str, k: int) -> Any:
        """The JSON body for one query: the query and k put in as values, never as JSON text."""
        if self.body is None:
            return None
        return _swap(self.body, {_SENTINEL[QUERY]: query, _SENTINEL[K]: k})

    def body_template(self) -> Any:
        """The body as configured, with "{{query}}" and "{{k}}" where the values go."""
        return _swap(self.body, {v: k for k, v in _SENTINEL.items()})

    def render_headers(self, who: str) -> tuple[dict[str, str], list[str]]:
        """Headers with ${VAR} read from the environment now, and the secret values (so that
        messages can be scrubbed of them). A variable that is not set is an error naming it."""
        out, secrets = {}, []
        for key, value in self.headers.items():

            def put(m: re.Match[str], key: str = key) -> str:
                got = os.environ.get(m.group(1))
                if got is None:
                    raise RankLensError(
                        f"{who}: header {key} names ${{{m.group(1)}}}, which is not set in "
                        "the environment"
                    )
                if any(c in got for c in "\r\n\x00"):
                    raise RankLensError(
                        f"{who}: ${{{m.group(1)}}} holds a line break or NUL, which a header "
                        "cannot carry"
                    )
                if got:
                    secrets.append(got)
                return got

            out[key] = _ENV.sub(put, value)
        return out, secrets


# ---------------------------------------------------------------- reading TOML


def _line_of(exc: tomllib.TOMLDecodeError) -> int | None:
    m = re.search(r"at line (\d+)", str(exc))
    return int(m.group(1)) if m else None


def _key_line(text: str, key: str) -> int | None:
    """The first line of the TOML text that sets `key` (for error messages)."""
    pattern = re.compile(rf"^[ \t]*\"?{re.escape(key)}\"?[ \t]*=", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def read_spec(path: str | Path) -> EndpointSpec:
    """The configuration in a TOML file (SpecError naming the file and line when it is bad)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise SpecError(p, "no such file (expected an endpoint configuration in TOML)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(p, "is not UTF-8 text") from None
    return parse_spec(text, str(p))


def parse_spec(text: str, where: str = "endpoint configuration") -> EndpointSpec:
    """A checked EndpointSpec from TOML text: preset defaults, then the file's own values."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(where, f"is not valid TOML ({exc})", _line_of(exc)) from None

    def fail(message: str, key: str | None = None) -> SpecError:
        return SpecError(where, message, _key_line(text, key) if key else None)

    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise fail(
            f"unknown key {unknown[0]!r}; expected some of: {', '.join(sorted(TOP_KEYS))}",
            unknown[0],
        )
    preset = raw.get("preset", "json")
    if preset not in PRESETS:
        raise fail(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}", "preset")
    title_field = _text(raw, "title_field", "title", fail)
    text_field = _text(raw, "text_field", "text", fail)
    base = preset_defaults(preset, title_field, text_field)

    url = _check_url(raw.get("url"), fail)
    method = str(raw.get("method", base["method"])).upper()
    if method not in METHODS:
        raise fail(f"method must be GET or POST, got {raw.get('method')!r}", "method")

    params = dict(base["params"])
    given = raw.get("params", {})
    if not isinstance(given, dict):
        raise fail('params must be a table of name = "value"', "params")
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise fail(f"params.{key} must be a string or a number", key)
        params[key] = str(value)
    params = {k: v for k, v in params.items() if v != ""}  # "" removes a preset's parameter

    body_raw = raw.get("body", base["body"])
    body = _parse_body(body_raw, fail) if body_raw is not None else None
    if method == "GET" and body is not None:
        raise fail('a GET request has no body: use [params], or method = "POST"', "body")
    if not _holds(params, body, QUERY):
        raise fail(
            "the request never sends the query: put {{query}} in [params] or in the body", "body"
        )

    headers = _parse_headers(raw.get("headers", {}), fail)
    response = _parse_response(base["response"], raw.get("response", {}), fail)
    numbers = {
        "timeout_s": (_number(raw, "timeout_s", 10.0, fail), 0.001, 600),
        "rate_limit": (_number(raw, "rate_limit", 0.0, fail), 0, 10_000),
        "backoff_s": (_number(raw, "backoff_s", 0.5, fail), 0, 600),
        "max_backoff_s": (_number(raw, "max_backoff_s", 30.0, fail), 0, 3600),
    }
    for key, (value, lo, hi) in numbers.items():
        if not lo <= value <= hi:
            raise fail(f"{key} must be from {lo} to {hi}, got {value}", key)
    concurrency = _integer(raw, "concurrency", 4, 1, 64, fail)
    retries = _integer(raw, "retries", 3, 0, 10, fail)
    max_k = _integer(raw, "max_k", 100, 1, MAX_K_LIMIT, fail)
    return EndpointSpec(
        preset=preset,
        url=url,
        method=method,
        params=params,
        body=body,
        headers=headers,
        response=response,
        timeout_s=numbers["timeout_s"][0],
        rate_limit=numbers["rate_limit"][0],
        concurrency=concurrency,
        retries=retries,
        backoff_s=numbers["backoff_s"][0],
        max_backoff_s=numbers["max_backoff_s"][0],
        max_k=max_k,
        source=text,
    )


def _text(raw: Mapping[str, Any], key: str, default: str, fail) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{key} must be a non-empty string", key)
    return value


def _number(raw: Mapping[str, Any], key: str, default: float, fail) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{key} must be a number, got {value!r}", key)
    return float(value)


def _integer(raw: Mapping[str, Any], key: str, default: int, lo: int, hi: int, fail) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise fail(f"{key} must be a whole number from {lo} to {hi}, got {value!r}", key)
    return value


def _check_url(url: object, fail) -> str:
    if not isinstance(url, str) or not url.strip():
        raise fail('url is missing (e.g. url = "http://127.0.0.1:9200/my-index/_search")')
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise fail(f"url must start with http:// or https://, got {url[:80]!r}", "url")
    if not parts.hostname:
        raise fail(f"url has no host: {url[:80]!r}", "url")
    if parts.username or parts.password:
        raise fail(
            "url holds a user name or password, which would be stored: put credentials in a "
            'header that names an environment variable, e.g. Authorization = "Basic ${ES_AUTH}"',
            "url",
        )
    if "{{" in url or "${" in url:
        raise fail("url cannot hold templates: put {{query}} in [params] or the body", "url")
    return url


def _swap(node: Any, values: Mapping[str, Any]) -> Any:
    """A JSON structure with every string value found in `values` replaced by its value there."""
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, list):
        return [_swap(v, values) for v in node]
    if isinstance(node, dict):
        return {key: _swap(v, values) for key, v in node.items()}
    return node


def _parse_body(body: Any, fail) -> Any:
    if isinstance(body, dict):
        parsed = _swap(body, _SENTINEL)  # a TOML table: "{{query}}" values
    elif isinstance(body, str):
        _check_json_placeholders(body, fail)
        text = body
        for token, sentinel in _SENTINEL.items():
            quoted = json.dumps(sentinel)
            text = text.replace(f'"{token}"', quoted).replace(token, quoted)
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(
                f"body is not a JSON template ({exc.msg} at character {exc.pos}); write "
                '{{query}} and {{k}} as whole values: {"query": {"match": {"text": {{query}}}}, '
                '"size": {{k}}}',
                "body",
            ) from None
    else:
        raise fail("body must be a JSON template (a string) or a TOML table", "body")
    _check_whole_values(parsed, fail)
    return parsed


def _check_json_placeholders(text: str, fail) -> None:
    """Refuse a placeholder inside a JSON string of a body template ("title:{{query}}"): only
    a whole value ({{query}} or "{{query}}") is filled in, as a JSON string."""
    in_string, start, i = False, 0, 0
    while i < len(text):
        ch = text[i]
        if in_string and ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_string, start = not in_string, i
        elif ch == "{" and (m := _PLACEHOLDER.match(text, i)):
            end = m.end()
            whole = start == i - 1 and text[end : end + 1] == '"'
            if in_string and not whole:
                raise fail(
                    '{{query}} and {{k}} must be whole JSON values in the body ("query": '
                    "{{query}}), never part of a longer string: the text would be pasted into "
                    "the query language",
                    "body",
                )
            i = end
            continue
        i += 1


def _check_whole_values(node: Any, fail) -> None:
    if isinstance(node, str):
        inside = "\x00rl:" in node or _PLACEHOLDER.search(node)
        if inside and node not in _SENTINEL.values():
            raise fail(
                '{{query}} and {{k}} must be whole JSON values in the body ("query": '
                "{{query}}), never part of a longer string: the text would be pasted into "
                "the query language",
                "body",
            )
    elif isinstance(node, list):
        for v in node:
            _check_whole_values(v, fail)
    elif isinstance(node, dict):
        for key, v in node.items():
            if "\x00rl:" in key:
                raise fail("{{query}} and {{k}} cannot be keys of the body", "body")
            _check_whole_values(v, fail)


def _holds(params: Mapping[str, str], body: Any, token: str) -> bool:
    if any(token in v for v in params.values()):
        return True
    sentinel = _SENTINEL[token]

    def found(node: Any) -> bool:
        if isinstance(node, list):
            return any(found(v) for v in node)
        if isinstance(node, dict):
            return any(found(v) for v in node.values())
        return node == sentinel

    return found(body)


def _parse_headers(given: object, fail) -> dict[str, str]:
    if not isinstance(given, dict):
        raise fail('headers must be a table of Name = "value"', "headers")
    out: dict[str, str] = {}
    for key, value in given.items():
        if not isinstance(value, str):
            raise fail(f"header {key} must be a string", key)
        if "\n" in value or "\r" in value:
            raise fail(f"header {key} cannot hold a line break", key)
        if _SECRET_HEADER.search(key) and not _ENV.search(value):
            raise fail(
                f"header {key} holds a literal credential, which would be stored on disk: "
                f'name an environment variable instead, e.g. {key} = "Bearer ${{SEARCH_KEY}}"',
                key,
            )
        out[str(key)] = value
    return out


def _parse_response(base: Mapping[str, str], given: object, fail) -> ResponseMap:
    if not isinstance(given, dict):
        raise fail("[response] must be a table of JMESPath expressions", "response")
    unknown = sorted(set(given) - set(RESPONSE_KEYS))
    if unknown:
        raise fail(
            f"unknown key response.{unknown[0]}; expected some of: {', '.join(RESPONSE_KEYS)}",
            unknown[0],
        )
    merged = {**base, **given}
    for key in ("hits", "id"):
        if not str(merged.get(key, "")).strip():
            raise fail(
                f"response.{key} is missing: a JMESPath expression for the {key} "
                '(e.g. hits = "results", id = "doc_id")',
                "response",
            )
    for key in RESPONSE_KEYS:
        value = merged.get(key, "")
        if not isinstance(value, str):
            raise fail(f"response.{key} must be a string", key)
        if value and key != "id_after":
            try:
                jmespath.compile(value)
            except JMESPathError as exc:
                message = " ".join(str(exc).split())
                raise fail(f"response.{key} is not a JMESPath expression: {message}", key) from None
    return ResponseMap(**{k: str(merged.get(k, "")) for k in RESPONSE_KEYS})
