"""Who may change what in a shared (team-mode) RankLens: the actor behind a request, the admin-only
rules, and where a sentence-transformers model folder may be read from.

The app passes the signed-in annotator as an Actor to the core functions that change shared
things; the CLI (the server's operator) passes none and may do everything, as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ranklens.config import Settings
from ranklens.errors import RankLensError

MODEL_DIRS_ENV = "RANKLENS_MODEL_DIRS"  # extra folders (os.pathsep-separated) for model folders
# a hub name: "name" or "org/name" (letters, digits, - _ .), never a path
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")


class Forbidden(RankLensError):
    """The signed-in annotator may not do this (team mode: an admin-only action)."""


class Actor(NamedTuple):
    """Who asks: an annotator's name and whether they are an admin (team mode)."""

    name: str | None
    admin: bool


def require_admin(actor: Actor | None, what: str) -> None:
    """Raise Forbidden unless the actor may do admin-only WHAT (no actor: the operator may)."""
    if actor is not None and not actor.admin:
        raise Forbidden(f"only an admin can {what}")


def may_cancel(actor: Actor | None, started_by: str | None) -> bool:
    """Whether the actor may cancel a job that `started_by` started: the starter or an admin."""
    return actor is None or actor.admin or (actor.name is not None and actor.name == started_by)


def model_roots(settings: Settings, env: Mapping[str, str] | None = None) -> list[Path]:
    """The folders a model folder named in the app may lie under: the home, and every folder of
    RANKLENS_MODEL_DIRS."""
    env = os.environ if env is None else env
    extra = [p for p in (env.get(MODEL_DIRS_ENV) or "").split(os.pathsep) if p.strip()]
    roots = [settings.home, *(Path(p.strip()).expanduser() for p in extra)]
    return [Path(os.path.realpath(r)) for r in roots]


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "~", ".", "\\"))
        or "\\" in name
        or "\x00" in name
        or bool(re.match(r"^[A-Za-z]:", name))
        or name.count("/") > 1
        or not _HUB_NAME.match(name)
    )


def _exists_here(name: str) -> bool:
    """Whether a hub-like name is also a folder relative to the server's working directory
    (the loader would read that folder): then it is a local folder like any other."""
    try:
        return Path(name).expanduser().exists()
    except (OSError, ValueError):
        return False


def check_model(
    name: str,
    settings: Settings,
    actor: Actor | None,
    known: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Refuse a model the actor may not have the server load or index with.

    `known`: bundled models and those a corpus already has (always allowed). With no actor (the
    operator) anything goes. Otherwise adding a model is admin-only; a local folder must lie
    under model_roots(); one message covers a folder that is missing and one outside them, so
    no answer tells what exists elsewhere on the disk. A hub name is allowed to an admin.
    """
    if actor is None or name in known:
        return
    require_admin(actor, "add a model")
    if not _looks_like_path(name) and not _exists_here(name):
        return  # a hub name: an admin may have the server fetch it (when it has network)
    message = (
        f"model folder {Path(name).name!r} is not available: a model folder must exist under "
        f"RANKLENS_HOME or a folder of {MODEL_DIRS_ENV}"
    )
    if "\x00" in name:
        raise Forbidden(message)
    try:
        real = Path(os.path.realpath(Path(name).expanduser()))
    except (OSError, ValueError):
        raise Forbidden(message) from None
    inside = any(real == root or root in real.parents for root in model_roots(settings))
    if not inside or not real.is_dir():
        raise Forbidden(message)


ALLOWED_HOSTS_ENV = "RANKLENS_ALLOWED_HOSTS"  # comma-separated host names the app answers to


def allowed_hosts(env: Mapping[str, str] | None = None) -> list[str]:
    """The host names configured in RANKLENS_ALLOWED_HOSTS (comma- or space-separated)."""
    env = os.environ if env is None else env
    return [h.strip().lower() for h in re.split(r"[,\s]+", env.get(ALLOWED_HOSTS_ENV) or "") if h]


def host_allowed(host: str | None, names: list[str] | tuple[str, ...]) -> bool:
    """Whether a request's Host header names this server: one of `names` (a leading "*." for
    subdomains); with none configured, only an IP address or localhost, which no DNS rebinding
    can produce. The port is ignored."""
    import ipaddress
    from urllib.parse import urlsplit

    if not host:
        return False
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if not hostname:
        return False
    hostname = hostname.rstrip(".").lower()
    if names:
        return any(
            hostname == n or (n.startswith("*.") and hostname.endswith(n[1:])) for n in names
        )
    if hostname == "localhost":
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


_ABS_PATH = re.compile(r"(?<![\w:/.~])(?:~|[A-Za-z]:)?[/\\][^\s'\"`,;()\[\]<>]+")


def redact_paths(text: str) -> str:
    """TEXT with every absolute server path cut to its last part ("…/data.jsonl"): what a
    non-admin in team mode reads of an error, so no message maps the server's disk."""

    def cut(m: re.Match) -> str:
        last = re.split(r"[/\\]", m.group(0).rstrip("/\\"))[-1]
        return "…/" + last if last else "…"

    return _ABS_PATH.sub(cut, text)
