"""A real HTTP server on 127.0.0.1 that answers like Elasticsearch 8, OpenSearch 2, Solr 9 and
Vespa 8 (the response shapes their documentation shows), like a home-made JSON API, and badly
(slow, 429 with Retry-After, 500, not JSON, the wrong shape). It records every request.

Shapes, as documented:
- Elasticsearch 8 `_search`: {"took", "timed_out", "_shards": {...}, "hits": {"total": {"value",
  "relation"}, "max_score", "hits": [{"_index", "_id", "_score", "_source": {...}}]}}
- OpenSearch 2 `_search`: the same, with "skipped" in _shards and no _type
- Solr 9 `select` (wt=json): {"responseHeader": {"status", "QTime", "params"}, "response":
  {"numFound", "start", "maxScore", "numFoundExact", "docs": [{"id", "score", fields...}]}}
  (text fields of the default schema are multi-valued: lists of strings)
- Vespa 8 `search/`: {"root": {"id": "toplevel", "relevance", "fields": {"totalCount"},
  "coverage": {...}, "children": [{"id": "id:ns:doctype::ID", "relevance", "source", "fields":
  {"sddocname", "documentid", ...}}]}}; `children` is absent when nothing matched
"""

from __future__ import annotations

import json
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .local_http import QuietHandler

# the engine's own documents: some are the corpus's, some (ext-*) the corpus lacks
ENGINE_DOCS = [
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("py", "Py", "Python lists are mutable sequences you can sort."),
    ("ext-1", "Oolong", "Oolong tea is partly oxidised, darker than most."),
    ("ext-2", "", "Matcha is powdered green tea whisked with hot water in a bowl until frothy."),
]


def matches(query: str) -> list[tuple[str, str, str, float]]:
    """The engine's documents sharing a word with the query, best first (a toy scorer)."""
    words = {w.strip(".,?!\"'{}").lower() for w in query.split()} - {""}
    out = []
    for doc_id, title, text in ENGINE_DOCS:
        body = {w.strip(".,?!").lower() for w in f"{title} {text}".split()}
        score = len(words & body)
        if score:
            out.append((doc_id, title, text, round(score + 1.0 / (1 + len(body)), 6)))
    return sorted(out, key=lambda d: -d[3])


class Engine:
    """The server and what it saw."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_first = 0  # /flaky: how many 429s before answering
        self.delay = 0.0  # seconds every answer waits (for concurrency checks)
        self.ids: list[str] | None = None  # /ids: answer with exactly these ids
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Engine:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)

    def _handler(self):
        engine = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                record = {
                    "path": parts.path,
                    "method": self.command,
                    "params": params,
                    "body": body,
                    "headers": dict(self.headers),
                    "time": time.monotonic(),
                }
                with engine.lock:
                    engine.requests.append(record)
                    engine.in_flight += 1
                    engine.max_in_flight = max(engine.max_in_flight, engine.in_flight)
                try:
                    if engine.delay:
                        time.sleep(engine.delay)
                    self._route(parts.path, params, body)
                finally:
                    with engine.lock:
                        engine.in_flight -= 1

            def _route(self, path: str, params: dict, body) -> None:
                if path.endswith("/_search"):
                    flavour = "opensearch" if path.startswith("/os") else "elasticsearch"
                    query = body["query"]["multi_match"]["query"]
                    return self.send_json(200, es_answer(query, int(body["size"]), flavour))
                if path == "/solr/docs/select":
                    return self.send_json(
                        200, solr_answer(params["q"], int(params["rows"]), params)
                    )
                if path == "/vespa/search/":
                    return self.send_json(200, vespa_answer(body["query"], int(body["hits"])))
                if path == "/api/search":
                    found = matches(body["q"])[: int(body["limit"])]
                    return self.send_json(
                        200,
                        {
                            "data": {
                                "results": [
                                    {"doc": {"key": d, "name": t, "body": x}, "relevance": s}
                                    for d, t, x, s in found
                                ]
                            }
                        },
                    )
                if path == "/ids":
                    hits = [
                        {"_id": d, "_score": 10.0 - i, "_source": {}}
                        for i, d in enumerate(engine.ids or [])
                    ]
                    return self.send_json(200, {"hits": {"hits": hits}})
                if path == "/slow":
                    time.sleep(1.5)
                    return self.send_json(200, es_answer("tea", 10, "elasticsearch"))
                if path == "/flaky":
                    with engine.lock:
                        fail = engine.fail_first > 0
                        engine.fail_first -= 1
                    if fail:
                        return self.send_json(
                            429, {"error": "too many requests"}, {"Retry-After": "1"}
                        )
                    return self.send_json(200, es_answer(body["query"]["multi_match"]["query"], 10))
                if path == "/drop":  # closes the connection without an answer, at first
                    with engine.lock:
                        drop = engine.fail_first > 0
                        engine.fail_first -= 1
                    if drop:
                        self.close_connection = True
                        return None
                    return self.send_json(200, es_answer(body["query"]["multi_match"]["query"], 10))
                if path == "/failsome":  # 500 for queries holding "bad"
                    query = body["query"]["multi_match"]["query"]
                    if "bad" in query:
                        return self.send_json(500, {"error": "internal"})
                    return self.send_json(200, es_answer(query, int(body["size"])))
                if path == "/always500":
                    return self.send_json(500, {"error": "internal"})
                if path == "/echo":  # a server that puts the Authorization header in its error
                    return self.send_json(
                        500, {"error": f"bad {self.headers.get('Authorization')}"}
                    )
                if path == "/notjson":
                    return self.send_json(200, b"<html>gateway</html>")
                if path == "/wrongshape":
                    return self.send_json(200, {"hits": {"total": {"value": 0, "relation": "eq"}}})
                if path == "/noid":
                    return self.send_json(200, {"hits": {"hits": [{"_score": 1.0, "_source": {}}]}})
                return self.send_json(404, {"error": "no such path"})

        return Handler


def es_answer(query: str, size: int, flavour: str = "elasticsearch") -> dict:
    found = matches(query)[:size]
    shards = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
    return {
        "took": 5,
        "timed_out": False,
        "_shards": shards,
        "hits": {
            "total": {"value": len(found), "relation": "eq"},
            "max_score": found[0][3] if found else None,
            "hits": [
                {
                    "_index": "docs" if flavour == "elasticsearch" else "docs-os",
                    "_id": d,
                    "_score": s,
                    "_source": {"title": t, "text": x},
                }
                for d, t, x, s in found
            ],
        },
    }


def solr_answer(query: str, rows: int, params: dict) -> dict:
    found = matches(query)[:rows]
    return {
        "responseHeader": {"status": 0, "QTime": 1, "params": params},
        "response": {
            "numFound": len(found),
            "start": 0,
            "maxScore": found[0][3] if found else 0.0,
            "numFoundExact": True,
            "docs": [
                {"id": d, "title": [t] if t else [], "text": [x], "score": s}
                for d, t, x, s in found
            ],
        },
    }


def vespa_answer(query: str, hits: int) -> dict:
    found = matches(query)[:hits]
    root: dict = {
        "id": "toplevel",
        "relevance": 1.0,
        "fields": {"totalCount": len(found)},
        "coverage": {
            "coverage": 100,
            "documents": len(ENGINE_DOCS),
            "full": True,
            "nodes": 1,
            "results": 1,
            "resultsFull": 1,
        },
    }
    if found:
        root["children"] = [
            {
                "id": f"id:mynamespace:doc::{d}",
                "relevance": s,
                "source": "content",
                "fields": {
                    "sddocname": "doc",
                    "documentid": f"id:mynamespace:doc::{d}",
                    "title": t,
                    "text": x,
                },
            }
            for d, t, x, s in found
        ]
    return {"root": root}
