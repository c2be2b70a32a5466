"""Benchmark: our ingestion vs bare `encode_documents` + `collection.add` on the same passages.

Prints passages/s of each (median of repeats) and the ratio ours/bare (goal: 0.9 or better).
"bare" encodes in corpus order (what ingestion did before); "bare, length-sorted" encodes the
same passages in the order ingestion now uses (ranklens.corpus.ingest.length_sorted: longest first across
the whole pending set), so the two bare figures measure what sorting alone gains. The load
average is printed beside every figure (the machine is shared).

    .venv/bin/python bench/ingest.py [--corpus FILE] [--passages 800] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ranklens import models  # noqa: E402
from ranklens.config import Settings  # noqa: E402
from ranklens.corpus import index, ingest  # noqa: E402
from ranklens.corpus.chunking import ChunkSettings, chunk_documents, index_text  # noqa: E402
from ranklens.corpus.formats import open_source  # noqa: E402
from ranklens.corpus.ingest import length_sorted  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default=str(ROOT / "data" / "demo" / "corpus.jsonl"))
    ap.add_argument("--model", default=models.DEFAULT_DENSE)
    ap.add_argument("--passages", type=int, default=800, help="first N passages of the corpus")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()

    src = open_source(args.corpus)
    passages = []
    for p in chunk_documents(src.docs(), ChunkSettings()):
        passages.append(p)
        if len(passages) >= args.passages:
            break
    n = len(passages)
    subset = Path(tempfile.mkdtemp(prefix="rl-bench-")) / "subset.jsonl"
    # the same passages as documents of one passage each, so both sides embed identical texts
    with open(subset, "w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(
                json.dumps(
                    {"_id": p.passage_id.replace("#", "_"), "title": p.title, "text": p.text}
                )
                + "\n"
            )
    texts = [index_text(p) for p in passages]
    encoder = models.load_encoder(args.model)
    encoder.encode_documents(texts[:8])  # warm-up: load and first-call costs out of both timings

    def bare_run(col, order) -> float:
        t = time.perf_counter()
        for i in range(0, n, args.batch):
            chunk = order[i : i + args.batch]
            vectors = encoder.encode_documents([index_text(p) for p in chunk])
            col.add(
                ids=[p.passage_id for p in chunk],
                embeddings=np.asarray(vectors, dtype=np.float32),
                metadatas=[{"doc_id": p.doc_id, "position": p.position} for p in chunk],
            )
        return n / (time.perf_counter() - t)

    ours, bare, bare_sorted = [], [], []
    loads = [os.getloadavg()[0]]
    for r in range(args.repeats):
        home = Path(tempfile.mkdtemp(prefix="rl-bench-home-"))
        settings = Settings(home=home, batch_size=args.batch)
        t = time.perf_counter()
        corpus = ingest.ingest(
            subset, f"bench{r}", [args.model], settings, chunking=ChunkSettings(2000, 0)
        )
        ours.append(n / (time.perf_counter() - t))
        assert corpus.passages == n, (corpus.passages, n)

        client = index.chroma_client(Settings(home=home / "bare"))
        col = client.create_collection(
            f"bare{r}", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        sorted_col = client.create_collection(
            f"sorted{r}", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        runs = [(bare, col, passages), (bare_sorted, sorted_col, length_sorted(passages))]
        for out, c, order in runs if r % 2 == 0 else runs[::-1]:  # alternate which goes first
            out.append(bare_run(c, order))
        loads.append(os.getloadavg()[0])
        print(
            f"run {r + 1}: ours {ours[-1]:.1f} passages/s, bare {bare[-1]:.1f}, bare "
            f"length-sorted {bare_sorted[-1]:.1f} (load average {loads[-1]:.2f})",
            flush=True,
        )

    mo, mb, ms = (statistics.median(x) for x in (ours, bare, bare_sorted))
    print(
        f"\n{Path(args.corpus).parent.name}: {n} passages, model {args.model}, batch "
        f"{args.batch}, {args.repeats} repeats (medians); load average "
        f"{min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} cores"
    )
    print(f"ours (ingest.ingest, read+chunk+store+embed+add): {mo:.1f} passages/s")
    print(f"bare (encode_documents + collection.add):        {mb:.1f} passages/s")
    print(f"bare, length-sorted across the set:              {ms:.1f} passages/s")
    print(f"ratio ours/bare: {mo / mb:.3f}  (goal >= 0.9)")
    print(f"sorting gains: {ms / mb:.3f}x (bare length-sorted / bare corpus order)")


if __name__ == "__main__":
    main()
