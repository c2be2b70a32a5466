"""An LLM judge calibrated on Cranfield's labels (../shared/datasets/cranfield): weighted kappa on
held-out queries without and with few-shot examples from the other queries, pairs per minute.

    .venv/bin/python bench/calibrate_cranfield.py --url http://127.0.0.1:PORT/v1 --model smollm2 \
        [--home DIR] [--queries 20] [--examples 6] [--seed 0] [--max-tokens 64] \
        [--structured auto|json|text]

Method: the corpus is ingested once (BM25 and all-MiniLM-L6-v2, one passage per document); a query
set of the first --queries judged queries (in id order) is added; Cranfield's judgments of those
queries are imported into the judgment store as the labels of "cranfield" (scale 0-4). Then
ranklens.judges.calibration.calibrate (what `judgments calibrate` runs) splits the queries by the
seed, takes the examples from the calibration half and judges every labelled pair of the held-out
half with UMBRELA's prompt without and with them; Kendall's tau compares the order of BM25,
MiniLM and their RRF by nDCG@10. The endpoint is any OpenAI-compatible server (scripts/
local-judge.sh starts llama.cpp's with SmolLM2-135M-Instruct); --max-tokens caps each reply;
--structured picks the reply mode as `judgments suggest --structured` does (auto: JSON schema, the
text prompt where refused; json; text).
Prints the report, seconds and pairs per minute per arm, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cranfield_corpus import DATA, ensure_corpus  # noqa: E402
from ranklens.config import get_settings  # noqa: E402
from ranklens.judges import calibration as cal  # noqa: E402
from ranklens.judging import JudgmentStore, Scale, pooling  # noqa: E402
from ranklens.judging.rules import natural_key  # noqa: E402
from ranklens.llm.http import STRUCTURED_CHOICES  # noqa: E402
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache  # noqa: E402
from ranklens.llm.prompt import Prompt  # noqa: E402

RANKERS = ["bm25", "all-MiniLM-L6-v2", "rrf(bm25,all-MiniLM-L6-v2)"]
SET = "cran-judged"  # + "-N": the first N judged queries


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--home", default="/tmp/rl-calibrate-cran/home")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--examples", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument(
        "--structured",
        choices=STRUCTURED_CHOICES,
        default="auto",
        help="reply mode: auto (JSON schema, the text prompt where refused), json or text",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return 0
    corpus = ensure_corpus(Path(args.home), ["bm25", "all-MiniLM-L6-v2"])
    name = f"{SET}-{args.queries}"
    (queries,) = [qs for n, qs in corpus.query_sets().items() if not n.startswith(SET)]
    qrels = [q for qs in corpus.shipped_qrels().values() for q in qs]
    judged = sorted({q.query_id for q in qrels}, key=natural_key)[: args.queries]
    chosen = [q for q in queries if q.query_id in set(judged)]
    if name not in corpus.query_sets():
        corpus.add_query_set(name, chosen)
    settings = get_settings()
    with JudgmentStore(settings.db_url) as store:
        have = {lab.query_id for lab in store.current_labels(corpus.name, annotator="cranfield")}
        todo = [(None, q) for q in qrels if q.query_id in set(judged) - have]
        if todo:
            store.set_scale(corpus.name, Scale.of(5))
            store.import_records(
                corpus.name,
                todo,
                origin=str(DATA / "qrels" / "test.tsv"),
                annotator="cranfield",
                known_doc_ids=corpus.doc_ids(),
            )
        runs = pooling.agreement_runs(corpus, RANKERS, name, level="doc")
        config = LLMConfig(
            url=args.url,
            model=args.model,
            timeout_s=args.timeout,
            concurrency=1,
            max_tokens=args.max_tokens,
            max_failures=10,
            structured=args.structured,
        )
        cache = ReplyCache(Path(args.home) / "replies.sqlite3")
        scale = store.scale(corpus.name)
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        report = cal.calibrate(
            store,
            corpus,
            name,
            lambda prompt: LLMJudge(config, scale, prompt, cache=cache),
            prompts=[("UMBRELA's", Prompt())],
            examples=args.examples,
            seed=args.seed,
            runs=runs,
            record=False,
            progress=lambda d, t: print(f"\r{d}/{t}", end="", file=sys.stderr, flush=True),
        )
        seconds = time.perf_counter() - t0
    print(file=sys.stderr)
    load_after = os.getloadavg()
    data = report.to_dict()
    data["structured"] = args.structured
    data["seconds"] = round(seconds, 1)
    data["load_average_before"] = [round(x, 2) for x in load_before]
    data["load_average_after"] = [round(x, 2) for x in load_after]
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    print(f"reply mode: {args.structured}; seed {args.seed}; {args.examples} examples")
    print(report.summary())
    for a in report.arms:
        sent = a.pairs - a.cached
        rate = sent / a.seconds * 60 if a.seconds and sent else None
        print(
            f"  {'no examples' if not a.examples else f'{a.examples} examples'}: {a.pairs} pairs "
            f"({a.cached} cached) in {a.seconds:.0f} s"
            + (f", {rate:.1f} pairs per minute" if rate else "")
            + f"; graded {a.graded}; exact agreement "
            f"{'n/a' if a.agreement.exact is None else f'{a.agreement.exact:.0%}'}"
        )
        print("    confusion (rows: Cranfield 0-4, columns: judge 0-4):")
        for row in a.agreement.confusion:
            print("     ", " ".join(f"{c:4d}" for c in row))
    print(
        f"({seconds:.0f} s in all; load average before {load_before[0]:.2f}, after "
        f"{load_after[0]:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
