"""HTTP stubs on 127.0.0.1 for the tests: a request handler served from a thread of its own, JSON
replies, and the proxy variables cleared so that a request to 127.0.0.1 never goes to a proxy."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def clear_proxies(monkeypatch) -> None:
    """Unset every proxy variable for the test (monkeypatch puts them back afterwards)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing and answers JSON (a dict, a str or bytes as they are)."""

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def send_json(self, status: int, body: object, headers: dict | None = None) -> None:
        if isinstance(body, bytes):
            data = body
        else:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first
            pass

    def read_json(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))


def chat_reply(content: str, usage: dict | None = None) -> dict:
    """A chat-completions answer holding one assistant message."""
    reply: dict = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    if usage is not None:
        reply["usage"] = usage
    return reply


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], path: str = "") -> Iterator[str]:
    """Serve `handler` on a free port of 127.0.0.1; yields its URL (with `path` added), and stops
    the server and its thread on the way out."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
