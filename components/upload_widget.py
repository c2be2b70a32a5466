"""st.file_uploader for every page, with a clear message instead of Streamlit's raw exception when
a browser sends a file name Streamlit refuses (a NUL byte, a type the widget does not take)."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException


def file_uploader(label: str, *args, where=None, **kwargs):
    """st.file_uploader(label, ...) in `where` (a container) or here; None (and an error that
    says why) when the uploaded name is refused."""
    where = where if where is not None else st
    try:
        return where.file_uploader(label, *args, **kwargs)
    except StreamlitAPIException as exc:
        if "null bytes" in str(exc):
            st.error(
                f"{label}: the uploaded file's name contains a NUL byte, which no file name may "
                "hold; rename the file and upload it again."
            )
        elif "file extension" in str(exc):
            st.error(
                f"{label}: this kind of file is not taken here (expected "
                f"{', '.join(kwargs.get('type') or [])}); choose another file."
            )
        else:
            raise
        return [] if kwargs.get("accept_multiple_files") else None
