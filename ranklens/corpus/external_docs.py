"""Documents that an outside system returned but the corpus lacks: kept beside the corpus.

Their title and text (as a live endpoint returned them) are shown and judged, never indexed by
the corpus's models; a document with no stored text is shown as "not in the corpus" (id only).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from ranklens.types import Doc, Passage

if TYPE_CHECKING:
    from ranklens.corpus.index import Corpus

FILE = "external_docs.sqlite3"
EXTERNAL = -1  # Passage.position of a text an outside system returned (not the corpus's own)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS external_docs (
    source TEXT NOT NULL,      -- who returned it: 'endpoint:NAME' or 'run:NAME'
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    seen REAL NOT NULL,        -- when it was last returned (unix time)
    PRIMARY KEY (source, doc_id)
)
"""


def _connect(corpus_dir: Path) -> sqlite3.Connection:
    con = sqlite3.connect(Path(corpus_dir) / FILE, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute(_SCHEMA)
    return con


def put(corpus_dir: Path, source: str, docs: Iterable[Doc]) -> int:
    """Keep (or refresh) the title and text a source returned for documents; returns how many."""
    rows = [(source, d.doc_id, d.title or "", d.text or "", time.time()) for d in docs]
    if not rows:
        return 0
    with closing(_connect(corpus_dir)) as con, con:
        con.executemany(
            "INSERT INTO external_docs (source, doc_id, title, text, seen) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (source, doc_id) DO UPDATE SET title = excluded.title, "
            "text = excluded.text, seen = excluded.seen",
            rows,
        )
    return len(rows)


def get(corpus_dir: Path, doc_ids: Sequence[str], source: str | None = None) -> dict[str, Doc]:
    """The stored documents among doc_ids (from one source, or the latest any source returned)."""
    path = Path(corpus_dir) / FILE
    if not path.exists() or not doc_ids:
        return {}
    out: dict[str, Doc] = {}
    with closing(_connect(corpus_dir)) as con:
        ids = list(dict.fromkeys(doc_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT doc_id, title, text, source FROM external_docs WHERE doc_id IN ({marks})"
            args: list[str] = list(chunk)
            if source is not None:
                sql += " AND source = ?"
                args.append(source)
            sql += " ORDER BY seen"
            for doc_id, title, text, src in con.execute(sql, args):
                if text or title:
                    out[doc_id] = Doc(doc_id, text, title, src)
    return out


def delete_source(corpus_dir: Path, source: str) -> int:
    """Forget everything one source returned (when its run or endpoint is deleted)."""
    path = Path(corpus_dir) / FILE
    if not path.exists():
        return 0
    with closing(_connect(corpus_dir)) as con, con:
        return con.execute("DELETE FROM external_docs WHERE source = ?", (source,)).rowcount


def passages_for(corpus: Corpus, passage_ids: Sequence[str]) -> dict[str, Passage]:
    """The passages to show or judge for hit ids: the corpus's own; for an id the corpus lacks,
    the text an outside system returned for it (position EXTERNAL, source = that system). Ids
    with neither are absent: they are shown as "not in the corpus" and left out of pools."""
    ids = list(dict.fromkeys(passage_ids))
    found = corpus.get_passages(ids)
    rest = [i for i in ids if i not in found]
    for doc in get(corpus.dir, rest).values() if rest else ():
        found[doc.doc_id] = Passage(
            doc.doc_id, doc.doc_id, doc.text, doc.title, doc.source, EXTERNAL
        )
    return found


def is_external(passage: Passage) -> bool:
    """Whether a passage from passages_for() is an outside system's text, not the corpus's."""
    return passage.position == EXTERNAL
