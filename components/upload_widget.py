"""st.file_uploader for every page, whose file names are checked by RankLens, with clear errors.

Streamlit checks a name against the widget's `type` list while it reads the widget states,
before any page code runs: a name holding a NUL byte raised a raw StreamlitAPIException on every
run, which no page could catch. So the `type` list is not given to Streamlit (the browser's file
picker then shows every file); the names are checked here: a NUL byte, or a type not taken,
gives an error that says so, and the upload is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import streamlit as st


def _problem(name: str, types: Sequence[str] | None) -> str | None:
    if "\x00" in name:
        return (
            "the uploaded file's name contains a NUL byte, which no file name may hold; "
            "rename the file and upload it again"
        )
    if types:
        wanted = {"." + t.lower().lstrip(".") for t in types}
        if PurePath(name.replace("\\", "/")).suffix.lower() not in wanted:
            return f"this kind of file is not taken here (expected {', '.join(sorted(wanted))})"
    return None


def file_uploader(label: str, *, type: Sequence[str] | None = None, where=None, **kwargs):  # noqa: A002
    """Like st.file_uploader(label, type=..., ...) in `where` (a container) or here: None (or [])
    with an error when a name is refused."""
    where = where if where is not None else st
    got = where.file_uploader(label, **kwargs)
    files = got if isinstance(got, list) else [got] if got is not None else []
    for f in files:
        why = _problem(f.name, type)
        if why:
            st.error(f"{label}: {why}.")
            return [] if isinstance(got, list) else None
    return got
