"""Data the judging tests share: a corpus's document ids and passages (some ids holding '#'),
runs from passage ids, qrels files, a raw label_events row.
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


def label_row(**values) -> dict:
    """The columns of one raw label_events row: alice's grade 1 for q1 / d1#0 unless `values`
    say otherwise (for tests that write below the store's API)."""
    row = dict(
        corpus="c", annotator="alice", query_id="q1", passage_id="d1#0", doc_id="d1", grade=1,
        created_at=1.0, source="human", kind="label",
    )  # fmt: skip
    return {**row, **values}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
