"""What each kind of job does in its worker: ingest, demo, suggest, append, embeddings (ranklens.jobs runs them).

Each takes (settings, job, report), calls the core function the CLI and the pages call, reports
progress between batches (where a cancel stops it) and returns the result stored with the job.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import RankLensError
from .jobs import Job, JobCancelled, Reporter


def _run_ingest(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from . import index
    from .chunking import ChunkSettings
    from .formats import Fields

    a = job.args
    path = a["path"]
    exists = (settings.corpora_dir / a["corpus"] / index.MANIFEST).exists()
    if path is not None and exists and not path.startswith("beir:") and not Path(path).exists():
        path = None  # read before a cancel or a kill (and the upload is gone): finish the indexes
    chunking = ChunkSettings()
    if a.get("max_words") is not None:
        chunking = ChunkSettings(int(a["max_words"]), int(a["overlap_words"] or 0))
    try:
        corpus = index.ingest(
            path,
            a["corpus"],
            a["models"],
            settings,
            fmt=a.get("fmt"),
            fields=Fields(text=a.get("text_field") or "text"),
            chunking=chunking,
            progress=report,
        )
    except JobCancelled:
        raise
    except RankLensError:
        _cleanup(settings, a.get("cleanup"))  # bad input: the upload is of no further use
        raise
    _cleanup(settings, a.get("cleanup"))
    return corpus.summary()


def _cleanup(settings: Settings, folder: str | None) -> None:
    if not folder:
        return
    path = Path(folder).resolve()
    if path.is_relative_to(settings.home.resolve()) and path != settings.home.resolve():
        shutil.rmtree(path, ignore_errors=True)


def _run_demo(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from . import demo

    corpus = demo.ingest_demo(settings, progress=report)
    demo.mark_indexed(settings)
    return {**corpus.summary(), "description": demo.describe(corpus)}


def _run_suggest(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from . import index, models
    from .index import Progress
    from .judging import JudgmentStore, pooling

    a = job.args
    corpus = index.open_corpus(a["corpus"], settings)
    scorer = models.load_reranker(a["model"])
    with JudgmentStore.from_settings(settings) as store:
        pool = store.pool(int(a["pool"]))
        queries = len({it.query_id for it in pool.items})
        begun, done = time.monotonic(), [0]

        class Counted:  # scores one query's passages at a time: a batch between cancel checks
            def score(self, query: str, passages: Sequence[str]):
                report(Progress(a["model"], done[0], queries, time.monotonic() - begun), "queries")
                out = scorer.score(query, passages)
                done[0] += 1
                return out

        grades = pooling.make_suggestions(
            store, corpus, pool, a["model"], a["thresholds"], scorer=Counted()
        )
        report(Progress(a["model"], queries, queries, time.monotonic() - begun), "queries")
    return {"suggestions": len(grades), "grades": {str(g): grades.count(g) for g in set(grades)}}


def _run_append(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from .formats import Fields
    from .ingest import add_documents

    a = job.args
    try:
        added = add_documents(
            a["path"],
            a["corpus"],
            settings,
            fmt=a.get("fmt"),
            fields=Fields(text=a.get("text_field") or "text"),
            replace=a.get("replace", False),
            progress=report,
        )
    except RankLensError:
        _cleanup(settings, a.get("cleanup"))
        raise
    _cleanup(settings, a.get("cleanup"))
    counts = {"added": len(added.added), "replaced": len(added.replaced)}
    return {**added.corpus.summary(), **counts, "unchanged": added.unchanged}


def _run_embeddings(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from .embeddings import import_embeddings

    a = job.args
    try:
        corpus = import_embeddings(
            a["corpus"], a["model"], a["path"], a.get("ids"), settings, a["normalise"], report
        )
    except RankLensError:
        _cleanup(settings, a.get("cleanup"))
        raise
    _cleanup(settings, a.get("cleanup"))
    return corpus.summary()


KINDS: dict[str, Callable[[Settings, Job, Reporter], dict[str, Any]]] = {
    "ingest": _run_ingest,
    "demo": _run_demo,
    "suggest": _run_suggest,
    "append": _run_append,
    "embeddings": _run_embeddings,
}
