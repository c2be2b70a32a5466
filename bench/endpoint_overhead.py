"""Benchmark: what `endpoint:NAME` adds per query over the bare HTTP call to the same server.

A local server on 127.0.0.1 (its own process) answers every query in Elasticsearch 8's shape (k hits with _source
title and text; some ids are the corpus's, some not). Per query, one at a time, after warm-up:

  bare      httpx.Client.post (kept-alive connection) + response.json(): the raw library call
  cold      EndpointRanker.rank for a query never asked: request, mapping, cache write, the
            texts of documents the corpus lacks kept aside, Hit records
  cached    the same queries again: answered from the SQLite cache, no request
  rank_all  rankers.rank_all at document level, cached (what the Search page and pools call)

then the pieces of the cold path besides the request, timed alone on one stored answer: the
JMESPath mapping, the cache write, keeping the texts of documents the corpus lacks (already
kept: no store access; never returned before: one durable write to external_docs per rank()
call, whatever the number of queries).

Prints medians and p95 in ms, the ratios to bare, the overhead in ms, and the load average.
The machine is shared: other load shows in the load average.

    .venv/bin/python bench/endpoint_overhead.py [--queries 200] [--k 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TEXT = "Sourdough bread rises with wild yeast and lactic acid bacteria over a long, cool night. "


def serve(k_docs: int) -> ThreadingHTTPServer:
    """An Elasticsearch-shaped answer with k_docs hits (half of them in the corpus)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real engine
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms ACK wait)

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            size = min(int(body["size"]), k_docs)
            hits = [
                {
                    "_index": "docs",
                    "_id": f"d{i}" if i % 2 == 0 else f"ext-{i}",
                    "_score": float(size - i),
                    "_source": {"title": f"Document {i}", "text": TEXT * 3},
                }
                for i in range(size)
            ]
            data = json.dumps(
                {
                    "took": 1,
                    "timed_out": False,
                    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                    "hits": {
                        "total": {"value": size, "relation": "eq"},
                        "max_score": float(size),
                        "hits": hits,
                    },
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def start_server(k_docs: int) -> tuple[subprocess.Popen, int]:
    """The server in its own process (its threads do not contend for this process's GIL)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(k_docs)], stdout=subprocess.PIPE, text=True
    )
    return proc, int(proc.stdout.readline())


def stats(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    args = ap.parse_args()
    if args.serve:
        server = serve(args.serve)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        return
    tmp = tempfile.mkdtemp(prefix="rl-bench-endpoint-")
    os.environ["RANKLENS_HOME"] = tmp
    import httpx

    from ranklens.config import get_settings
    from ranklens.corpus.ingest import ingest
    from ranklens.ranking import rankers
    from ranklens.ranking.endpoints import EndpointRanker, EndpointStore, parse_spec
    from ranklens.types import Query

    docs = Path(tmp) / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"_id": f"d{i}", "title": f"D{i}", "text": TEXT}) + "\n" for i in range(200)
        )
    )
    corpus = ingest(docs, "bench", ["bm25"], get_settings())
    proc, port = start_server(args.k)
    url = f"http://127.0.0.1:{port}/docs/_search"
    spec = parse_spec(f'preset = "elasticsearch"\nurl = "{url}"\nmax_k = {args.k}', "bench")
    EndpointStore(corpus.dir, corpus.name).add("bench", spec)
    ranker = EndpointRanker(corpus, "bench")
    queries = [Query(f"q{i}", f"wild yeast bread number {i}") for i in range(args.queries)]
    load_before = os.getloadavg()

    client = httpx.Client(timeout=10)
    for q in queries[:20]:  # warm-up: connections, imports, SQLite pages
        client.post(url, json=spec.render_body(q.text + " warm", args.k)).json()
        ranker.rank([Query("w", q.text + " warm")], args.k)

    bare, cold, cached, ranked = [], [], [], []
    # interleaved, query by query, so that the shared machine's load weighs on each path alike
    for q in queries:
        t0 = time.perf_counter()
        client.post(url, json=spec.render_body(q.text, args.k)).json()
        bare.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ranker.rank([q], args.k)
        cold.append((time.perf_counter() - t0) * 1000)
        assert ranker.fetched == 1
        t0 = time.perf_counter()
        ranker.rank([q], args.k)
        cached.append((time.perf_counter() - t0) * 1000)
        assert ranker.cached == 1
        t0 = time.perf_counter()
        rankers.rank_all([ranker], [q], args.k, level="doc")
        ranked.append((time.perf_counter() - t0) * 1000)
    # the pieces of the cold path that are not the request, on one stored answer
    from ranklens.ranking.endpoints.client import parse_hits

    data = client.post(url, json=spec.render_body("pieces", args.k)).json()
    pieces: dict[str, list[float]] = {
        "map": [],
        "cache write": [],
        "external texts (seen)": [],
        "external texts (new)": [],
    }
    for i in range(args.queries):
        t0 = time.perf_counter()
        hits = parse_hits(spec, "bench", data)
        pieces["map"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ranker.store.put(spec.hash, f"pieces {i}", args.k, hits)
        pieces["cache write"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        ranker._keep_texts(hits)
        pieces["external texts (seen)"].append((time.perf_counter() - t0) * 1000)
        new = [h._replace(id=f"{h.id}-new-{i}") for h in hits]  # never returned before
        t0 = time.perf_counter()
        ranker._keep_texts(new)
        pieces["external texts (new)"].append((time.perf_counter() - t0) * 1000)
    load_after = os.getloadavg()
    client.close()
    proc.terminate()
    proc.wait(10)

    b50, b95 = stats(bare)
    print(f"endpoint overhead, {args.queries} queries, k={args.k}, one at a time (ms)")
    print(f"{'path':<10} {'p50':>8} {'p95':>8} {'p50/bare':>9} {'p50-bare':>9}")
    for name, times in (("bare", bare), ("cold", cold), ("cached", cached), ("rank_all", ranked)):
        p50, p95 = stats(times)
        print(f"{name:<10} {p50:8.3f} {p95:8.3f} {p50 / b50:9.2f} {p50 - b50:9.3f}")
    print(
        "pieces of the cold path besides the request (p50 ms): "
        + ", ".join(f"{name} {statistics.median(times):.3f}" for name, times in pieces.items())
    )
    print(
        "load average (1, 5, 15 min): before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after)
        + f"; cores: {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
