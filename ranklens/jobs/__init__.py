"""Long work as jobs: ingestion, adding models or documents, the demo's first indexing, imported
vectors, cross-encoder suggestions (what each does: ranklens.jobs.kinds).

A job runs in its own worker process (`python -m ranklens.jobs.kinds run ID`, a new session) that outlives
the browser session and script run that started it; its state lives in RANKLENS_HOME/jobs as one
JSON file per job (atomic writes). One job runs per key (an ingestion's key is its corpus: the
corpus lock lets one indexing run at a time, so one job per (corpus, model) and more); a second
start returns the running job. cancel() sets a flag the worker reads between batches; an
ingestion resumes where it stopped (only missing passages are embedded), so a cancelled or killed
job is started again with the same call. resume() restarts jobs whose worker is gone (the app
calls it once per process: a job killed with the app finishes on the next start).

How a worker is known to be alive: it holds an flock on jobs/ID.lock for its whole life (the
lock is taken by the starter and handed down with the file descriptor), so a killed worker frees
it at once and a reused pid never looks alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ranklens.access import Actor, Forbidden, check_model, may_cancel, require_admin
from ranklens.config import REPO_ROOT, Settings, get_settings
from ranklens.errors import NotFoundError, RankLensError
from ranklens.files import held_lock, write_json_atomic

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING)
MAX_ATTEMPTS = 3  # starts of one job (the first and resumes) before it is given up as failed
KEEP_FINISHED = 50  # finished jobs kept on disk (the newest); older records are removed
KIND_NAMES = (
    "ingest",
    "demo",
    "suggest",
    "append",
    "embeddings",
)  # what each does and how each is validated: ranklens.jobs.kinds.JOB_KINDS
WRITE_EVERY_S = 0.25  # the worker writes its progress at most this often (and at each stage end)


class JobCancelled(Exception):
    """Raised inside a worker between batches once the job's cancel flag is set."""


@dataclass
class Job:
    """One job's record, as stored in jobs/ID.json."""

    id: str
    kind: str  # one of KIND_NAMES (ranklens.jobs.kinds.JOB_KINDS holds what each does)
    key: str  # one active job per key
    args: dict[str, Any]
    title: str  # what a person reads: "Indexing python-docs with bm25, all-MiniLM-L6-v2"
    state: str = QUEUED
    pid: int | None = None
    attempts: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stage: str | None = None
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> done, total, s
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started_by: str | None = None  # the signed-in annotator who started it (team mode), else None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def progress_lines(self) -> list[tuple[str, float, str]]:
        """(stage, fraction, text) per stage, in the order they started."""
        lines = []
        for stage, p in self.stages.items():
            done, total, elapsed = int(p["done"]), int(p["total"]), float(p["elapsed"])
            rate = done / elapsed if elapsed > 0 else 0.0
            if total:
                left = (total - done) / rate if rate > 0 and done < total else None
                eta = f", {left:.0f} s left" if left is not None else ""
                unit = p.get("unit", "passages")
                text = f"{stage}: {done:,}/{total:,} {unit}, {rate:.1f} {unit}/s{eta}"
                lines.append((stage, min(1.0, done / total), text))
            else:
                lines.append((stage, 0.0, f"{stage}: {done:,} read"))
        return lines


# ---------------------------------------------------------------- files


def jobs_dir(settings: Settings) -> Path:
    path = settings.home / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record(settings: Settings, job_id: str) -> Path:
    if not job_id or not all(c.isalnum() or c == "-" for c in job_id):
        raise RankLensError(f"invalid job id {job_id!r}: expected letters, digits and '-'")
    return jobs_dir(settings) / f"{job_id}.json"


def _write(settings: Settings, job: Job) -> None:
    write_json_atomic(_record(settings, job.id), asdict(job), indent=1, sort_keys=True)


def _read(path: Path) -> Job | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Job(**data)
    except (OSError, ValueError, TypeError):
        return None  # removed meanwhile, or not one of ours


def _jobs_lock(settings: Settings) -> contextlib.AbstractContextManager[None]:
    """One starter, canceller or resumer at a time (across processes and threads)."""
    return held_lock(jobs_dir(settings) / ".lock")


def _lock_path(settings: Settings, job_id: str) -> Path:
    return jobs_dir(settings) / f"{job_id}.lock"


def _cancel_path(settings: Settings, job_id: str) -> Path:
    return jobs_dir(settings) / f"{job_id}.cancel"


def log_path(settings: Settings, job_id: str) -> Path:
    """The worker's stdout and stderr (a traceback lands here when a job fails on a bug)."""
    return jobs_dir(settings) / f"{job_id}.log"


def worker_alive(settings: Settings, job_id: str) -> bool:
    """Whether a worker holds the job's lock (a killed worker has let it go)."""
    path = _lock_path(settings, job_id)
    if not path.exists():
        return False
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


# ---------------------------------------------------------------- reading


def get(job_id: str, settings: Settings | None = None) -> Job:
    """The job's record; NotFoundError when there is none."""
    settings = settings or get_settings()
    job = _read(_record(settings, job_id))
    if job is None:
        raise NotFoundError(f"no job {job_id!r} in {jobs_dir(settings)}")
    return job


def list_jobs(settings: Settings | None = None, active_only: bool = False) -> list[Job]:
    """Every job on record, oldest first (only queued and running ones with active_only)."""
    settings = settings or get_settings()
    jobs = [j for p in jobs_dir(settings).glob("*.json") if (j := _read(p)) is not None]
    jobs.sort(key=lambda j: (j.created, j.id))
    return [j for j in jobs if j.active] if active_only else jobs


def find(key: str, settings: Settings | None = None) -> Job | None:
    """The newest job of a key (running or finished), or None."""
    same = [j for j in list_jobs(settings) if j.key == key]
    return same[-1] if same else None


# ---------------------------------------------------------------- starting, cancelling, resuming


def _spawn(settings: Settings, job: Job) -> None:
    """Start the worker holding the job's lock; the caller holds the jobs lock."""
    job.attempts += 1
    job.state, job.pid, job.error = QUEUED, None, None
    _write(settings, job)
    lock = open(_lock_path(settings, job.id), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        env = {**os.environ, "RANKLENS_HOME": str(settings.home)}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        with open(log_path(settings, job.id), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ranklens.jobs.kinds", "run", job.id],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(lock.fileno(),),
                start_new_session=True,  # a Ctrl+C or the end of the app's session leaves it be
            )
        job.pid = proc.pid  # the worker records it too, with its state (never written here:
        # the worker may already have written that it runs)
    finally:
        lock.close()  # the worker's copy of the descriptor keeps the lock


def start(
    kind: str,
    key: str,
    args: dict[str, Any],
    title: str,
    settings: Settings | None = None,
    started_by: str | None = None,
) -> Job:
    """Start a job of `kind`, or return the active job of the same key (never a second one).

    A finished job of the key is left on record; a new one is started beside it. `started_by`
    (team mode's signed-in annotator) is recorded: only they or an admin may cancel it.
    """
    settings = settings or get_settings()
    if kind not in KIND_NAMES:
        raise RankLensError(f"unknown job kind {kind!r}: expected one of {', '.join(KIND_NAMES)}")
    json.dumps(args)  # a job's arguments are stored: refuse what JSON cannot hold, now
    with _jobs_lock(settings):
        for job in list_jobs(settings, active_only=True):
            if job.key != key:
                continue
            if not worker_alive(settings, job.id):  # a worker that died: start it again
                _cancel_path(settings, job.id).unlink(missing_ok=True)
                _spawn(settings, job)
            return job
        job = Job(uuid.uuid4().hex[:12], kind, key, args, title, started_by=started_by)
        _spawn(settings, job)
        _prune(settings)
        return job


def cancel(job_id: str, settings: Settings | None = None, actor: Actor | None = None) -> Job:
    """Ask the job's worker to stop after its current batch (a job already ended is returned as
    it is; one whose worker is gone is marked cancelled at once). With an actor (team mode), only
    the annotator who started the job or an admin may cancel it."""
    settings = settings or get_settings()
    with _jobs_lock(settings):
        job = get(job_id, settings)
        if not may_cancel(actor, job.started_by):
            raise Forbidden("only the annotator who started this job, or an admin, can cancel it")
        if not job.active:
            return job
        if worker_alive(settings, job.id):
            _cancel_path(settings, job.id).touch()
        else:
            job.state, job.finished = CANCELLED, time.time()
            _write(settings, job)
        return job


def resume(settings: Settings | None = None) -> list[Job]:
    """Start again every queued or running job whose worker is gone; returns them. A job whose
    worker died MAX_ATTEMPTS times is marked failed instead (it would only die again)."""
    settings = settings or get_settings()
    restarted = []
    with _jobs_lock(settings):
        for job in list_jobs(settings, active_only=True):
            if worker_alive(settings, job.id):
                continue
            if _cancel_path(settings, job.id).exists():
                job.state, job.finished = CANCELLED, time.time()
                _write(settings, job)
            elif job.attempts >= MAX_ATTEMPTS:
                job.state, job.finished = FAILED, time.time()
                job.error = (
                    f"the worker stopped {job.attempts} times without finishing "
                    f"(killed, or out of memory?); see {log_path(settings, job.id)}"
                )
                _write(settings, job)
            else:
                _spawn(settings, job)
                restarted.append(job)
    return restarted


def wait(job_id: str, settings: Settings | None = None, timeout: float = 600.0) -> Job:
    """Block until the job ends and its worker has exited (for scripts and tests); TimeoutError
    past `timeout` seconds."""
    settings = settings or get_settings()
    deadline = time.monotonic() + timeout
    while True:
        job = get(job_id, settings)
        if not job.active and not worker_alive(settings, job_id):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout:.0f} s")
        time.sleep(0.1)


def _prune(settings: Settings) -> None:
    finished = [j for j in list_jobs(settings) if not j.active]
    for job in finished[:-KEEP_FINISHED]:
        for path in (
            _record(settings, job.id),
            _lock_path(settings, job.id),
            _cancel_path(settings, job.id),
            log_path(settings, job.id),
        ):
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- the kinds of job


def ingest_job(
    corpus: str,
    models: Sequence[str],
    path: str | Path | None = None,
    *,
    fmt: str | None = None,
    text_field: str = "text",
    max_words: int | None = None,
    overlap_words: int | None = None,
    cleanup: str | Path | None = None,
    settings: Settings | None = None,
    actor: Actor | None = None,
) -> Job:
    """Start (or join) the ingestion of `corpus`: a new one from `path`, or the `models` it
    lacks when path is None. `cleanup`, a folder under RANKLENS_HOME (an upload), is removed when
    the job has read it. With an actor (team mode): admin-only, and a model folder must lie under
    the allowed roots (access.check_model)."""
    from ranklens.corpus.index import check_name

    settings = settings or get_settings()
    check_name(corpus)
    require_admin(actor, "add a corpus or models")
    for model in models:
        check_model(model, settings, actor, _known_models(corpus, settings))
    source = (
        str(path) if path is None or str(path).startswith("beir:") else str(Path(path).resolve())
    )
    args = {
        "corpus": corpus,
        "models": list(dict.fromkeys(models)),
        "path": None if path is None else source,
        "fmt": fmt,
        "text_field": text_field,
        "max_words": max_words,
        "overlap_words": overlap_words,
        "cleanup": None if cleanup is None else str(Path(cleanup).resolve()),
    }
    verb = "Indexing" if path is not None else "Adding models to"
    title = f"{verb} {corpus} with {', '.join(args['models'])}"
    return start("ingest", index_key(corpus), args, title, settings, _who(actor))


def demo_job(settings: Settings | None = None) -> Job:
    """Start (or join) the first start's indexing of the bundled demo with the demo models."""
    from ranklens.config import DEMO_CORPUS

    settings = settings or get_settings()
    models = list(settings.demo_models)
    title = f"First start: indexing the demo {DEMO_CORPUS} with {', '.join(models)}"
    return start("demo", index_key(DEMO_CORPUS), {"models": models}, title, settings)


def suggestions_job(
    corpus: str,
    pool_id: int,
    model: str,
    thresholds: Sequence[float],
    settings: Settings | None = None,
    actor: Actor | None = None,
) -> Job:
    """Start (or join) cross-encoder suggestions for one pool (pooling.make_suggestions)."""
    args = {"corpus": corpus, "pool": int(pool_id), "model": model, "thresholds": list(thresholds)}
    title = f"Suggestions by {model} for pool {pool_id} of {corpus}"
    return start(
        "suggest", f"suggest:{corpus}:{pool_id}:{model}", args, title, settings, _who(actor)
    )


def append_job(
    corpus: str,
    path: str | Path,
    *,
    replace: bool = False,
    fmt: str | None = None,
    text_field: str = "text",
    cleanup: str | Path | None = None,
    settings: Settings | None = None,
    actor: Actor | None = None,
) -> Job:
    """Start (or join) adding the documents of `path` to `corpus` (ingest.add_documents);
    admin-only with an actor (team mode)."""
    from ranklens.corpus.index import check_name

    check_name(corpus)
    require_admin(actor, "add documents to a corpus")
    args = {
        "corpus": corpus,
        "path": str(Path(path).resolve()),
        "replace": bool(replace),
        "fmt": fmt,
        "text_field": text_field,
        "cleanup": None if cleanup is None else str(Path(cleanup).resolve()),
    }
    title = f"Adding documents to {corpus}" + (" (replacing changed ones)" if replace else "")
    return start("append", index_key(corpus), args, title, settings, _who(actor))


def embeddings_job(
    corpus: str,
    model: str,
    path: str | Path,
    *,
    ids: str | Path | None = None,
    normalise: bool = False,
    cleanup: str | Path | None = None,
    settings: Settings | None = None,
    actor: Actor | None = None,
) -> Job:
    """Start (or join) importing vectors made elsewhere (embeddings.import_embeddings);
    admin-only with an actor (team mode), and a model folder must lie under the allowed roots."""
    from ranklens.corpus.index import check_name

    check_name(corpus)
    require_admin(actor, "import vectors")
    settings = settings or get_settings()
    check_model(model, settings, actor, _known_models(corpus, settings))
    args = {
        "corpus": corpus,
        "model": model,
        "path": str(Path(path).resolve()),
        "ids": None if ids is None else str(Path(ids).resolve()),
        "normalise": bool(normalise),
        "cleanup": None if cleanup is None else str(Path(cleanup).resolve()),
    }
    title = f"Importing {model} vectors into {corpus}"
    return start("embeddings", index_key(corpus), args, title, settings, _who(actor))


def _who(actor: Actor | None) -> str | None:
    return actor.name if actor is not None else None


def _known_models(corpus: str, settings: Settings) -> set[str]:
    """The bundled models and those the corpus is indexed with (always allowed)."""
    from ranklens.corpus import index
    from ranklens.models import list_models

    known = {m.name for m in list_models()}
    try:
        known |= set(index.open_corpus(corpus, settings).indexes())
    except RankLensError:
        pass
    return known


def index_key(corpus: str) -> str:
    """The key of every job that indexes `corpus` (one at a time, as the corpus lock allows)."""
    return f"index:{corpus}"


# ---------------------------------------------------------------- the worker


class Reporter:
    """The worker's progress callback: records progress (throttled) and stops on cancel."""

    def __init__(self, settings: Settings, job: Job) -> None:
        self.settings, self.job, self.last = settings, job, 0.0
        self.flag = _cancel_path(settings, job.id)

    def check(self) -> None:
        if self.flag.exists():
            raise JobCancelled

    def __call__(self, p: Any, unit: str = "passages") -> None:
        self.check()
        self.job.stage = p.stage
        self.job.stages[p.stage] = {
            "done": p.done,
            "total": p.total,
            "elapsed": round(p.elapsed, 3),
            "unit": unit,
        }
        now = time.monotonic()
        if now - self.last >= WRITE_EVERY_S or (p.total and p.done >= p.total):
            self.last = now
            _write(self.settings, self.job)
