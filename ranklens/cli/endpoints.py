"""CLI commands `endpoints add|list|show|test|refresh|delete`: live search endpoints of a corpus,
ranked as `endpoint:NAME` beside its models (ranklens.ranking.endpoints does the work).
"""

from __future__ import annotations

import argparse

from ranklens.cli import options
from ranklens.cli.common import print_json
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.ranking.endpoints import EndpointRanker, EndpointStore, fetch, read_spec
from ranklens.ranking.endpoints.ranker import test_rows
from ranklens.ranking.endpoints.registry import store_of
from ranklens.ranking.rankers import check_k


def _store(args: argparse.Namespace) -> tuple[index.Corpus, EndpointStore]:
    corpus = index.open_corpus(args.corpus, get_settings())
    return corpus, store_of(corpus)


def cmd_add(args: argparse.Namespace) -> int:
    corpus, store = _store(args)
    spec = read_spec(args.config)
    store.add(args.name, spec, replace=args.replace)
    print(
        f"endpoint:{args.name} added to corpus {corpus.name} ({spec.preset}, {spec.url}, "
        f"configuration {spec.hash})"
    )
    if spec.env_names():
        print(f"its headers read {', '.join(spec.env_names())} from the environment per request")
    print(
        f"try it: python -m ranklens endpoints test {args.name} --corpus {corpus.name} --query TEXT"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    corpus, store = _store(args)
    rows = store.summaries()
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"corpus {corpus.name} has no endpoints")
        return 0
    for r in rows:
        print(
            f"{r['ranker']}\t{r['preset']}\t{r['url']}\tconfiguration {r['hash']}\t"
            f"{r['cached_queries']} queries cached"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    _, store = _store(args)
    spec = store.get(args.name)
    summary = next(r for r in store.summaries() if r["name"] == args.name)
    print_json(
        {
            **summary,
            "method": spec.method,
            "params": spec.params,
            "body": spec.body_template(),
            "headers": spec.headers,  # as written: ${VAR} names, never their values
            "response": spec.response.__dict__,
            "timeout_s": spec.timeout_s,
            "rate_limit": spec.rate_limit,
            "concurrency": spec.concurrency,
            "retries": spec.retries,
            "max_k": spec.max_k,
        }
    )
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """Ask the endpoint now (never the cache) and print the hits as the mapping reads them."""
    text = (args.query or "").strip()
    if not text:
        raise RankLensError("the query is empty: give --query TEXT")
    k = check_k(args.k)
    corpus, store = _store(args)
    if args.config:
        spec, who = read_spec(args.config), "endpoint (from --config)"
    elif args.name:
        spec, who = store.get(args.name), f"endpoint:{args.name}"
    else:
        raise RankLensError("name an endpoint (endpoints test NAME) or give --config FILE.toml")
    hits = fetch(spec, who, text, min(k, spec.max_k))
    rows = test_rows(corpus, hits)
    if args.json:
        print_json({"endpoint": who, "query": text, "hits": rows})
        return 0
    lacking = sum(not r["in_corpus"] for r in rows)
    print(f"== {who}: {len(rows)} hits ({lacking} not in corpus {corpus.name})")
    for r in rows:
        snippet = " ".join(r["text"].split())
        snippet = snippet[:80] + ("…" if len(snippet) > 80 else "")
        title = f"{r['title']}: " if r["title"] else ""
        where = "" if r["in_corpus"] else "  [not in the corpus]"
        print(f"{r['rank']:>4}  {r['score']:9.4f}  {r['id']}{where}  {title}{snippet}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Ask the engine again for every query of a set (bypassing the cache) and cache that."""
    k = check_k(args.k)
    corpus, _ = _store(args)
    ranker = EndpointRanker(corpus, args.name, refresh=True)
    queries = options.resolve_queries(corpus, args.queries)[1]
    ranker.answers([q.text for q in queries], ranker.spec.request_size(k))
    print(f"endpoint:{args.name}: {ranker.fetched} queries asked again and cached")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    corpus, store = _store(args)
    removed = store.delete(args.name)
    print(
        f"deleted endpoint:{args.name} of corpus {corpus.name} ({removed} cached answers and "
        "the texts it returned)"
    )
    return 0


def add_commands(subparsers) -> None:
    """Add `endpoints ...` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "endpoints", help="live search endpoints (Elasticsearch, OpenSearch, Solr, Vespa, JSON)"
    )
    sub = p.add_subparsers(dest="endpoints_command", required=True, metavar="COMMAND")

    a = sub.add_parser("add", help="add (or --replace) an endpoint from a TOML file")
    a.add_argument("name", help="ranked as endpoint:NAME")
    a.add_argument("--corpus", required=True)
    a.add_argument("--config", required=True, help="the endpoint's configuration (TOML)")
    a.add_argument("--replace", action="store_true", help="replace an endpoint of that name")
    a.set_defaults(func=cmd_add)

    a = sub.add_parser("list", help="the corpus's endpoints")
    a.add_argument("--corpus", required=True)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_list)

    a = sub.add_parser("show", help="one endpoint's configuration (no secret values)")
    a.add_argument("name")
    a.add_argument("--corpus", required=True)
    a.set_defaults(func=cmd_show)

    a = sub.add_parser("test", help="ask the endpoint now and print the hits it maps")
    a.add_argument("name", nargs="?", help="a stored endpoint (or give --config)")
    a.add_argument("--corpus", required=True)
    a.add_argument("--config", help="try a TOML file before adding it")
    a.add_argument("--query", required=True)
    a.add_argument("--k", type=int, default=10)
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_test)

    a = sub.add_parser(
        "refresh", help="ask the engine again for a query set's queries (the cache is replaced)"
    )
    a.add_argument("name")
    a.add_argument("--corpus", required=True)
    a.add_argument("--queries", required=True, help="a query set's name or a queries file")
    a.add_argument("--k", type=int, default=100, help="hits wanted per query (as evaluated)")
    a.set_defaults(func=cmd_refresh)

    a = sub.add_parser("delete", help="remove an endpoint, its cached answers and texts")
    a.add_argument("name")
    a.add_argument("--corpus", required=True)
    a.set_defaults(func=cmd_delete)
