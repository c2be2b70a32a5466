"""Files written whole or not at all (the text goes to a temporary file beside the target, is
fsynced, then renamed over it, so a reader or a crash never sees half a file), and lock files.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) in one rename; the temporary name is unique to this
    process and thread, so concurrent writers never share one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: object, **dumps: object) -> None:
    """write_atomic of json.dumps(data, **dumps) (indent 2 unless told otherwise)."""
    dumps.setdefault("indent", 2)
    write_atomic(path, json.dumps(data, **dumps))


@contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (made if missing) for the block, waiting for
    it: across processes (flock) and across threads of one process (each opens its own file)."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
