"""CLI commands `jobs list|show|cancel|resume`: the long work the app (or a script) started.

Jobs live in RANKLENS_HOME/jobs (ranklens.jobs); this module only prints them and asks them to stop.
"""

from __future__ import annotations

import argparse
import time

from ranklens import jobs
from ranklens.cli.common import print_json
from ranklens.config import get_settings


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _line(job: jobs.Job) -> str:
    lines = job.progress_lines()
    now = lines[-1][2] if lines and job.active else ""
    ended = job.error if job.state == jobs.FAILED else now
    by = f"  [by {job.started_by}]" if job.started_by else ""
    return f"{job.id}  {job.state:<9}  {_when(job.created)}  {job.title}{by}" + (
        f"  ({ended})" if ended else ""
    )


def cmd_list(args: argparse.Namespace) -> int:
    settings = get_settings()
    found = jobs.list_jobs(settings, active_only=not args.all)
    if args.json:
        print_json([j.as_dict() for j in found])
        return 0
    if not found:
        print("no running jobs" + ("" if args.all else " (--all lists finished ones too)"))
    for job in found:
        print(_line(job))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    job = jobs.get(args.id, get_settings())
    if args.json:
        print_json(job.as_dict())
        return 0
    print(_line(job))
    print(f"  kind {job.kind}, key {job.key}, started {job.attempts} time(s)")
    print(
        f"  created {_when(job.created)}, began {_when(job.started)}, ended {_when(job.finished)}"
    )
    for _, _, text in job.progress_lines():
        print(f"  {text}")
    if job.result:
        print(f"  result: {', '.join(f'{k}={v}' for k, v in job.result.items())}")
    if job.error:
        print(f"  error: {job.error}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    settings = get_settings()
    job = jobs.cancel(args.id, settings)
    if not job.active:
        print(f"job {job.id} is {job.state}: nothing to cancel")
        return 0
    if args.wait:
        job = jobs.wait(job.id, settings, timeout=args.wait)
        print(f"job {job.id} is {job.state}")
    else:
        print(f"job {job.id}: asked to stop after its current batch")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    restarted = jobs.resume(get_settings())
    for job in restarted:
        print(f"restarted {_line(job)}")
    if not restarted:
        print("no job to resume: every queued or running job has its worker")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="long work started by the app: list, show, cancel, resume")
    jsub = p.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    q = jsub.add_parser("list", help="running jobs (--all: finished ones too)")
    q.add_argument("--all", action="store_true", help="also jobs that have ended")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)
    q = jsub.add_parser("show", help="one job: progress per stage, result or error")
    q.add_argument("id")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_show)
    q = jsub.add_parser("cancel", help="ask a job to stop after its current batch")
    q.add_argument("id")
    q.add_argument(
        "--wait", type=float, default=0, metavar="S", help="wait up to S seconds for it to stop"
    )
    q.set_defaults(func=cmd_cancel)
    q = jsub.add_parser("resume", help="start again the jobs whose worker was killed")
    q.set_defaults(func=cmd_resume)
