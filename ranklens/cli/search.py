"""CLI commands `search` (one query, rankers side by side) and `run` (TREC run files per ranker).

Bad input (empty query, unknown ranker, model not indexed, k out of range) raises a
RankLensError, which ranklens.cli.main prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ranklens.cli import options
from ranklens.config import get_settings
from ranklens.corpus import external_docs, index
from ranklens.corpus.trec_files import write_run_files
from ranklens.errors import InputError, RankLensError
from ranklens.ranking import imported_runs, rankers
from ranklens.ranking.recipes import default_rankers, rank_corpus
from ranklens.types import Query, check_level


def _set_query(corpus: index.Corpus, query_set: str | None, query_id: str | None) -> Query:
    if not query_set or not query_id:
        raise RankLensError("give --query TEXT, or --queries SET with --query-id ID")
    queries = options.resolve_queries(corpus, query_set)[1]
    for q in queries:
        if q.query_id == query_id:
            return q
    raise InputError(query_set, f"no query id {query_id!r} in the query set")


def _origin(p) -> str:
    if p is None:
        return "missing"  # the corpus lacks it and no system gave text for it
    return p.source if external_docs.is_external(p) else "corpus"


def cmd_search(args: argparse.Namespace) -> int:
    text = (args.query or "").strip()
    if args.query is not None and not text:
        raise RankLensError("the query is empty: give --query TEXT")
    rankers.check_k(args.k)
    level = check_level(args.level)
    corpus = index.open_corpus(args.corpus, get_settings())
    query = Query("q", text) if text else _set_query(corpus, args.queries, args.query_id)
    qid = query.query_id
    result = _rank(corpus, args.rankers, [query], args.k, level)
    hits = [h for run in result.runs.values() for h in run.get(qid, [])]
    passages = external_docs.passages_for(corpus, sorted({h.passage_id for h in hits}))
    out = {
        "corpus": corpus.name,
        "query": query.text,
        **({} if text else {"query_id": qid}),
        "k": args.k,
        "level": level,
        "rankers": {
            name: {
                "latency_ms": round(result.latency_ms[name], 2),
                "hits": [
                    {
                        "rank": h.rank,
                        "doc_id": h.doc_id,
                        "passage_id": h.passage_id,
                        "score": h.score,
                        "title": p.title if (p := passages.get(h.passage_id)) else "",
                        "text": p.text if p else "",
                        "from": _origin(p),
                    }
                    for h in run.get(qid, [])
                ],
                "note": None if run.get(qid) else imported_runs.empty_note(corpus, name),
            }
            for name, run in result.runs.items()
        },
    }
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for name, block in out["rankers"].items():
        print(f"== {name}  ({block['latency_ms']:.1f} ms, {len(block['hits'])} hits)")
        if block.get("note"):
            print(f"   {block['note']}")
        for h in block["hits"]:
            if h["from"] == "missing":
                print(f"{h['rank']:>4}  {h['score']:9.4f}  {h['passage_id']}  (not in the corpus)")
                continue
            if h["from"] != "corpus":
                h["title"] = f"[not in the corpus, text from {h['from']}] {h['title']}".strip()
            snippet = " ".join(h["text"].split())
            snippet = snippet[:90] + ("…" if len(snippet) > 90 else "")
            title = f"{h['title']}: " if h["title"] else ""
            print(f"{h['rank']:>4}  {h['score']:9.4f}  {h['passage_id']}  {title}{snippet}")
        print()
    return 0


def _rank(
    corpus: index.Corpus, specs: list[str] | None, queries: list[Query], k: int, level: str
) -> rankers.RankedRuns:
    return rank_corpus(corpus, specs or default_rankers(corpus), queries, k, level)


def cmd_run(args: argparse.Namespace) -> int:
    rankers.check_k(args.k)
    level = check_level(args.level)
    corpus = index.open_corpus(args.corpus, get_settings())
    queries = options.resolve_queries(corpus, args.queries)[1]
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise RankLensError(f"{out_dir} exists and is not a folder")
    result = _rank(corpus, args.rankers, queries, args.k, level)
    runs = result.runs
    try:
        written = write_run_files(runs, out_dir, level)
    except OSError as exc:
        raise RankLensError(f"cannot write run files in {out_dir}: {exc}") from None
    for target, (name, run) in zip(written, runs.items(), strict=True):
        per_query = result.latency_ms[name] / max(1, len(queries))
        print(f"{target}\t{name}\t{len(run)} queries\t{per_query:.1f} ms/query")
    return 0


def add_commands(subparsers) -> None:
    """Add `search` and `run` to the CLI's subparsers."""
    recipe_help = (
        "ranker recipes separated by spaces: bm25, a dense model indexed for the corpus, "
        "rrf(A,B[,k=60]), wsum(A:0.3,B:0.7), rerank(A,ms-marco-MiniLM-L-12-v2,50); default: the "
        "corpus's first two indexes and their fusion, as on the pages"
    )
    p = subparsers.add_parser("search", help="rank one query with several rankers side by side")
    p.add_argument("--corpus", required=True)
    p.add_argument("--query", help="the query text")
    p.add_argument(
        "--queries", help="with --query-id: a query set's name (or a queries file) to take it from"
    )
    p.add_argument("--query-id", help="the id of the query in --queries to rank")
    p.add_argument("--rankers", nargs="+", metavar="RANKER", help=recipe_help)
    p.add_argument("--k", type=int, default=10, help=f"hits per ranker, 1-{rankers.MAX_K}")
    options.add_level_option(
        p,
        help="passage: k passages (default); doc (or document): k documents, each by its best "
        "passage",
        default="passage",
    )
    p.add_argument("--json", action="store_true", help="print JSON: per ranker, its hits")
    p.set_defaults(func=cmd_search)

    p = subparsers.add_parser("run", help="write one TREC run file per ranker for a query set")
    p.add_argument("--corpus", required=True)
    p.add_argument(
        "--queries", required=True, help="a queries file (JSONL or TSV) or a query set's name"
    )
    p.add_argument("--rankers", nargs="+", metavar="RANKER", help=recipe_help)
    p.add_argument("--k", type=int, default=100, help=f"hits per query, 1-{rankers.MAX_K}")
    p.add_argument("--out", required=True, help="folder for the run files")
    options.add_level_option(
        p, help="doc (or document): best passage per document (default); passage: passage ids"
    )
    p.set_defaults(func=cmd_run)
