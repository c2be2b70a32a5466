"""Benchmark: RankLens at 100k and 1M passages on this machine (what grows, and by how much).

Text: a synthetic Zipf vocabulary (English stopwords at the head, so BM25 drops them as it does in
real text; then made-up words), one passage of 60-140 words per document. Dense vectors: random
unit vectors brought in through `ingest --embeddings` (ranklens.corpus.embeddings.import_embeddings:
the path a user with vectors made on a GPU takes); query encoding is real (all-MiniLM-L6-v2).
Queries: 4-6 words drawn from one document each, which is that query's relevant document.

Each stage runs in its own process, its peak memory read from the kernel (wait4 ru_maxrss):
  ingest   ranklens.corpus.ingest.ingest(corpus.jsonl, models=[bm25]): read + chunk + store, BM25 build
  vectors  import of N random 384-d unit vectors into Chroma: add throughput, size on disk
  search   side by side (bm25, all-MiniLM-L6-v2, rrf of both) through rankers.rank_all, one query
           at a time, k=10: p50 / p95
  evaluate 1,000 queries x the 3 rankers ranked (k=100, document level), then evaluate_runs
           (nDCG@10, R@100, AP, RR): ranking time and evaluation time
Goals at 1M on 2 cores: side-by-side p50 < 300 ms; BM25 build < 5 min and < 4 GiB; evaluation
< 30 s after ranking. Results: bench/out/scale/results-N.json; with both sizes, growth factors.

    .venv/bin/python bench/scale.py [--sizes 100000 1000000] [--latency-queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "scale"
CORPUS = "scale"
DENSE = "all-MiniLM-L6-v2"
RANKERS = ["bm25", DENSE, f"rrf(bm25,{DENSE})"]
MEASURES = ["nDCG@10", "R@100", "AP", "RR"]
N_EVAL_QUERIES = 1000


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def folder(n: int) -> Path:
    return OUT / str(n)


def env_for(n: int) -> dict:
    env = {**os.environ, "RANKLENS_HOME": str(folder(n) / "home"), "RANKLENS_BATCH_SIZE": "64"}
    env.pop("RANKLENS_CHROMA_HOST", None)
    env.pop("RANKLENS_CHROMA_PORT", None)
    return env


# ---------------------------------------------------------------- data


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN

    heads = sorted(set(STOPWORDS_EN))
    rng.shuffle(heads)
    syll = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < size - len(heads):
        k = int(rng.integers(2, 5))
        words.add("".join(syll[i] for i in rng.integers(0, len(syll), k)))
    return heads + sorted(words)


def make_data(n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    vocab = np.array(vocabulary(50_000, rng), dtype=object)
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks**1.07
    p /= p.sum()
    d = folder(n)
    d.mkdir(parents=True, exist_ok=True)
    queries, qrels = [], []
    wanted = set(rng.choice(n, N_EVAL_QUERIES, replace=False).tolist())
    with open(d / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for start in range(0, n, 10_000):
            m = min(10_000, n - start)
            lengths = rng.integers(60, 141, m)
            ids = rng.choice(len(vocab), int(lengths.sum()), p=p)
            at = 0
            lines = []
            for j in range(m):
                words = vocab[ids[at : at + lengths[j]]]
                at += lengths[j]
                i = start + j
                # a sentence every 15 words, so chunking sees sentences as in real text
                text = ". ".join(" ".join(words[s : s + 15]) for s in range(0, len(words), 15))
                lines.append(json.dumps({"_id": f"d{i}", "text": text + "."}))
                if i in wanted:
                    rare = [w for w in words if w not in vocab[:200]]
                    pick = rng.choice(len(rare), min(len(rare), int(rng.integers(4, 7))), False)
                    queries.append({"_id": f"q{i}", "text": " ".join(rare[k] for k in pick)})
                    qrels.append(f"q{i}\td{i}\t1\n")
            fh.write("\n".join(lines) + "\n")
    with open(d / "queries.jsonl", "w", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(q) + "\n" for q in queries))
    (d / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(qrels))
    vecs = np.lib.format.open_memmap(d / "vectors.npy", "w+", np.float32, (n, 384))
    for start in range(0, n, 50_000):
        x = rng.standard_normal((min(50_000, n - start), 384)).astype(np.float32)
        vecs[start : start + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    vecs.flush()
    (d / "vectors.ids.txt").write_text("".join(f"d{i}#0\n" for i in range(n)))


# ---------------------------------------------------------------- stages (each in a child)


def stage_ingest(n: int) -> dict:
    from ranklens.config import get_settings
    from ranklens.corpus import index, ingest

    times: dict[str, float] = {}

    def progress(p: index.Progress) -> None:
        if p.total and p.done >= p.total:
            times[p.stage] = p.elapsed

    t0 = time.perf_counter()
    c = ingest.ingest(
        folder(n) / "corpus.jsonl", CORPUS, ["bm25"], get_settings(), progress=progress
    )
    return {
        "passages": c.passages,
        "ingest_s": time.perf_counter() - t0,
        "read_s": times.get("read"),
        "bm25_build_s": times.get("bm25"),
        "bm25_disk_mb": du(c.bm25_dir()) / 2**20,
        "passages_disk_mb": (c.dir / "passages.sqlite3").stat().st_size / 2**20,
    }


def stage_bm25(n: int) -> dict:
    """BM25 alone, built again over the stored corpus (no reading, no staging)."""
    from ranklens.corpus import index, ingest

    corpus = index.open_corpus(CORPUS)
    t0 = time.perf_counter()
    ingest._index_bm25(corpus, corpus.bm25_settings(), None)
    return {"bm25_rebuild_s": time.perf_counter() - t0}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def stage_vectors(n: int) -> dict:
    from ranklens import models
    from ranklens.config import get_settings
    from ranklens.corpus import embeddings

    settings = get_settings()
    models.load_encoder(DENSE)  # loading the model is not adding
    t0 = time.perf_counter()
    embeddings.import_embeddings(CORPUS, DENSE, folder(n) / "vectors.npy", settings=settings)
    s = time.perf_counter() - t0
    return {
        "chroma_add_s": s,
        "chroma_add_per_s": n / s,
        "chroma_disk_mb": du(settings.chroma_dir) / 2**20,
    }


def stage_search(n: int, count: int, specs: list[str]) -> dict:
    from ranklens import models
    from ranklens.corpus import index
    from ranklens.corpus.trec_files import read_queries
    from ranklens.ranking import rankers, retrievers
    from ranklens.ranking.recipes import make_rankers

    corpus = index.open_corpus(CORPUS)
    chosen = make_rankers(specs, corpus)
    queries = read_queries(folder(n) / "queries.jsonl")[: count + 5]
    wall, raw, per = [], [], {r: [] for r in specs}
    retriever = retrievers.load_bm25(corpus)
    params = corpus.bm25_settings()
    dense = [m for m in specs if m == DENSE]
    encoder = models.load_encoder(DENSE) if dense else None
    collection = corpus.collection(DENSE) if dense else None

    def raw_calls(text: str) -> float:
        """The distinct first stages called directly: BM25 scores + top 100 of the matching
        passages (numpy), and encode + Chroma query (100 results, as the fusion needs)."""
        t0 = time.perf_counter()
        toks = index.bm25_query_tokens([text], params)[0]
        scores = retriever.get_scores_from_ids(retriever.get_tokens_ids(list(toks)))
        hit = np.flatnonzero(scores > 0)
        if len(hit) > 100:
            hit = hit[np.argpartition(-scores[hit], 99)[:100]]
        hit[np.argsort(-scores[hit])]
        if encoder is not None:
            vec = encoder.encode_queries([text])
            collection.query(query_embeddings=vec, n_results=100, include=["distances"])
        return (time.perf_counter() - t0) * 1000

    t_start = time.perf_counter()
    for i, q in enumerate(queries):
        if i % 2:  # interleaved, alternating which goes first
            b = raw_calls(q.text)
        t0 = time.perf_counter()
        res = rankers.rank_all(chosen, [q], 10)
        a = (time.perf_counter() - t0) * 1000
        if not i % 2:
            b = raw_calls(q.text)
        if i >= 5:
            wall.append(a)
            raw.append(b)
            for name, ms in res.latency_ms.items():
                per[name].append(ms)
    tag = "" if specs == RANKERS else "_bm25"
    out = {
        f"search{tag}_p50_ms": float(np.percentile(wall, 50)),
        f"search{tag}_p95_ms": float(np.percentile(wall, 95)),
        f"raw{tag}_p50_ms": float(np.percentile(raw, 50)),
        f"ratio{tag}": float(np.percentile(wall, 50) / np.percentile(raw, 50)),
        f"search{tag}_s": time.perf_counter() - t_start,
    }
    for name, values in per.items():
        out[f"p50_ms {name}"] = float(np.percentile(values, 50))
        out[f"p95_ms {name}"] = float(np.percentile(values, 95))
    return out


def stage_evaluate(n: int, specs: list[str]) -> dict:
    from ranklens.corpus import index
    from ranklens.corpus.trec_files import read_qrels, read_queries
    from ranklens.evaluation.measures import evaluate_runs, mean_scores
    from ranklens.ranking import rankers
    from ranklens.ranking.recipes import make_rankers

    corpus = index.open_corpus(CORPUS)
    chosen = make_rankers(specs, corpus)
    queries = read_queries(folder(n) / "queries.jsonl")
    qrels = [q for _, q in read_qrels(folder(n) / "qrels.tsv", "beir")]
    t0 = time.perf_counter()
    ranked = rankers.rank_all(chosen, queries, 100, level="doc", passages_per_doc=1.0)
    t1 = time.perf_counter()
    per_query = evaluate_runs(ranked.runs, qrels, MEASURES, level="doc")
    t2 = time.perf_counter()
    means = mean_scores(per_query)
    tag = "" if specs == RANKERS else "_bm25"
    return {
        "eval_queries": len(queries),
        f"rank{tag}_1000_s": t1 - t0,
        f"evaluate{tag}_1000_s": t2 - t1,
        f"nDCG@10{tag}": {r: round(v["nDCG@10"], 4) for r, v in means.items()},
    }


def child(stage: str, n: int, extra: list[str]) -> None:
    specs = ["bm25"] if stage.endswith("_bm25") else RANKERS
    if stage == "ingest":
        result = stage_ingest(n)
    elif stage == "bm25":
        result = stage_bm25(n)
    elif stage == "vectors":
        result = stage_vectors(n)
    elif stage.startswith("search"):
        result = stage_search(n, int(extra[0]), specs)
    else:
        result = stage_evaluate(n, specs)
    (folder(n) / f"stage-{stage}.json").write_text(json.dumps(result))


def run_stage(stage: str, n: int, *extra: str) -> dict:
    """The stage in a fresh process; its result plus peak memory and the load average (a stage
    already done, its result saved, is not run again)."""
    saved = folder(n) / f"stage-{stage}.json"
    if saved.exists() and f"{stage}_load" in saved.read_text():
        print(f"  {stage}: saved {saved.read_text()}", flush=True)
        return json.loads(saved.read_text())
    before = load()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", stage, str(n), *extra], env=env_for(n)
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {stage} at {n:,} failed")
    result = json.loads((folder(n) / f"stage-{stage}.json").read_text())
    result[f"{stage}_peak_gib"] = usage.ru_maxrss * 1024 / 2**30
    result[f"{stage}_cpu_s"] = usage.ru_utime + usage.ru_stime  # wall time / this: contention
    result[f"{stage}_load"] = f"before: {before}; after: {load()}"
    saved.write_text(json.dumps(result))
    print(f"  {stage}: {json.dumps(result)}", flush=True)
    return result


def run_size(n: int, latency_queries: int) -> dict:
    print(f"\n== {n:,} passages ({load()}; {os.cpu_count()} cores)", flush=True)
    if (
        not (folder(n) / "vectors.ids.txt").exists()
        and not (folder(n) / "stage-vectors.json").exists()
    ):
        shutil.rmtree(folder(n), ignore_errors=True)
        t0 = time.perf_counter()
        make_data(n)
        print(f"  data made in {time.perf_counter() - t0:.0f} s", flush=True)
    result = {"passages": n}

    def save() -> None:
        (OUT / f"results-{n}.json").write_text(json.dumps(result, indent=2))

    # BM25 alone first: its figures stand even when adding a million vectors runs long
    result |= run_stage("ingest", n)
    result |= run_stage("bm25", n)
    result |= run_stage("search_bm25", n, str(latency_queries))
    result |= run_stage("evaluate_bm25", n)
    save()
    result |= run_stage("vectors", n)
    result |= run_stage("search", n, str(latency_queries))
    result |= run_stage("evaluate", n)
    save()
    for f in ("vectors.npy", "corpus.jsonl"):  # big inputs; the corpus keeps what it needs
        (folder(n) / f).unlink(missing_ok=True)
    return result


FIGURES = [
    ("bm25_build_s", "BM25 build, s", 300),
    ("ingest_peak_gib", "ingest peak memory (read+store+BM25), GiB", 4),
    ("bm25_rebuild_s", "BM25 build alone (stored corpus), s", 300),
    ("bm25_peak_gib", "BM25 build alone, peak memory GiB", 4),
    ("bm25_cpu_s", "BM25 build alone, CPU s", None),
    ("ingest_s", "ingest total, s", None),
    ("ingest_cpu_s", "ingest CPU time (all threads), s", None),
    ("vectors_cpu_s", "Chroma add CPU time, s", None),
    ("chroma_add_per_s", "Chroma add, vectors/s", None),
    ("chroma_disk_mb", "Chroma on disk, MB", None),
    ("search_bm25_p50_ms", "bm25 alone p50, ms", None),
    ("search_bm25_p95_ms", "bm25 alone p95, ms", None),
    ("evaluate_bm25_1000_s", "evaluate 1,000 queries x bm25, s", None),
    ("search_p50_ms", "side by side p50, ms", 300),
    ("search_p95_ms", "side by side p95, ms", None),
    ("raw_p50_ms", "raw first stages summed p50, ms", None),
    ("ratio", "ratio side by side / raw (p50)", 1.15),
    ("ratio_bm25", "ratio bm25 / raw bm25 (p50)", None),
    ("p50_ms bm25", "  bm25 p50, ms", None),
    (f"p50_ms {DENSE}", f"  {DENSE} p50, ms", None),
    (f"p50_ms rrf(bm25,{DENSE})", "  rrf p50, ms", None),
    ("rank_1000_s", "rank 1,000 queries x 3, s", None),
    ("evaluate_1000_s", "evaluate 1,000 queries x 3, s", 30),
]


def summary() -> None:
    found = sorted(int(p.stem.split("-")[1]) for p in OUT.glob("results-*.json"))
    if not found:
        return
    res = {n: json.loads((OUT / f"results-{n}.json").read_text()) for n in found}
    head = "".join(f"{n:>14,}" for n in found)
    print(f"\n{'figure':<46}{head}{'growth':>9}  goal")
    for key, label, goal in FIGURES:
        vals = [res[n].get(key) for n in found]
        cells = "".join(f"{v:>14.2f}" if isinstance(v, int | float) else f"{'-':>14}" for v in vals)
        growth = ""
        if len(found) > 1 and all(isinstance(v, int | float) and v for v in (vals[0], vals[-1])):
            growth = f"{vals[-1] / vals[0]:>8.1f}x"
        mark = ""
        if goal is not None and isinstance(vals[-1], int | float):
            mark = f"< {goal} ({'met' if vals[-1] < goal else 'MISSED'})"
        print(f"{label:<46}{cells}{growth:>9}  {mark}")
    for n in found:
        print(f"nDCG@10 at {n:,}: {res[n].get('nDCG@10')}")
        for stage in (
            "ingest",
            "bm25",
            "search_bm25",
            "evaluate_bm25",
            "vectors",
            "search",
            "evaluate",
        ):
            print(f"  {stage} {res[n].get(f'{stage}_load')}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--summary", action="store_true", help="print the table of saved results")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.summary:
        for n in args.sizes:
            run_size(n, args.latency_queries)
    summary()
    print(
        f"\n{load()}; peak memory of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
