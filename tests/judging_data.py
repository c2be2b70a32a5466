"""Data the judging tests share: a corpus's document ids and passages (some ids holding '#'),
runs from passage ids, qrels files.
"""

from __future__ import annotations

from pathlib import Path

from ranklens.types import Hit

DOCS = {"d1", "d2", "d3", "x#7", "report#2"}
PASSAGES = {  # passage id -> its document id, as the corpus stores it
    "d1#0": "d1",
    "d1#1": "d1",
    "d2#0": "d2",
    "d3#0": "d3",
    "x#7#0": "x#7",
    "report#2#0": "report#2",
    "memo-3": "d3",  # a passage id that does not even name its document
}


def hits(qid: str, pids: list[str]) -> list[Hit]:
    """A ranking of these passages (ids here are "doc#n" with a doc id holding no '#')."""
    return [Hit(qid, p, p.split("#")[0], 1.0 / r, r) for r, p in enumerate(pids, 1)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
