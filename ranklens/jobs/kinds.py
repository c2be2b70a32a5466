"""The kinds of job (ingest, demo, suggest, append, embeddings), each its (start, run)
pair, and the worker process that runs one (`python -m ranklens.jobs.kinds run ID`).

Each takes (settings, job, report), calls the core function the CLI and the pages call, reports
progress between batches (where a cancel stops it) and returns the result stored with the job.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ranklens import jobs
from ranklens.config import Settings, get_settings
from ranklens.errors import RankLensError
from ranklens.jobs import Job, JobCancelled, Reporter


def _run_ingest(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from ranklens.corpus import index, ingest
    from ranklens.corpus.chunking import ChunkSettings
    from ranklens.corpus.formats import Fields

    a = job.args
    path = a["path"]
    exists = (settings.corpora_dir / a["corpus"] / index.MANIFEST).exists()
    if path is not None and exists and not path.startswith("beir:") and not Path(path).exists():
        path = None  # read before a cancel or a kill (and the upload is gone): finish the indexes
    chunking = ChunkSettings()
    if a.get("max_words") is not None:
        chunking = ChunkSettings(int(a["max_words"]), int(a["overlap_words"] or 0))
    with _upload_used(settings, a.get("cleanup")):
        corpus = ingest.ingest(
            path,
            a["corpus"],
            a["models"],
            settings,
            fmt=a.get("fmt"),
            fields=Fields(text=a.get("text_field") or "text"),
            chunking=chunking,
            progress=report,
        )
    return corpus.summary()


@contextmanager
def _upload_used(settings: Settings, folder: str | None) -> Iterator[None]:
    """Remove the upload a job reads (`folder`, under RANKLENS_HOME) once the block has read
    it, or refused it (a RankLensError: bad input, of no further use); a cancel or a crash keeps
    it for the resumed job."""
    try:
        yield
    except RankLensError:
        _remove_upload(settings, folder)
        raise
    _remove_upload(settings, folder)


def _remove_upload(settings: Settings, folder: str | None) -> None:
    if not folder:
        return
    path = Path(folder).resolve()
    if path.is_relative_to(settings.home.resolve()) and path != settings.home.resolve():
        shutil.rmtree(path, ignore_errors=True)


def _run_demo(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from ranklens.corpus import demo

    corpus = demo.ingest_demo(settings, progress=report)
    demo.mark_indexed(settings)
    return {**corpus.summary(), "description": demo.describe(corpus)}


def _run_suggest(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from ranklens import models
    from ranklens.corpus import index
    from ranklens.corpus.index import Progress
    from ranklens.judging import JudgmentStore, pooling

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
    from ranklens.corpus.formats import Fields
    from ranklens.corpus.ingest import add_documents

    a = job.args
    with _upload_used(settings, a.get("cleanup")):
        added = add_documents(
            a["path"],
            a["corpus"],
            settings,
            fmt=a.get("fmt"),
            fields=Fields(text=a.get("text_field") or "text"),
            replace=a.get("replace", False),
            progress=report,
        )
    counts = {"added": len(added.added), "replaced": len(added.replaced)}
    return {**added.corpus.summary(), **counts, "unchanged": added.unchanged}


def _run_embeddings(settings: Settings, job: Job, report: Reporter) -> dict[str, Any]:
    from ranklens.corpus.embeddings import import_embeddings

    a = job.args
    with _upload_used(settings, a.get("cleanup")):
        corpus = import_embeddings(
            a["corpus"], a["model"], a["path"], a.get("ids"), settings, a["normalise"], report
        )
    return corpus.summary()


Runner = Callable[[Settings, Job, Reporter], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    """One kind of job: `start` validates its arguments and starts (or joins) it (ranklens.jobs,
    where the pages and the CLI call it); `run` does its work in the worker."""

    start: Callable[..., Job]
    run: Runner


JOB_KINDS: dict[str, JobKind] = {
    "ingest": JobKind(jobs.ingest_job, _run_ingest),
    "demo": JobKind(jobs.demo_job, _run_demo),
    "suggest": JobKind(jobs.suggestions_job, _run_suggest),
    "append": JobKind(jobs.append_job, _run_append),
    "embeddings": JobKind(jobs.embeddings_job, _run_embeddings),
}
if tuple(JOB_KINDS) != jobs.KIND_NAMES:  # a kind of job without its runner, or the reverse
    raise RuntimeError(f"job kinds {tuple(JOB_KINDS)} differ from {jobs.KIND_NAMES}")


# ---------------------------------------------------------------- the worker


def run_worker(job_id: str, settings: Settings | None = None) -> int:
    """The body of a worker process: run the job, record how it ended. Exit code 0 unless the
    job failed."""
    settings = settings or get_settings()
    job = jobs.get(job_id, settings)
    if not job.active:
        return 0
    job.state, job.pid, job.started = jobs.RUNNING, os.getpid(), job.started or time.time()
    jobs._write(settings, job)
    report = Reporter(settings, job)
    try:
        report.check()
        job.result = JOB_KINDS[job.kind].run(settings, job, report)
        job.state = jobs.DONE
    except JobCancelled:
        job.state = jobs.CANCELLED
    except RankLensError as exc:
        job.state, job.error = jobs.FAILED, str(exc)
    except Exception as exc:  # a bug: the traceback goes to the job's log
        traceback.print_exc()
        job.state, job.error = jobs.FAILED, f"{type(exc).__name__}: {exc}"
    job.finished = time.time()
    jobs._write(settings, job)
    jobs._cancel_path(settings, job.id).unlink(missing_ok=True)
    return 1 if job.state == jobs.FAILED else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] != "run":
        print("usage: python -m ranklens.jobs.kinds run JOB_ID", file=sys.stderr)
        return 2
    from ranklens.jobs import kinds as job_kinds  # the package's module, not this __main__ copy

    return job_kinds.run_worker(argv[1])


if __name__ == "__main__":
    sys.exit(main())
