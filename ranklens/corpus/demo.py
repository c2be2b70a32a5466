"""The bundled demo (data/demo): indexing it with its FAQ labels and its practice queries.

The app's first start and a script call the same two functions; no Streamlit here.
"""

from __future__ import annotations

from pathlib import Path

from ranklens.config import DEMO_CORPUS, DEMO_DIR, Settings, get_settings
from ranklens.corpus.index import Corpus, ProgressFn
from ranklens.corpus.trec_files import read_queries

LABELLED_SET = "faq"  # the FAQ questions, with their answers as known-item labels
PRACTICE_SET = "demo"  # the hand-written queries, unlabelled: for practising judging
PRACTICE_FILE = "demo-queries.jsonl"
MARKER = "demo-indexed"  # under RANKLENS_HOME once the demo was indexed: a deleted demo stays so


def marker(settings: Settings) -> Path:
    """The file saying this home's demo was indexed once (the first start does it only once)."""
    return settings.home / MARKER


def mark_indexed(settings: Settings) -> None:
    """Record that the demo was indexed in this home."""
    settings.home.mkdir(parents=True, exist_ok=True)
    marker(settings).touch()


def add_practice_queries(corpus: Corpus) -> bool:
    """Give the demo corpus its unlabelled practice set once; True when it was added now."""
    path = DEMO_DIR / PRACTICE_FILE
    if not path.exists() or PRACTICE_SET in corpus.query_sets():
        return False
    corpus.add_query_set(PRACTICE_SET, read_queries(path))
    return True


def ingest_demo(settings: Settings | None = None, progress: ProgressFn | None = None) -> Corpus:
    """Index data/demo as a BEIR folder (corpus, the `faq` set and its labels) with the demo
    models, then add the practice set. Same as `python -m ranklens ingest data/demo`."""
    from ranklens.corpus import ingest

    settings = settings or get_settings()
    corpus = ingest.ingest(DEMO_DIR, DEMO_CORPUS, settings.demo_models, settings, progress=progress)
    add_practice_queries(corpus)
    return corpus


def describe(corpus: Corpus) -> str:
    """One line on the demo's query sets and labels, for the first-start box."""
    sets = corpus.query_sets()
    labels = corpus.shipped_qrels().get(LABELLED_SET, [])
    parts = []
    if LABELLED_SET in sets:
        parts.append(
            f"{len(sets[LABELLED_SET])} Python FAQ questions (set `{LABELLED_SET}`), "
            f"{len(labels)} labelled with the answer the FAQ gives"
        )
    if PRACTICE_SET in sets:
        parts.append(f"{len(sets[PRACTICE_SET])} unlabelled practice queries (set `demo`)")
    return "; ".join(parts)
