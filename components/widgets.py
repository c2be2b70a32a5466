"""Small Streamlit widgets shared by pages: ingestion progress, error display.

Widgets take plain data from the core and never compute results themselves.
"""

from __future__ import annotations

import time

import streamlit as st

from ranklens.index import Progress


class IngestProgress:
    """A progress bar per ingestion stage with passages/s and time left."""

    def __init__(self) -> None:
        self.bars: dict[str, object] = {}
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        done = p.total and p.done >= p.total
        if p.stage in self.bars and not done and now - self.last < 0.3:
            return
        self.last = now
        if p.total:
            eta = f", {p.eta:.0f} s left" if p.eta is not None and not done else ""
            text = f"**{p.stage}**: {p.done:,}/{p.total:,} passages, {p.rate:.1f} passages/s{eta}"
            value = p.fraction
        else:
            text, value = f"**{p.stage}**: {p.done:,} passages read", 0.0
        if p.stage not in self.bars:
            self.bars[p.stage] = st.progress(value, text=text)
        else:
            self.bars[p.stage].progress(value, text=text)
