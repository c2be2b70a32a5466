"""Zip archives opened safely: extracted under a folder of RANKLENS_HOME within caps on the total
uncompressed size, the member count and the compression ratio.

The caps are checked before anything large is written, and again while writing, in case the
archive's headers lie.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from ranklens.config import ZipLimits
from ranklens.errors import InputError

CHUNK = 1 << 20


def size_text(n: int) -> str:
    """A byte count as people read it: 1.5 MB, 812 bytes."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:,.1f} {unit}"
    return f"{n:,} bytes"


def check(zf: zipfile.ZipFile, path: Path, limits: ZipLimits) -> None:
    """Raise InputError (naming the zip) when its declared contents break a limit."""
    members = zf.infolist()
    if len(members) > limits.max_members:
        raise InputError(
            path,
            f"the zip holds {len(members):,} members, more than the {limits.max_members:,} "
            "allowed (RANKLENS_ZIP_MAX_MEMBERS); nothing was extracted",
        )
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > limits.max_bytes:
        raise InputError(
            path,
            f"the zip expands to {size_text(total)}, more than the "
            f"{size_text(limits.max_bytes)} allowed (RANKLENS_ZIP_MAX_MB); nothing was "
            "extracted. Unzip it yourself and give the "
            "folder, or raise the limit",
        )
    for m in members:
        if m.file_size > limits.max_ratio * max(m.compress_size, 1) and m.file_size > CHUNK:
            raise InputError(
                path,
                f"member {m.filename!r} expands {m.file_size / max(m.compress_size, 1):,.0f} "
                f"times (over {limits.max_ratio:g}, RANKLENS_ZIP_MAX_RATIO): it looks like a zip "
                "bomb; nothing was extracted",
            )
    if total > limits.max_ratio * max(packed, 1) and total > CHUNK:
        raise InputError(
            path,
            f"the zip expands {total / max(packed, 1):,.0f} times (over {limits.max_ratio:g}, "
            "RANKLENS_ZIP_MAX_RATIO): it looks like a zip bomb; nothing was extracted",
        )


def extract(path: Path, dest: Path, limits: ZipLimits) -> None:
    """Extract the zip at PATH into DEST (a new folder): members must stay inside it, and the
    limits hold for what is declared and for what is actually written."""
    try:
        with zipfile.ZipFile(path) as zf:
            check(zf, path, limits)
            root = dest.resolve()
            for m in zf.infolist():
                target = (dest / m.filename).resolve()
                if target != root and root not in target.parents:
                    raise InputError(path, f"unsafe member path {m.filename!r} in the zip")
            written = 0
            for m in zf.infolist():
                target = dest / m.filename
                if m.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    member = 0
                    while block := src.read(CHUNK):
                        member += len(block)
                        written += len(block)
                        if member > m.file_size or written > limits.max_bytes:
                            raise InputError(
                                path,
                                f"member {m.filename!r} holds more than its header says; "
                                "extraction stopped",
                            )
                        out.write(block)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise InputError(path, f"not a valid zip file ({exc})") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
