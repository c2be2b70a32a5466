"""Uploaded bytes on disk: the one way any page saves an upload before a reader opens it.

Each upload gets a fresh folder of its own under RANKLENS_HOME/uploads (concurrent sessions never
share a path), and a file name is reduced to its last component, so nothing escapes that folder.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath

from ranklens.config import Settings
from ranklens.corpus.archives import size_text
from ranklens.errors import RankLensError

UPLOADS = "uploads"


def safe_name(name: str, default: str = "upload.txt") -> str:
    """The last component of an uploaded file's name, with no separators, dots-only or NULs."""
    name = (name or "").replace("\x00", "")
    base = PureWindowsPath(PurePosixPath(name).name).name.strip()
    if base in ("", ".", "..") or set(base) <= {"."}:
        return default
    return base[:200]


def uploads_dir(settings: Settings) -> Path:
    return settings.home / UPLOADS


def save_uploads(
    files: Sequence[tuple[str, bytes]], settings: Settings, max_bytes: int | None = None
) -> Path:
    """Write uploaded (name, bytes) pairs into a new folder; the file if one, else the folder.

    Raises RankLensError (naming the file) when one is larger than max_bytes (by default the
    settings' max_upload_mb, RANKLENS_MAX_UPLOAD_MB); nothing is written then.
    """
    if not files:
        raise RankLensError("no file was uploaded")
    limit = max_bytes if max_bytes is not None else settings.max_upload_mb * 1024 * 1024
    for name, data in files:
        if len(data) > limit:
            raise RankLensError(
                f"{safe_name(name)}: {size_text(len(data))} is over the upload limit of "
                f"{size_text(limit)} ({limit:,} bytes, RANKLENS_MAX_UPLOAD_MB); nothing was saved. "
                "Give a bigger file as a path on the server, or load it with the CLI "
                "(python -m ranklens ingest PATH)."
            )
    folder = uploads_dir(settings) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    names: list[str] = []
    for name, data in files:
        base = safe_name(name)
        if base in names:  # two uploads of one name: keep both
            stem, dot, ext = base.rpartition(".")
            base = f"{stem or ext}-{len(names)}{dot}{ext if stem else ''}"
        names.append(base)
        (folder / base).write_bytes(data)
    return folder / names[0] if len(names) == 1 else folder


@contextmanager
def temporary_upload(
    name: str, data: bytes, settings: Settings, max_bytes: int | None = None
) -> Iterator[Path]:
    """One upload saved for the duration of a with-block, then removed."""
    path = save_uploads([(name, data)], settings, max_bytes)
    try:
        yield path
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
