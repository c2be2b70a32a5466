"""The local LLM judge (llama.cpp's server with SmolLM2-135M-Instruct) on a Cranfield pool: pairs per
minute, unparseable replies with and without structured output, weighted kappa against the labels.

    .venv/bin/python bench/llm_judge_local.py [--queries 20] [--per-query 2] [--seed 0] [--json F]

Needs scripts/setup.sh --judge (starts its own server on a free port) and ../shared/datasets/
cranfield. Pool: --queries judged queries (seeded shuffle); for each, --per-query - 1 of its judged
documents (any grade) and one document it has no label for (grade 0, as in evaluation); each
passage is the document's title and abstract cut to --chars characters. Each mode judges the same
pool with an empty cache: structured (auto: JSON schema, falling back to what the server takes)
and text (UMBRELA's `##final score`). The ratio: the judge's seconds per pair against raw httpx
POSTs (not streamed, same prompt and reply limit) on the first --raw pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sklearn.metrics import cohen_kappa_score  # noqa: E402

from ranklens.llm import local_server as local_judge  # noqa: E402
from ranklens.llm.judge import DEFAULT_MAX_TOKENS, LLMConfig, LLMJudge, ReplyCache  # noqa: E402
from ranklens.llm.prompt import Prompt  # noqa: E402
from ranklens.llm.reports import JudgePair  # noqa: E402
from ranklens.scale import Scale  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "cranfield"


def read_jsonl(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as f:
        return {r["_id"]: r for r in map(json.loads, f)}


def cranfield_pool(n_queries: int, per_query: int, seed: int, chars: int):
    docs = read_jsonl(DATA / "corpus.jsonl")
    queries = read_jsonl(DATA / "queries.jsonl")
    labels: dict[str, dict[str, int]] = {}
    with (DATA / "qrels" / "test.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, g = line.split("\t")
            labels.setdefault(q, {})[d] = max(0, int(g))
    rng = random.Random(seed)
    qids = sorted((q for q in labels if q in queries), key=int)
    rng.shuffle(qids)
    pairs, truth = [], {}
    doc_ids = sorted(docs, key=int)
    for q in qids[:n_queries]:
        judged = sorted(labels[q], key=int)
        rng.shuffle(judged)
        chosen = judged[: per_query - 1]
        other = rng.choice([d for d in doc_ids if d not in labels[q]])
        for d in [*chosen, other]:
            text = f"{docs[d].get('title', '')}\n{docs[d]['text']}"[:chars]
            pairs.append(JudgePair(q, queries[q]["text"], f"{d}#0", d, text))
            truth[(q, d)] = labels[q].get(d, 0)
    return pairs, truth


def run_mode(url: str, model: str, pairs, structured: str, concurrency: int) -> dict:
    cfg = LLMConfig(
        url=url,
        model=model,
        structured=structured,
        concurrency=concurrency,
        timeout_s=180,
        first_token_timeout_s=150,
    )
    scale = Scale.of(5)  # Cranfield's 0-4
    with LLMJudge(cfg, scale, Prompt(), cache=ReplyCache()) as judge:
        report = judge.judge(pairs)
    return {"report": report, "structured": structured}


def raw_seconds(url: str, model: str, pairs) -> float:
    """Seconds per pair of plain httpx POSTs (text prompt, same reply limit, not streamed)."""
    start = time.perf_counter()
    with httpx.Client(timeout=300) as client:
        for p in pairs:
            r = client.post(
                url + "/chat/completions",
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": Prompt().render(p.query, p.passage)}],
                    "temperature": 0,
                    "max_tokens": DEFAULT_MAX_TOKENS,
                },
            )
            r.raise_for_status()
    return (time.perf_counter() - start) / len(pairs)


def summarise(out: dict, truth: dict) -> dict:
    report = out["report"]
    human, judged = [], []
    for j in report.graded:
        human.append(truth[(j.pair.query_id, j.pair.doc_id)])
        judged.append(j.grade)
    kappa = (
        float(cohen_kappa_score(human, judged, labels=[0, 1, 2, 3, 4], weights="linear"))
        if len(set(human) | set(judged)) > 1
        else None
    )
    n = report.total
    return {
        "mode": out["structured"],
        "modes_used": report.modes,
        "refused": list(report.refused_modes),
        "pairs": n,
        "graded": len(report.graded),
        "unparseable": len(report.unparseable),
        "unparseable_share": round(len(report.unparseable) / n, 3) if n else None,
        "failed": len(report.failed),
        "seconds": round(report.seconds, 1),
        "pairs_per_minute": round(60 * n / report.seconds, 2) if report.seconds else None,
        "kappa_linear_vs_cranfield": None if kappa is None else round(kappa, 3),
        "gave_up": report.gave_up,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--per-query", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chars", type=int, default=600)
    ap.add_argument("--raw", type=int, default=5, help="pairs for the raw httpx baseline")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--modes", nargs="+", default=["auto", "text"])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    why = local_judge.missing()
    if why:
        print(f"skipped: {why}", file=sys.stderr)
        return 0
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    pairs, truth = cranfield_pool(args.queries, args.per_query, args.seed, args.chars)
    results = {"load_before": os.getloadavg(), "pool_pairs": len(pairs), "modes": []}
    with local_judge.LocalJudge(threads=2) as server:
        if args.raw:
            raw = raw_seconds(server.url, server.model, pairs[: args.raw])
            results["raw_httpx_seconds_per_pair"] = round(raw, 2)
            print(json.dumps({"raw_httpx_seconds_per_pair": round(raw, 2)}), flush=True)
        for mode in args.modes:
            summary = summarise(
                run_mode(server.url, server.model, pairs, mode, args.concurrency), truth
            )
            results["modes"].append(summary)
            print(json.dumps({**summary, "load": os.getloadavg()}), flush=True)
        if args.raw:
            sub = run_mode(server.url, server.model, pairs[: args.raw], "text", 1)["report"]
            judge_s = sub.seconds / max(1, sub.total)
            results["judge_text_seconds_per_pair_same_pairs"] = round(judge_s, 2)
            results["ratio_judge_to_raw"] = round(judge_s / raw, 2) if raw else None
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
